/**
 * The live VM-250 driver against a real TCP server playing the RPM (SPEC §1.1, §8): occupancies
 * come out as lane events; bad input is counted and skipped; a dropped link ends the open
 * occupancy abnormally and is re-established; a silent device is reported within 3 sample
 * intervals; a device that is down at start is connected to once it is up.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, SystemClock, type Clock } from '../../src/core/clock.js';
import { Counters } from '../../src/core/counters.js';
import { createMemoryLogger } from '../../src/core/logger.js';
import type { LaneDriver } from '../../src/domain/lane-events.js';
import { createTcpLink } from '../../src/drivers/transport/tcp-link.js';
import { createVm250Driver, type Vm250DriverOptions } from '../../src/drivers/vm250/driver.js';
import { freePort, startTcpLineServer, type TcpLineServer } from '../support/tcp-line-server.js';
import { backgroundLines, createEventLog, occupancyLines, type EventLog } from '../support/vm250-stream.js';
import { sleep, waitFor } from '../support/wait-for.js';

const LANE = 'lane-1';

interface Harness {
  driver: LaneDriver;
  log: EventLog;
  counters: Counters;
  logger: ReturnType<typeof createMemoryLogger>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(port?: number): Promise<TcpLineServer> {
  const s = await startTcpLineServer(port);
  cleanups.push(() => s.close());
  return s;
}

function startDriver(port: number, extra: Partial<Vm250DriverOptions> & { clock?: Clock } = {}): Harness {
  const log = createEventLog();
  const counters = new Counters();
  const logger = createMemoryLogger();
  const link = createTcpLink({ host: '127.0.0.1', port, backoff: { initialMs: 50, maxMs: 300 } });
  const driver = createVm250Driver({
    lane: LANE,
    link,
    clock: new SystemClock(),
    logger,
    counters,
    emit: log.emit,
    ...extra,
  });
  cleanups.push(() => driver.stop());
  void driver.start();
  return { driver, log, counters, logger };
}

const connected = (h: Harness) => h.log.states().at(-1) === 'connected';

describe('vm250 driver over TCP', () => {
  it('turns a pushed occupancy into start, samples, speed and end events', async () => {
    const s = await server();
    const h = startDriver(s.port, { firstSeq: 41 });
    expect(h.driver.descriptor).toEqual({
      id: LANE,
      driver: 'vm250',
      channels: { gamma: 4, neutron: 4 },
      gammaChannelNames: ['masterUpper', 'masterLower', 'slaveLower', 'slaveUpper'],
    });
    await waitFor(() => connected(h) && s.clients.size === 1, { what: 'driver connected' });

    s.sendLines([...backgroundLines(), ...occupancyLines({ samples: 10, index: 7 }), ...backgroundLines()]);
    await waitFor(() => h.log.ofKind('background').length === 4, { what: 'trailing background' });

    expect(h.log.states()).toEqual(['connecting', 'connected']);
    const [start] = h.log.ofKind('occupancy-start');
    expect(start).toMatchObject({ lane: LANE, seq: 41, continuation: false, partial: false });
    const gamma = h.log.ofKind('sample').filter((e) => e.radiation === 'gamma');
    expect(gamma).toHaveLength(15);
    expect(gamma.slice(0, 5).every((e) => e.preTrigger)).toBe(true);
    expect(gamma.slice(5).some((e) => e.preTrigger)).toBe(false);
    // SPEC §1.1: the look-back burst is timed trigger − 1.0 s … − 0.2 s.
    expect(gamma[0]!.time).toBeCloseTo(start!.time - 1000);
    expect(gamma[4]!.time).toBeCloseTo(start!.time - 200);
    expect(gamma[5]!.counts).toEqual([110, 111, 112, 113]);
    expect(h.log.ofKind('sample').filter((e) => e.radiation === 'neutron')).toHaveLength(2);
    expect(h.log.ofKind('speed')).toEqual([expect.objectContaining({ seq: 41, speedKph: 4.88 })]);
    expect(h.log.ofKind('occupancy-end')).toEqual([
      expect.objectContaining({
        seq: 41,
        reason: 'device-end',
        endedAbnormally: false,
        deviceIndex: 7,
        deviceNeutronBackgroundCps: 2.345,
      }),
    ]);
    expect(h.counters.get(`lane.${LANE}.lines`)).toBe(4 + 1 + 5 + 10 + 2 + 1);
    expect(h.log.ofKind('bad-input')).toEqual([]);
  });

  it('counts garbage, over-long and malformed lines, logs them rate-limited, and keeps going', async () => {
    const s = await server();
    const h = startDriver(s.port, { badInputLog: { burst: 5, windowMs: 60_000 } });
    await waitFor(() => connected(h) && s.clients.size === 1);

    s.sendLines([...backgroundLines(), ...occupancyLines({ index: 1 })]);
    for (let i = 0; i < 30; i++) s.send(Buffer.from([0x00, 0xff, 0x13, 0x6a, 0x75, 0x6e, 0x6b, 0x0d, 0x0a]));
    s.send(`${'X'.repeat(200)}\r\n${'GS,'.repeat(100)}\n${'Y'.repeat(129)}\r\n`);
    s.sendLines(['GS,000012,abc,000001', ...backgroundLines()]);
    // Bad lines inside the next occupancy do not break it.
    const second = occupancyLines({ index: 2, base: 500 });
    s.sendLines(second.slice(0, 8));
    s.send('\x01\x02garbage\r\nGX\r\n');
    s.sendLines([...second.slice(8), ...backgroundLines()]);

    await waitFor(() => h.log.ofKind('occupancy-end').length === 2, { what: 'second occupancy end' });
    const ends = h.log.ofKind('occupancy-end');
    expect(ends.map((e) => [e.seq, e.reason, e.deviceIndex])).toEqual([
      [1, 'device-end', 1],
      [2, 'device-end', 2],
    ]);
    expect(h.log.ofKind('sample').filter((e) => e.seq === 2 && e.radiation === 'gamma')).toHaveLength(15);

    expect(h.counters.get(`lane.${LANE}.bad-input.garbage`)).toBe(31);
    expect(h.counters.get(`lane.${LANE}.bad-input.line-too-long`)).toBe(3);
    expect(h.counters.get(`lane.${LANE}.bad-input.malformed-line`)).toBe(2);
    const bad = h.log.ofKind('bad-input');
    expect(bad).toHaveLength(36);
    expect(bad.find((e) => e.reason === 'line-too-long')).toMatchObject({
      detail: 'line of 200 bytes exceeds the 128-byte limit; discarded',
      raw: 'X'.repeat(32),
    });
    expect(bad[0]).toMatchObject({ reason: 'garbage', raw: '\\x00\\xff\\x13junk' });

    // The log got the first 5 one by one, and the rest only as a summary (at stop at the latest).
    const individual = () => h.logger.records.filter((r) => r.msg === 'bad input discarded');
    expect(individual()).toHaveLength(5);
    await h.driver.stop();
    const summary = h.logger.records.find((r) => /more bad input records/.test(String(r.msg)));
    expect(summary).toMatchObject({ suppressed: { garbage: 26, 'line-too-long': 3, 'malformed-line': 2 } });
    expect(h.counters.get(`lane.${LANE}.log.suppressed`)).toBe(31);
  });

  it('ends the open occupancy as link-lost when the device drops, reconnects, and carries on', async () => {
    const s = await server();
    const h = startDriver(s.port);
    await waitFor(() => connected(h) && s.clients.size === 1);

    s.sendLines([...backgroundLines(), ...occupancyLines({ samples: 3, end: false })]);
    await waitFor(() => h.log.ofKind('sample').length === 8, { what: 'samples of the open occupancy' });
    s.dropClients();

    await waitFor(() => h.log.ofKind('occupancy-end').length === 1, { what: 'link-lost end' });
    expect(h.log.ofKind('occupancy-end')[0]).toMatchObject({
      seq: 1,
      reason: 'link-lost',
      endedAbnormally: true,
      deviceIndex: null,
    });
    const disconnectedAt = h.log.events.findIndex(
      (e) => e.kind === 'connection' && e.state === 'disconnected',
    );
    const endAt = h.log.events.findIndex((e) => e.kind === 'occupancy-end');
    expect(disconnectedAt).toBeGreaterThan(0);
    expect(disconnectedAt).toBeLessThan(endAt);
    expect(h.log.events[disconnectedAt]).toMatchObject({
      reason: 'lost',
      retryInMs: expect.any(Number) as unknown,
    });

    await waitFor(() => s.accepted === 2 && s.clients.size === 1 && connected(h), { what: 'reconnected' });
    expect(h.counters.get(`lane.${LANE}.link.disconnects`)).toBe(1);
    s.sendLines([...backgroundLines(), ...occupancyLines({ index: 2 })]);
    await waitFor(() => h.log.ofKind('occupancy-end').length === 2, { what: 'next occupancy' });
    expect(h.log.ofKind('occupancy-start')[1]).toMatchObject({ seq: 2, partial: false });
    expect(h.log.ofKind('occupancy-end')[1]).toMatchObject({ seq: 2, reason: 'device-end', deviceIndex: 2 });
    expect(h.log.states()).toEqual(['connecting', 'connected', 'disconnected', 'connected']);
  });

  it('reports a device that falls silent mid-occupancy within 3 sample intervals, once', async () => {
    const s = await server();
    const h = startDriver(s.port);
    await waitFor(() => connected(h) && s.clients.size === 1);

    s.sendLines([...backgroundLines(), ...occupancyLines({ samples: 2, end: false })]);
    await waitFor(() => h.log.ofKind('sample').length === 7);
    const lastLine = h.log.ofKind('sample').at(-1)!.time;

    await waitFor(() => h.log.states().includes('silent'), { what: 'silent', timeoutMs: 5000 });
    const silent = h.log.ofKind('connection').find((e) => e.state === 'silent')!;
    // 3 × 200 ms; a loaded machine may wake the timer late, never early.
    expect(silent.time - lastLine).toBeGreaterThanOrEqual(600);
    expect(silent.time - lastLine).toBeLessThan(2000);
    expect(silent.detail).toMatch(/no line for \d+ ms; expected one every 200 ms while occupied/);
    expect(h.log.ofKind('occupancy-end')).toEqual([]); // silence is a health event, not an end

    await sleep(700);
    expect(h.log.states().filter((state) => state === 'silent')).toHaveLength(1);
    s.sendLines(['GS,000300,000301,000302,000303', 'GX,000009,002000,000000,000000']);
    await waitFor(() => h.log.ofKind('occupancy-end').length === 1);
    expect(h.log.states()).toEqual(['connecting', 'connected', 'silent', 'connected']);
    expect(h.log.ofKind('connection').at(-1)!.detail).toMatch(/lines resumed after \d+ ms of silence/);
    expect(h.log.ofKind('occupancy-end')[0]).toMatchObject({ reason: 'device-end', deviceIndex: 9 });
  });

  it('reports an empty lane silent after 3 background intervals (15 s), on an injected clock', async () => {
    const s = await server();
    const clock = new ManualClock(1_700_000_000_000);
    const h = startDriver(s.port, { clock });
    await waitFor(() => connected(h) && s.clients.size === 1);
    s.sendLines(backgroundLines());
    await waitFor(() => h.log.ofKind('background').length === 2);

    clock.advance(14_900);
    expect(h.log.states()).not.toContain('silent');
    clock.advance(200);
    const silent = h.log.ofKind('connection').find((e) => e.state === 'silent');
    expect(silent!.time - 1_700_000_000_000).toBeGreaterThanOrEqual(15_000);
    expect(silent!.time - 1_700_000_000_000).toBeLessThanOrEqual(15_002);
    expect(silent!.detail).toMatch(/expected one every 5000 ms while empty/);

    s.sendLines(backgroundLines());
    await waitFor(() => h.log.ofKind('background').length === 4);
    expect(h.log.states()).toEqual(['connecting', 'connected', 'silent', 'connected']);
  });

  it('keeps retrying while the device is down at start, reporting one disconnect, and connects once it is up', async () => {
    const port = await freePort();
    const h = startDriver(port);
    await waitFor(() => h.logger.records.filter((r) => r.msg === 'link still down').length >= 3, {
      what: 'several failed attempts',
    });
    expect(h.log.states()).toEqual(['connecting', 'disconnected']);
    const failure = h.log.ofKind('connection')[1]!;
    expect(failure.detail).toMatch(/ECONNREFUSED.*retrying in \d+ ms/);
    expect(failure).toMatchObject({
      reason: 'connect-failed',
      attempts: 1,
      retryInMs: expect.any(Number) as unknown,
    });

    const s = await server(port);
    await waitFor(() => connected(h) && s.clients.size === 1, { what: 'connected once up' });
    const up = h.log.ofKind('connection')[2]!;
    const tries = h.logger.records.filter((r) => r.msg === 'link still down').length + 2;
    expect(up).toMatchObject({
      attempts: tries,
      detail: `connected to tcp://127.0.0.1:${port} after ${tries} attempts`,
    });
    s.sendLines([...backgroundLines(), ...occupancyLines({ index: 3 })]);
    await waitFor(() => h.log.ofKind('occupancy-end').length === 1);
    expect(h.log.ofKind('occupancy-end')[0]).toMatchObject({ seq: 1, deviceIndex: 3, reason: 'device-end' });
    expect(h.log.states()).toEqual(['connecting', 'disconnected', 'connected']);
  });

  it('reports a device that stays unreachable again after 5 minutes, with the attempt count', async () => {
    const port = await freePort();
    const clock = new ManualClock(1_700_000_000_000);
    const h = startDriver(port, { clock });
    const stillDown = () => h.logger.records.filter((r) => r.msg === 'link still down').length;
    await waitFor(() => stillDown() >= 3, { what: 'several failed attempts' });
    expect(h.log.states()).toEqual(['connecting', 'disconnected']);

    clock.advance(4 * 60_000);
    const before = stillDown();
    await waitFor(() => stillDown() >= before + 2, { what: 'more failed attempts' });
    expect(h.log.states()).toEqual(['connecting', 'disconnected']);

    clock.advance(60_000);
    await waitFor(() => h.log.states().length === 3, { what: 'the reminder' });
    const [first, reminder] = h.log.ofKind('connection').slice(1);
    expect(reminder).toMatchObject({ state: 'disconnected', reason: 'connect-failed' });
    expect(reminder!.detail).toMatch(/ECONNREFUSED.*retrying in \d+ ms/);
    // The first failure, the unreported ones, and this one (more may have failed since).
    expect(reminder!.attempts).toBeGreaterThanOrEqual(before + 2 + 2);
    expect(reminder!.attempts).toBeLessThanOrEqual(stillDown() + 2);
    expect(reminder!.time - first!.time).toBeGreaterThanOrEqual(5 * 60_000);
  });

  it('stop() closes an open occupancy, reports the stop, is safe twice, and emits nothing after', async () => {
    const s = await server();
    const h = startDriver(s.port);
    await waitFor(() => connected(h) && s.clients.size === 1);
    s.sendLines([...backgroundLines(), ...occupancyLines({ samples: 1, end: false })]);
    await waitFor(() => h.log.ofKind('sample').length === 6);

    await Promise.all([h.driver.stop(), h.driver.stop()]);
    await h.driver.stop();
    expect(h.log.ofKind('occupancy-end')).toEqual([expect.objectContaining({ reason: 'link-lost' })]);
    expect(h.log.ofKind('connection').at(-1)).toMatchObject({
      state: 'disconnected',
      detail: 'stopped',
      reason: 'stopped',
    });
    const count = h.log.events.length;
    await waitFor(() => s.clients.size === 0);
    await sleep(300);
    expect(h.log.events).toHaveLength(count);
    expect(s.accepted).toBe(1);
  });
});
