/**
 * The scanner PLC link: status reads and commands (function 0x06) through one shared Modbus
 * session (modbus-client.ts — one request at a time, timeouts, reconnect semantics), over Modbus
 * TCP or RTU. One connection: a PLC that accepts a single client takes commands too.
 */
import { createModbusSession, type ModbusEndpoint } from '../modbus-rpm/modbus-client.js';
import type { PlcLink } from './plc-driver.js';

export function createPlcLink(endpoint: ModbusEndpoint, options: { timeoutMs?: number } = {}): PlcLink {
  const session = createModbusSession({ endpoint, timeoutMs: options.timeoutMs ?? 1000 });
  return {
    connect: () => session.connect(),
    readHoldingRegisters: (unit, address, length) => session.readHoldingRegisters(unit, address, length),
    writeRegister: (unit, address, value) => session.writeRegister(unit, address, value),
    get isOpen() {
      return session.isOpen;
    },
    close: () => session.close(),
  };
}
