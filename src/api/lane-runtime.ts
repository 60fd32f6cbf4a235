/**
 * The lanes' configuration as changed through the API, kept durable: each change is stored as the
 * top-level settings in which the lane differs from the configuration file, and laid over the
 * file at the next start (the gateway logs each such setting, so a technician reading the file
 * knows). Settings the running lane can take at once (alarm thresholds, name) are applied live by
 * the caller's `apply`; the others wait for a restart.
 */
import type { GatewayConfig, LaneConfig } from '../config/schema.js';
import { migrate, type Db } from '../storage/database.js';
import type { LaneStateTracker } from './live/lane-state.js';
import type { ConfigApplyResult, LaneRuntime } from './ports.js';

/** Top-level lane settings a running lane takes without a restart. */
export const LIVE_LANE_SETTINGS: ReadonlySet<string> = new Set(['alarm', 'name']);

const MIGRATIONS = [
  `CREATE TABLE lane_config_changes (
    lane TEXT PRIMARY KEY,
    settings TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );`,
];

export class LaneConfigChanges {
  constructor(private readonly db: Db) {
    migrate(db, 'lane-config-changes', MIGRATIONS);
  }

  /** The file's configuration with the stored changes laid over it, and what was changed. */
  overlay(file: GatewayConfig): {
    config: GatewayConfig;
    changed: Array<{ lane: string; settings: string[] }>;
  } {
    const rows = this.db.prepare('SELECT lane, settings FROM lane_config_changes').all() as Array<{
      lane: string;
      settings: string;
    }>;
    const byLane = new Map(rows.map((r) => [r.lane, JSON.parse(r.settings) as Partial<LaneConfig>]));
    const changed: Array<{ lane: string; settings: string[] }> = [];
    const lanes = file.lanes.map((lane) => {
      const settings = byLane.get(lane.id);
      if (settings === undefined) return lane;
      changed.push({ lane: lane.id, settings: Object.keys(settings) });
      return { ...lane, ...settings, id: lane.id };
    });
    return { config: { ...file, lanes }, changed };
  }

  /** Store how `lane` differs from the file's `fileLane`. */
  save(fileLane: LaneConfig | undefined, lane: LaneConfig, now: number): void {
    const diff: Record<string, unknown> = {};
    for (const key of new Set([...Object.keys(lane), ...Object.keys(fileLane ?? {})])) {
      const a = (lane as Record<string, unknown>)[key];
      const b = (fileLane as Record<string, unknown> | undefined)?.[key];
      if (JSON.stringify(a) !== JSON.stringify(b)) diff[key] = a;
    }
    if (Object.keys(diff).length === 0) {
      this.db.prepare('DELETE FROM lane_config_changes WHERE lane = ?').run(lane.id);
      return;
    }
    this.db
      .prepare('INSERT OR REPLACE INTO lane_config_changes (lane, settings, updated_at) VALUES (?, ?, ?)')
      .run(lane.id, JSON.stringify(diff), new Date(now).toISOString());
  }
}

export interface LaneRuntimeOptions {
  /** The configuration file as loaded (before stored changes). */
  readonly file: GatewayConfig;
  /** The configuration in effect at start (file + stored changes). */
  readonly effective: GatewayConfig;
  readonly tracker: LaneStateTracker;
  readonly changes: LaneConfigChanges;
  readonly now: () => number;
  /** Hand the running lane the settings it can take live. */
  readonly applyLive: (lane: LaneConfig) => void;
}

export function createLaneRuntime(o: LaneRuntimeOptions): LaneRuntime {
  let config = o.effective;
  // What the running lanes were built with: a setting differing from it needs a restart.
  const built = new Map(o.effective.lanes.map((l) => [l.id, l]));
  return {
    snapshots: () => o.tracker.snapshots(),
    snapshot: (id) => o.tracker.snapshot(id),
    config: () => config,
    updateLane(next: LaneConfig): ConfigApplyResult {
      const previous = config.lanes.find((l) => l.id === next.id);
      config = { ...config, lanes: config.lanes.map((l) => (l.id === next.id ? next : l)) };
      o.changes.save(
        o.file.lanes.find((l) => l.id === next.id),
        next,
        o.now(),
      );
      const live: string[] = [];
      const restartRequired: string[] = [];
      const start = built.get(next.id);
      for (const key of new Set([...Object.keys(next), ...Object.keys(previous ?? {})])) {
        const now = JSON.stringify((next as Record<string, unknown>)[key]);
        if (now === JSON.stringify((previous as Record<string, unknown> | undefined)?.[key])) {
          // Unchanged by this request, but maybe still waiting for a restart from an earlier one.
          if (
            !LIVE_LANE_SETTINGS.has(key) &&
            now !== JSON.stringify((start as Record<string, unknown> | undefined)?.[key])
          )
            restartRequired.push(key);
          continue;
        }
        if (LIVE_LANE_SETTINGS.has(key)) live.push(key);
        else restartRequired.push(key);
      }
      if (next.name !== undefined) o.tracker.rename(next.id, next.name);
      if (live.length > 0) o.applyLive(next);
      return { live, restartRequired };
    },
  };
}
