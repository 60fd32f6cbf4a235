/**
 * The TCP and serial links against real sockets and real ptys: connect, carry bytes both
 * ways, report their state, reconnect with back-off, and stop cleanly (SPEC §8).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import type { ByteLink, LinkStateChange } from '../../src/drivers/transport/byte-link.js';
import { createPtyPair, type PtyPair } from '../../src/drivers/transport/pty-pair.js';
import { createSerialLink } from '../../src/drivers/transport/serial-link.js';
import { createTcpLink } from '../../src/drivers/transport/tcp-link.js';
import { freePort, startTcpLineServer, type TcpLineServer } from '../support/tcp-line-server.js';
import { sleep, waitFor } from '../support/wait-for.js';

const fastBackoff = { initialMs: 50, maxMs: 300 };

function record(link: ByteLink): { states: LinkStateChange[]; data: () => string } {
  const states: LinkStateChange[] = [];
  const chunks: Buffer[] = [];
  link.on('state', (change) => states.push(change));
  link.on('data', (chunk) => chunks.push(chunk));
  return { states, data: () => Buffer.concat(chunks).toString('latin1') };
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('tcp link', () => {
  async function server(port?: number): Promise<TcpLineServer> {
    const s = await startTcpLineServer(port);
    cleanups.push(() => s.close());
    return s;
  }
  function link(port: number, extra: Partial<Parameters<typeof createTcpLink>[0]> = {}): ByteLink {
    const l = createTcpLink({ host: '127.0.0.1', port, backoff: fastBackoff, ...extra });
    cleanups.push(() => l.stop());
    return l;
  }

  it('connects, carries bytes both ways and reports connecting → connected', async () => {
    const s = await server();
    const l = link(s.port);
    const seen = record(l);
    l.start();
    l.start(); // a second start while running does nothing
    await waitFor(() => l.state === 'connected', { what: 'connected' });
    expect(seen.states.map((c) => c.state)).toEqual(['connecting', 'connected']);
    expect(l.description).toBe(`tcp://127.0.0.1:${s.port}`);
    await waitFor(() => s.clients.size === 1);
    s.send('GB,000822,000750,000770,000757\r\n');
    await waitFor(() => seen.data().includes('\r\n'), { what: 'data' });
    expect(seen.data()).toBe('GB,000822,000750,000770,000757\r\n');

    const received: Buffer[] = [];
    [...s.clients][0]!.on('data', (chunk: Buffer) => received.push(chunk));
    expect(l.write('hello')).toBe(true);
    await waitFor(() => Buffer.concat(received).toString() === 'hello', { what: 'bytes at the server' });
  });

  it('keeps retrying with back-off while the device is down, then connects', async () => {
    const port = await freePort();
    const l = link(port);
    const seen = record(l);
    l.start();
    await waitFor(() => seen.states.filter((c) => c.state === 'disconnected').length >= 3, {
      what: 'three failed attempts',
    });
    const failures = seen.states.filter((c) => c.state === 'disconnected');
    expect(failures[0]!.detail).toMatch(/ECONNREFUSED.*retrying in \d+ ms/);
    // The reason alone, the same on every attempt, so a repeat is recognised as one.
    expect(failures[0]!.cause).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(failures.map((c) => c.cause)).toEqual(Array(3).fill(failures[0]!.cause));
    expect(failures.map((c) => c.retryInMs)).toEqual([
      expect.any(Number),
      expect.any(Number),
      expect.any(Number),
    ]);
    expect(failures[2]!.retryInMs!).toBeGreaterThan(failures[0]!.retryInMs!);
    expect(l.write('x')).toBe(false);

    const s = await server(port);
    await waitFor(() => l.state === 'connected', { what: 'connected once the server is up' });
    expect(s.accepted).toBe(1);
  });

  it('reconnects after the device drops the connection', async () => {
    const s = await server();
    const l = link(s.port);
    const seen = record(l);
    l.start();
    await waitFor(() => s.clients.size === 1);
    s.dropClients();
    await waitFor(() => s.accepted === 2 && l.state === 'connected', { what: 'reconnected' });
    const states = seen.states.map((c) => c.state);
    expect(states).toEqual(['connecting', 'connected', 'disconnected', 'connecting', 'connected']);
    expect(seen.states[2]!.detail).toMatch(/closed the connection|ECONNRESET/);
  });

  it('gives up a connect attempt after the connect timeout and retries', async () => {
    // A listening socket that never accepts: with its backlog full, further SYNs go unanswered.
    // Not every kernel behaves so; a refused or unreachable error is an acceptable outcome too.
    const l = link(9, { connectTimeoutMs: 150, backoff: { initialMs: 5000 } });
    const seen = record(l);
    l.start();
    await waitFor(() => seen.states.some((c) => c.state === 'disconnected'), { what: 'a failed attempt' });
    expect(seen.states.find((c) => c.state === 'disconnected')!.detail).toMatch(
      /no connection within 150 ms|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH/,
    );
  });

  it('stop() is idempotent, closes the socket and cancels the pending reconnect', async () => {
    const s = await server();
    const l = link(s.port);
    const seen = record(l);
    l.start();
    await waitFor(() => s.clients.size === 1);
    await Promise.all([l.stop(), l.stop()]);
    await l.stop();
    expect(l.state).toBe('disconnected');
    expect(seen.states.at(-1)).toMatchObject({ state: 'disconnected', stopped: true });
    expect(seen.states.filter((c) => c.stopped)).toHaveLength(1);
    await waitFor(() => s.clients.size === 0, { what: 'server side closed' });

    // Stopped while waiting to retry: no attempt follows.
    const port = await freePort();
    const down = link(port, { backoff: { initialMs: 300, jitter: 0 } });
    const downSeen = record(down);
    down.start();
    await waitFor(() => down.state === 'disconnected');
    await down.stop();
    const count = downSeen.states.length;
    await sleep(600);
    expect(downSeen.states).toHaveLength(count);

    // And it can be started again.
    l.start();
    await waitFor(() => l.state === 'connected');
  });
});

describe('serial link over a socat pty pair', () => {
  let dir: string;
  let pair: PtyPair | null = null;
  let device: SerialPort | null = null;

  async function makePair(): Promise<PtyPair> {
    pair = await createPtyPair({ linkA: join(dir, 'rpm'), linkB: join(dir, 'gateway') });
    return pair;
  }
  async function openDeviceEnd(path: string): Promise<SerialPort> {
    const port = new SerialPort({ path, baudRate: 9600, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    port.on('error', () => undefined);
    device = port;
    return port;
  }

  afterEach(async () => {
    if (device?.isOpen) await new Promise<void>((resolve) => device!.close(() => resolve()));
    device = null;
    await pair?.close();
    pair = null;
    rmSync(dir, { recursive: true, force: true });
  });

  function setup(): ByteLink {
    dir = mkdtempSync(join(tmpdir(), 'rpm-serial-'));
    const l = createSerialLink({ path: join(dir, 'gateway'), backoff: fastBackoff });
    cleanups.push(() => l.stop());
    return l;
  }

  it('opens the port, carries bytes both ways, and reopens when the port comes back', async () => {
    const l = setup();
    const seen = record(l);
    const p = await makePair();
    expect(p.devices[0]).toMatch(/^\/dev\/pts\/\d+$/);
    const rpm = await openDeviceEnd(p.a);
    l.start();
    await waitFor(() => l.state === 'connected', { what: 'serial link open' });
    expect(l.description).toMatch(/\(9600 8N1\)$/);

    rpm.write('GB,000822,000750,000770,000757\r\n');
    await waitFor(() => seen.data().endsWith('\r\n'), { what: 'data over the pty' });
    const back: Buffer[] = [];
    rpm.on('data', (chunk: Buffer) => back.push(chunk));
    expect(l.write('ping')).toBe(true);
    await waitFor(() => Buffer.concat(back).toString() === 'ping', { what: 'bytes at the device end' });

    // The adapter disappears: socat is killed and both ptys vanish.
    await p.close();
    await waitFor(() => l.state === 'disconnected' || l.state === 'connecting', { what: 'disconnected' });
    const lost = seen.states.find((c) => c.state === 'disconnected');
    expect(lost?.detail).toMatch(/retrying in \d+ ms/);
    await sleep(300); // several failed reopen attempts while the path is gone
    expect(l.state).not.toBe('connected');

    const again = await makePair();
    const rpm2 = await openDeviceEnd(again.a);
    await waitFor(() => l.state === 'connected', { what: 'reopened', timeoutMs: 15_000 });
    const before = seen.data().length;
    rpm2.write('GB,000001,000002,000003,000004\r\n');
    await waitFor(() => seen.data().slice(before).includes('000004\r\n'), { what: 'data after reopen' });
  });

  it('retries while the port does not exist yet, and stop() is idempotent', async () => {
    const l = setup();
    const seen = record(l);
    l.start();
    await waitFor(() => seen.states.filter((c) => c.state === 'disconnected').length >= 2);
    expect(seen.states.find((c) => c.state === 'disconnected')!.detail).toMatch(/cannot open/);
    await makePair();
    await waitFor(() => l.state === 'connected', { what: 'opened once the pty exists' });
    await Promise.all([l.stop(), l.stop()]);
    expect(seen.states.at(-1)).toMatchObject({ state: 'disconnected', stopped: true });
    expect(seen.states.filter((c) => c.stopped)).toHaveLength(1);
  });
});

describe('createPtyPair', () => {
  it('says how to install socat when it is missing', async () => {
    const error = await createPtyPair({ socatPath: '/nonexistent/socat' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).code).toBe('PTY_UNAVAILABLE');
    expect((error as GatewayError).message).toMatch(/socat was not found on PATH; install socat/);
  });

  it('reports a socat that fails to make the pair', async () => {
    const error = await createPtyPair({ linkA: '/nonexistent-dir/x/rpm' }).catch((e: unknown) => e);
    expect((error as GatewayError).code).toBe('PTY_UNAVAILABLE');
    expect((error as GatewayError).message).toMatch(/socat exited .* before the pty pair was ready/);
  });

  it('close() is idempotent and removes the links', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rpm-pty-'));
    try {
      const p = await createPtyPair({ linkA: join(dir, 'a'), linkB: join(dir, 'b') });
      expect(p.a).toBe(join(dir, 'a'));
      await Promise.all([p.close(), p.close()]);
      await p.close();
      expect(existsSync(p.a)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
