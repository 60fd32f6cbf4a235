/**
 * A minimal alarm lifecycle (SPEC §3 step 5: raised → acknowledged → adjudicated, with who and
 * when), so central's commands have something to act on until the alarm pipeline's own store
 * lands; it implements the bridge's `AlarmCommandHandler`. Rules: acknowledging twice is a
 * no-op; adjudicating a raised alarm acknowledges it too (same person, same time); an
 * adjudicated alarm is closed — any further command is a conflict.
 */
import type {
  AcknowledgeRequest,
  AdjudicateRequest,
  AlarmCommandHandler,
  AlarmCommandOutcome,
  AlarmView,
  RaisedAlarm,
  SecondaryInspection,
} from '../bridge/alarm-commands.js';
import { migrate, type Db } from './database.js';

const MIGRATIONS = [
  `CREATE TABLE alarm_lifecycle (
     alarm_id TEXT PRIMARY KEY,
     lane TEXT NOT NULL,
     state TEXT NOT NULL,
     raised_ms INTEGER NOT NULL,
     acknowledged_by TEXT,
     acknowledged_ms INTEGER,
     adjudicated_by TEXT,
     adjudicated_ms INTEGER,
     adjudication_code INTEGER,
     secondary_inspection TEXT NOT NULL DEFAULT 'NONE',
     note TEXT
   );`,
];

interface Row {
  alarm_id: string;
  lane: string;
  state: AlarmView['state'];
  raised_ms: number;
  acknowledged_by: string | null;
  acknowledged_ms: number | null;
  adjudicated_by: string | null;
  adjudicated_ms: number | null;
  adjudication_code: number | null;
  secondary_inspection: SecondaryInspection;
  note: string | null;
}

export class SqliteAlarmLifecycle implements AlarmCommandHandler {
  constructor(private readonly db: Db) {
    migrate(db, 'alarm-lifecycle', MIGRATIONS);
  }

  /** Record a raised alarm (idempotent: a repeat keeps the first). */
  raised(alarm: RaisedAlarm): void {
    this.db
      .prepare(
        `INSERT OR IGNORE INTO alarm_lifecycle (alarm_id, lane, state, raised_ms) VALUES (?, ?, 'raised', ?)`,
      )
      .run(alarm.alarmId, alarm.lane, Math.round(alarm.time));
  }

  get(alarmId: string): AlarmView | null {
    const row = this.db.prepare('SELECT * FROM alarm_lifecycle WHERE alarm_id = ?').get(alarmId) as
      Row | undefined;
    return row ? view(row) : null;
  }

  acknowledge(r: AcknowledgeRequest): AlarmCommandOutcome {
    const row = this.find(r);
    if ('ok' in row) return row;
    if (row.state === 'acknowledged') return { ok: true, alarm: view(row), changed: false };
    if (row.state === 'adjudicated') return conflict(r.alarmId, 'is already adjudicated (closed)');
    this.db
      .prepare(
        `UPDATE alarm_lifecycle SET state = 'acknowledged', acknowledged_by = ?, acknowledged_ms = ?,
           note = COALESCE(?, note) WHERE alarm_id = ?`,
      )
      .run(r.by, Math.round(r.time), r.note ?? null, r.alarmId);
    return { ok: true, alarm: this.get(r.alarmId)!, changed: true };
  }

  adjudicate(r: AdjudicateRequest): AlarmCommandOutcome {
    const row = this.find(r);
    if ('ok' in row) return row;
    if (row.state === 'adjudicated') return conflict(r.alarmId, 'is already adjudicated (closed)');
    this.db
      .prepare(
        `UPDATE alarm_lifecycle SET state = 'adjudicated',
           acknowledged_by = COALESCE(acknowledged_by, ?), acknowledged_ms = COALESCE(acknowledged_ms, ?),
           adjudicated_by = ?, adjudicated_ms = ?, adjudication_code = ?, secondary_inspection = ?,
           note = COALESCE(?, note) WHERE alarm_id = ?`,
      )
      .run(
        r.by,
        Math.round(r.time),
        r.by,
        Math.round(r.time),
        r.code,
        r.secondaryInspection ?? 'NONE',
        r.note ?? null,
        r.alarmId,
      );
    return { ok: true, alarm: this.get(r.alarmId)!, changed: true };
  }

  private find(r: AcknowledgeRequest): Row | Extract<AlarmCommandOutcome, { ok: false }> {
    const row = this.db.prepare('SELECT * FROM alarm_lifecycle WHERE alarm_id = ?').get(r.alarmId) as
      Row | undefined;
    if (!row || row.lane !== r.lane) {
      return { ok: false, code: 'ALARM_NOT_FOUND', message: `no alarm '${r.alarmId}' on lane '${r.lane}'` };
    }
    return row;
  }
}

function conflict(alarmId: string, why: string): AlarmCommandOutcome {
  return { ok: false, code: 'ALARM_STATE_CONFLICT', message: `alarm '${alarmId}' ${why}` };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function view(r: Row): AlarmView {
  return {
    alarmId: r.alarm_id,
    lane: r.lane,
    state: r.state,
    raisedAt: new Date(r.raised_ms).toISOString(),
    acknowledgedBy: r.acknowledged_by,
    acknowledgedAt: iso(r.acknowledged_ms),
    adjudicatedBy: r.adjudicated_by,
    adjudicatedAt: iso(r.adjudicated_ms),
    adjudicationCode: r.adjudication_code,
    secondaryInspection: r.secondary_inspection,
    note: r.note,
  };
}
