/**
 * The Modbus session (src/drivers/modbus-rpm/modbus-client.ts) against modbus-serial's own
 * ServerTCP on loopback: one request at a time, timeouts and exceptions as GatewayError codes.
 */
import net from 'node:net';
import modbusSerial from 'modbus-serial';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { createModbusSession, type ModbusSession } from '../../src/drivers/modbus-rpm/modbus-client.js';
import { RpmRegisterModel } from '../../simulators/modbus-rpm/register-model.js';
import { startModbusRpmTcpServer, type ModbusRpmTcpServer } from '../../simulators/modbus-rpm/tcp-server.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function serve(model: RpmRegisterModel, unitId?: number): Promise<ModbusRpmTcpServer> {
  const server = await startModbusRpmTcpServer({ model, ...(unitId === undefined ? {} : { unitId }) });
  cleanups.push(() => server.close());
  return server;
}

async function session(server: ModbusRpmTcpServer, timeoutMs = 500): Promise<ModbusSession> {
  const s = createModbusSession({
    endpoint: { kind: 'modbus-tcp', host: server.host, port: server.port },
    timeoutMs,
  });
  await s.connect();
  cleanups.push(() => s.close());
  return s;
}

async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('Modbus session over TCP', () => {
  it('reads holding registers', async () => {
    const server = await serve(new RpmRegisterModel());
    const s = await session(server);
    expect(await s.readHoldingRegisters(1, 0, 8)).toEqual([0x4153, 29, 1, 100, 21, 0, 0, 0]);
    expect(await s.readHoldingRegisters(1, 100, 21)).toHaveLength(21);
  });

  it('sends one request at a time', async () => {
    // A device that answers each request 30 ms late and records how many it holds at once.
    let inFlight = 0;
    let maxInFlight = 0;
    const vector = {
      getMultipleHoldingRegisters: (
        addr: number,
        length: number,
        _unit: number,
        cb: (err: null, values: number[]) => void,
      ) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        setTimeout(() => {
          inFlight--;
          cb(
            null,
            Array.from({ length }, (_, i) => addr + i),
          );
        }, 30);
      },
      getHoldingRegister: (addr: number, _unit: number, cb: (err: null, value: number) => void) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        setTimeout(() => {
          inFlight--;
          cb(null, addr);
        }, 30);
      },
    };
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as net.AddressInfo).port;
        probe.close(() => resolve(p));
      });
    });
    const server = new modbusSerial.ServerTCP(vector, { host: '127.0.0.1', port });
    await new Promise((resolve) => server.once('initialized', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const s = createModbusSession({
      endpoint: { kind: 'modbus-tcp', host: '127.0.0.1', port },
      timeoutMs: 2000,
    });
    await s.connect();
    cleanups.push(() => s.close());

    const reads = Array.from({ length: 6 }, (_, i) => s.readHoldingRegisters(1, 10 * i, 2));
    expect(await Promise.all(reads)).toEqual(Array.from({ length: 6 }, (_, i) => [10 * i, 10 * i + 1]));
    expect(maxInFlight).toBe(1);
  });

  it('turns an exception response into MODBUS_EXCEPTION with the function and exception codes', async () => {
    const model = new RpmRegisterModel();
    const server = await serve(model);
    const s = await session(server);
    const error = await rejection(s.readHoldingRegisters(1, 5000, 2));
    expect(error.code).toBe('MODBUS_EXCEPTION');
    expect(error.context).toMatchObject({
      functionCode: 3,
      exceptionCode: 2,
      unitId: 1,
      address: 5000,
      length: 2,
    });
    model.injectExceptions(1, 4);
    expect((await rejection(s.readHoldingRegisters(1, 0, 8))).context).toMatchObject({ exceptionCode: 4 });
    // The session is still usable.
    expect(await s.readHoldingRegisters(1, 0, 1)).toEqual([0x4153]);
  });

  it('turns silence into MODBUS_TIMEOUT and still serves the requests queued behind it', async () => {
    const model = new RpmRegisterModel();
    const server = await serve(model, 7);
    const s = await session(server, 300);
    // Unit 9 is not there: the server ignores it.
    const silent = s.readHoldingRegisters(9, 0, 8);
    const next = s.readHoldingRegisters(7, 0, 1);
    const error = await rejection(silent);
    expect(error.code).toBe('MODBUS_TIMEOUT');
    expect(error.context).toMatchObject({ functionCode: 3, unitId: 9, timeoutMs: 300 });
    expect(await next).toEqual([0x4153]);
  });

  it('reports a refused connection as TRANSPORT_OPEN_FAILED', async () => {
    const server = await startModbusRpmTcpServer();
    const port = server.port;
    await server.close();
    const s = createModbusSession({ endpoint: { kind: 'modbus-tcp', host: '127.0.0.1', port } });
    expect((await rejection(s.connect())).code).toBe('TRANSPORT_OPEN_FAILED');
  });

  it('tells its owner when the peer closes the link', async () => {
    const server = await startModbusRpmTcpServer();
    const s = await session(server);
    const closed = new Promise<string>((resolve) => s.onClose(resolve));
    await server.close();
    expect(await closed).toMatch(/closed/);
    expect(s.isOpen).toBe(false);
    expect((await rejection(s.readHoldingRegisters(1, 0, 1))).code).toBe('TRANSPORT_CLOSED');
  });
});
