/**
 * Alarms and their full history, persisted in the gateway's embedded database (SPEC §3 step 5;
 * SPEC §6 "who, when, before, after"). The transition rules are the pure ones of
 * src/alarm/lifecycle.ts; this store only reads, applies and writes, atomically.
 *
 * - One row per alarm in `alarms` (the current view) and one row per change in
 *   `alarm_history` (raise, acknowledge, adjudicate — each with who, when, before and after),
 *   written in the same transaction: the two can never disagree.
 * - Every transition runs in a `BEGIN IMMEDIATE` transaction (read, check, write under the
 *   write lock), so two connections — two processes, the API and the MQTT command layer —
 *   cannot both acknowledge: the second reads the first's result and gets a typed error.
 *   Callers that show an alarm before changing it (the console form) pass `expectedVersion`
 *   and get ALARM_CONFLICT if anyone changed it meanwhile.
 * - `raise` is idempotent per (lane, occupancy seq): the seq never repeats within a lane, so a
 *   second raise for the same occupancy (a retry, a replayed decision) returns the first alarm.
 * - Times are epoch milliseconds (as lane events carry them); ids are ULIDs (time-ordered).
 */
import { createUlidGenerator } from '../core/ulid.js';
import {
  ADJUDICATION_CODES,
  raised,
  transition,
  type AdjudicationCode,
  type AlarmState,
  type LifecycleCommand,
  type LifecycleEffect,
  type LifecycleState,
  type SecondaryInspection,
  type Step,
  type Adjudication,
} from '../alarm/lifecycle.js';
import type { AssessmentCategory, Disposition } from '../alarm/types.js';
import { GatewayError } from '../core/errors.js';
import { migrate, type Db } from './database.js';

/** What the pipeline knew when the alarm was raised (kept as it was, never updated). */
export interface AlarmSnapshot {
  readonly category: AssessmentCategory;
  readonly disposition: Disposition;
  readonly confidence: number;
  readonly probabilities: Readonly<Record<AssessmentCategory, number>>;
  readonly reasons: readonly string[];
  readonly gammaAlarm: boolean;
  readonly neutronAlarm: boolean;
}

export interface RaiseInput {
  readonly lane: string;
  /** The gateway's occupancy number (unique per lane). */
  readonly occupancySeq: number;
  /** The device's GX index, when it sent one. */
  readonly deviceIndex: number | null;
  readonly raisedAt: number;
  /** Who raised it. Default 'gateway'. */
  readonly by?: string;
  readonly snapshot: AlarmSnapshot;
}

export interface Alarm extends LifecycleState {
  readonly id: string;
  readonly lane: string;
  readonly occupancySeq: number;
  readonly deviceIndex: number | null;
  readonly raisedAt: number;
  readonly snapshot: AlarmSnapshot;
  /** 1 when raised, +1 per change; pass it back as `expectedVersion` for optimistic checks. */
  readonly version: number;
}

export type HistoryAction = 'raised' | 'acknowledged' | 'adjudicated';

/** The lifecycle fields of an alarm before or after a change. */
export interface LifecycleView {
  readonly state: AlarmState;
  readonly version: number;
  readonly acknowledged: Step | null;
  readonly adjudicated: Adjudication | null;
}

export interface HistoryEntry {
  readonly alarmId: string;
  readonly version: number;
  readonly action: HistoryAction;
  readonly by: string;
  readonly at: number;
  /** Null for the raise. */
  readonly before: LifecycleView | null;
  readonly after: LifecycleView;
  /** An acknowledgement implied by adjudicating a raised alarm. */
  readonly implicit: boolean;
}

export interface TransitionOutcome {
  readonly alarm: Alarm;
  /** The history entries written, in order (the bridge publishes one event per entry). */
  readonly entries: readonly HistoryEntry[];
}

export interface AdjudicateInput {
  readonly code: number;
  readonly secondaryInspection?: SecondaryInspection;
  readonly notes?: string;
}

export interface TransitionOptions {
  /** Fail with ALARM_CONFLICT unless the alarm is still at this version. */
  readonly expectedVersion?: number;
}

export interface ListQuery {
  readonly lane?: string;
  readonly state?: AlarmState;
  /** Only alarms raised at or after this time (epoch ms). */
  readonly since?: number;
  /** 1–500. Default 50. */
  readonly limit?: number;
  /** From the previous page's `nextCursor`. */
  readonly cursor?: string | null;
}

export interface AlarmPage {
  /** Newest first. */
  readonly items: readonly Alarm[];
  /** Null on the last page. */
  readonly nextCursor: string | null;
}

export interface AlarmStoreOptions {
  /** Id generator (tests); default a ULID from the raise time. */
  readonly newId?: (at: number) => string;
}

const MIGRATIONS = [
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
];

