/**
 * A Modbus RTU slave on a serial port (SPEC §2) serving a modbus-serial service vector: what the
 * Modbus RPM simulator and the scanner PLC simulator run on one end of a socat pty pair. Built on
 * modbus-serial's ServerSerial; resolves once the port is open, rejects when it cannot be opened.
 */
import modbusSerial from 'modbus-serial';
import type { DataBits, Parity, StopBits } from '../../src/drivers/transport/uri.js';

type ServerSerialInstance = InstanceType<typeof modbusSerial.ServerSerial>;
export type ServiceVector = ConstructorParameters<typeof modbusSerial.ServerSerial>[0];

/**
 * ServerSerial's run-time constructor takes a third argument (extra serialport options such as
 * dataBits and stopBits, which its own options drop); its typings omit it.
 */
const ServerSerial = modbusSerial.ServerSerial as unknown as new (
  vector: ServiceVector,
  options: Record<string, unknown>,
  serialportOptions: { dataBits: DataBits; stopBits: StopBits },
) => ServerSerialInstance;

export interface RtuServerOptions {
  /** The serial device (a pty end). */
  readonly path: string;
  /** Default 19200 8E1 (Modbus over Serial Line default, as transport/uri.ts). */
  readonly baudRate?: number;
  readonly dataBits?: DataBits;
  readonly parity?: Parity;
  readonly stopBits?: StopBits;
  /** Answer only this unit id. Default: answer every unit. */
  readonly unitId?: number;
}

export interface RtuServer {
  /** Close the port. Safe to call twice. */
  close(): Promise<void>;
}

export function startRtuServer(vector: ServiceVector, options: RtuServerOptions): Promise<RtuServer> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const server = new ServerSerial(
      vector,
      {
        path: options.path,
        baudRate: options.baudRate ?? 19200,
        parity: options.parity ?? 'even',
        unitID: options.unitId ?? 255,
        openCallback: (error: Error | null) => {
          if (error && !settled) {
            settled = true;
            reject(error);
          }
        },
      },
      { dataBits: options.dataBits ?? 8, stopBits: options.stopBits ?? 1 },
    );
    server.on('socketError', () => undefined);
    server.on('error', () => undefined);
    server.once('initialized', () => {
      if (settled) return;
      settled = true;
      let closing: Promise<void> | null = null;
      resolve({
        close() {
          closing ??= new Promise<void>((done) => {
            try {
              server.close(() => done());
            } catch {
              done();
            }
          });
          return closing;
        },
      });
    });
  });
}
