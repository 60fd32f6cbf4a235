/**
 * The bridge's figures for `npm run bench` (SPEC §7, issue 5), each measured against a real
 * Mosquitto beside its floor:
 * - `benchOutboxCommit`: events per second committed durably (fsync'd batched transactions).
 * - `benchDrain`: events per second drained to the broker after an outage.
 * - `benchAlarmLatency`: decisive VM-250 line written to the device socket → `rpm.alarm.raised`
 *   PUBACKed, p50/p99 over all lanes, beside a bare mqtt.js publish→PUBACK floor; RSS after.
 * `withMosquitto` starts a broker on a free loopback port for them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { createEventBridge, type EventBridge } from '../src/bridge/bridge.js';
import { OUTBOX_DEFAULTS, type BridgeSettings } from '../src/bridge/bridge-settings.js';
import { SystemClock } from '../src/core/clock.js';
import { Counters } from '../src/core/counters.js';
import { silentLogger } from '../src/core/logger.js';
import { createTcpLink } from '../src/drivers/transport/tcp-link.js';
import { createVm250Driver, VM250_GAMMA_CHANNEL_NAMES } from '../src/drivers/vm250/driver.js';
import { openDatabase } from '../src/storage/database.js';
import type { OutboxRow } from '../src/storage/outbox-store.js';

export interface OutboxCommitResult {
  readonly events: number;
  readonly eventsPerS: number;
}

export interface DrainResult {
  readonly events: number;
  readonly eventsPerS: number;
}

export interface AlarmLatencyResult {
  readonly lanes: number;
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Bare mqtt.js publish → PUBACK on the same broker, same payload size. */
  readonly floorP50Ms: number;
  readonly floorP99Ms: number;
  /** p99 ≤ 2 × floor p99 + 2 ms. */
  readonly pass: boolean;
  /** Resident set size with all lanes running, MB. */
  readonly rssMb: number;
}

/** Run `fn` with a Mosquitto on a free loopback port (temp config, no persistence). */
export async function withMosquitto<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-mosquitto-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'mosquitto.conf'),
    `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nuser ${userInfo().username}\nmax_queued_messages 1000000\nset_tcp_nodelay true\n`,
  );
  const child = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
  try {
    for (let i = 0; !(await canConnect(port)); i++) {
      if (i > 400) throw new Error('mosquitto did not start');
      await sleep(25);
    }
    return await fn(`mqtt://127.0.0.1:${port}`);
  } finally {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Events/s committed durably: `events` enqueued at once, resolved when on disk. */
export async function benchOutboxCommit(events = 50_000): Promise<OutboxCommitResult> {
  const { bridge, dir } = bench('mqtt://127.0.0.1:1'); // never connects: commits only
  const data = { code: 'gamma-high-background', active: true, detail: 'bench' };
  const t0 = performance.now();
  const all: Array<Promise<unknown>> = [];
  for (let i = 0; i < events; i++)
    all.push(bridge.publish({ type: 'rpm.device.fault', lane: `lane-${i % 8}`, time: Date.now(), data }));
  await Promise.all(all);
  const s = (performance.now() - t0) / 1000;
  await bridge.stop();
  rmSync(dir, { recursive: true, force: true });
  return { events, eventsPerS: events / s };
}

/** Events/s delivered after an outage: `events` committed while down, then the broker comes up. */
export async function benchDrain(brokerUrl: string, events = 20_000): Promise<DrainResult> {
  const { bridge, dir } = bench(brokerUrl);
  const data = { code: 'gamma-high-background', active: true, detail: 'bench' };
  const all: Array<Promise<unknown>> = [];
  for (let i = 0; i < events; i++)
    all.push(bridge.publish({ type: 'rpm.device.fault', lane: `lane-${i % 8}`, time: Date.now(), data }));
  await Promise.all(all); // the backlog, on disk, before the link is up
  const t0 = performance.now();
  await bridge.start();
  await bridge.whenDelivered();
  const s = (performance.now() - t0) / 1000;
  await bridge.stop();
  rmSync(dir, { recursive: true, force: true });
  return { events, eventsPerS: events / s };
}

/**
 * Alarm path latency at `lanes` simulated VM-250 lanes: each lane's device socket gets
 * background, an occupancy's first samples, then the decisive GA line; the clock stops at the
 * PUBACK of that occupancy's `rpm.alarm.raised`. `rounds` vehicles per lane.
 */
export async function benchAlarmLatency(
  brokerUrl: string,
  lanes = 1,
  rounds = 200,
): Promise<AlarmLatencyResult> {
  const ids = Array.from({ length: lanes }, (_, i) => `lane-${i + 1}`);
  const clock = new SystemClock();
  const counters = new Counters();
  const pending = new Map<string, number>(); // lane → write time of its decisive line
  const latencies: number[] = [];
  const onDelivered = (row: OutboxRow): void => {
    if (!row.topic.endsWith('/rpm.alarm.raised')) return;
    const t = pending.get(row.lane);
    if (t !== undefined) {
      latencies.push(performance.now() - t);
      pending.delete(row.lane);
      if (process.env.BENCH_TRACE) process.stderr.write(`puback +${(performance.now() - t).toFixed(2)} ms\n`);
    }
  };
  const { bridge, dir } = bench(brokerUrl, ids, onDelivered);
  await bridge.start();
  const devices = await Promise.all(ids.map(() => device()));
  const drivers = ids.map((lane, i) =>
    createVm250Driver({
      lane,
      link: createTcpLink({ host: '127.0.0.1', port: devices[i]!.port, clock, logger: silentLogger }),
      clock,
      logger: silentLogger,
      counters,
      emit: (e) => {
        if (e.kind === 'sample' && e.deviceAlarm && pending.has(e.lane) && process.env.BENCH_TRACE) {
          process.stderr.write(`event +${(performance.now() - pending.get(e.lane)!).toFixed(2)} ms\n`);
        }
        bridge.laneEvent(e);
      },
    }),
  );
  await Promise.all(drivers.map((d) => d.start()));
  await until(() => bridge.connection.state === 'connected' && devices.every((d) => d.socket !== null));
  const line = (tag: string, a: number, b: number, c: number, d: number) =>
    `${tag},${[a, b, c, d].map((x) => String(x).padStart(6, '0')).join(',')}\r\n`;
  for (let round = 0; round < rounds; round++) {
    for (const d of devices)
      d.write(
        line('GB', 800, 810, 790, 805) +
          line('NB', 1, 2, 1, 2) +
          'SP,0.2249,03.032,004.88,000000\r\n' +
          line('GS', 160, 162, 158, 161).repeat(6),
      );
    await bridge.whenDelivered();
    await sleep(2);
    devices.forEach((d, i) => {
      pending.set(ids[i]!, performance.now());
      d.write(line('GA', 400, 380, 170, 160)); // the decisive line
    });
    await until(() => pending.size === 0, 10_000);
    for (const d of devices) d.write(line('GX', round + 1, 4100, 0, 0));
  }
  const rssMb = process.memoryUsage().rss / 1_048_576;
  await Promise.all(drivers.map((d) => d.stop()));
  await bridge.stop();
  for (const d of devices) d.close();
  rmSync(dir, { recursive: true, force: true });
  const floor = await publishFloor(brokerUrl, rounds * Math.min(lanes, 4));
  const p50Ms = quantile(latencies, 0.5);
  const p99Ms = quantile(latencies, 0.99);
  return {
    lanes,
    samples: latencies.length,
    p50Ms,
    p99Ms,
    floorP50Ms: floor.p50,
    floorP99Ms: floor.p99,
    pass: p99Ms <= 2 * floor.p99 + 2,
    rssMb,
  };
}

/** Bare mqtt.js QoS 1 publish → PUBACK, one at a time, payload the size of an alarm event. */
async function publishFloor(url: string, n: number): Promise<{ p50: number; p99: number }> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 5 });
  const payload = 'x'.repeat(420);
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await client.publishAsync('bench/floor', payload, { qos: 1 });
    times.push(performance.now() - t);
  }
  await client.endAsync();
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99) };
}

