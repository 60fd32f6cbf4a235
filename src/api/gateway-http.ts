/**
 * The gateway's HTTP side in one piece, for the wiring point (src/app/gateway.ts): opens its
 * stores in the gateway's database, lays configuration changes made through the console over
 * the file (before the lanes are built, so they run with them), and once the lanes exist feeds
 * the console from their events and records and serves the API. The database and the alarm
 * store are the gateway's (the bridge acts on the same alarms); `stop()` leaves them open.
 */
import type { GatewayConfig, LaneConfig } from '../config/schema.js';
import type { Counters } from '../core/counters.js';
import type { Logger } from '../core/logger.js';
import type { LaneDescriptor, LaneEvent } from '../domain/lane-events.js';
import type { AlarmStore } from '../storage/alarm-store.js';
import { AuditStore } from '../storage/audit-store.js';
import type { Db } from '../storage/database.js';
import { OccupancyStore } from '../storage/occupancy-store.js';
import { alarmServiceFromStore } from './alarms/store-service.js';
import { UserStore } from './auth/user-store.js';
import { createLaneRuntime, LaneConfigChanges } from './lane-runtime.js';
import { createConsoleFeed, type ConsoleFeed } from './live/console-feed.js';
import { LiveHub } from './live/hub.js';
import { n42FromStore } from './n42.js';
import type { ScanPort } from './ports.js';
import { createApiServer, type ApiServer } from './server.js';

export interface GatewayHttpDeps {
  /** The gateway's database (opened and closed by the caller). */
  readonly db: Db;
  /** The gateway's one alarm lifecycle. */
  readonly alarms: AlarmStore;
  readonly logger: Logger;
  readonly now: () => number;
  readonly env: NodeJS.ProcessEnv;
  readonly counters: Counters;
  readonly version?: string;
}

export interface GatewayHttp {
  /** The configuration to build the lanes from: the file plus changes made through the console. */
  readonly config: GatewayConfig;
  /** Connect the built lanes; `applyLive` hands a lane the settings it takes without restart. */
  attach(
    lanes: readonly LaneDescriptor[],
    applyLive: (lane: LaneConfig) => void,
    scans?: ScanPort | null,
  ): void;
  laneEvent(e: LaneEvent): void;
  record(r: { readonly type?: unknown }): void;
  /** Listen; resolves with the console's URL. */
  start(): Promise<string>;
  stop(): Promise<void>;
  readonly url: string | null;
  readonly server: ApiServer | null;
}

export function createGatewayHttp(file: GatewayConfig, deps: GatewayHttpDeps): GatewayHttp {
  const http = file.http;
  if (http === undefined) throw new Error('createGatewayHttp needs an http section');
  const { db, alarms: alarmStore } = deps;
  const changes = new LaneConfigChanges(db);
  const { config, changed } = changes.overlay(file);
  for (const c of changed) {
    deps.logger.warn('lane settings changed through the console override the configuration file', c);
  }
  const occupancies = new OccupancyStore(db);
  const hub = new LiveHub();
  let feed: ConsoleFeed | null = null;
  let server: ApiServer | null = null;
  let closed = false;

  return {
    config,
    get url() {
      return server?.url ?? null;
    },
    get server() {
      return server;
    },
    attach(lanes, applyLive, scans) {
      const names = new Map(config.lanes.map((l) => [l.id, l.name]));
      let runtime: ReturnType<typeof createLaneRuntime> | null = null;
      const consoleFeed = createConsoleFeed({
        lanes: lanes.map((descriptor) => ({ descriptor, name: names.get(descriptor.id) })),
        occupancies,
        alarms: alarmStore,
        hub,
        nSigmaOf: (lane) => runtime?.config().lanes.find((l) => l.id === lane)?.alarm.nSigma ?? 6,
        now: deps.now,
        logger: deps.logger,
      });
      feed = consoleFeed;
      runtime = createLaneRuntime({
        file,
        effective: config,
        tracker: consoleFeed.tracker,
        changes,
        now: deps.now,
        applyLive,
      });
      server = createApiServer(http, {
        logger: deps.logger,
        now: deps.now,
        env: deps.env,
        users: new UserStore(db, deps.now),
        audit: new AuditStore(db, deps.now),
        occupancies,
        alarms: alarmServiceFromStore(alarmStore, deps.now),
        lanes: runtime,
        hub,
        counters: deps.counters,
        readiness: () => {
          let database = false;
          try {
            database = db.prepare('SELECT 1 AS ok').get() !== undefined;
          } catch {
            database = false;
          }
          return { ready: database && !closed, checks: { database, lanes: lanes.length > 0, open: !closed } };
        },
        currentProfile: (lane) => consoleFeed.collector.current(lane),
        ...(scans ? { scans } : {}),
        n42: n42FromStore(occupancies, {
          site: file.site,
          gatewayVersion: deps.version ?? '0.0.0',
          now: deps.now,
        }),
      });
    },
    laneEvent(e) {
      feed?.laneEvent(e);
    },
    record(r) {
      feed?.record(r);
      // New and newly linked scans go to the console's live feed (SPEC §6).
      if (r.type === 'imaging.scan.analyzed' || r.type === 'imaging.scan.linked') hub.publish('scan', r);
      // A lane's scanner PLC changed state or lost / regained its link: its tile shows it.
      else if (r.type === 'imaging.scanner.status') hub.publish('scanner', r);
    },
    async start() {
      if (server === null) throw new Error('attach the lanes before starting the HTTP server');
      return server.start();
    },
    async stop() {
      if (closed) return;
      closed = true;
      feed?.close();
      await server?.stop();
    },
  };
}
