/**
 * The Modbus RPM simulator as a Modbus RTU slave on a serial port (SPEC §2): in tests and the
 * demo, one end of a socat pty pair (src/drivers/transport/pty-pair.ts), the gateway on the
 * other. Built on modbus-serial's ServerSerial, serving the same register model and service
 * vector as the TCP server.
 */
import modbusSerial from 'modbus-serial';
import type { DataBits, Parity, StopBits } from '../../src/drivers/transport/uri.js';
import { RpmRegisterModel, runModel, type RpmModelOptions } from './register-model.js';
import { modelServiceVector } from './tcp-server.js';

type ServerSerialInstance = InstanceType<typeof modbusSerial.ServerSerial>;

/**
 * ServerSerial's run-time constructor takes a third argument (extra serialport options such as
 * dataBits and stopBits, which its own options drop); its typings omit it.
 */
const ServerSerial = modbusSerial.ServerSerial as unknown as new (
  vector: ConstructorParameters<typeof modbusSerial.ServerSerial>[0],
  options: Record<string, unknown>,
  serialportOptions: { dataBits: DataBits; stopBits: StopBits },
) => ServerSerialInstance;

export interface ModbusRpmRtuSlaveOptions extends RpmModelOptions {
  /** The serial device (a pty end). */
  readonly path: string;
  /** Default 19200 8E1 (Modbus over Serial Line default, as transport/uri.ts). */
  readonly baudRate?: number;
  readonly dataBits?: DataBits;
  readonly parity?: Parity;
  readonly stopBits?: StopBits;
  /** Answer only this unit id. Default: answer every unit. */
  readonly unitId?: number;
  readonly model?: RpmRegisterModel;
}

export interface ModbusRpmRtuSlave {
  readonly path: string;
  readonly model: RpmRegisterModel;
  /** Close the port and stop ticking. Safe to call twice. */
  close(): Promise<void>;
}

/** Start the slave; resolves once the port is open. */
export function startModbusRpmRtuSlave(options: ModbusRpmRtuSlaveOptions): Promise<ModbusRpmRtuSlave> {
  const model = options.model ?? new RpmRegisterModel(options);
  return new Promise((resolve, reject) => {
    let settled = false;
    const server = new ServerSerial(
      modelServiceVector(model),
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
      const stopTicking = runModel(model);
      let closing: Promise<void> | null = null;
      resolve({
        path: options.path,
        model,
        close() {
          closing ??= new Promise<void>((done) => {
            stopTicking();
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