function bench(
  url: string,
  lanes: string[] = ['lane-1'],
  onDelivered?: (row: OutboxRow) => void,
): { bridge: EventBridge; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bench-bridge-'));
  const settings: BridgeSettings = {
    site: 'bench',
    gatewayId: 'bench',
    topicPrefix: 'rpm/v1',
    commands: { senderProperty: 'sender', allowedSenders: [], maxPayloadBytes: 16_384 },
    outbox: { ...OUTBOX_DEFAULTS, maxBytes: 4_294_967_296 },
    telemetry: null,
    n42Dir: null,
    drainOnStopMs: 1000,
    mqtt: {
      url,
      protocol: '5',
      clientId: `bench-${process.pid}-${Math.random().toString(36).slice(2)}`,
      keepaliveS: 30,
      connectTimeoutMs: 2000,
      backoff: { initialMs: 50, maxMs: 500 },
    },
  };
  const bridge = createEventBridge(settings, {
    db: openDatabase(dir),
    clock: new SystemClock(),
    logger: silentLogger,
    lanes: lanes.map((id) => ({
      id,
      driver: 'vm250',
      channels: { gamma: 4, neutron: 4 },
      gammaChannelNames: VM250_GAMMA_CHANNEL_NAMES,
    })),
    ...(onDelivered === undefined ? {} : { onDelivered }),
  });
  return { bridge, dir };
}

interface Device {
  readonly port: number;
  socket: Socket | null;
  write(text: string): void;
  close(): void;
}

/** A VM-250 stand-in: a TCP server that writes what it is told to the one client. */
async function device(): Promise<Device> {
  const server: Server = createServer();
  const d: Device = {
    port: 0,
    socket: null,
    write: (text) => d.socket?.write(text),
    close: () => {
      d.socket?.destroy();
      server.close();
    },
  };
  server.on('connection', (s) => {
    s.setNoDelay(true);
    s.on('error', () => undefined);
    d.socket = s;
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  (d as { port: number }).port = typeof a === 'object' && a ? a.port : 0;
  return d;
}

function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function until(probe: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('bench: timed out');
    await sleep(1);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ port, host: '127.0.0.1' });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}
