/**
 * The scanner PLC simulator as a Modbus RTU slave on a serial port (SPEC §2), as the Modbus RPM
 * simulator's RTU slave: in tests, one end of a socat pty pair, the gateway on the other. The
 * same register model and service vector as the TCP server (plc-server.ts).
 */
import modbusSerial from 'modbus-serial';
import type { DataBits, Parity, StopBits } from '../../src/drivers/transport/uri.js';
import { ScannerPlcModel, scannerServiceVector, type ScannerModelOptions } from './plc-server.js';

type ServerSerialInstance = InstanceType<typeof modbusSerial.ServerSerial>;

/** ServerSerial's run-time third argument (dataBits, stopBits), which its typings omit. */
const ServerSerial = modbusSerial.ServerSerial as unknown as new (
  vector: ConstructorParameters<typeof modbusSerial.ServerSerial>[0],
  options: Record<string, unknown>,
  serialportOptions: { dataBits: DataBits; stopBits: StopBits },
) => ServerSerialInstance;

export interface ScannerPlcRtuSlaveOptions extends ScannerModelOptions {
  /** The serial device (a pty end). */
  readonly path: string;
  /** Default 19200 8E1 (Modbus over Serial Line default, as transport/uri.ts). */
  readonly baudRate?: number;
  readonly dataBits?: DataBits;
  readonly parity?: Parity;
  readonly stopBits?: StopBits;
}

export interface ScannerPlcRtuSlave {
  readonly path: string;
  readonly model: ScannerPlcModel;
  /** Close the port (after a scan in progress is written). Safe to call twice. */
  close(): Promise<void>;
}

/** Start the slave; resolves once the port is open. */
export function startScannerPlcRtuSlave(options: ScannerPlcRtuSlaveOptions): Promise<ScannerPlcRtuSlave> {
  const model = new ScannerPlcModel(options);
  return new Promise((resolve, reject) => {
    let settled = false;
    const server = new ServerSerial(
      scannerServiceVector(model),
      {
        path: options.path,
        baudRate: options.baudRate ?? 19200,
        parity: options.parity ?? 'even',
        unitID: 255,
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
        path: options.path,
        model,
        close() {
          closing ??= model.settled().then(
            () =>
              new Promise<void>((done) => {
                try {
                  server.close(() => done());
                } catch {
                  done();
                }
              }),
          );
          return closing;
        },
      });
    });
  });
}
