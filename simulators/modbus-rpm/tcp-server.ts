/**
 * The Modbus RPM simulator as a Modbus TCP server (SPEC §2), on modbus-serial's ServerTCP. It
 * serves the register bank of an {@link RpmRegisterModel} that it ticks on a real timer.
 */
import net from 'node:net';
import modbusSerial from 'modbus-serial';
import type { IServiceVector } from 'modbus-serial/ServerTCP.js';
import { RpmRegisterModel, runModel, type RpmModelOptions } from './register-model.js';

type ValueCallback<T> = (err: { modbusErrorCode: number } | null, value: T) => void;

/**
 * The ServerTCP/ServerSerial service vector over a model: function 0x03 only (SPEC §1.2). The
 * callback forms are used so that an injected "silent" reply simply never calls back, and an
 * exception reply reaches the wire as a Modbus exception with its code.
 */
export function modelServiceVector(model: RpmRegisterModel): IServiceVector {
  const read = (addr: number, length: number, cb: ValueCallback<number[]>): void => {
    const reply = model.respond(addr, length);
    if (reply.kind === 'silent') return;
    if (reply.kind === 'exception') cb({ modbusErrorCode: reply.code }, []);
    else cb(null, reply.values);
  };
  return {
    // Four declared parameters: ServerTCP picks the callback form by the function's arity.
    getMultipleHoldingRegisters: (
      addr: number,
      length: number,
      _unitId: number,
      cb: ValueCallback<number[]>,
    ) => read(addr, length, cb),
    getHoldingRegister: (addr: number, _unitId: number, cb: ValueCallback<number>) =>
      read(addr, 1, (err, values) => cb(err, values[0] ?? 0)),
  } as IServiceVector;
}

export interface ModbusRpmTcpServerOptions extends RpmModelOptions {
  /** Default 127.0.0.1 (loopback). */
  readonly host?: string;
  /** 0 (default) = any free port; the real one is reported as `port`. */
  readonly port?: number;
  /** Answer only this unit id (others get no reply). Default: answer every unit. */
  readonly unitId?: number;
  /** Serve this model instead of making one (e.g. to keep its state across a restart). */
  readonly model?: RpmRegisterModel;
}

export interface ModbusRpmTcpServer {
  readonly host: string;
  readonly port: number;
  readonly model: RpmRegisterModel;
  /** Stop listening, drop every client, stop ticking. Safe to call twice. */
  close(): Promise<void>;
}

/** A free TCP port on `host` (ServerTCP treats port 0 as "use 502", so it needs a real number). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen({ host, port: 0 }, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function listen(vector: IServiceVector, host: string, port: number, unitId: number | undefined) {
  return new Promise<InstanceType<typeof modbusSerial.ServerTCP>>((resolve, reject) => {
    const server = new modbusSerial.ServerTCP(vector, { host, port, unitID: unitId ?? 255 });
    const onError = (error: Error | null): void => {
      server.close(() => undefined);
      reject(error ?? new Error('ServerTCP failed to listen'));
    };
    server.once('serverError', onError);
    server.once('initialized', () => {
      server.removeListener('serverError', onError);
      // Clients vanishing mid-request are normal for a simulator; never crash on them.
      server.on('socketError', () => undefined);
      server.on('serverError', () => undefined);
      resolve(server);
    });
  });
}

/** Start the simulator; resolves once it listens. */
export async function startModbusRpmTcpServer(
  options: ModbusRpmTcpServerOptions = {},
): Promise<ModbusRpmTcpServer> {
  const host = options.host ?? '127.0.0.1';
  const model = options.model ?? new RpmRegisterModel(options);
  const vector = modelServiceVector(model);
  let server: InstanceType<typeof modbusSerial.ServerTCP> | undefined;
  let port = options.port ?? 0;
  for (let attempt = 0; server === undefined; attempt++) {
    const tryPort = port === 0 ? await freePort(host) : port;
    try {
      server = await listen(vector, host, tryPort, options.unitId);
      port = tryPort;
    } catch (error) {
      // Another process took the probed port in between: probe again (only for port 0).
      if (options.port !== undefined && options.port !== 0) throw error;
      if (attempt >= 5) throw error;
    }
  }
  const stopTicking = runModel(model);
  const live = server;
  let closing: Promise<void> | null = null;
  return {
    host,
    port,
    model,
    close() {
      closing ??= new Promise<void>((resolve) => {
        stopTicking();
        live.close(() => resolve());
      });
      return closing;
    },
  };
}
