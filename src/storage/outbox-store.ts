/**
 * The durable outbox's tables (SPEC §4 "committed to a durable local outbox … deleted only after
 * the broker's PUBACK"), in the shared gateway database (WAL, synchronous = FULL: a committed
 * transaction is on disk). The bridge's committer batches many rows into one transaction, so one
 * fsync covers a batch.
 *
 * Writes happen off the event loop: a worker thread (src/bridge/outbox-worker.ts) owns the one
 * writing connection and commits, group-wise, whatever was posted while its last COMMIT was
 * being fsync'd. This thread assigns row ids and sequence numbers in memory, so a new row can be
 * published at once; `after()` shows rows whose commit is still in flight (from memory) beside
 * the committed ones (read through this thread's connection), and `delete()` of a row whose
 * commit is in flight is applied after that commit (the writer applies operations in order). A
 * row counts as committed — `transaction`'s `done` callback — only after its COMMIT returned.
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
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import {
  OutboxWriter,
  type OutboxWorkerData,
  type WriterBatch,
  type WriterOp,
  type WriterReply,
} from '../bridge/outbox-worker.js';
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

/** A row whose commit is in flight. */
type PendingRow = OutboxRow;

interface Gone {
  readonly bytes: number;
  readonly cls: OutboxClass;
}

interface Outstanding {
  /** Rows inserted by the batch, ids ascending. */
  readonly inserted: readonly PendingRow[];
  /** Rows the batch deletes (delivered, evicted, dead-lettered). */
  readonly deleted: readonly number[];
  readonly done: ((error: Error | null) => void) | undefined;
}

/** How long a synchronous wait for the writer (shutdown) may take at most, ms. */
const SYNC_WAIT_MS = 30_000;

export class OutboxStore {
  private readonly afterStmt;
  private readonly bytesStmt;
  private readonly oldestOfClassStmt;
  private readonly countStmt;
  private readonly sequences = new Map<string, number>();
  private total = { bytes: 0, rows: 0 };
  /** The last row id handed out (AUTOINCREMENT's counter, kept here). */
  private lastId: number;
  /** Rows with an id up to this are on disk (or were lost with a failed commit). */
  private committedHigh: number;
  /** Rows whose commit is in flight, ids ascending. */
  private pending: PendingRow[] = [];
  /** Rows deleted here whose delete the writer has not confirmed yet. */
  private readonly gone = new Map<number, Gone>();
  private readonly outstanding = new Map<number, Outstanding>();
  private batchNo = 0;
  private closed = false;
  private failure: Error | null = null;
  private readonly writer: WorkerWriter | InlineWriter;

