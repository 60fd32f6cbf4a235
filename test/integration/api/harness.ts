/**
 * An API over real stores in a temporary directory, fed hand-made lane events: what the gateway
 * wires, minus the drivers (and the bridge). Users of every role are created with known passwords.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApiApp } from '../../../src/api/app.js';
import { alarmServiceFromStore } from '../../../src/api/alarms/store-service.js';
import { UserStore } from '../../../src/api/auth/user-store.js';
import { DEFAULT_HTTP_OPTIONS, type ApiContext, type HttpOptions } from '../../../src/api/context.js';
import { createLaneRuntime, LaneConfigChanges } from '../../../src/api/lane-runtime.js';
import { createConsoleFeed, type ConsoleFeed } from '../../../src/api/live/console-feed.js';
import { LiveHub } from '../../../src/api/live/hub.js';
import type { Role } from '../../../src/api/ports.js';
import { validateConfig } from '../../../src/config/load.js';
import type { GatewayConfig, LaneConfig } from '../../../src/config/schema.js';
import { occupancyAlarmRaiser } from '../../../src/app/occupancy-alarms.js';
import { Counters } from '../../../src/core/counters.js';
import { silentLogger } from '../../../src/core/logger.js';
import type { LaneDescriptor, LaneEvent } from '../../../src/domain/lane-events.js';
import { AlarmStore } from '../../../src/storage/alarm-store.js';
import { AuditStore } from '../../../src/storage/audit-store.js';
import { openDatabase, type Db } from '../../../src/storage/database.js';
import { OccupancyStore } from '../../../src/storage/occupancy-store.js';

export const PASSWORD = 'correct horse battery';
export const ROLES_UNDER_TEST: readonly Role[] = ['viewer', 'operator', 'technician', 'admin'];

export interface TestApi {
  readonly app: FastifyInstance;
  readonly ctx: ApiContext;
  readonly feed: ConsoleFeed;
  readonly alarms: AlarmStore;
  /** An output record as the gateway hands it on: to the console feed, then to the alarm store. */
  record(record: Record<string, unknown>): void;
  readonly db: Db;
  readonly liveApplied: LaneConfig[];
  /** Session cookie header of the user with that role. */
  cookie(role: Role): Promise<string>;
  close(): Promise<void>;
}

export const DESCRIPTOR: LaneDescriptor = {
  id: 'lane-1',
  driver: 'vm250',
  channels: { gamma: 4, neutron: 4 },
  gammaChannelNames: ['masterUpper', 'masterLower', 'slaveLower', 'slaveUpper'],
};

