/**
 * What the gateway's log says about a device link — technicians read it to find a mis-wired or
 * unreachable device. A whole gateway (`createGateway`, default log level) on real transports: a
 * TCP device that drops the link, a TCP port that refuses (bound, noted, closed), a serial path
 * that does not exist.
 *
 * - a link that was up and drops is lost (warn);
 * - the first failure to connect is a warn with the lane, the address, the reason and the next
 *   retry delay; the identical failures after it are not logged one by one, only a reminder
 *   with the attempt count every 5 minutes;
 * - a device that finally answers is logged "connected after N attempts";
 * - stopping the gateway is a clean close (an explicit `reason: 'stopped'`), not a lost link.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startModbusRpmTcpServer } from '../../simulators/modbus-rpm/tcp-server.js';
import { createGateway, type Gateway } from '../../src/app/gateway.js';
import { validateConfig } from '../../src/config/load.js';
import { ManualClock, SystemClock, type Clock } from '../../src/core/clock.js';
import { createMemoryLogger } from '../../src/core/logger.js';
import type { ConnectionEvent, LaneEvent } from '../../src/domain/lane-events.js';
import { freePort, startTcpLineServer } from '../support/tcp-line-server.js';
import { waitFor } from '../support/wait-for.js';

const LANE = 'lane-1';
type LogRecord = Record<string, unknown>;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Running {
  readonly gateway: Gateway;
  readonly logger: ReturnType<typeof createMemoryLogger>;
  readonly events: LaneEvent[];
  /** The lane's records at `info` and above: what a technician sees at the default level. */
  visible(): LogRecord[];
  named(msg: string): LogRecord[];
  connections(): ConnectionEvent[];
}

