/**
 * The durable outbox's rows on disk: the row types, the tables (migrations), and `OutboxDisk`,
 * the read side of committed rows through this thread's connection (prepared once). The
 * in-memory side is `OutboxStore` (outbox-store.ts: ids, sequences, the batches for the writer)
 * and `OutboxLedger` (outbox-ledger.ts: in-flight commits, deletes not yet confirmed, the
 * queue's counts); the writing connection is the writer thread's (src/bridge/outbox-worker.ts).
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
 * - `outbox_meta`: `open` = 1 while a gateway has the outbox open (an unclean shutdown leaves it).
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

export interface OutboxTransaction {
  nextSequence(source: string): number;
  /** Insert `row`, with `payload` in place of its own when given; returns the stored row (id assigned). */
  insert(row: NewOutboxRow, payload?: string): OutboxRow;
  evictOldest(cls: OutboxClass, bytesNeeded: number): number;
}

/** What deleting a row takes away from the queue's counts. */
export interface Gone {
  readonly bytes: number;
  readonly cls: OutboxClass;
  readonly mqtt: boolean;
}

/**
 * Sequence numbers skipped per source after an unclean shutdown. The bridge may put a batch on
 * the wire while its COMMIT is still being fsync'd; if the process dies in that window, those
 * numbers may have reached the broker without being stored. Starting past them afterwards turns
 * a possible repeat into a visible gap (the batch was not committed: a gap is the truth).
 */
export const SEQUENCE_CRASH_SKIP = 4096;

/** Fixed per-row overhead counted against the budget (row header, index entries). */
const ROW_OVERHEAD = 64;

/** Bytes counted against the disk budget for a row with a payload of `payloadBytes` UTF-8 bytes. */
export function rowBytes(payloadBytes: number, row: Pick<NewOutboxRow, 'topic' | 'lane'>): number {
  return payloadBytes + row.topic.length + row.lane.length + ROW_OVERHEAD;
}

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

/** What the outbox holds when it is opened. */
export interface OutboxOpened {
  /** The last sequence per source, past `SEQUENCE_CRASH_SKIP` after an unclean shutdown. */
  readonly sequences: Map<string, number>;
  readonly rows: number;
  readonly bytes: number;
  readonly mqttRows: number;
  /** The last row id handed out (AUTOINCREMENT's counter). */
  readonly lastId: number;
}

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

/** A committed row's id with what deleting it takes away. */
export interface DiskRow {
  readonly id: number;
  readonly bytes: number;
  readonly class: OutboxClass;
  readonly destination: OutboxDestination;
}

/** Committed rows, read through this thread's connection. Every read is bounded by `high`, the last committed id. */
export class OutboxDisk {
  private readonly afterStmt;
  private readonly bytesStmt;
  private readonly rangeStmt;
  private readonly oldestOfClassStmt;
  private readonly countStmt;
  private readonly deadStmt;

  constructor(private readonly db: Db) {
    migrate(db, 'outbox', MIGRATIONS);
    this.afterStmt = db.prepare(
      'SELECT * FROM outbox_messages WHERE destination = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?',
    );
    this.bytesStmt = db.prepare(
      'SELECT id, bytes, class, destination FROM outbox_messages WHERE id = ? AND id <= ?',
    );
    this.rangeStmt = db.prepare(
      'SELECT id, bytes, class, destination FROM outbox_messages WHERE id >= ? AND id <= ? ORDER BY id',
    );
    this.oldestOfClassStmt = db.prepare(
      'SELECT id, bytes, class, destination FROM outbox_messages WHERE class = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?',
    );
    this.countStmt = db.prepare(
      'SELECT class, COUNT(*) AS n FROM outbox_messages WHERE id <= ? GROUP BY class',
    );
    this.deadStmt = db.prepare('SELECT COUNT(*) AS n FROM outbox_dead_letters');
  }

  /**
   * Load the sequences and the queue's counts, and mark the outbox open. After an unclean
   * shutdown (still marked open) every source's sequence skips `SEQUENCE_CRASH_SKIP`, on disk too.
   */
  open(): OutboxOpened {
    const db = this.db;
    const sequences = new Map<string, number>();
    for (const r of db.prepare('SELECT source, last FROM outbox_sequences').all() as Array<{
      source: string;
      last: number;
    }>) {
      sequences.set(r.source, r.last);
    }
    const upsertSequence = db.prepare(
      `INSERT INTO outbox_sequences (source, last) VALUES (?, ?)
       ON CONFLICT (source) DO UPDATE SET last = excluded.last`,
    );
    const meta = db.prepare("SELECT value FROM outbox_meta WHERE key = 'open'").get() as
      { value: string } | undefined;
    db.transaction(() => {
      if (meta?.value === '1') {
        for (const [source, last] of sequences) {
          sequences.set(source, last + SEQUENCE_CRASH_SKIP);
          upsertSequence.run(source, last + SEQUENCE_CRASH_SKIP);
        }
      }
      db.prepare("INSERT OR REPLACE INTO outbox_meta (key, value) VALUES ('open', '1')").run();
    })();
    const sums = db
      .prepare(
        `SELECT COUNT(*) AS rows, COALESCE(SUM(bytes), 0) AS bytes, COALESCE(MAX(id), 0) AS maxId,
                COALESCE(SUM(destination = 'mqtt'), 0) AS mqttRows
         FROM outbox_messages`,
      )
      .get() as { rows: number; bytes: number; maxId: number; mqttRows: number };
    const seq = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'outbox_messages'").get() as
      { seq: number } | undefined;
    return {
      sequences,
      rows: sums.rows,
      bytes: sums.bytes,
      mqttRows: sums.mqttRows,
      lastId: Math.max(sums.maxId, seq?.seq ?? 0),
    };
  }

  /** Up to `limit` rows for `destination` with `afterId < id ≤ high`, in id order. */
  after(destination: OutboxDestination, afterId: number, high: number, limit: number): OutboxRow[] {
    return (this.afterStmt.all(destination, afterId, high, limit) as RawRow[]).map(fromRaw);
  }

  /** The row `id` if committed (`id ≤ high`), else undefined. */
  row(id: number, high: number): DiskRow | undefined {
    return this.bytesStmt.get(id, high) as DiskRow | undefined;
  }

  /** The rows with `from ≤ id ≤ to`, in id order. */
  range(from: number, to: number): DiskRow[] {
    return this.rangeStmt.all(from, to) as DiskRow[];
  }

  /** Up to `limit` rows of `cls` with `afterId < id ≤ high`, oldest first. */
  oldestOfClass(cls: OutboxClass, afterId: number, high: number, limit: number): DiskRow[] {
    return this.oldestOfClassStmt.all(cls, afterId, high, limit) as DiskRow[];
  }

  /** Committed rows per class up to `high`. */
  countByClass(high: number): Record<OutboxClass, number> {
    const out: Record<OutboxClass, number> = { alarm: 0, event: 0, telemetry: 0 };
    for (const r of this.countStmt.all(high) as Array<{ class: OutboxClass; n: number }>) out[r.class] += r.n;
    return out;
  }

  deadLetterCount(): number {
    return (this.deadStmt.get() as { n: number }).n;
  }
}

/** A row as the publisher sees it (one literal shape: the rows stay monomorphic). */
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
