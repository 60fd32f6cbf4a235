/**
 * The scanner PLC simulator as a Modbus RTU slave on a serial port (SPEC §2), as the Modbus RPM
 * simulator's RTU slave: in tests, one end of a socat pty pair, the gateway on the other. The
 * same register model and service vector as the TCP server (plc-server.ts), on the shared RTU
 * slave (simulators/modbus/rtu-server.ts).
 */
import { startRtuServer, type RtuServerOptions } from '../modbus/rtu-server.js';
import { ScannerPlcModel, scannerServiceVector, type ScannerModelOptions } from './plc-server.js';

export interface ScannerPlcRtuSlaveOptions extends ScannerModelOptions, RtuServerOptions {}

export interface ScannerPlcRtuSlave {
  readonly path: string;
  readonly model: ScannerPlcModel;
  /** Close the port (after a scan in progress is written). Safe to call twice. */
  close(): Promise<void>;
}

/** Start the slave; resolves once the port is open. */
export async function startScannerPlcRtuSlave(
  options: ScannerPlcRtuSlaveOptions,
): Promise<ScannerPlcRtuSlave> {
  const model = new ScannerPlcModel(options);
  const server = await startRtuServer(scannerServiceVector(model), options);
  let closing: Promise<void> | null = null;
  return {
    path: options.path,
    model,
    close() {
      closing ??= model.settled().then(() => server.close());
      return closing;
    },
  };
}
