/**
 * A thin Modbus session over modbus-serial's client, for Modbus TCP and Modbus RTU (SPEC §1.2).
 * It owns the framing library (TCP MBAP header vs RTU address + CRC stay inside modbus-serial,
 * apart from the register map — STYLE §4) and adds what the SPEC's "Modbus pitfalls" ask for:
 *
 * - one request at a time (a promise queue): essential on an RTU line, where a second request
 *   sent before the first answer would collide on the bus; harmless on TCP;
 * - a request timeout (default 1000 ms), so a silent device never hangs a poll;
 * - failures as GatewayError with stable codes: MODBUS_TIMEOUT, MODBUS_EXCEPTION (function and
 *   exception code in `context`), TRANSPORT_OPEN_FAILED, TRANSPORT_CLOSED, and MODBUS_FRAME_INVALID for
 *   a reply that fails its CRC or length check.
 */
import modbusSerial from 'modbus-serial';
import { GatewayError } from '../../core/errors.js';
import type { ModbusRtuAddress, ModbusTcpAddress } from '../transport/uri.js';

/** Where the session connects. The unit id is per request, so it is not part of the endpoint. */
export type ModbusEndpoint = Omit<ModbusTcpAddress, 'unitId'> | Omit<ModbusRtuAddress, 'unitId'>;

export interface ModbusSessionOptions {
  readonly endpoint: ModbusEndpoint;
  /** Per-request timeout. Default 1000 ms. */
  readonly timeoutMs?: number;
  /** How long connecting may take before it fails. Default 5000 ms (TCP only). */
  readonly connectTimeoutMs?: number;
}

export interface ModbusSession {
  /** Open the link. Rejects with TRANSPORT_OPEN_FAILED. */
  connect(): Promise<void>;
  /** Function 0x03. Queued behind any request in flight. */
  readHoldingRegisters(unitId: number, address: number, length: number): Promise<number[]>;
  /** Function 0x06 (write a single register). Queued like a read, on the same link. */
  writeRegister(unitId: number, address: number, value: number): Promise<void>;
  /** Close the link; pending requests fail. Safe to call twice. */
  close(): Promise<void>;
  readonly isOpen: boolean;
  /** Called once when the link closes on its own (peer closed, cable pulled), not after close(). */
  onClose(listener: (reason: string) => void): void;
}

/**
 * modbus-serial is CommonJS and sets `module.exports.default = module.exports`, so `.default` is
 * the client class both at run time (Node ESM interop) and to TypeScript under NodeNext.
 */
const ModbusRTU = modbusSerial.default;
type ModbusClient = InstanceType<typeof ModbusRTU>;

/** Read holding registers. */
const READ_HOLDING_REGISTERS = 0x03;
/** Write a single register. */
const WRITE_SINGLE_REGISTER = 0x06;

interface LibraryError {
  readonly message?: string;
  readonly errno?: string;
  readonly modbusCode?: number;
}

function asLibraryError(error: unknown): LibraryError {
  return typeof error === 'object' && error !== null ? error : { message: String(error) };
}

function describeEndpoint(endpoint: ModbusEndpoint): string {
  return endpoint.kind === 'modbus-tcp' ? `${endpoint.host}:${endpoint.port}` : endpoint.path;
}

