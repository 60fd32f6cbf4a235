/**
 * The Modbus RPM driver's runner logic, request by request, on a ManualClock with a scripted
 * session: poll cadence without overlap, description fallback, timeouts → link lost → back-off,
 * exceptions, unit scan, stop. The real transports are covered by test/integration/modbus-rpm-*.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { Counters } from '../../../src/core/counters.js';
import { GatewayError } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/core/logger.js';
import type { LaneEvent } from '../../../src/domain/lane-events.js';
import {
  createModbusRpmDriver,
  type ModbusRpmDriverOptions,
} from '../../../src/drivers/modbus-rpm/driver.js';
import type { ModbusSession } from '../../../src/drivers/modbus-rpm/modbus-client.js';
import {
  channelStatus,
  encodeDescriptionBlock,
  encodeMonitorBlock,
  inputSignals,
  outputSignals,
} from '../../../src/drivers/modbus-rpm/register-map.js';

interface Request {
  readonly unitId: number;
  readonly address: number;
  readonly length: number;
  resolve(values: number[]): void;
  reject(error: unknown): void;
}

/** A scripted Modbus link: every request waits until the test answers it. */
class ScriptedLink {
  readonly requests: Request[] = [];
  connects = 0;
  failConnects = 0;
  closeListener: ((reason: string) => void) | null = null;

  factory = (): ModbusSession => {
    let open = false;
    return {
      connect: () => {
        this.connects++;
        if (this.failConnects > 0) {
          this.failConnects--;
          return Promise.reject(new GatewayError('TRANSPORT_OPEN_FAILED', 'refused'));
        }
        open = true;
        return Promise.resolve();
      },
      readHoldingRegisters: (unitId, address, length) =>
        new Promise<number[]>((resolve, reject) =>
          this.requests.push({ unitId, address, length, resolve, reject }),
        ),
      writeRegister: () => Promise.reject(new Error('the Modbus RPM driver writes nothing')),
      close: () => {
        open = false;
        return Promise.resolve();
      },
      get isOpen() {
        return open;
      },
      onClose: (listener) => {
        this.closeListener = listener;
      },
    };
  };

  pending(): Request | undefined {
    return this.requests.at(-1);
  }

  answerDescription(base = 100, length = 21): void {
    this.pending()!.resolve(
      encodeDescriptionBlock({
        signature: 0x4153,
        registerCount: 29,
        monitorBlockId: 1,
        monitorBase: base,
        monitorLength: length,
        reserved: [0, 0, 0],
      }),
    );
  }

  answerMonitor(occupied = false, counter = 1, gammaAlarm = false): void {
    this.pending()!.resolve(
      encodeMonitorBlock({
        timeElapsed: 0,
        input: inputSignals({ occupancy1: occupied }),
        gamma: {
          status: channelStatus({ alarm1: gammaAlarm }),
          count: 250,
          background: 1200,
          variance: 1200,
        },
        neutron: { status: channelStatus({}), count: 1, background: 8, variance: 8 },
        objectCounter: counter,
        objectMark: 0,
        objectSpeed: 0,
        output: outputSignals({}),
        extra: [],
      }),
    );
  }

  timeout(): void {
    const r = this.pending()!;
    r.reject(
      new GatewayError('MODBUS_TIMEOUT', 'no answer', {
        unitId: r.unitId,
        address: r.address,
        length: r.length,
      }),
    );
  }

  exception(code = 2): void {
    const r = this.pending()!;
    r.reject(
      new GatewayError('MODBUS_EXCEPTION', 'exception', {
        unitId: r.unitId,
        address: r.address,
        length: r.length,
        functionCode: 3,
        exceptionCode: code,
      }),
    );
  }
}

/** Let promise continuations run (the driver awaits the session between timer callbacks). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

async function setup(overrides: Partial<ModbusRpmDriverOptions> = {}) {
  const clock = new ManualClock(1_000_000);
  const link = new ScriptedLink();
  const events: LaneEvent[] = [];
  const counters = new Counters();
  const driver = createModbusRpmDriver({
    lane: 'L',
    address: { kind: 'modbus-tcp', host: 'rpm', port: 502 },
    clock,
    logger: silentLogger,
    counters,
    emit: (e) => events.push(e),
    backoff: { initialMs: 100, maxMs: 1000, jitter: 0 },
    createSession: link.factory,
    ...overrides,
  });
  await driver.start();
  const step = async (ms: number): Promise<void> => {
    clock.advance(ms);
    // Zero-delay timers set from promise continuations (connect → poll) fire on the next advance.
    for (let i = 0; i < 5; i++) {
      await settle();
      clock.advance(0);
    }
    await settle();
  };
  await step(0);
  return { clock, link, events, counters, driver, step };
}

/**
 * A driver started at time 0 whose first `failConnects` connects are refused, back-off from
 * 100 ms up to `maxMs`, no jitter; nothing stepped yet (the tests time the retries themselves).
 */
