/**
 * The alarm store's rows and their typed views (src/storage/alarm-store.ts): SQLite columns in,
 * `Alarm` / `HistoryEntry` out, plus the list cursor. Pure: no statement runs here.
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