  constructor(readonly db: Db) {
    migrate(db, 'outbox', MIGRATIONS);
    this.afterStmt = db.prepare(
      'SELECT * FROM outbox_messages WHERE destination = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?',
    );
    this.bytesStmt = db.prepare('SELECT bytes, class FROM outbox_messages WHERE id = ? AND id <= ?');
    this.oldestOfClassStmt = db.prepare(
      'SELECT id, bytes FROM outbox_messages WHERE class = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?',
    );
    this.countStmt = db.prepare(
      'SELECT class, COUNT(*) AS n FROM outbox_messages WHERE id <= ? GROUP BY class',
    );
    const upsertSequence = db.prepare(
      `INSERT INTO outbox_sequences (source, last) VALUES (?, ?)
       ON CONFLICT (source) DO UPDATE SET last = excluded.last`,
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
          upsertSequence.run(source, last + SEQUENCE_CRASH_SKIP);
        }
      }
      db.prepare("INSERT OR REPLACE INTO outbox_meta (key, value) VALUES ('open', '1')").run();
    })();
    const sums = db
      .prepare(
        'SELECT COUNT(*) AS rows, COALESCE(SUM(bytes), 0) AS bytes, COALESCE(MAX(id), 0) AS maxId FROM outbox_messages',
      )
      .get() as { rows: number; bytes: number; maxId: number };
    const seq = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'outbox_messages'").get() as
      { seq: number } | undefined;
    this.total = { rows: sums.rows, bytes: sums.bytes };
    this.lastId = Math.max(sums.maxId, seq?.seq ?? 0);
    this.committedHigh = this.lastId;
    this.writer = db.memory
      ? new InlineWriter(db, (reply) => this.settle(reply))
      : new WorkerWriter(db.name, (reply) => this.settle(reply));
  }

  /**
   * A clean shutdown: wait until everything posted is committed, record that every number handed
   * out was committed (no skip at the next open), and stop the writer. Nothing is written after.
   */
  markClosed(): void {
    if (this.closed) return;
    this.post([{ k: 'meta', key: 'open', value: '0' }], [], [], undefined);
    this.close();
  }

  /** Wait for the writer to finish what was posted, then stop it (blocks; for shutdown). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.waitForWriter();
    this.writer.stop();
  }

  /** Block until every batch posted so far is settled (committed or failed). */
  waitForWriter(): void {
    this.writer.waitFor(this.batchNo);
  }

  /** Bytes counted against the disk budget for a row of this content. */
  static sizeOf(row: Pick<NewOutboxRow, 'topic' | 'payload' | 'lane'>): number {
    return Buffer.byteLength(row.payload) + row.topic.length + row.lane.length + ROW_OVERHEAD;
  }

  /** Rows and bytes queued, counting rows whose commit is in flight, not rows already deleted. */
  get depth(): { readonly rows: number; readonly bytes: number } {
    return this.total;
  }

  /**
   * Run `work`, which assigns ids and sequence numbers at once, and post what it did to the
   * writer as one batch. `done` is called once the batch's COMMIT returned (`null`) or failed;
   * until then its rows are visible here but must not be reported as committed. Sequence numbers
   * taken are never handed out again, even if the commit fails (the rows may be on the wire).
   */
  transaction<T>(work: (tx: OutboxTransaction) => T, done?: (error: Error | null) => void): T {
    if (this.closed) throw new Error('the outbox store is closed');
    if (this.failure) throw this.failure;
    const taken = new Map<string, number>();
    const ops: WriterOp[] = [];
    const inserted: PendingRow[] = [];
    const deleted: number[] = [];
    const totalBefore = this.total;
    const pendingBefore = this.pending.length;
    const tx: OutboxTransaction = {
      nextSequence: (source) => {
        const next = (taken.get(source) ?? this.sequences.get(source) ?? 0) + 1;
        taken.set(source, next);
        return next;
      },
      insert: (row) => {
        const bytes = OutboxStore.sizeOf(row);
        const stored: PendingRow = { ...row, id: ++this.lastId, bytes, createdMs: Math.round(row.createdMs) };
        ops.push({ k: 'ins', ...stored });
        inserted.push(stored);
        this.pending.push(stored);
        this.total = { rows: this.total.rows + 1, bytes: this.total.bytes + bytes };
        return stored.id;
      },
      evictOldest: (cls, bytesNeeded) => {
        const victims = this.oldestOfClass(cls, bytesNeeded);
        for (const v of victims) {
          this.forget(v.id, v.gone);
          ops.push({ k: 'del', id: v.id });
          deleted.push(v.id);
        }
        return victims.length;
      },
    };
    let result: T;
    try {
      result = work(tx);
    } catch (error) {
      this.total = totalBefore;
      this.pending.length = pendingBefore;
      for (const id of deleted) this.gone.delete(id);
      // Numbers taken may already be on the wire (early publish): never hand them out again.
      for (const [source, last] of taken) this.sequences.set(source, last);
      throw error;
    }
    for (const [source, last] of taken) {
      this.sequences.set(source, last);
      ops.push({ k: 'seq', source, last });
    }
    this.post(ops, inserted, deleted, done);
    return result;
  }

  /** Up to `limit` rows for `destination` after `afterId`, in commit order (in-flight commits included). */
  after(destination: OutboxDestination, afterId: number, limit: number): OutboxRow[] {
    const out: OutboxRow[] = [];
    let cursor = afterId;
    let pad = 0;
    while (out.length < limit && cursor < this.committedHigh) {
      // Rows deleted but not yet confirmed by the writer are still on disk: read past them.
      const want = limit - out.length + pad;
      const raw = this.afterStmt.all(destination, cursor, this.committedHigh, want) as RawRow[];
      for (const r of raw) {
        if (this.gone.has(r.id)) pad = Math.min(this.gone.size, 256);
        else if (out.length < limit) out.push(fromRaw(r));
      }
      if (raw.length < want) break;
      cursor = raw.at(-1)!.id;
    }
    if (out.length < limit && this.pending.length > 0) {
      for (let i = this.firstPendingAfter(afterId); i < this.pending.length && out.length < limit; i++) {
        const row = this.pending[i]!;
        if (row.destination === destination && !this.gone.has(row.id)) out.push(row);
      }
    }
    return out;
  }

  /**
   * Delete delivered rows (one batch for the writer). Unknown ids (already evicted) are ignored.
   * A row whose commit is still in flight is deleted right after it. Not fsync'd unless something
   * else is committed with it: a delete lost to a power cut only means the message is published
   * again (at least once).
   */
  delete(ids: readonly number[]): void {
    if (ids.length === 0 || this.closed) return;
    const ops: WriterOp[] = [];
    const deleted: number[] = [];
    for (const id of ids) {
      const gone = this.lookup(id);
      if (gone === null) continue;
      this.forget(id, gone);
      ops.push({ k: 'del', id });
      deleted.push(id);
    }
    if (ops.length > 0) this.post(ops, [], deleted, undefined);
  }

  /** Move a row the broker refused into the dead-letter table. */
  deadLetter(row: OutboxRow, reason: string, nowMs: number): void {
    if (this.closed) return;
    const gone = this.lookup(row.id);
    const ops: WriterOp[] = [
      { k: 'dead', id: row.id, topic: row.topic, payload: row.payload, reason, deadMs: nowMs },
    ];
    if (gone !== null) {
      this.forget(row.id, gone);
      ops.push({ k: 'del', id: row.id });
    }
    this.post(ops, [], gone === null ? [] : [row.id], undefined);
  }

  deadLetterCount(): number {
    this.waitForWriter();
    return (this.db.prepare('SELECT COUNT(*) AS n FROM outbox_dead_letters').get() as { n: number }).n;
  }

  /** Rows per class (for telemetry and tests), counting in-flight commits, not rows deleted. */
  countByClass(): Record<OutboxClass, number> {
    const out: Record<OutboxClass, number> = { alarm: 0, event: 0, telemetry: 0 };
    for (const r of this.countStmt.all(this.committedHigh) as Array<{ class: OutboxClass; n: number }>) {
      out[r.class] += r.n;
    }
    for (const [id, g] of this.gone) if (id <= this.committedHigh) out[g.cls]--;
    for (const row of this.pending) if (!this.gone.has(row.id)) out[row.class]++;
    return out;
  }

  private post(
    ops: WriterOp[],
    inserted: readonly PendingRow[],
    deleted: readonly number[],
    done: ((error: Error | null) => void) | undefined,
  ): void {
    const batch = ++this.batchNo;
    this.outstanding.set(batch, { inserted, deleted, done });
    this.writer.post({ batch, ops });
  }

  /** The writer's answer for some batches: make them visible as committed, or undo them. */
  private settle(reply: WriterReply): void {
    const error = reply.error === undefined ? null : new Error(reply.error);
    for (const batch of reply.batches) {
      const o = this.outstanding.get(batch);
      if (o === undefined) continue;
      this.outstanding.delete(batch);
      const last = o.inserted.at(-1);
      if (last !== undefined) {
        if (last.id > this.committedHigh) this.committedHigh = last.id;
        let n = 0;
        while (n < this.pending.length && this.pending[n]!.id <= last.id) n++;
        this.pending.splice(0, n);
      }
      if (error !== null) {
        // Nothing of the batch is on disk: its rows are lost, its deletes did not happen.
        for (const row of o.inserted) {
          if (this.gone.delete(row.id)) continue;
          this.total = { rows: this.total.rows - 1, bytes: this.total.bytes - row.bytes };
        }
        for (const id of o.deleted) {
          const g = this.gone.get(id);
          if (g === undefined) continue;
          this.gone.delete(id);
          this.total = { rows: this.total.rows + 1, bytes: this.total.bytes + g.bytes };
        }
      } else {
        for (const id of o.deleted) this.gone.delete(id);
      }
      o.done?.(error);
    }
  }

  /** What deleting `id` takes away, or null when it is not (any more) in the outbox. */
  private lookup(id: number): Gone | null {
    if (this.gone.has(id)) return null;
    const i = this.firstPendingAfter(id - 1);
    const p = this.pending[i];
    if (p !== undefined && p.id === id) return { bytes: p.bytes, cls: p.class };
    const r = this.bytesStmt.get(id, this.committedHigh) as { bytes: number; class: OutboxClass } | undefined;
    return r === undefined ? null : { bytes: r.bytes, cls: r.class };
  }

  private forget(id: number, g: Gone): void {
    this.gone.set(id, g);
    this.total = { rows: this.total.rows - 1, bytes: this.total.bytes - g.bytes };
  }

  /** Index of the first pending row with an id above `id`. */
  private firstPendingAfter(id: number): number {
    let lo = 0;
    let hi = this.pending.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.pending[mid]!.id <= id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The oldest rows of `cls` (not deleted yet) that free `bytesNeeded`. */
  private oldestOfClass(cls: OutboxClass, bytesNeeded: number): Array<{ id: number; gone: Gone }> {
    const out: Array<{ id: number; gone: Gone }> = [];
    let freed = 0;
    let cursor = 0;
    while (freed < bytesNeeded && cursor < this.committedHigh) {
      const rows = this.oldestOfClassStmt.all(cls, cursor, this.committedHigh, 256) as Array<{
        id: number;
        bytes: number;
      }>;
      for (const v of rows) {
        if (freed >= bytesNeeded) break;
        if (this.gone.has(v.id)) continue;
        out.push({ id: v.id, gone: { bytes: v.bytes, cls } });
        freed += v.bytes;
      }
      if (rows.length < 256) break;
      cursor = rows.at(-1)!.id;
    }
    for (const row of this.pending) {
      if (freed >= bytesNeeded) break;
      if (row.class !== cls || this.gone.has(row.id)) continue;
      out.push({ id: row.id, gone: { bytes: row.bytes, cls } });
      freed += row.bytes;
    }
    return out;
  }
}