async function refusing(failConnects: number, maxMs: number) {
  const clock = new ManualClock(0);
  const link = new ScriptedLink();
  link.failConnects = failConnects;
  const events: LaneEvent[] = [];
  const driver = createModbusRpmDriver({
    lane: 'L',
    address: { kind: 'modbus-tcp', host: 'rpm', port: 502 },
    clock,
    logger: silentLogger,
    counters: new Counters(),
    emit: (e) => events.push(e),
    backoff: { initialMs: 100, maxMs, jitter: 0 },
    createSession: link.factory,
  });
  await driver.start();
  return { clock, link, events, driver };
}

const states = (events: readonly LaneEvent[]): string[] =>
  events.flatMap((e) => (e.kind === 'connection' ? [e.state] : []));

describe('Modbus RPM driver runner', () => {
  it('reads the description block once, then polls the monitor block it points to', async () => {
    const { link, events, step } = await setup();
    expect(states(events)).toEqual(['connecting', 'connected']);
    expect(link.requests.map((r) => [r.unitId, r.address, r.length])).toEqual([[1, 0, 8]]);
    link.answerDescription(200, 24);
    await step(200);
    expect(link.pending()).toMatchObject({ address: 200, length: 24 });
    expect(events.find((e) => e.kind === 'device-config')).toMatchObject({
      values: { monitorBase: 200, monitorLength: 24, source: 'description', unitId: 1 },
    });
  });

  it('never overlaps polls, and keeps the cadence from the start of the previous poll', async () => {
    const { link, step } = await setup();
    link.answerDescription();
    await step(200);
    expect(link.requests).toHaveLength(2);
    await step(5000); // the device is slow: no second request while one is in flight
    expect(link.requests).toHaveLength(2);
    link.answerMonitor();
    await step(0);
    // The poll started 5000 ms ago, so the next one is due at once.
    expect(link.requests).toHaveLength(3);
    await step(50);
    link.answerMonitor();
    await step(100);
    expect(link.requests).toHaveLength(3);
    await step(50);
    expect(link.requests).toHaveLength(4);
  });

  it('falls back to 100/21 when the description block read answers with an exception', async () => {
    const { link, events, counters, step } = await setup();
    link.exception(2);
    await step(200);
    expect(link.pending()).toMatchObject({ address: 100, length: 21 });
    expect(events).toContainEqual(expect.objectContaining({ kind: 'bad-input', reason: 'modbus-exception' }));
    expect(events.find((e) => e.kind === 'device-config')).toMatchObject({ values: { source: 'default' } });
    expect(counters.get('L.bad-input.modbus-exception')).toBe(1);
  });

  it('keeps polling through exceptions; reports silence at the first timeout; an answer resets the count', async () => {
    const { link, events, step } = await setup();
    link.answerDescription();
    await step(200);
    for (const fail of ['timeout', 'timeout', 'exception', 'timeout', 'timeout'] as const) {
      link[fail]();
      await step(200);
    }
    expect(states(events)).toEqual(['connecting', 'connected', 'silent', 'connected', 'silent']);
    expect(
      events.filter((e) => e.kind === 'bad-input').map((e) => e.kind === 'bad-input' && e.reason),
    ).toEqual(['modbus-timeout', 'modbus-timeout', 'modbus-exception', 'modbus-timeout', 'modbus-timeout']);
  });

  it('after 3 consecutive timeouts: silent, occupancy closed as link-lost, reconnect with back-off', async () => {
    const { link, events, step } = await setup();
    link.answerDescription();
    await step(200);
    link.answerMonitor(true, 5);
    await step(200);
    expect(events.find((e) => e.kind === 'occupancy-start')).toMatchObject({ partial: true, seq: 1 });
    for (let i = 0; i < 3; i++) {
      link.timeout();
      await step(200);
    }
    expect(states(events)).toEqual(['connecting', 'connected', 'silent', 'disconnected']);
    expect(events.filter((e) => e.kind === 'connection').at(-1)).toMatchObject({
      reason: 'lost',
      retryInMs: 100,
      detail: '3 consecutive Modbus timeouts; retrying in 100 ms',
    });
    expect(events.find((e) => e.kind === 'occupancy-end')).toMatchObject({
      seq: 1,
      reason: 'link-lost',
      endedAbnormally: true,
      deviceIndex: 5,
    });
    // Back-off: the first retry 100 ms after the loss (jitter 0).
    expect(link.connects).toBe(1);
    await step(100);
    expect(link.connects).toBe(2);
    expect(states(events).slice(-2)).toEqual(['connecting', 'connected']);
    link.answerDescription();
    await step(200);
    link.answerMonitor(true, 5);
    await step(0);
    expect(events.filter((e) => e.kind === 'occupancy-start').at(-1)).toMatchObject({
      seq: 2,
      partial: true,
    });
  });

  it('retries a refused connection with growing delays', async () => {
    const { clock, link, events, driver } = await refusing(3, 1000);
    const connectsAt: number[] = [];
    for (let t = 0; t <= 1000; t += 10) {
      const before = link.connects;
      clock.advance(t === 0 ? 0 : 10);
      await settle();
      clock.advance(0);
      await settle();
      if (link.connects > before) connectsAt.push(clock.now());
    }
    expect(connectsAt).toEqual([0, 100, 300, 700]);
    // One report for the run of identical failures, and the count once connected.
    expect(states(events)).toEqual(['connecting', 'disconnected', 'connected']);
    const connection = events.filter((e) => e.kind === 'connection');
    expect(connection[1]).toMatchObject({
      reason: 'connect-failed',
      attempts: 1,
      retryInMs: 100,
      detail: 'TRANSPORT_OPEN_FAILED: refused; retrying in 100 ms',
    });
    expect(connection[2]).toMatchObject({ attempts: 4, detail: 'connected after 4 attempts' });
    await driver.stop();
  });

  it('reports a device that stays unreachable again after 5 minutes, with the attempt count', async () => {
    const { clock, link, events, driver } = await refusing(1000, 10_000);
    clock.advance(0);
    await settle();
    // Every retry falls due on a multiple of 100 ms, so it fails at the time it was due.
    for (let t = 0; t < 6 * 60_000; t += 100) {
      clock.advance(100);
      await settle();
    }
    const reports = events.flatMap((e) =>
      e.kind === 'connection' && e.state === 'disconnected' ? [[e.time, e.attempts, e.reason]] : [],
    );
    // Attempts at 0, 100, 300, 700, 1500, 3100, 6300, 12 700, then every 10 s: the 37th, at
    // 302 700 ms, is the first one 5 minutes after the report of the first.
    expect(reports).toEqual([
      [0, 1, 'connect-failed'],
      [302_700, 37, 'connect-failed'],
    ]);
    expect(states(events)).toEqual(['connecting', 'disconnected', 'disconnected']);
    expect(link.connects).toBe(42);
    await driver.stop();
  });

  it('reacts at once when the transport closes under it', async () => {
    const { link, events, step } = await setup();
    link.answerDescription();
    await step(200);
    link.closeListener!('link closed by peer');
    expect(states(events)).toEqual(['connecting', 'connected', 'disconnected']);
    link.answerMonitor(); // a late answer from the dead link is ignored
    await step(100);
    expect(states(events).slice(-2)).toEqual(['connecting', 'connected']);
  });

  it('scans unit ids and uses the first that answers the description block', async () => {
    const { link, events, step } = await setup({ scanUnitIds: true });
    for (let unit = 1; unit < 7; unit++) {
      expect(link.pending()).toMatchObject({ unitId: unit, address: 0, length: 8 });
      link.timeout();
      await step(0);
    }
    expect(link.pending()).toMatchObject({ unitId: 7 });
    link.answerDescription();
    await step(0);
    expect(link.pending()).toMatchObject({ unitId: 7, address: 100, length: 21 });
    // Scanning timeouts are not link loss, and are not reported as bad input.
    expect(states(events)).toEqual(['connecting', 'connected']);
    expect(events.filter((e) => e.kind === 'bad-input')).toEqual([]);
  });

  it('stops cleanly (twice), closing an open occupancy', async () => {
    const { link, events, driver, step } = await setup();
    link.answerDescription();
    await step(200);
    link.answerMonitor(true, 9);
    await step(200);
    await driver.stop();
    await driver.stop();
    expect(events.filter((e) => e.kind === 'occupancy-end')).toMatchObject([
      { reason: 'link-lost', deviceIndex: 9 },
    ]);
    expect(events.filter((e) => e.kind === 'connection').at(-1)).toMatchObject({
      state: 'disconnected',
      reason: 'stopped',
    });
    const requests = link.requests.length;
    await step(5000);
    expect(link.requests).toHaveLength(requests);
  });
});