async function startGateway(
  driver: 'vm250' | 'modbus-rpm',
  address: string,
  clock: Clock = new SystemClock(),
): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-link-log-'));
  const validated = validateConfig({
    site: 'test',
    storage: { dir },
    lanes: [{ id: LANE, driver, address }],
  });
  if (!validated.ok) throw new Error(JSON.stringify(validated.problems));
  const logger = createMemoryLogger();
  const events: LaneEvent[] = [];
  const gateway = createGateway(validated.config, {
    clock,
    logger,
    output: () => {},
    onLaneEvent: (e) => events.push(e),
  });
  cleanups.push(async () => {
    await gateway.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await gateway.start();
  const visible = () => logger.records.filter((r) => r.lane === LANE && r.level !== 'debug');
  return {
    gateway,
    logger,
    events,
    visible,
    named: (msg) => visible().filter((r) => r.msg === msg),
    connections: () => events.filter((e): e is ConnectionEvent => e.kind === 'connection'),
  };
}

/** The transport's own record of each failed attempt (debug: the technician does not see these). */
const failedAttempts = (g: Running): number =>
  g.logger.records.filter((r) => r.msg === 'link state' && r.state === 'disconnected' && r.lane === LANE)
    .length;

/** Stopping the gateway is a clean close (reason `stopped`, logged at info), never a lost link. */
async function expectCleanStop(g: Running): Promise<void> {
  await g.gateway.stop();
  expect(g.connections().at(-1)).toMatchObject({ state: 'disconnected', reason: 'stopped' });
  expect(g.named('device link closed')).toEqual([expect.objectContaining({ level: 'info' })]);
  expect(g.named('device link lost')).toEqual([]);
}

describe("the gateway's log of a device link", () => {
  it('logs a link that drops as lost, and stopping the gateway as a clean close', async () => {
    const device = await startTcpLineServer();
    cleanups.push(() => device.close());
    const g = await startGateway('vm250', `tcp://127.0.0.1:${device.port}`);
    await waitFor(() => device.clients.size === 1 && g.named('device link up').length === 1, {
      what: 'device link up',
    });
    device.dropClients();
    await waitFor(() => g.named('device link up').length === 2, { what: 'up again' });
    expect(g.named('device link lost')).toEqual([expect.objectContaining({ level: 'warn' })]);
    expect(g.connections().find((e) => e.state === 'disconnected')).toMatchObject({ reason: 'lost' });

    await g.gateway.stop();
    expect(g.connections().at(-1)).toMatchObject({ state: 'disconnected', reason: 'stopped' });
    expect(g.named('device link closed')).toEqual([expect.objectContaining({ level: 'info' })]);
    expect(g.named('device link lost')).toHaveLength(1);
  });

  it('warns once about a TCP device that refuses from the start, then logs the connection with its attempt count', async () => {
    const port = await freePort();
    const address = `tcp://127.0.0.1:${port}`;
    const g = await startGateway('vm250', address);
    await waitFor(() => failedAttempts(g) >= 3, { what: 'three refused attempts' });

    const warnings = g.visible().filter((r) => r.level === 'warn');
    expect(warnings).toEqual([
      expect.objectContaining({
        msg: 'cannot connect to device',
        lane: LANE,
        address,
        detail: expect.stringMatching(/ECONNREFUSED.*; retrying in \d+ ms$/) as unknown,
        retryInMs: expect.any(Number) as unknown,
        attempts: 1,
      }),
    ]);
    // It never was up, so nothing was "lost".
    expect(g.named('device link lost')).toEqual([]);

    const device = await startTcpLineServer(port);
    cleanups.push(() => device.close());
    const [up] = await waitFor(() => g.named('device link up').length > 0 && g.named('device link up'), {
      what: 'device link up',
    });
    const attempts = failedAttempts(g) + 1;
    expect(up).toMatchObject({
      level: 'info',
      address,
      attempts,
      detail: `connected to ${address} after ${attempts} attempts`,
    });
    expect(g.named('cannot connect to device')).toHaveLength(1);

    await expectCleanStop(g);
  });

  it('reminds at most every 5 minutes, with the attempt count, while the device stays unreachable', async () => {
    const port = await freePort();
    // The gateway's clock drives the retries; each attempt is a real connection, refused.
    const clock = new ManualClock(1_700_000_000_000);
    const g = await startGateway('vm250', `tcp://127.0.0.1:${port}`, clock);
    const settled = () =>
      g.logger.records.filter((r) => r.msg === 'link state' && r.lane === LANE).at(-1)?.state ===
      'disconnected';
    await waitFor(settled, { what: 'the first refused attempt' });
    // Eleven minutes in 1 s steps (an attempt's 5 s connect deadline never falls inside a step).
    for (let second = 0; second < 11 * 60; second++) {
      clock.advance(1000);
      await waitFor(settled, { what: 'the attempt under way to fail' });
    }
    const warnings = g.visible().filter((r) => r.level === 'warn');
    expect(warnings.map((r) => r.msg)).toEqual([
      'cannot connect to device',
      'still cannot connect to device',
      'still cannot connect to device',
    ]);
    const [first, second, third] = warnings;
    expect(first).toMatchObject({ attempts: 1 });
    // Back-off caps at 10 s: some 35 attempts fail between two reminders.
    expect(second!.attempts).toBeGreaterThan(25);
    expect(third!.attempts).toBeGreaterThan(Number(second!.attempts) + 25);
    for (const w of [second, third]) expect(w!.detail).toMatch(/ECONNREFUSED.*; retrying in \d+ ms$/);
    const reminders = g.connections().filter((e) => e.state === 'disconnected');
    expect(reminders.map((e) => e.attempts)).toEqual(warnings.map((w) => w.attempts));
    expect(reminders[1]!.time - reminders[0]!.time).toBeGreaterThanOrEqual(5 * 60_000);
    expect(reminders[2]!.time - reminders[1]!.time).toBeGreaterThanOrEqual(5 * 60_000);
  });

  it('says once that a link keeps dropping, then reminds every 5 minutes with the drops in between', async () => {
    // A device that takes the connection and drops it at once (a one-client device already
    // taken): each attempt is a real connection, accepted and closed.
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const clock = new ManualClock(1_700_000_000_000);
    const g = await startGateway('vm250', `tcp://127.0.0.1:${port}`, clock);
    const drops = () => g.connections().filter((e) => e.state === 'disconnected').length;
    await waitFor(() => drops() >= 1, { what: 'the first drop' });
    for (let second = 0; second < 11 * 60; second++) {
      const before = drops();
      const last = g
        .connections()
        .filter((e) => e.state === 'disconnected')
        .at(-1)!;
      clock.advance(1000);
      // The retry fell due in this step: wait for it to be accepted and dropped.
      if (clock.now() >= last.time + (last.retryInMs ?? 0))
        await waitFor(() => drops() > before, { what: 'the next drop' });
    }
    const warnings = g.visible().filter((r) => r.level === 'warn');
    expect(warnings.map((r) => r.msg)).toEqual([
      'device link lost',
      'device link keeps dropping',
      'device link keeps dropping',
      'device link keeps dropping',
    ]);
    expect(warnings[1]).toMatchObject({ drops: 2, upLessThanMs: 60_000 });
    // Back-off caps at 10 s: some 30 drops between two reminders, each counted, none logged.
    expect(Number(warnings[2]!.drops)).toBeGreaterThan(20);
    expect(Number(warnings[3]!.drops)).toBeGreaterThan(20);
    expect(1 + 2 + Number(warnings[2]!.drops) + Number(warnings[3]!.drops)).toBeLessThanOrEqual(drops());
    // Its reconnects are quiet as well, after the first two.
    expect(g.named('device link up')).toHaveLength(2);
    // Every change is still a lane event (central sees them all).
    expect(drops()).toBeGreaterThan(60);
  });

  it('warns once about a Modbus TCP device that refuses from the start, then logs the connection with its attempt count', async () => {
    const port = await freePort();
    const address = `modbus-tcp://127.0.0.1:${port}`;
    const g = await startGateway('modbus-rpm', address);
    const reconnects = () => g.gateway.counters.get(`${LANE}.modbus.reconnects`);
    await waitFor(() => reconnects() >= 3, { what: 'three refused attempts' });

    expect(g.visible().filter((r) => r.level === 'warn')).toEqual([
      expect.objectContaining({
        msg: 'cannot connect to device',
        lane: LANE,
        address,
        detail: expect.stringMatching(/ECONNREFUSED.*; retrying in \d+ ms$/) as unknown,
        retryInMs: expect.any(Number) as unknown,
        attempts: 1,
      }),
    ]);
    // Neither a warn nor an info line per retry.
    expect(g.visible().filter((r) => /reconnecting|could not connect/.test(String(r.msg)))).toEqual([]);
    // The lane's events say it once too: no connecting/disconnected pair per retry.
    expect(g.connections().map((e) => e.state)).toEqual(['connecting', 'disconnected']);

    const sim = await startModbusRpmTcpServer({ seed: 'link-log', host: '127.0.0.1', port });
    cleanups.push(() => sim.close());
    const [up] = await waitFor(() => g.named('device link up').length > 0 && g.named('device link up'), {
      what: 'device link up',
    });
    const attempts = reconnects() + 1;
    expect(up).toMatchObject({ level: 'info', attempts, detail: `connected after ${attempts} attempts` });

    await expectCleanStop(g);
  });

  it('warns once when a Modbus TCP device that was up goes away', async () => {
    const port = await freePort();
    const address = `modbus-tcp://127.0.0.1:${port}`;
    const sim = await startModbusRpmTcpServer({ seed: 'link-log-lost', host: '127.0.0.1', port });
    let simClosed = false;
    cleanups.push(() => (simClosed ? Promise.resolve() : sim.close()));
    const g = await startGateway('modbus-rpm', address);
    await waitFor(() => g.named('device link up').length > 0, { what: 'device link up' });
    await sim.close();
    simClosed = true;
    await waitFor(() => g.named('device link lost').length > 0, { what: 'device link lost' });
    // The gateway's line only: the driver does not add one of its own for the same loss.
    expect(g.visible().filter((r) => r.level === 'warn')).toEqual([
      expect.objectContaining({ msg: 'device link lost', lane: LANE, address }),
    ]);
    await g.gateway.stop();
  });

  it('warns once about a serial path that does not exist, with the reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-link-log-serial-'));
    cleanups.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
    const address = `serial://${join(dir, 'ttyUSB9')}`;
    const g = await startGateway('vm250', address);
    await waitFor(() => failedAttempts(g) >= 3, { what: 'three failed opens' });
    expect(g.visible().filter((r) => r.level === 'warn')).toEqual([
      expect.objectContaining({
        msg: 'cannot connect to device',
        address,
        detail: expect.stringMatching(
          /cannot open: .*(No such file|ENOENT).*; retrying in \d+ ms$/,
        ) as unknown,
        retryInMs: expect.any(Number) as unknown,
        attempts: 1,
      }),
    ]);
    await g.gateway.stop();
    // Stopped while it was still retrying: nothing more to say.
    expect(g.named('device link lost')).toEqual([]);
  });
});
