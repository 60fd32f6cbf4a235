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
