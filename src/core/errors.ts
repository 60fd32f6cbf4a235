/**
 * The one error class of the gateway. Every failure that crosses a module boundary carries a
 * stable `code` from {@link ERROR_CODES}; a code is never reused for another meaning, so logs,
 * counters and (later) the API's error schema can all key on it.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: 'The configuration file does not match the schema.',
  CONFIG_UNREADABLE: 'The configuration file could not be read or parsed as YAML.',
  TRANSPORT_URI_INVALID: 'A device address (tcp://…, serial://…) could not be understood.',
  TRANSPORT_CLOSED: 'The link to a device closed.',
  TRANSPORT_OPEN_FAILED: 'The link to a device could not be opened.',
  LINE_TOO_LONG: 'A device line exceeded the maximum line length and was discarded.',
  LINE_MALFORMED: 'A device line could not be decoded.',
  MODBUS_TIMEOUT: 'A Modbus request got no answer within its timeout.',
  MODBUS_EXCEPTION: 'A Modbus device answered with an exception response.',
  MODBUS_FRAME_INVALID: 'A Modbus reply failed its CRC or length check.',
  MODBUS_NO_UNIT: 'No Modbus unit id answered the description block.',
  PTY_UNAVAILABLE: 'A pseudo-terminal pair could not be created (is socat installed?).',
  CLI_USAGE: 'The command line was not understood.',
  STATE_CORRUPT: 'A durable state file of the gateway could not be read back.',
  INPUT_UNREADABLE: 'An input file could not be read.',
  IMAGE_CORRUPT: 'A scan image could not be decoded (truncated or corrupt file).',
  IMAGE_UNSUPPORTED: 'A scan image is not a 16-bit greyscale PNG, TIFF or DICOS DX image.',
  IMAGE_TOO_LARGE: 'A scan image declares more pixels or bytes than the configured limit.',
  IMAGE_MISMATCH: 'The energies of one scan differ in size.',
  SIDECAR_INVALID: 'A scan sidecar (JSON metadata) is missing, malformed or names files that are not there.',
  SCAN_INCOMPLETE: 'A scan in the inbox is still being written.',
  SCAN_DUPLICATE: 'A scan with the same scan id was already received; scan ids must be unique.',
  UPLOAD_UNAUTHORIZED: 'A scan upload had no valid bearer token.',
  UPLOAD_INVALID: 'A scan upload was malformed or exceeded its size limits.',
  MODEL_INVALID: 'An ONNX model could not be loaded or does not meet the input/output contract.',
  INFERENCE_FAILED: 'Running the imaging model failed.',
  ALARM_NOT_FOUND: 'No alarm has that id.',
  ALARM_ALREADY_ACKNOWLEDGED: 'The alarm was already acknowledged.',
  ALARM_CLOSED: 'The alarm is adjudicated (closed): no further transition is allowed.',
  ALARM_CODE_UNKNOWN: 'The adjudication code is not one of 1–11 (SPEC §3).',
  ALARM_USER_MISSING: 'An alarm transition needs the user who makes it.',
  ALARM_COMMAND_INVALID:
    'An alarm command carries an invalid field (time, secondary inspection, notes, cursor).',
  ALARM_CONFLICT: 'The alarm changed since the caller read it (optimistic concurrency check failed).',
  SCANNER_NOT_FOUND: 'The lane has no scanner PLC to command.',
  SCANNER_COMMAND_REFUSED:
    'The scanner PLC is not in a state that takes this command (link down, local control, emergency stop, wrong state).',
  SCANNER_COMMAND_FAILED: 'The scanner PLC did not take the command (the write failed).',
  CLASSIFIER_MODEL_INVALID:
    'The trained classifier model is missing, unreadable, or does not match its recorded hash.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly context: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Narrow an unknown thrown value to a message, without losing GatewayError codes. */
export function describeError(error: unknown): string {
  if (error instanceof GatewayError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}