export async function createTestApi(
  options: Partial<HttpOptions> = {},
  lane: Record<string, unknown> = {},
): Promise<TestApi> {
  const dir = await mkdtemp(join(tmpdir(), 'rpm-api-'));
  const db = openDatabase(dir);
  const validated = validateConfig({
    site: 'test',
    storage: { dir },
    lanes: [{ id: 'lane-1', name: 'Lane one', driver: 'vm250', address: 'tcp://127.0.0.1:1601', ...lane }],
  });
  if (!validated.ok) throw new Error(JSON.stringify(validated.problems));
  const file: GatewayConfig = validated.config;
  const now = () => Date.now();
  const users = new UserStore(db);
  const alarmStore = new AlarmStore(db);
  const occupancies = new OccupancyStore(db);
  const hub = new LiveHub();
  const changes = new LaneConfigChanges(db);
  const liveApplied: LaneConfig[] = [];
  let runtime: ReturnType<typeof createLaneRuntime> | null = null;
  const feed = createConsoleFeed({
    lanes: [{ descriptor: DESCRIPTOR, name: 'Lane one' }],
    occupancies,
    alarms: alarmStore,
    hub,
    nSigmaOf: (lane) => runtime?.config().lanes.find((l) => l.id === lane)?.alarm.nSigma ?? 6,
    now,
    logger: silentLogger,
  });
  runtime = createLaneRuntime({
    file,
    effective: changes.overlay(file).config,
    tracker: feed.tracker,
    changes,
    now,
    applyLive: (lane) => liveApplied.push(lane),
  });
  const ctx: ApiContext = {
    logger: silentLogger,
    now,
    users,
    audit: new AuditStore(db),
    occupancies,
    alarms: alarmServiceFromStore(alarmStore, now),
    lanes: runtime,
    hub,
    counters: new Counters(),
    readiness: () => ({ ready: true, checks: { database: true, lanes: true } }),
    options: { ...DEFAULT_HTTP_OPTIONS, loginMax: 1000, ...options },
    currentProfile: (lane) => feed.collector.current(lane),
  };
  for (const role of ROLES_UNDER_TEST) await users.create(role, role, PASSWORD);
  const app = await buildApiApp(ctx);
  const cookies = new Map<Role, string>();
  const raise = occupancyAlarmRaiser(alarmStore, { now, logger: silentLogger });
  return {
    app,
    ctx,
    feed,
    alarms: alarmStore,
    record(record) {
      feed.record(record);
      raise(record);
    },
    db,
    liveApplied,
    async cookie(role) {
      const known = cookies.get(role);
      if (known) return known;
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: role, password: PASSWORD },
      });
      if (res.statusCode !== 200) throw new Error(`login ${role}: ${res.statusCode} ${res.body}`);
      const cookie = String(res.headers['set-cookie']).split(';')[0]!;
      cookies.set(role, cookie);
      return cookie;
    },
    async close() {
      feed.close();
      await app.close();
      db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Lane events of one alarming occupancy on lane-1, and its record as the recorder writes it. */
export function alarmingOccupancy(
  seq: number,
  t0: number,
): { events: LaneEvent[]; record: Record<string, unknown> } {
  const lane = 'lane-1';
  const events: LaneEvent[] = [
    { kind: 'connection', lane, time: t0 - 10_000, state: 'connected' },
    {
      kind: 'background',
      lane,
      time: t0 - 5000,
      radiation: 'gamma',
      cps: [300, 310, 290, 305],
      fault: 'none',
    },
    { kind: 'background', lane, time: t0 - 5000, radiation: 'neutron', cps: [1, 1, 1, 1], fault: 'none' },
    { kind: 'occupancy-start', lane, time: t0, seq, continuation: false, partial: false },
  ];
  for (let i = 0; i < 30; i++) {
    const peak = i >= 12 && i <= 16 ? 120 : 0;
    events.push({
      kind: 'sample',
      lane,
      time: t0 + i * 200,
      seq,
      radiation: 'gamma',
      counts: [60 + peak, 62 + peak, 58, 61],
      intervalMs: 200,
      deviceAlarm: peak > 0,
      preTrigger: i < 5,
    });
  }
  events.push({
    kind: 'occupancy-end',
    lane,
    time: t0 + 6000,
    seq,
    reason: 'device-end',
    endedAbnormally: false,
    deviceIndex: seq,
    deviceNeutronBackgroundCps: 4,
    deviceGammaAlarm: true,
    deviceNeutronAlarm: false,
  });
  const record = {
    type: 'occupancy',
    lane,
    seq,
    index: seq,
    continuation: false,
    partial: false,
    start: new Date(t0).toISOString(),
    end: new Date(t0 + 6000).toISOString(),
    durationS: 6,
    endedAbnormally: false,
    endReason: 'device-end',
    speedKph: 8.1,
    samples: { gamma: 30, neutron: 0 },
    device: { gammaAlarm: true, neutronAlarm: false },
    gamma: { alarm: true, maxSigma: 12.3, backgroundCps: 1205 },
    neutron: { alarm: false, maxCounts: 1, backgroundCps: 4 },
    assessment: {
      category: 'threat',
      disposition: 'INVESTIGATE',
      confidence: 0.8,
      probabilities: { background: 0.05, NORM: 0.1, medical: 0.05, threat: 0.8 },
      reasons: ['localized gamma excess in the cargo section'],
    },
  };
  return { events, record };
}

/**
 * The record of a vehicle the gateway referred to INVESTIGATE without an alarm (a localized
 * excess in the cargo just under it), neither the gateway nor the RPM alarming.
 */
export function referralRecord(seq: number, t0: number): Record<string, unknown> {
  return {
    ...alarmingOccupancy(seq, t0).record,
    device: { gammaAlarm: false, neutronAlarm: false },
    gamma: { alarm: false, maxSigma: 5.6, backgroundCps: 1205 },
    assessment: {
      category: 'threat',
      disposition: 'INVESTIGATE',
      confidence: 0.5,
      probabilities: { background: 0.4, NORM: 0.05, medical: 0.05, threat: 0.5 },
      reasons: ['INVESTIGATE: a localized excess in the cargo, close to the alarm — in doubt, investigate'],
    },
  };
}

/** Feed an occupancy as the gateway does: events to the feed, the record before the end event. */
export function feedOccupancy(api: TestApi, seq: number, t0 = Date.now() - 60_000): Record<string, unknown> {
  const { events, record } = alarmingOccupancy(seq, t0);
  for (const e of events) {
    if (e.kind === 'occupancy-end') api.record(record);
    api.feed.laneEvent(e);
  }
  return record;
}
