/**
 * The durable outbox's tables (SPEC §4 "committed to a durable local outbox … deleted only after
 * the broker's PUBACK"), in the shared gateway database (WAL, synchronous = FULL: a committed
 * transaction is on disk). The bridge's committer batches many rows into one transaction, so one
 * fsync covers a batch.
 *
 * - `outbox_messages`: one row per message to deliver, in commit order (AUTOINCREMENT: an id is
 *   never reused, so a publisher's cursor stays valid after deletes). `destination` is `mqtt` or
 *   `influx`; `class` drives eviction under the disk budget (telemetry first, then ordinary
 *   events, alarms never).
 * - `outbox_sequences`: the last CloudEvents `sequence` handed out per source, written in the same
 *   transaction as the events that used it, so a number is never handed out twice — also across
 *   crashes (an uncommitted number was never published).
 * - `outbox_dead_letters`: messages the broker refused outright (negative PUBACK): kept for a
 *   technician, out of the way of the ordered stream.
 */
import { migrate, type Db } from './database.js';

export type OutboxDestination = 'mqtt' | 'influx';
export type OutboxClass = 'alarm' | 'event' | 'telemetry';
/** `event`: a CloudEvent (QoS 1, not retained); `state`: a retained state message; `line`: Influx line protocol. */
export type OutboxKind = 'event' | 'state' | 'line';

export interface OutboxRow {
  readonly id: number;
  readonly destination: OutboxDestination;
  readonly class: OutboxClass;
  readonly kind: OutboxKind;
  readonly lane: string;
  readonly topic: string;
  readonly payload: string;
  readonly retain: boolean;
  readonly bytes: number;
  readonly createdMs: number;
}

export type NewOutboxRow = Omit<OutboxRow, 'id' | 'bytes'>;