interface AlarmRow {
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

interface HistoryRow {
  alarm_id: string;
  version: number;
  action: HistoryAction;
  by: string;
  at: number;
  before: string | null;
  after: string;
  implicit: number;
}

export class AlarmStore {
  private readonly newId: (at: number) => string;
  private readonly byId;
  private readonly byOccupancy;
  private readonly insert;
  private readonly update;
  private readonly record;
  private readonly historyOf;

  constructor(
    private readonly db: Db,
    o: AlarmStoreOptions = {},
  ) {
    migrate(db, 'alarms', MIGRATIONS);
    this.newId = o.newId ?? ulid;
    this.byId = db.prepare<[string], AlarmRow>('SELECT * FROM alarms WHERE id = ?');
    this.byOccupancy = db.prepare<[string, number], AlarmRow>(
      'SELECT * FROM alarms WHERE lane = ? AND occupancy_seq = ?',
    );
    this.insert = db.prepare(
      `INSERT INTO alarms (id, lane, occupancy_seq, device_index, raised_at, raised_by, snapshot, state, version)
       VALUES (@id, @lane, @occupancy_seq, @device_index, @raised_at, @raised_by, @snapshot, 'raised', 1)`,
    );
    this.update = db.prepare(
      `UPDATE alarms SET state = @state, acknowledged_by = @acknowledged_by, acknowledged_at = @acknowledged_at,
         adjudicated_by = @adjudicated_by, adjudicated_at = @adjudicated_at, code = @code,
         secondary_inspection = @secondary_inspection, notes = @notes, version = @version
       WHERE id = @id AND version = @previous`,
    );
    this.record = db.prepare(
      `INSERT INTO alarm_history (alarm_id, version, action, by, at, before, after, implicit)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.historyOf = db.prepare<[string], HistoryRow>(
      'SELECT * FROM alarm_history WHERE alarm_id = ? ORDER BY version',
    );
  }

  /** Record a new alarm (or return the one already raised for this occupancy: `created` false). */
  raise(input: RaiseInput): { alarm: Alarm; created: boolean; entries: readonly HistoryEntry[] } {
    if (!Number.isFinite(input.raisedAt) || !Number.isSafeInteger(input.occupancySeq) || input.lane === '')
      throw new GatewayError(
        'ALARM_COMMAND_INVALID',
        'raise needs a lane, an integer occupancy seq and a time',
        {
          lane: input.lane,
          occupancySeq: input.occupancySeq,
        },
      );
    return this.db
      .transaction(() => {
        const existing = this.byOccupancy.get(input.lane, input.occupancySeq);
        if (existing) return { alarm: toAlarm(existing), created: false, entries: [] };
        const by = input.by?.trim() || 'gateway';
        const id = this.newId(input.raisedAt);
        this.insert.run({
          id,
          lane: input.lane,
          occupancy_seq: input.occupancySeq,
          device_index: input.deviceIndex,
          raised_at: Math.round(input.raisedAt),
          raised_by: by,
          snapshot: JSON.stringify(input.snapshot),
        });
        const alarm = toAlarm(this.mustGet(id));
        const entry: HistoryEntry = {
          alarmId: id,
          version: 1,
          action: 'raised',
          by,
          at: alarm.raisedAt,
          before: null,
          after: view(alarm),
          implicit: false,
        };
        this.writeHistory(entry);
        return { alarm, created: true, entries: [entry] };
      })
      .immediate();
  }

  acknowledge(id: string, user: string, at: number, o: TransitionOptions = {}): TransitionOutcome {
    return this.apply(id, { kind: 'acknowledge', user, at }, o);
  }

  adjudicate(
    id: string,
    input: AdjudicateInput,
    user: string,
    at: number,
    o: TransitionOptions = {},
  ): TransitionOutcome {
    const cmd: LifecycleCommand = { kind: 'adjudicate', user, at, code: input.code };
    return this.apply(
      id,
      {
        ...cmd,
        ...(input.secondaryInspection === undefined
          ? {}
          : { secondaryInspection: input.secondaryInspection }),
        ...(input.notes === undefined ? {} : { notes: input.notes }),
      },
      o,
    );
  }

  get(id: string): Alarm | null {
    const row = this.byId.get(id);
    return row ? toAlarm(row) : null;
  }

  list(q: ListQuery = {}): AlarmPage {
    const limit = q.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 500)
      throw new GatewayError('ALARM_COMMAND_INVALID', 'limit must be an integer from 1 to 500', { limit });
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.lane !== undefined) {
      where.push('lane = ?');
      args.push(q.lane);
    }
    if (q.state !== undefined) {
      where.push('state = ?');
      args.push(q.state);
    }
    if (q.since !== undefined) {
      where.push('raised_at >= ?');
      args.push(q.since);
    }
    if (q.cursor) {
      const c = decodeCursor(q.cursor);
      where.push('(raised_at < ? OR (raised_at = ? AND id < ?))');
      args.push(c.at, c.at, c.id);
    }
    const sql =
      'SELECT * FROM alarms' +
      (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
      ' ORDER BY raised_at DESC, id DESC LIMIT ?';
    const rows = this.db.prepare<(string | number)[], AlarmRow>(sql).all(...args, limit + 1);
    const items = rows.slice(0, limit).map(toAlarm);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: rows.length > limit && last ? encodeCursor(last.raisedAt, last.id) : null,
    };
  }

  /** Every change of the alarm, oldest first; ALARM_NOT_FOUND for an unknown id. */
  history(id: string): HistoryEntry[] {
    const rows = this.historyOf.all(id);
    if (rows.length === 0) this.mustGet(id);
    return rows.map((r) => ({
      alarmId: r.alarm_id,
      version: r.version,
      action: r.action,
      by: r.by,
      at: r.at,
      before: r.before === null ? null : (JSON.parse(r.before) as LifecycleView),
      after: JSON.parse(r.after) as LifecycleView,
      implicit: r.implicit === 1,
    }));
  }

  private apply(id: string, cmd: LifecycleCommand, o: TransitionOptions): TransitionOutcome {
    return this.db
      .transaction(() => {
        const before = toAlarm(this.mustGet(id));
        if (o.expectedVersion !== undefined && o.expectedVersion !== before.version)
          throw new GatewayError(
            'ALARM_CONFLICT',
            `alarm ${id} is at version ${before.version}, not ${o.expectedVersion}: reload and try again`,
            { id, version: before.version, expectedVersion: o.expectedVersion, state: before.state },
          );
        const result = transition(before, cmd);
        if (!result.ok)
          throw new GatewayError(result.error.code, result.error.message, { id, ...result.error.context });
        const entries: HistoryEntry[] = [];
        let prev = view(before);
        result.effects.forEach((effect, k) => {
          const version = before.version + k + 1;
          const after = afterEffect(prev, effect, version);
          const step = effect.kind === 'acknowledged' ? effect.step : effect.adjudication;
          entries.push({
            alarmId: id,
            version,
            action: effect.kind,
            by: step.by,
            at: step.at,
            before: prev,
            after,
            implicit: effect.kind === 'acknowledged' && effect.implicit,
          });
          prev = after;
        });
        const s = result.state;
        const changed = this.update.run({
          id,
          previous: before.version,
          version: prev.version,
          state: s.state,
          acknowledged_by: s.acknowledged?.by ?? null,
          acknowledged_at: s.acknowledged?.at ?? null,
          adjudicated_by: s.adjudicated?.by ?? null,
          adjudicated_at: s.adjudicated?.at ?? null,
          code: s.adjudicated?.code ?? null,
          secondary_inspection: s.adjudicated?.secondaryInspection ?? 'NONE',
          notes: s.adjudicated?.notes ?? null,
        });
        // Unreachable under the immediate transaction; kept so a future non-immediate path fails loudly.
        if (changed.changes !== 1)
          throw new GatewayError('ALARM_CONFLICT', `alarm ${id} changed during the transition`, { id });
        for (const e of entries) this.writeHistory(e);
        return { alarm: toAlarm(this.mustGet(id)), entries };
      })
      .immediate();
  }

  private writeHistory(e: HistoryEntry): void {
    this.record.run(
      e.alarmId,
      e.version,
      e.action,
      e.by,
      e.at,
      e.before === null ? null : JSON.stringify(e.before),
      JSON.stringify(e.after),
      e.implicit ? 1 : 0,
    );
  }

  private mustGet(id: string): AlarmRow {
    const row = this.byId.get(id);
    if (!row) throw new GatewayError('ALARM_NOT_FOUND', `no alarm with id ${id}`, { id });
    return row;
  }
}

function afterEffect(prev: LifecycleView, e: LifecycleEffect, version: number): LifecycleView {
  return e.kind === 'acknowledged'
    ? { ...prev, state: 'acknowledged', version, acknowledged: e.step }
    : { ...prev, state: 'adjudicated', version, adjudicated: e.adjudication };
}

function view(a: Alarm): LifecycleView {
  return { state: a.state, version: a.version, acknowledged: a.acknowledged, adjudicated: a.adjudicated };
}

function toAlarm(r: AlarmRow): Alarm {
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

function encodeCursor(at: number, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

function decodeCursor(cursor: string): { at: number; id: string } {
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

const ids = createUlidGenerator();

/** A ULID for an alarm raised at `at` (monotonic within this process). */
export function ulid(at: number = Date.now()): string {
  return ids.next(at);
}
