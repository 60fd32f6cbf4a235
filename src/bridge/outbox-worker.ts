/**
 * The outbox's writer (SPEC §4 Delivery, §7 alarm latency): the one connection that writes the
 * outbox tables, so the fsync of a COMMIT (synchronous = FULL) never blocks the event loop that
 * handles device lines and PUBACKs.
 *
 * The main thread (OutboxStore) assigns row ids and sequence numbers in memory and posts each
 * batch of operations here. Group commit: whatever arrived while the previous COMMIT was being
 * fsync'd goes into the next transaction together, batches in arrival order, so a delete posted
 * after its insert is always applied after it. A transaction with inserts is durable (FULL);
 * one with only deletes is not fsync'd (NORMAL: a lost delete only means a message is published
 * again). Each reply names the batches done and whether their transaction committed; the shared
 * counter lets the main thread wait synchronously (shutdown).
 *
 * `OutboxWriter` is also used in-process for a database that lives in memory (no second
 * connection can see it).
 */
import { isMainThread, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import Database from 'better-sqlite3';

/**
 * Rows to insert, flattened: `ROW_FIELDS` values per row, in that order. Posting one flat array
 * of strings and numbers costs about half the structured clone of an object per row (the main
 * thread pays it for every batch, alarms included).
 */
export type PackedRows = Array<string | number>;

/** id, destination, class, kind, lane, topic, payload, retain (0/1), bytes, created ms. */
export const ROW_FIELDS = 10;

/**
 * The batch format's version. The worker runs from the compiled file (dist/), which can be older
 * than the sources that post to it: a writer that does not know the format must refuse to start
 * (every commit then fails, loudly), never acknowledge batches it did not apply.
 */
export const WRITER_FORMAT = 2;

export interface DeadLetterOp {
  readonly id: number;
  readonly topic: string;
  readonly payload: string;
  readonly reason: string;
  readonly deadMs: number;
}

/**
 * One batch of the main thread's operations. Applied in this order: inserts, deletes, sequence
 * updates, dead letters, meta. Deletes after inserts, so a row evicted or acknowledged in the
 * batch that inserts it is gone afterwards; ids are never reused, so no delete can precede an
 * insert of the same id.
 */
export interface WriterBatch {
  readonly batch: number;
  readonly ins?: PackedRows;
  readonly del?: readonly number[];
  /** source, last, source, last, … */
  readonly seq?: Array<string | number>;
  readonly dead?: readonly DeadLetterOp[];
  readonly meta?: ReadonlyArray<{ readonly key: string; readonly value: string }>;
}

export interface WriterReply {
  readonly batches: readonly number[];
  /** Set when the transaction holding these batches failed: none of them is on disk. */
  readonly error?: string;
}

export interface OutboxWorkerData {
  readonly outboxWriter: true;
  /** `WRITER_FORMAT` of the poster. */
  readonly format: number;
  readonly file: string;
  readonly port: MessagePort;
  /** [0]: the highest batch number done (committed or failed). */
  readonly done: SharedArrayBuffer;
}

type Db = Database.Database;

export class OutboxWriter {
  private readonly insert;
  private readonly remove;
  private readonly sequence;
  private readonly dead;
  private readonly meta;

  constructor(private readonly db: Db) {
    this.insert = db.prepare(
      `INSERT INTO outbox_messages (id, destination, class, kind, lane, topic, payload, retain, bytes, created_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.remove = db.prepare('DELETE FROM outbox_messages WHERE id = ?');
    this.sequence = db.prepare(
      `INSERT INTO outbox_sequences (source, last) VALUES (?, ?)
       ON CONFLICT (source) DO UPDATE SET last = MAX(last, excluded.last)`,
    );
    this.dead = db.prepare(
      'INSERT OR REPLACE INTO outbox_dead_letters (id, topic, payload, reason, dead_ms) VALUES (?, ?, ?, ?, ?)',
    );
    this.meta = db.prepare('INSERT OR REPLACE INTO outbox_meta (key, value) VALUES (?, ?)');
  }

  /** Apply `batches` in one transaction (one fsync when anything but deletes is in it); throws if it failed. */
  apply(batches: readonly WriterBatch[]): void {
    const durable = batches.some((b) => b.ins || b.seq || b.dead || b.meta);
    if (!durable) this.db.pragma('synchronous = NORMAL');
    try {
      this.db.transaction(() => {
        for (const b of batches) this.one(b);
      })();
    } finally {
      if (!durable) this.db.pragma('synchronous = FULL');
    }
  }

  private one(b: WriterBatch): void {
    const ins = b.ins;
    if (ins) {
      for (let i = 0; i < ins.length; i += ROW_FIELDS) {
        this.insert.run(
          ins[i],
          ins[i + 1],
          ins[i + 2],
          ins[i + 3],
          ins[i + 4],
          ins[i + 5],
          ins[i + 6],
          ins[i + 7],
          ins[i + 8],
          ins[i + 9],
        );
      }
    }
    if (b.del) for (const id of b.del) this.remove.run(id);
    const seq = b.seq;
    if (seq) for (let i = 0; i < seq.length; i += 2) this.sequence.run(seq[i], seq[i + 1]);
    if (b.dead) for (const d of b.dead) this.dead.run(d.id, d.topic, d.payload, d.reason, d.deadMs);
    if (b.meta) for (const m of b.meta) this.meta.run(m.key, m.value);
  }
}

/** The worker's loop: drain everything queued, commit it as one transaction, reply, repeat. */
function runWorker(data: OutboxWorkerData): void {
  if (data.format !== WRITER_FORMAT) {
    throw new Error(
      `outbox writer format ${WRITER_FORMAT} cannot apply batches of format ${data.format}: rebuild (npm run build)`,
    );
  }
  const db = new Database(data.file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  const writer = new OutboxWriter(db);
  const done = new Int32Array(data.done);
  const port = data.port;
  let queue: WriterBatch[] = [];
  let scheduled = false;
  const run = (): void => {
    scheduled = false;
    for (;;) {
      // Group commit: take everything that arrived, also while the last COMMIT was fsync'd.
      for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
        queue.push(m.message as WriterBatch);
      }
      if (queue.length === 0) return;
      const batches = queue;
      queue = [];
      let error: string | undefined;
      try {
        writer.apply(batches);
      } catch (e) {
        error = String(e);
      }
      const ids = batches.map((b) => b.batch);
      const reply: WriterReply = error === undefined ? { batches: ids } : { batches: ids, error };
      port.postMessage(reply);
      Atomics.store(done, 0, Math.max(...ids));
      Atomics.notify(done, 0);
    }
  };
  port.on('message', (m: WriterBatch) => {
    queue.push(m);
    if (!scheduled) {
      scheduled = true;
      setImmediate(run);
    }
  });
}

const data = workerData as Partial<OutboxWorkerData> | null;
if (!isMainThread && data?.outboxWriter === true) runWorker(data as OutboxWorkerData);
