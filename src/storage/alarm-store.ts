/**
 * Alarms and their full history, persisted in the gateway's embedded database (SPEC §3 step 5;
 * SPEC §6 "who, when, before, after"). The transition rules are the pure ones of
 * src/alarm/lifecycle.ts; this store only reads, applies and writes, atomically. It is the one
 * alarm lifecycle of the gateway: the console's API and central's MQTT commands both act on it.
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
 * - An alarm's id is `<lane>:<occupancy seq>` ({@link alarmIdOf}), the id the bridge's
 *   `rpm.alarm.raised` carries from the decisive sample on, before this row exists. Alarms
 *   raised by earlier versions have ULID ids; `get` also finds them by `<lane>:<seq>`.
 * - Listeners (`onChange`) hear of every raise and transition after its commit, in order: the
 *   console's live feed and the bridge (which publishes rpm.alarm.acknowledged / adjudicated).
 *   Transitions are also marked unpublished in `alarm_history` until the bridge has its event
 *   in the durable outbox (`markPublished`), so a crash between the two commits loses nothing:
 *   the bridge publishes what `unpublished()` still lists when it starts.
 * - Times are epoch milliseconds (as lane events carry them).
 *
 * The tables (migrations), their rows and the typed views of them: alarm-rows.ts; the types
 * callers see: alarm-types.ts. This file: the statements and the transactions.
 */
import { transition, type LifecycleCommand } from '../alarm/lifecycle.js';
import { GatewayError } from '../core/errors.js';
import {
  afterEffect,
  ALARM_MIGRATIONS,
  decodeCursor,
  encodeCursor,
  lifecycleView,
  toAlarm,
  toHistoryEntry,
  type AlarmRow,
  type HistoryRow,
} from './alarm-rows.js';
import {
  alarmIdOf,
  parseAlarmId,
  type AdjudicateInput,
  type Alarm,
  type AlarmChange,
  type AlarmChangeListener,
  type AlarmPage,
  type HistoryEntry,
  type ListQuery,
  type RaiseInput,
  type TransitionOptions,
  type TransitionOutcome,
  type UnpublishedTransition,
} from './alarm-types.js';
import { migrate, type Db } from './database.js';

export type {
  AdjudicateInput,
  Alarm,
  AlarmChange,
  AlarmChangeListener,
  AlarmPage,
  AlarmSnapshot,
  HistoryAction,
  HistoryEntry,
  LifecycleView,
  ListQuery,
  RaiseInput,
  TransitionOptions,
  TransitionOutcome,
  UnpublishedTransition,
} from './alarm-types.js';
export { alarmIdOf, parseAlarmId } from './alarm-types.js';

export interface AlarmStoreOptions {
  /**
   * A listener threw. The change is committed whatever a listener does, so the error cannot
   * undo it; default: a process warning.
   */
  readonly onListenerError?: (error: unknown) => void;
}

export class AlarmStore {
  private readonly listeners = new Set<AlarmChangeListener>();
  private readonly onListenerError: (error: unknown) => void;
  private readonly byId;
  private readonly byOccupancy;
  private readonly insert;
  private readonly update;
  private readonly record;
  private readonly historyOf;
  private readonly unpublishedRows;
  private readonly publish;

  constructor(
    private readonly db: Db,
    o: AlarmStoreOptions = {},
  ) {
    migrate(db, 'alarms', ALARM_MIGRATIONS);
    this.onListenerError =
      o.onListenerError ?? ((error) => process.emitWarning(`alarm change listener failed: ${String(error)}`));
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
      `INSERT INTO alarm_history (alarm_id, version, action, by, at, before, after, implicit, published)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.historyOf = db.prepare<[string], HistoryRow>(
      'SELECT * FROM alarm_history WHERE alarm_id = ? ORDER BY version',
    );
    this.unpublishedRows = db.prepare<[number], HistoryRow>(
      'SELECT * FROM alarm_history WHERE published = 0 ORDER BY at, alarm_id, version LIMIT ?',
    );
    this.publish = db.prepare('UPDATE alarm_history SET published = 1 WHERE alarm_id = ? AND version = ?');
  }

  /** Hear of every raise and transition once it is committed; returns the unsubscribe. */
  onChange(listener: AlarmChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
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
    const outcome = this.db
      .transaction(() => {
        const existing = this.byOccupancy.get(input.lane, input.occupancySeq);
        if (existing) return { alarm: toAlarm(existing), created: false, entries: [] };
        const by = input.by?.trim() || 'gateway';
        const id = alarmIdOf(input.lane, input.occupancySeq);
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
          after: lifecycleView(alarm),
          implicit: false,
        };
        this.writeHistory(entry);
        return { alarm, created: true, entries: [entry] };
      })
      .immediate();
    if (outcome.created) this.notify(outcome);
    return outcome;
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

  /** The alarm with this id, or (older alarms) the alarm of occupancy `<lane>:<seq>`. */
  get(id: string): Alarm | null {
    const row = this.find(id);
    return row ? toAlarm(row) : null;
  }

  /** The alarm raised for occupancy `occupancySeq` of `lane`, if any. */
  findByOccupancy(lane: string, occupancySeq: number): Alarm | null {
    const row = this.byOccupancy.get(lane, occupancySeq);
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
    return this.historyOf.all(this.mustGet(id).id).map(toHistoryEntry);
  }

  /** Transitions (acknowledged, adjudicated) not yet marked published, oldest first; all by default. */
  unpublished(limit?: number): UnpublishedTransition[] {
    return this.unpublishedRows.all(limit ?? -1).map((r) => ({
      alarm: toAlarm(this.mustGet(r.alarm_id)),
      entry: toHistoryEntry(r),
    }));
  }

  /** The bridge has the event of this history entry in its durable outbox. */
  markPublished(alarmId: string, version: number): void {
    this.publish.run(alarmId, version);
  }

  private apply(idOrOccupancy: string, cmd: LifecycleCommand, o: TransitionOptions): TransitionOutcome {
    const outcome = this.db
      .transaction(() => {
        const before = toAlarm(this.mustGet(idOrOccupancy));
        const id = before.id;
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
        let prev = lifecycleView(before);
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
        const done: TransitionOutcome = { alarm: toAlarm(this.mustGet(id)), entries };
        o.alongside?.(done);
        return done;
      })
      .immediate();
    this.notify(outcome);
    return outcome;
  }

  private notify(change: AlarmChange): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch (error) {
        this.onListenerError(error);
      }
    }
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
      // The raise is announced by the bridge from the lane's own events (rpm.alarm.raised), as
      // it happens; only the transitions after it wait for the bridge here.
      e.action === 'raised' ? 1 : 0,
    );
  }

  private find(id: string): AlarmRow | undefined {
    const row = this.byId.get(id);
    if (row) return row;
    const occupancy = parseAlarmId(id);
    return occupancy ? this.byOccupancy.get(occupancy.lane, occupancy.occupancySeq) : undefined;
  }

  private mustGet(id: string): AlarmRow {
    const row = this.find(id);
    if (!row) throw new GatewayError('ALARM_NOT_FOUND', `no alarm with id ${id}`, { id });
    return row;
  }
}
