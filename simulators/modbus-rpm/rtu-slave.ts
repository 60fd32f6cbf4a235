/**
 * The Modbus RPM simulator as a Modbus RTU slave on a serial port (SPEC §2): in tests and the
 * demo, one end of a socat pty pair (src/drivers/transport/pty-pair.ts), the gateway on the
 * other. The same register model and service vector as the TCP server, on the shared RTU slave
 * (simulators/modbus/rtu-server.ts).
 */
import { startRtuServer, type RtuServerOptions } from '../modbus/rtu-server.js';
import { RpmRegisterModel, runModel, type RpmModelOptions } from './register-model.js';
import { modelServiceVector } from './tcp-server.js';

export interface ModbusRpmRtuSlaveOptions extends RpmModelOptions, RtuServerOptions {
  readonly model?: RpmRegisterModel;
}

export interface ModbusRpmRtuSlave {
  readonly path: string;
  readonly model: RpmRegisterModel;
  /** Close the port and stop ticking. Safe to call twice. */
  close(): Promise<void>;
}

/** Start the slave; resolves once the port is open. */
export async function startModbusRpmRtuSlave(options: ModbusRpmRtuSlaveOptions): Promise<ModbusRpmRtuSlave> {
  const model = options.model ?? new RpmRegisterModel(options);
  const server = await startRtuServer(modelServiceVector(model), options);
  const stopTicking = runModel(model);
  let closing: Promise<void> | null = null;
  return {
    path: options.path,
    model,
    close() {
      closing ??= (async () => {
        stopTicking();
        await server.close();
      })();
      return closing;
    },
  };
}