/** Create a session (nothing is opened until connect()). */
export function createModbusSession(options: ModbusSessionOptions): ModbusSession {
  const timeoutMs = options.timeoutMs ?? 1000;
  const where = describeEndpoint(options.endpoint);
  let client: ModbusClient | null = null;
  let open = false;
  let closedByUs = false;
  let tail: Promise<unknown> = Promise.resolve();
  const closeListeners: Array<(reason: string) => void> = [];

  const linkClosed = (reason: string): void => {
    if (!open) return;
    open = false;
    if (closedByUs) return;
    for (const listener of closeListeners) listener(reason);
  };

  /** Run `task` after every request queued before it, whatever their outcome. */
  const enqueue = <T>(task: () => Promise<T>): Promise<T> => {
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    return run;
  };

  const translate = (error: unknown, context: Record<string, unknown>): GatewayError => {
    if (error instanceof GatewayError) return error;
    const e = asLibraryError(error);
    if (typeof e.modbusCode === 'number') {
      return new GatewayError(
        'MODBUS_EXCEPTION',
        `Modbus exception ${e.modbusCode} from unit ${String(context.unitId)} at ${where}`,
        { functionCode: READ_HOLDING_REGISTERS, ...context, exceptionCode: e.modbusCode },
        { cause: error },
      );
    }
    if (e.errno === 'ETIMEDOUT') {
      return new GatewayError(
        'MODBUS_TIMEOUT',
        `no answer from unit ${String(context.unitId)} at ${where} within ${timeoutMs} ms`,
        { functionCode: READ_HOLDING_REGISTERS, ...context, timeoutMs },
        { cause: error },
      );
    }
    if (e.message === 'Port Not Open' || !open) {
      return new GatewayError('TRANSPORT_CLOSED', `the Modbus link to ${where} is closed`, context, {
        cause: error,
      });
    }
    // CRC or length errors: a reply arrived but cannot be a valid frame.
    return new GatewayError(
      'MODBUS_FRAME_INVALID',
      `malformed Modbus reply from ${where}: ${e.message ?? 'unknown'}`,
      { functionCode: READ_HOLDING_REGISTERS, ...context },
      { cause: error },
    );
  };

  /**
   * Let go of a client's port; never rejects. TCP: destroy, not end(): a silent peer may never
   * finish a graceful close, and a socket still connecting has nothing to end. Waits at most 1 s.
   */
  const release = (c: ModbusClient): Promise<void> =>
    new Promise<void>((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        resolve();
      };
      const timer = setTimeout(finish, 1000);
      const closed = (): void => {
        clearTimeout(timer);
        finish();
      };
      try {
        if (options.endpoint.kind === 'modbus-tcp') c.destroy(closed);
        else c.close(closed);
      } catch {
        clearTimeout(timer);
        finish();
      }
    });

  /** One request on the current client, queued behind the others, its errors translated. */
  const request = <T>(
    unitId: number,
    context: Record<string, unknown>,
    call: (c: ModbusClient) => Promise<T>,
  ): Promise<T> =>
    enqueue(async () => {
      const c = client;
      if (c === null || !open) {
        throw new GatewayError('TRANSPORT_CLOSED', `the Modbus link to ${where} is closed`, context);
      }
      c.setID(unitId);
      // Belt and braces: the library's own timer answers a silent device; this one answers a
      // library that never calls back (e.g. the port closed under a pending request).
      let guard: NodeJS.Timeout | undefined;
      const guardTimeout = new Promise<never>((_, reject) => {
        guard = setTimeout(
          () => reject(Object.assign(new Error('Timed out'), { errno: 'ETIMEDOUT' })),
          timeoutMs + 500,
        );
      });
      try {
        return await Promise.race([call(c), guardTimeout]);
      } catch (error) {
        throw translate(error, context);
      } finally {
        clearTimeout(guard);
      }
    });

  return {
    get isOpen() {
      return open;
    },

    onClose(listener) {
      closeListeners.push(listener);
    },

    async connect() {
      if (open) return;
      closedByUs = false;
      const c = new ModbusRTU();
      // The library emits 'error' for serial errors: without a listener that would crash the process.
      // Listeners stay attached for the client's life and ignore it once it is no longer current.
      c.on('error', (error: unknown) => {
        if (client === c) linkClosed(`link error: ${asLibraryError(error).message ?? 'unknown'}`);
      });
      c.on('close', () => {
        if (client === c) linkClosed('link closed by peer');
      });
      // For TCP the library also gives this to the socket as its idle timeout, which bounds the connect;
      // the socket keeps it afterwards, harmlessly (the library's handler only matters while connecting).
      c.setTimeout(options.connectTimeoutMs ?? 5000);
      const endpoint = options.endpoint;
      try {
        if (endpoint.kind === 'modbus-tcp') {
          await c.connectTCP(endpoint.host, { port: endpoint.port });
        } else {
          const s = endpoint.serial;
          await c.connectRTUBuffered(endpoint.path, {
            baudRate: s.baudRate,
            dataBits: s.dataBits,
            parity: s.parity,
            // modbus-serial's typings take whole stop bits; serialport accepts 1.5 as well.
            stopBits: s.stopBits,
            rtscts: s.rtscts,
          });
        }
      } catch (error) {
        // Tear the half-made client down. modbus-serial answers a TCP connect timeout with an error but
        // leaves the socket connecting: the kernel would go on retrying for minutes and might still
        // connect, unseen, to a device that accepts only one or two clients, once per failed attempt.
        // A serial port that failed to open holds nothing, but one found open is closed all the same.
        // The client never became current, so its 'close'/'error' listeners stay silent.
        if (endpoint.kind === 'modbus-tcp' || c.isOpen) await release(c);
        throw new GatewayError(
          'TRANSPORT_OPEN_FAILED',
          `could not open Modbus link to ${where}: ${asLibraryError(error).message ?? 'unknown'}`,
          { endpoint: where },
          { cause: error },
        );
      }
      c.setTimeout(timeoutMs); // from here on: the per-request timeout only
      client = c;
      open = true;
    },

    readHoldingRegisters(unitId, address, length) {
      const context = { unitId, address, length, endpoint: where };
      return request(unitId, context, async (c) => (await c.readHoldingRegisters(address, length)).data);
    },

    writeRegister(unitId, address, value) {
      const context = { unitId, address, value, endpoint: where, functionCode: WRITE_SINGLE_REGISTER };
      return request(unitId, context, async (c) => {
        await c.writeRegister(address, value);
      });
    },

    async close() {
      const c = client;
      client = null;
      if (c === null) return;
      closedByUs = true;
      open = false;
      await release(c);
    },
  };
}
