/**
 * The outbox's writer (SPEC §4 Delivery, §7 alarm latency): the one connection that writes the
 * outbox tables, so the fsync of a COMMIT (synchronous = FULL) never blocks the event loop that
 * handles device lines and PUBACKs.
 *
 * The main thread (OutboxStore) assigns row ids and sequence numbers in memory and posts each
 * batch of operations here. Group commit: whatever arrived while the previous COMMIT was being
 * fsync'd goes into the next transaction together, in arrival order (inserts, deletes, sequence
 * updates), so a delete posted after its insert is always applied after it. A transaction with
 * inserts is durable (FULL); one with only deletes is not fsync'd (NORMAL: a lost delete only
 * means a message is published again). Each reply names the batches done and whether their
 * transaction committed; the shared counter lets the main thread wait synchronously (shutdown).
 *
 * `OutboxWriter` is also used in-process for a database that lives in memory (no second
 * connection can see it).
 */
import { isMainThread, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import Database from 'better-sqlite3';

export type WriterOp =
  | {
      readonly k: 'ins';
      readonly id: number;
      readonly destination: string;
      readonly class: string;
      readonly kind: string;
      readonly lane: string;
      readonly topic: string;
      readonly payload: string;
      readonly retain: boolean;
      readonly bytes: number;
      readonly createdMs: number;
    }
  | { readonly k: 'del'; readonly id: number }
  | { readonly k: 'seq'; readonly source: string; readonly last: number }
  | {
      readonly k: 'dead';
      readonly id: number;
      readonly topic: string;
      readonly payload: string;
      readonly reason: string;
      readonly deadMs: number;
    }
  | { readonly k: 'meta'; readonly key: string; readonly value: string };

export interface WriterBatch {
  readonly batch: number;
  readonly ops: readonly WriterOp[];
}

export interface WriterReply {
  readonly batches: readonly number[];
  /** Set when the transaction holding these batches failed: none of them is on disk. */
  readonly error?: string;
}

export interface OutboxWorkerData {
  readonly outboxWriter: true;
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

  /** Apply `batches` in one transaction (one fsync when anything was inserted); throws if it failed. */
  apply(batches: readonly WriterBatch[]): void {
    const durable = batches.some((b) => b.ops.some((op) => op.k !== 'del'));
    if (!durable) this.db.pragma('synchronous = NORMAL');
    try {
      this.db.transaction(() => {
        for (const b of batches) for (const op of b.ops) this.op(op);
      })();
    } finally {
      if (!durable) this.db.pragma('synchronous = FULL');
    }
  }

  private op(op: WriterOp): void {
    switch (op.k) {
      case 'ins':
        this.insert.run(
          op.id,
          op.destination,
          op.class,
          op.kind,
          op.lane,
          op.topic,
          op.payload,
          op.retain ? 1 : 0,
          op.bytes,
          Math.round(op.createdMs),
        );
        return;
      case 'del':
        this.remove.run(op.id);
        return;
      case 'seq':
        this.sequence.run(op.source, op.last);
        return;
      case 'dead':
        this.dead.run(op.id, op.topic, op.payload, op.reason, op.deadMs);
        return;
      case 'meta':
        this.meta.run(op.key, op.value);
        return;
    }
  }
}

/** The worker's loop: drain everything queued, commit it as one transaction, reply, repeat. */
function runWorker(data: OutboxWorkerData): void {
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
