/**
 * What every resource plugin is handed: the stores and ports of {@link ./ports.ts}, built once by
 * the app layer. Plugins take it as their options (no decorators reaching for globals).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Counters } from '../core/counters.js';
import type { Logger } from '../core/logger.js';
import type { AuditStore } from '../storage/audit-store.js';
import type { OccupancyProfile, OccupancyStore } from '../storage/occupancy-store.js';
import type { UserStore } from './auth/user-store.js';
import type { LiveHub } from './live/hub.js';
import type { AlarmService, LaneRuntime, N42Builder, Readiness, ScanPort } from './ports.js';

export interface HttpOptions {
  /** Session idle timeout and absolute lifetime, in seconds. */
  readonly sessionIdleS: number;
  readonly sessionAbsoluteS: number;
  /** Set the cookie's Secure flag (behind TLS). */
  readonly secureCookie: boolean;
  /** Login attempts per client address per window. */
  readonly loginMax: number;
  readonly loginWindowS: number;
}

export const DEFAULT_HTTP_OPTIONS: HttpOptions = {
  sessionIdleS: 30 * 60,
  sessionAbsoluteS: 12 * 3600,
  secureCookie: false,
  loginMax: 5,
  loginWindowS: 60,
};

export interface ApiContext {
  readonly logger: Logger;
  readonly now: () => number;
  readonly users: UserStore;
  readonly audit: AuditStore;
  readonly occupancies: OccupancyStore;
  readonly alarms: AlarmService;
  readonly lanes: LaneRuntime;
  readonly hub: LiveHub;
  readonly counters: Counters;
  readonly readiness: () => Readiness;
  readonly options: HttpOptions;
  /** The occupancy in progress on a lane, for a view opened mid-vehicle. */
  readonly currentProfile?: (lane: string) => { seq: number; profile: OccupancyProfile } | null;
  /** The bridge's N42.42 builder, when the bridge is built in. */
  readonly n42?: N42Builder;
  /** The imaging plugin (scans, overlays, upload), mounted under /api/v1 when present. */
  readonly imaging?: FastifyPluginAsync;
  /** The lanes' cargo scanners: scan list, pictures and uploads (routes/scans.ts) when present. */
  readonly scans?: ScanPort;
}
