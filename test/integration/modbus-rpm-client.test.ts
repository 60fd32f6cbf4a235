/**
 * The Modbus session (src/drivers/modbus-rpm/modbus-client.ts) against modbus-serial's own
 * ServerTCP on loopback: one request at a time, timeouts and exceptions as GatewayError codes;
 * and that a connect which fails (timed out, refused, a serial port that will not open) leaves no
 * socket or file behind.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import modbusSerial from 'modbus-serial';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { createModbusSession, type ModbusSession } from '../../src/drivers/modbus-rpm/modbus-client.js';
import { DEFAULT_MODBUS_RTU_SETTINGS } from '../../src/drivers/transport/uri.js';
import { RpmRegisterModel } from '../../simulators/modbus-rpm/register-model.js';
import { startModbusRpmTcpServer, type ModbusRpmTcpServer } from '../../simulators/modbus-rpm/tcp-server.js';
import { freePort } from '../support/tcp-line-server.js';
import { sleep, waitFor } from '../support/wait-for.js';

const cleanups: Array<() => Promise<void> | void> = [];
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

/** TCP sockets this process holds, connects in progress included, by Node's own count. */
function openSockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'ConnectWrap').length;
}

/** Sockets on this host in SYN-SENT towards 127.0.0.1:`port`, as the kernel sees them (Linux). */
function synSentTo(port: number): number {
  // /proc/net/tcp prints the address as the host-order word in hex: little-endian (x86, arm).
  const remote = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => {
      const [, , rem, state] = line.trim().split(/\s+/);
      return rem === remote && state === '02';
    }).length;
}

/**
 * A loopback port whose connects hang, as a device that has stopped accepting does. A child process
 * listens with a backlog of one and then blocks its event loop for good, so it never accepts; once
 * this process has filled the kernel's accept queue, further SYNs are dropped and a connect stays in
 * SYN-SENT, retried by the kernel for about two minutes.
 */
async function hangingPort(): Promise<number> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const server = require('node:net').createServer();
       server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
         process.stdout.write(server.address().port + '\\n', () =>
           Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0));
       });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  cleanups.push(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('exit', () => reject(new Error('the non-accepting listener exited early')));
  });
  // Connect until one attempt hangs: the ones before it fill the accept queue.
  const socketsBefore = openSockets();
  const fill: net.Socket[] = [];
  cleanups.push(() => {
    for (const socket of fill) socket.destroy();
  });
  for (;;) {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    fill.push(socket);
    const connected = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      setTimeout(() => resolve(false), 300);
    });
    if (!connected) break;
    if (fill.length > 8) throw new Error('this kernel accepts connects beyond the listen backlog');
  }
  fill.pop()!.destroy();
  await waitFor(() => synSentTo(port) === 0, { what: 'the probing connect gone' });
  // And its handle closed, so that a count taken now holds only the fillers.
  await waitFor(() => openSockets() === socketsBefore + fill.length, { what: 'only the fillers open' });
  return port;
}

describe('a Modbus connect that fails leaves nothing behind', () => {
  it('destroys the socket of a TCP connect that timed out', async () => {
    const port = await hangingPort();
    const before = openSockets();
    const s = createModbusSession({
      endpoint: { kind: 'modbus-tcp', host: '127.0.0.1', port },
      connectTimeoutMs: 300,
    });
    const reasons: string[] = [];
    s.onClose((reason) => reasons.push(reason));
    // The driver retries like this while a device does not answer: no attempt may leave a socket.
    for (let attempt = 1; attempt <= 3; attempt++) {
      const error = await rejection(s.connect());
      expect(error.code).toBe('TRANSPORT_OPEN_FAILED');
      expect(error.message).toBe(`could not open Modbus link to 127.0.0.1:${port}: TCP Connection Timed Out`);
      // A leaked socket would stay in SYN-SENT for minutes and might still connect later.
      await waitFor(() => openSockets() === before, {
        timeoutMs: 2000,
        what: `no socket left (attempt ${attempt})`,
      });
      expect(synSentTo(port)).toBe(0);
    }
    await sleep(50);
    expect(s.isOpen).toBe(false);
    expect(reasons).toEqual([]);
  });

  it('leaves no socket after a refused TCP connect', async () => {
    const port = await freePort();
    const before = openSockets();
    const s = createModbusSession({ endpoint: { kind: 'modbus-tcp', host: '127.0.0.1', port } });
    const error = await rejection(s.connect());
    expect(error.code).toBe('TRANSPORT_OPEN_FAILED');
    expect(error.message).toMatch(/ECONNREFUSED/);
    await waitFor(() => openSockets() === before, { timeoutMs: 2000, what: 'no socket left' });
    expect(s.isOpen).toBe(false);
  });

  it('leaves no open file after a serial port that fails to open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'modbus-open-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // A path that exists but is no terminal: opened, then the line settings fail.
    const notATty = join(dir, 'not-a-tty');
    writeFileSync(notATty, '');
    const openFiles = (): string[] =>
      readdirSync('/proc/self/fd').flatMap((fd) => {
        try {
          return [readlinkSync(join('/proc/self/fd', fd))];
        } catch {
          return [];
        }
      });
    for (const path of [notATty, join(dir, 'missing')]) {
      const s = createModbusSession({
        endpoint: { kind: 'modbus-rtu', path, serial: DEFAULT_MODBUS_RTU_SETTINGS },
      });
      const error = await rejection(s.connect());
      expect(error.code).toBe('TRANSPORT_OPEN_FAILED');
      expect(error.message).toMatch(new RegExp(`^could not open Modbus link to ${path}: `));
      expect(openFiles().filter((file) => file.startsWith(dir))).toEqual([]);
      expect(s.isOpen).toBe(false);
    }
  });
});