export interface OutboxTransaction {
  nextSequence(source: string): number;
  insert(row: NewOutboxRow): number;
  evictOldest(cls: OutboxClass, bytesNeeded: number): number;
}

/** The writer in a worker thread (a database on disk). */
class WorkerWriter {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly done = new Int32Array(new SharedArrayBuffer(4));
  private posted = 0;
  private settled = 0;
  private exited: Error | null = null;

  constructor(
    file: string,
    private readonly onReply: (reply: WriterReply) => void,
  ) {
    const channel = new MessageChannel();
    this.port = channel.port1;
    const data: OutboxWorkerData = {
      outboxWriter: true,
      file,
      port: channel.port2,
      done: this.done.buffer,
    };
    this.worker = new Worker(outboxWorkerFile(), { workerData: data, transferList: [channel.port2] });
    this.worker.unref();
    this.port.on('message', (reply: WriterReply) => this.receive(reply));
    this.port.unref();
    const fail = (error: Error): void => {
      this.exited ??= error;
      const missing: number[] = [];
      for (let b = this.settled + 1; b <= this.posted; b++) missing.push(b);
      this.drain();
      if (missing.length > 0) this.receive({ batches: missing, error: String(error) });
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the outbox writer exited (code ${code})`)));
  }

  post(batch: WriterBatch): void {
    if (this.exited) {
      const error = this.exited;
      this.posted = batch.batch;
      queueMicrotask(() => this.receive({ batches: [batch.batch], error: String(error) }));
      return;
    }
    this.posted = batch.batch;
    if (this.posted - this.settled === 1) this.port.ref();
    this.port.postMessage(batch);
  }

  waitFor(batch: number): void {
    const deadline = Date.now() + SYNC_WAIT_MS;
    while (!this.exited && Atomics.load(this.done, 0) < batch) {
      if (Date.now() > deadline) throw new Error('the outbox writer did not finish in time');
      Atomics.wait(this.done, 0, Atomics.load(this.done, 0), 100);
    }
    this.drain();
  }

  stop(): void {
    this.exited ??= new Error('the outbox writer was stopped');
    this.port.close();
    void this.worker.terminate();
  }

  private drain(): void {
    for (let m = receiveMessageOnPort(this.port); m !== undefined; m = receiveMessageOnPort(this.port)) {
      this.receive(m.message as WriterReply);
    }
  }

  private receive(reply: WriterReply): void {
    for (const b of reply.batches) if (b > this.settled) this.settled = b;
    if (this.settled >= this.posted) this.port.unref();
    this.onReply(reply);
  }
}

/** The writer on this thread (a database in memory: no other connection can see it). */
class InlineWriter {
  private readonly writer: OutboxWriter;
  private queue: WriterReply[] = [];

  constructor(
    db: Db,
    private readonly onReply: (reply: WriterReply) => void,
  ) {
    this.writer = new OutboxWriter(db);
  }

  post(batch: WriterBatch): void {
    let reply: WriterReply = { batches: [batch.batch] };
    try {
      this.writer.apply([batch]);
    } catch (error) {
      reply = { batches: [batch.batch], error: String(error) };
    }
    this.queue.push(reply);
    if (this.queue.length === 1) setImmediate(() => this.waitFor());
  }

  waitFor(): void {
    const replies = this.queue;
    this.queue = [];
    for (const r of replies) this.onReply(r);
  }

  stop(): void {
    this.waitFor();
  }
}

/**
 * The compiled writer: beside this module's compiled sibling, or — running from TypeScript
 * sources (tests, the ts-loader) — in dist/, which `npm run build` (and the tests' global setup)
 * produces. A worker thread cannot run TypeScript by itself.
 */
function outboxWorkerFile(): string {
  const here = fileURLToPath(import.meta.url);
  const file = here.endsWith('.ts')
    ? join(dirname(here), '../../dist/src/bridge/outbox-worker.js')
    : join(dirname(here), '../bridge/outbox-worker.js');
  if (!existsSync(file)) {
    throw new Error(`the outbox writer ${file} is missing: build it first (npm run build)`);
  }
  return file;
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
