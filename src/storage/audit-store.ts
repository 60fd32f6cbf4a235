/**
 * The append-only audit log (SPEC §6): every configuration change and every adjudication, with
 * who, when, the state before and the state after. Also user management (never with secrets).
 *
 * Append-only twice over: SQLite triggers refuse UPDATE and DELETE on the table, and each entry
 * carries a SHA-256 hash chained to the previous entry's, so an edit made behind the gateway's
 * back (the file opened by another tool, triggers dropped) shows in `verify()`.
 */
import { createHash } from 'node:crypto';
import { migrate, type Db } from './database.js';

export interface AuditEntryInput {
  /** The user who did it (username), or `system`. */
  readonly actor: string;
  readonly role: string;
  /** What was done: `lane.config.update`, `alarm.adjudicate`, `user.create`, … */
  readonly action: string;
  /** What it was done to: `lane/lane-1`, `alarm/…`, `user/alice`. */
  readonly target: string;
  readonly before: unknown;
  readonly after: unknown;
}

export interface AuditEntry extends AuditEntryInput {
  readonly id: number;
  /** ISO 8601 time of the change. */
  readonly at: string;
  readonly hash: string;
}

export interface AuditQuery {
  readonly target?: string;
  readonly action?: string;
  readonly actor?: string;
  readonly limit: number;
  readonly offset: number;
}

const MIGRATIONS = [
  `CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before TEXT NOT NULL,
    after TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
  );
  CREATE INDEX audit_target ON audit_log (target, id);
  CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
  CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;`,
];

interface Row {
  id: number;
  at: string;
  actor: string;
  role: string;
  action: string;
  target: string;
  before: string;
  after: string;
  prev_hash: string;
  hash: string;
}

const GENESIS = '0'.repeat(64);

export class AuditStore {
  private readonly insert;
  private readonly last;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    migrate(db, 'audit', MIGRATIONS);
    this.insert = db.prepare(
      `INSERT INTO audit_log (at, actor, role, action, target, before, after, prev_hash, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.last = db.prepare('SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1');
  }

  /** Append one entry; returns it as stored. Synchronous and durable (the database is fsync'd). */
  append(input: AuditEntryInput): AuditEntry {
    // Immediate: the entry reads the chain's last hash and then writes. A deferred transaction
    // cannot take the write lock once another connection (the outbox's writer thread) has
    // committed since its read began — SQLite fails it at once, busy timeout or not.
    return this.db
      .transaction(() => {
        const prev = (this.last.get() as { hash: string } | undefined)?.hash ?? GENESIS;
        const at = new Date(this.now()).toISOString();
        const before = JSON.stringify(input.before ?? null);
        const after = JSON.stringify(input.after ?? null);
        const hash = chain(prev, at, input.actor, input.role, input.action, input.target, before, after);
        const result = this.insert.run(
          at,
          input.actor,
          input.role,
          input.action,
          input.target,
          before,
          after,
          prev,
          hash,
        );
        return { ...input, id: Number(result.lastInsertRowid), at, hash };
      })
      .immediate();
  }

  /** Newest first. */
  list(query: AuditQuery): { total: number; items: AuditEntry[] } {
    const where: string[] = [];
    const params: string[] = [];
    for (const [column, value] of [
      ['target', query.target],
      ['action', query.action],
      ['actor', query.actor],
    ] as const) {
      if (value !== undefined) {
        where.push(`${column} = ?`);
        params.push(value);
      }
    }
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const total = (
      this.db.prepare(`SELECT COUNT(*) AS n FROM audit_log ${clause}`).get(...params) as { n: number }
    ).n;
    const rows = this.db
      .prepare(`SELECT * FROM audit_log ${clause} ORDER BY id DESC LIMIT ? OFFSET ?`)
      .all(...params, query.limit, query.offset) as Row[];
    return { total, items: rows.map(toEntry) };
  }

  /** Re-walk the hash chain; returns the id of the first entry that does not match, or null. */
  verify(): number | null {
    let prev = GENESIS;
    for (const row of this.db.prepare('SELECT * FROM audit_log ORDER BY id').iterate() as Iterable<Row>) {
      const expected = chain(
        prev,
        row.at,
        row.actor,
        row.role,
        row.action,
        row.target,
        row.before,
        row.after,
      );
      if (row.prev_hash !== prev || row.hash !== expected) return row.id;
      prev = row.hash;
    }
    return null;
  }
}

function chain(prev: string, ...fields: string[]): string {
  const h = createHash('sha256').update(prev);
  for (const f of fields) h.update('\u0000').update(f);
  return h.digest('hex');
}

function toEntry(row: Row): AuditEntry {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    role: row.role,
    action: row.action,
    target: row.target,
    before: JSON.parse(row.before) as unknown,
    after: JSON.parse(row.after) as unknown,
    hash: row.hash,
  };
}
