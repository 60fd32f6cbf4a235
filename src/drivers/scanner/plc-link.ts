/**
 * The scanner PLC link: status reads through the shared Modbus session (modbus-client.ts — one
 * request at a time, timeouts, reconnect semantics), commands (function 0x06) through a
 * short-lived modbus-serial client, since commands are rare and the shared session is read-only.
 */
import modbusSerial from 'modbus-serial';
import { GatewayError } from '../../core/errors.js';
import { createModbusSession, type ModbusEndpoint } from '../modbus-rpm/modbus-client.js';
import type { PlcLink } from './plc-driver.js';

const ModbusRTU = modbusSerial.default;

export function createPlcLink(endpoint: ModbusEndpoint, options: { timeoutMs?: number } = {}): PlcLink {
  const session = createModbusSession({ endpoint, timeoutMs: options.timeoutMs ?? 1000 });
  return {
    connect: () => session.connect(),
    readHoldingRegisters: (unit, address, length) => session.readHoldingRegisters(unit, address, length),
    get isOpen() {
      return session.isOpen;
    },
    close: () => session.close(),
    async writeRegister(unit, address, value) {
      if (endpoint.kind !== 'modbus-tcp')
        throw new GatewayError('MODBUS_EXCEPTION', 'scanner commands are supported over Modbus TCP only', {
          address,
        });
      const c = new ModbusRTU();
      c.on('error', () => undefined);
      try {
        c.setTimeout(options.timeoutMs ?? 1000);
        await c.connectTCP(endpoint.host, { port: endpoint.port });
        c.setID(unit);
        await c.writeRegister(address, value);
      } catch (error) {
        const e = error as { modbusCode?: number; message?: string };
        throw new GatewayError(
          typeof e.modbusCode === 'number' ? 'MODBUS_EXCEPTION' : 'MODBUS_TIMEOUT',
          `scanner command write to register ${address} failed: ${e.message ?? 'unknown'}`,
          { address, value, exceptionCode: e.modbusCode },
          { cause: error },
        );
      } finally {
        c.close(() => undefined);
      }
    },
  };
}