const MIGRATIONS = [
  `CREATE TABLE outbox_messages (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     destination TEXT NOT NULL,
     class TEXT NOT NULL,
     kind TEXT NOT NULL,
     lane TEXT NOT NULL,
     topic TEXT NOT NULL,
     payload TEXT NOT NULL,
     retain INTEGER NOT NULL,
     bytes INTEGER NOT NULL,
     created_ms INTEGER NOT NULL
   );
   CREATE INDEX outbox_by_destination ON outbox_messages (destination, id);
   CREATE INDEX outbox_by_class ON outbox_messages (class, id);
   CREATE TABLE outbox_sequences (source TEXT PRIMARY KEY, last INTEGER NOT NULL);
   CREATE TABLE outbox_dead_letters (
     id INTEGER PRIMARY KEY,
     topic TEXT NOT NULL,
     payload TEXT NOT NULL,
     reason TEXT NOT NULL,
     dead_ms INTEGER NOT NULL
   );`,
  `CREATE TABLE outbox_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
];

/**
 * Sequence numbers skipped per source after an unclean shutdown. The bridge may put a batch on
 * the wire while its COMMIT is still being fsync'd; if the process dies in that window, those
 * numbers may have reached the broker without being stored. Starting past them afterwards turns
 * a possible repeat into a visible gap (the batch was not committed: a gap is the truth).
 */
export const SEQUENCE_CRASH_SKIP = 4096;

/** Fixed per-row overhead counted against the budget (row header, index entries). */
const ROW_OVERHEAD = 64;

interface RawRow {
  id: number;
  destination: OutboxDestination;
  class: OutboxClass;
  kind: OutboxKind;
  lane: string;
  topic: string;
  payload: string;
  retain: number;
  bytes: number;
  created_ms: number;
}

export class OutboxStore {
  private readonly insertStmt;
  private readonly afterStmt;
  private readonly deleteStmt;
  private readonly oldestOfClassStmt;
  private readonly upsertSequenceStmt;
  private readonly deadStmt;
  private readonly sequences = new Map<string, number>();
  private total = { bytes: 0, rows: 0 };

  constructor(readonly db: Db) {
    migrate(db, 'outbox', MIGRATIONS);
    this.insertStmt = db.prepare(
      `INSERT INTO outbox_messages (destination, class, kind, lane, topic, payload, retain, bytes, created_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.afterStmt = db.prepare(
      'SELECT * FROM outbox_messages WHERE destination = ? AND id > ? ORDER BY id LIMIT ?',
    );
    this.deleteStmt = db.prepare('DELETE FROM outbox_messages WHERE id = ? RETURNING bytes');
    this.oldestOfClassStmt = db.prepare(
      'SELECT id, bytes FROM outbox_messages WHERE class = ? ORDER BY id LIMIT ?',
    );
    this.upsertSequenceStmt = db.prepare(
      `INSERT INTO outbox_sequences (source, last) VALUES (?, ?)
       ON CONFLICT (source) DO UPDATE SET last = excluded.last`,
    );
    this.deadStmt = db.prepare(
      'INSERT OR REPLACE INTO outbox_dead_letters (id, topic, payload, reason, dead_ms) VALUES (?, ?, ?, ?, ?)',
    );
    for (const r of db.prepare('SELECT source, last FROM outbox_sequences').all() as Array<{
      source: string;
      last: number;
    }>) {
      this.sequences.set(r.source, r.last);
    }
    const meta = db.prepare("SELECT value FROM outbox_meta WHERE key = 'open'").get() as
      { value: string } | undefined;
    db.transaction(() => {
      if (meta?.value === '1') {
        for (const [source, last] of this.sequences) {
          this.sequences.set(source, last + SEQUENCE_CRASH_SKIP);
          this.upsertSequenceStmt.run(source, last + SEQUENCE_CRASH_SKIP);
        }
      }
      db.prepare("INSERT OR REPLACE INTO outbox_meta (key, value) VALUES ('open', '1')").run();
    })();
    const sums = db
      .prepare('SELECT COUNT(*) AS rows, COALESCE(SUM(bytes), 0) AS bytes FROM outbox_messages')
      .get() as {
      rows: number;
      bytes: number;
    };
    this.total = { rows: sums.rows, bytes: sums.bytes };
  }

  /** A clean shutdown: every number handed out was committed (no skip at the next open). */
  markClosed(): void {
    this.db.prepare("INSERT OR REPLACE INTO outbox_meta (key, value) VALUES ('open', '0')").run();
  }

  /** Bytes counted against the disk budget for a row of this content. */
  static sizeOf(row: Pick<NewOutboxRow, 'topic' | 'payload' | 'lane'>): number {
    return Buffer.byteLength(row.payload) + row.topic.length + row.lane.length + ROW_OVERHEAD;
  }

  get depth(): { readonly rows: number; readonly bytes: number } {
    return this.total;
  }

  /**
   * Run `work` in one transaction (one fsync). Sequence numbers taken inside are persisted with
   * it, and forgotten again if it throws.
   */
  transaction<T>(work: (tx: OutboxTransaction) => T): T {
    const taken = new Map<string, number>();
    const totalBefore = this.total;
    const tx: OutboxTransaction = {
      nextSequence: (source) => {
        const next = (taken.get(source) ?? this.sequences.get(source) ?? 0) + 1;
        taken.set(source, next);
        return next;
      },
      insert: (row) => this.insert(row),
      evictOldest: (cls, bytesNeeded) => this.evictOldest(cls, bytesNeeded),
    };
    try {
      const result = this.db.transaction(() => {
        const value = work(tx);
        for (const [source, last] of taken) this.upsertSequenceStmt.run(source, last);
        return value;
      })();
      for (const [source, last] of taken) this.sequences.set(source, last);
      return result;
    } catch (error) {
      this.total = totalBefore;
      // Numbers taken may already be on the wire (early publish): never hand them out again.
      for (const [source, last] of taken) this.sequences.set(source, last);
      throw error;
    }
  }

  /** Up to `limit` rows for `destination` after `afterId`, in commit order. */
  after(destination: OutboxDestination, afterId: number, limit: number): OutboxRow[] {
    return (this.afterStmt.all(destination, afterId, limit) as RawRow[]).map(fromRaw);
  }

  /**
   * Delete delivered rows in one transaction. Unknown ids (already evicted) are ignored. Not
   * fsync'd (synchronous = NORMAL for this transaction only): a delete lost to a power cut only
   * means the message is published again (at least once); the next FULL commit syncs it anyway.
   * This keeps the fsyncs — which block the event loop — for the commits that need them.
   */
  delete(ids: readonly number[]): void {
    if (ids.length === 0) return;
    this.db.pragma('synchronous = NORMAL');
    try {
      this.db.transaction(() => {
        for (const id of ids) {
          const gone = this.deleteStmt.get(id) as { bytes: number } | undefined;
          if (gone) this.total = { rows: this.total.rows - 1, bytes: this.total.bytes - gone.bytes };
        }
      })();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  /** Move a row the broker refused into the dead-letter table. */
  deadLetter(row: OutboxRow, reason: string, nowMs: number): void {
    this.db.transaction(() => {
      this.deadStmt.run(row.id, row.topic, row.payload, reason, nowMs);
      this.delete([row.id]);
    })();
  }

  deadLetterCount(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM outbox_dead_letters').get() as { n: number }).n;
  }

  /** Rows per class (for telemetry and tests). */
  countByClass(): Record<OutboxClass, number> {
    const out: Record<OutboxClass, number> = { alarm: 0, event: 0, telemetry: 0 };
    for (const r of this.db
      .prepare('SELECT class, COUNT(*) AS n FROM outbox_messages GROUP BY class')
      .all() as Array<{
      class: OutboxClass;
      n: number;
    }>) {
      out[r.class] = r.n;
    }
    return out;
  }

  private insert(row: NewOutboxRow): number {
    const bytes = OutboxStore.sizeOf(row);
    const result = this.insertStmt.run(
      row.destination,
      row.class,
      row.kind,
      row.lane,
      row.topic,
      row.payload,
      row.retain ? 1 : 0,
      bytes,
      Math.round(row.createdMs),
    );
    this.total = { rows: this.total.rows + 1, bytes: this.total.bytes + bytes };
    return Number(result.lastInsertRowid);
  }

  /** Delete the oldest rows of `cls` until `bytesNeeded` are freed (or none is left); returns rows evicted. */
  private evictOldest(cls: OutboxClass, bytesNeeded: number): number {
    let freed = 0;
    let evicted = 0;
    while (freed < bytesNeeded) {
      const victims = this.oldestOfClassStmt.all(cls, 256) as Array<{ id: number; bytes: number }>;
      if (victims.length === 0) break;
      for (const v of victims) {
        if (freed >= bytesNeeded) break;
        this.deleteStmt.get(v.id);
        this.total = { rows: this.total.rows - 1, bytes: this.total.bytes - v.bytes };
        freed += v.bytes;
        evicted++;
      }
    }
    return evicted;
  }
}

export interface OutboxTransaction {
  nextSequence(source: string): number;
  insert(row: NewOutboxRow): number;
  evictOldest(cls: OutboxClass, bytesNeeded: number): number;
}

function fromRaw(r: RawRow): OutboxRow {
  return {
    id: r.id,
    destination: r.destination,
    class: r.class,
    kind: r.kind,
    lane: r.lane,
    topic: r.topic,
    payload: r.payload,
    retain: r.retain === 1,
    bytes: r.bytes,
    createdMs: r.created_ms,
  };
}
