/**
 * The audit of every command received from central (SPEC §4, §6 "every adjudication goes to an
 * audit log"): who (the sender property), when, which lane and command, the correlation data,
 * the payload (a bounded excerpt: an oversized command must not bloat the database), and the
 * outcome with its error code. Written before the response is sent.
 */
import { migrate, type Db } from './database.js';

export interface CommandAuditEntry {
  readonly timeMs: number;
  readonly lane: string;
  readonly command: string;
  readonly sender: string | null;
  readonly correlation: Buffer | null;
  readonly responseTopic: string | null;
  readonly payload: Buffer;
  readonly outcome: 'ok' | 'error';
  readonly errorCode: string | null;
  /** The result or the error message, JSON. */
  readonly detail: unknown;
}

export interface CommandAuditRow {
  readonly id: number;
  readonly timeMs: number;
  readonly lane: string;
  readonly command: string;
  readonly sender: string | null;
  readonly correlationHex: string | null;
  readonly responseTopic: string | null;
  readonly payloadExcerpt: string;
  readonly payloadBytes: number;
  readonly outcome: 'ok' | 'error';
  readonly errorCode: string | null;
  readonly detail: string;
}

const EXCERPT_BYTES = 1024;

const MIGRATIONS = [
  `CREATE TABLE command_audit (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     time_ms INTEGER NOT NULL,
     lane TEXT NOT NULL,
     command TEXT NOT NULL,
     sender TEXT,
     correlation_hex TEXT,
     response_topic TEXT,
     payload_excerpt TEXT NOT NULL,
     payload_bytes INTEGER NOT NULL,
     outcome TEXT NOT NULL,
     error_code TEXT,
     detail TEXT NOT NULL
   );
   CREATE INDEX command_audit_by_time ON command_audit (time_ms);`,
];

export class CommandAuditStore {
  private readonly insertStmt;

  constructor(private readonly db: Db) {
    migrate(db, 'command-audit', MIGRATIONS);
    this.insertStmt = db.prepare(
      `INSERT INTO command_audit (time_ms, lane, command, sender, correlation_hex, response_topic,
         payload_excerpt, payload_bytes, outcome, error_code, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  record(e: CommandAuditEntry): void {
    this.insertStmt.run(
      Math.round(e.timeMs),
      e.lane.slice(0, 200),
      e.command.slice(0, 200),
      e.sender === null ? null : e.sender.slice(0, 200),
      e.correlation === null ? null : e.correlation.subarray(0, 256).toString('hex'),
      e.responseTopic === null ? null : e.responseTopic.slice(0, 1000),
      e.payload.subarray(0, EXCERPT_BYTES).toString('utf8'),
      e.payload.length,
      e.outcome,
      e.errorCode,
      JSON.stringify(e.detail ?? null).slice(0, 4000),
    );
  }

  /** The newest entries first. */
  recent(limit = 100): CommandAuditRow[] {
    return (
      this.db.prepare('SELECT * FROM command_audit ORDER BY id DESC LIMIT ?').all(limit) as Array<
        Record<string, unknown>
      >
    ).map((r) => ({
      id: r.id as number,
      timeMs: r.time_ms as number,
      lane: r.lane as string,
      command: r.command as string,
      sender: r.sender as string | null,
      correlationHex: r.correlation_hex as string | null,
      responseTopic: r.response_topic as string | null,
      payloadExcerpt: r.payload_excerpt as string,
      payloadBytes: r.payload_bytes as number,
      outcome: r.outcome as 'ok' | 'error',
      errorCode: r.error_code as string | null,
      detail: r.detail as string,
    }));
  }
}
