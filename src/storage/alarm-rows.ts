/**
 * The alarm store's tables and rows (src/storage/alarm-store.ts): the schema as numbered
 * migrations, the rows as SQLite returns them — beside the columns they mirror — and their typed
 * views: SQLite columns in, `Alarm` / `HistoryEntry` out, plus the list cursor. Pure: no
 * statement runs here (the store applies the migrations and prepares its statements).
 */
import {
  ADJUDICATION_CODES,
  raised,
  type Adjudication,
  type AdjudicationCode,
  type AlarmState,
  type LifecycleEffect,
  type SecondaryInspection,
} from '../alarm/lifecycle.js';
import { GatewayError } from '../core/errors.js';
import type { Alarm, AlarmSnapshot, HistoryAction, HistoryEntry, LifecycleView } from './alarm-types.js';

/** The alarm store's schema: `migrations[i]` is version i + 1 of store `alarms` (database.ts). */
export const ALARM_MIGRATIONS: readonly string[] = [
  `CREATE TABLE alarms (
    id TEXT PRIMARY KEY,
    lane TEXT NOT NULL,
    occupancy_seq INTEGER NOT NULL,
    device_index INTEGER,
    raised_at INTEGER NOT NULL,
    raised_by TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('raised', 'acknowledged', 'adjudicated')),
    acknowledged_by TEXT,
    acknowledged_at INTEGER,
    adjudicated_by TEXT,
    adjudicated_at INTEGER,
    code INTEGER CHECK (code IS NULL OR code BETWEEN 1 AND 11),
    secondary_inspection TEXT NOT NULL DEFAULT 'NONE'
      CHECK (secondary_inspection IN ('NONE', 'REQUESTED', 'COMPLETED')),
    notes TEXT,
    version INTEGER NOT NULL,
    UNIQUE (lane, occupancy_seq)
  );
  CREATE INDEX alarms_by_time ON alarms (raised_at DESC, id DESC);
  CREATE INDEX alarms_by_lane ON alarms (lane, raised_at DESC, id DESC);
  CREATE INDEX alarms_by_state ON alarms (state, raised_at DESC, id DESC);
  CREATE TABLE alarm_history (
    alarm_id TEXT NOT NULL REFERENCES alarms (id),
    version INTEGER NOT NULL,
    action TEXT NOT NULL,
    by TEXT NOT NULL,
    at INTEGER NOT NULL,
    before TEXT,
    after TEXT NOT NULL,
    implicit INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (alarm_id, version)
  );`,
  // v2: which transitions the bridge has published. Rows written before are taken as done (the
  // gateway had no way to publish console transitions then; announcing them now would replay
  // months of history to central).
  `ALTER TABLE alarm_history ADD COLUMN published INTEGER NOT NULL DEFAULT 1;
  CREATE INDEX alarm_history_unpublished ON alarm_history (at, alarm_id, version) WHERE published = 0;`,
];

export interface AlarmRow {
  id: string;
  lane: string;
  occupancy_seq: number;
  device_index: number | null;
  raised_at: number;
  raised_by: string;
  snapshot: string;
  state: AlarmState;
  acknowledged_by: string | null;
  acknowledged_at: number | null;
  adjudicated_by: string | null;
  adjudicated_at: number | null;
  code: number | null;
  secondary_inspection: SecondaryInspection;
  notes: string | null;
  version: number;
}

export interface HistoryRow {
  alarm_id: string;
  version: number;
  action: HistoryAction;
  by: string;
  at: number;
  before: string | null;
  after: string;
  implicit: number;
}

export function toAlarm(r: AlarmRow): Alarm {
  let adjudicated: Adjudication | null = null;
  if (r.adjudicated_by !== null && r.adjudicated_at !== null && r.code !== null) {
    const code = r.code as AdjudicationCode;
    adjudicated = {
      by: r.adjudicated_by,
      at: r.adjudicated_at,
      code,
      codeName: ADJUDICATION_CODES[code].name,
      group: ADJUDICATION_CODES[code].group,
      secondaryInspection: r.secondary_inspection,
      notes: r.notes ?? '',
    };
  }
  const base = raised(r.raised_by, r.raised_at);
  return {
    ...base,
    id: r.id,
    lane: r.lane,
    occupancySeq: r.occupancy_seq,
    deviceIndex: r.device_index,
    raisedAt: r.raised_at,
    snapshot: JSON.parse(r.snapshot) as AlarmSnapshot,
    state: r.state,
    acknowledged:
      r.acknowledged_by !== null && r.acknowledged_at !== null
        ? { by: r.acknowledged_by, at: r.acknowledged_at }
        : null,
    adjudicated,
    version: r.version,
  };
}

export function toHistoryEntry(r: HistoryRow): HistoryEntry {
  return {
    alarmId: r.alarm_id,
    version: r.version,
    action: r.action,
    by: r.by,
    at: r.at,
    before: r.before === null ? null : (JSON.parse(r.before) as LifecycleView),
    after: JSON.parse(r.after) as LifecycleView,
    implicit: r.implicit === 1,
  };
}

/** The lifecycle fields of an alarm (what a history entry keeps before and after). */
export function lifecycleView(a: Alarm): LifecycleView {
  return { state: a.state, version: a.version, acknowledged: a.acknowledged, adjudicated: a.adjudicated };
}

/** The lifecycle fields after one effect of a transition. */
export function afterEffect(prev: LifecycleView, e: LifecycleEffect, version: number): LifecycleView {
  return e.kind === 'acknowledged'
    ? { ...prev, state: 'acknowledged', version, acknowledged: e.step }
    : { ...prev, state: 'adjudicated', version, adjudicated: e.adjudication };
}

export function encodeCursor(at: number, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

export function decodeCursor(cursor: string): { at: number; id: string } {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'string')
      return { at: v[0], id: v[1] };
  } catch {
    // fall through
  }
  throw new GatewayError('ALARM_COMMAND_INVALID', 'the list cursor is not one this store handed out', {
    cursor,
  });
}
