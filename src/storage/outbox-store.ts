/**
 * The durable outbox (SPEC §4 "committed to a durable local outbox … deleted only after the
 * broker's PUBACK"), in the shared gateway database (WAL, synchronous = FULL: a committed
 * transaction is on disk). The bridge's committer batches many rows into one transaction, so one
 * fsync covers a batch. Tables and the committed rows' queries: outbox-rows.ts.
 *
 * Writes happen off the event loop: a worker thread (src/bridge/outbox-worker.ts) owns the one
 * writing connection and commits, group-wise, whatever was posted while its last COMMIT was
 * being fsync'd. This thread assigns row ids and sequence numbers in memory, so a new row can be
 * published at once; `after()` shows rows whose commit is still in flight (from memory) beside
 * the committed ones (read through this thread's connection), and `delete()` of a row whose
 * commit is in flight is applied after that commit (the writer applies operations in order). A
 * row counts as committed — `transaction`'s `done` callback — only after its COMMIT returned.
 */
import type { DeadLetterOp, PackedRows, WriterBatch, WriterReply } from '../bridge/outbox-worker.js';
import type { Db } from './database.js';
import {
  OutboxDisk,
  rowBytes,
  type Gone,
  type NewOutboxRow,
  type OutboxClass,
  type OutboxDestination,
  type OutboxRow,
  type OutboxTransaction,
} from './outbox-rows.js';
import { InlineWriter, WorkerWriter } from './outbox-writers.js';

export {
  SEQUENCE_CRASH_SKIP,
  type NewOutboxRow,
  type OutboxClass,
  type OutboxDestination,
  type OutboxKind,
  type OutboxRow,
  type OutboxTransaction,
} from './outbox-rows.js';

/** A batch as built here: numbered by `post`. */
type Posted = { batch: number } & Omit<WriterBatch, 'batch'>;

/** A row whose commit is in flight. */
type PendingRow = OutboxRow;

interface Outstanding {
  /** Rows inserted by the batch, ids ascending. */
  readonly inserted: readonly PendingRow[];
  /** Rows the batch deletes (delivered, evicted, dead-lettered). */
  readonly deleted: readonly number[];
  readonly done: ((error: Error | null) => void) | undefined;
}

/**
 * Acknowledged ids closer together than this are looked up with one range query (PUBACKs come in
 * publish order, so a flush of deletes is nearly contiguous); farther apart, a new query.
 */
const DELETE_RANGE_GAP = 64;

export class OutboxStore {
  private readonly disk: OutboxDisk;
  private readonly sequences: Map<string, number>;
  /** Rows and bytes queued (counting in-flight commits, not rows deleted); plain fields, no allocation per row. */
  private rows = 0;
  private bytes = 0;
  /** Of `rows`, those for the broker (the publisher's "anything left?" without a query). */
  private mqttRows = 0;
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
    this.disk = new OutboxDisk(db);
    const opened = this.disk.open();
    this.sequences = opened.sequences;
    this.rows = opened.rows;
    this.bytes = opened.bytes;
    this.mqttRows = opened.mqttRows;
    this.lastId = opened.lastId;
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
    this.post({ batch: 0, meta: [{ key: 'open', value: '0' }] }, [], [], undefined);
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
    return OutboxStore.sizeWith(Buffer.byteLength(row.payload), row);
  }

  /** `sizeOf` for a payload of `payloadBytes` UTF-8 bytes (measured once by the caller). */
  static sizeWith(payloadBytes: number, row: Pick<NewOutboxRow, 'topic' | 'lane'>): number {
    return rowBytes(payloadBytes, row);
  }

  /** Rows and bytes queued, counting rows whose commit is in flight, not rows already deleted. */
  get depth(): { readonly rows: number; readonly bytes: number } {
    return { rows: this.rows, bytes: this.bytes };
  }

  /** Whether any row for `destination` is queued (in-flight commits included, deleted rows not); no query. */
  hasQueued(destination: OutboxDestination): boolean {
    return destination === 'mqtt' ? this.mqttRows > 0 : this.rows > this.mqttRows;
  }

  /** `depth.bytes` without the object (the committer checks the budget once per row). */
  get queuedBytes(): number {
    return this.bytes;
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
    const ins: PackedRows = [];
    const inserted: PendingRow[] = [];
    const deleted: number[] = [];
    const rowsBefore = this.rows;
    const bytesBefore = this.bytes;
    const mqttBefore = this.mqttRows;
    const pendingBefore = this.pending.length;
    const tx: OutboxTransaction = {
      nextSequence: (source) => {
        const next = (taken.get(source) ?? this.sequences.get(source) ?? 0) + 1;
        taken.set(source, next);
        return next;
      },
      insert: (row, payload = row.payload) => {
        const bytes = OutboxStore.sizeWith(Buffer.byteLength(payload), row);
        // One literal, always the same shape: the rows stay monomorphic for the publisher.
        const stored: PendingRow = {
          id: ++this.lastId,
          destination: row.destination,
          class: row.class,
          kind: row.kind,
          lane: row.lane,
          topic: row.topic,
          payload,
          retain: row.retain,
          bytes,
          createdMs: Math.round(row.createdMs),
        };
        ins.push(
          stored.id,
          stored.destination,
          stored.class,
          stored.kind,
          stored.lane,
          stored.topic,
          payload,
          stored.retain ? 1 : 0,
          bytes,
          stored.createdMs,
        );
        inserted.push(stored);
        this.pending.push(stored);
        this.rows++;
        this.bytes += bytes;
        if (stored.destination === 'mqtt') this.mqttRows++;
        return stored;
      },
      evictOldest: (cls, bytesNeeded) => {
        const victims = this.oldestOfClass(cls, bytesNeeded);
        for (const v of victims) {
          this.forget(v.id, v.gone);
          deleted.push(v.id);
        }
        return victims.length;
      },
    };
    let result: T;
    try {
      result = work(tx);
    } catch (error) {
      this.rows = rowsBefore;
      this.bytes = bytesBefore;
      this.mqttRows = mqttBefore;
      this.pending.length = pendingBefore;
      for (const id of deleted) this.gone.delete(id);
      // Numbers taken may already be on the wire (early publish): never hand them out again.
      for (const [source, last] of taken) this.sequences.set(source, last);
      throw error;
    }
    let seq: Array<string | number> | undefined;
    if (taken.size > 0) {
      seq = [];
      for (const [source, last] of taken) {
        this.sequences.set(source, last);
        seq.push(source, last);
      }
    }
    this.post(
      {
        batch: 0,
        ins: ins.length > 0 ? ins : undefined,
        del: deleted.length > 0 ? deleted : undefined,
        seq,
      },
      inserted,
      deleted,
      done,
    );
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
      const raw = this.disk.after(destination, cursor, this.committedHigh, want);
      for (const r of raw) {
        if (this.gone.has(r.id)) pad = Math.min(this.gone.size, 256);
        else if (out.length < limit) out.push(r);
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
    const deleted: number[] = [];
    let onDisk: number[] | null = null;
    for (const id of ids) {
      if (this.gone.has(id)) continue;
      if (id <= this.committedHigh) {
        (onDisk ??= []).push(id);
        continue;
      }
      // Its commit is in flight: the row is in memory.
      const p = this.pending[this.firstPendingAfter(id - 1)];
      if (p === undefined || p.id !== id) continue;
      this.forget(id, { bytes: p.bytes, cls: p.class, mqtt: p.destination === 'mqtt' });
      deleted.push(id);
    }
    if (onDisk !== null) this.deleteOnDisk(onDisk, deleted);
    if (deleted.length > 0) this.post({ batch: 0, del: deleted }, [], deleted, undefined);
  }

  /**
   * Forget the committed rows among `ids` (any order; repeats and unknown ids are skipped) and add
   * them to `deleted`: one range query per run of near ids, not one query per id.
   */
  private deleteOnDisk(ids: number[], deleted: number[]): void {
    ids.sort((a, b) => a - b);
    let i = 0;
    while (i < ids.length) {
      let j = i;
      while (j + 1 < ids.length && ids[j + 1]! - ids[j]! <= DELETE_RANGE_GAP) j++;
      const found = this.disk.range(ids[i]!, ids[j]!);
      // Both ascending: walk them together.
      let k = 0;
      for (const r of found) {
        while (k <= j - i && ids[i + k]! < r.id) k++;
        if (k > j - i) break;
        if (ids[i + k] !== r.id || this.gone.has(r.id)) continue;
        this.forget(r.id, { bytes: r.bytes, cls: r.class, mqtt: r.destination === 'mqtt' });
        deleted.push(r.id);
      }
      i = j + 1;
    }
  }

  /** Move a row the broker refused into the dead-letter table. */
  deadLetter(row: OutboxRow, reason: string, nowMs: number): void {
    if (this.closed) return;
    const gone = this.lookup(row.id);
    const dead: DeadLetterOp[] = [
      { id: row.id, topic: row.topic, payload: row.payload, reason, deadMs: nowMs },
    ];
    if (gone === null) {
      this.post({ batch: 0, dead }, [], [], undefined);
      return;
    }
    this.forget(row.id, gone);
    this.post({ batch: 0, dead, del: [row.id] }, [], [row.id], undefined);
  }

  deadLetterCount(): number {
    this.waitForWriter();
    return this.disk.deadLetterCount();
  }

  /** Rows per class (for telemetry and tests), counting in-flight commits, not rows deleted. */
  countByClass(): Record<OutboxClass, number> {
    const out = this.disk.countByClass(this.committedHigh);
    for (const [id, g] of this.gone) if (id <= this.committedHigh) out[g.cls]--;
    for (const row of this.pending) if (!this.gone.has(row.id)) out[row.class]++;
    return out;
  }

  /** Number `ops` (its `batch` is set here) and hand it to the writer. */
  private post(
    ops: Posted,
    inserted: readonly PendingRow[],
    deleted: readonly number[],
    done: ((error: Error | null) => void) | undefined,
  ): void {
    ops.batch = ++this.batchNo;
    this.outstanding.set(ops.batch, { inserted, deleted, done });
    this.writer.post(ops);
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
          this.rows--;
          this.bytes -= row.bytes;
          if (row.destination === 'mqtt') this.mqttRows--;
        }
        for (const id of o.deleted) {
          const g = this.gone.get(id);
          if (g === undefined) continue;
          this.gone.delete(id);
          this.rows++;
          this.bytes += g.bytes;
          if (g.mqtt) this.mqttRows++;
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
    if (p !== undefined && p.id === id)
      return { bytes: p.bytes, cls: p.class, mqtt: p.destination === 'mqtt' };
    const r = this.disk.row(id, this.committedHigh);
    return r === undefined ? null : { bytes: r.bytes, cls: r.class, mqtt: r.destination === 'mqtt' };
  }

  private forget(id: number, g: Gone): void {
    this.gone.set(id, g);
    this.rows--;
    this.bytes -= g.bytes;
    if (g.mqtt) this.mqttRows--;
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
      const rows = this.disk.oldestOfClass(cls, cursor, this.committedHigh, 256);
      for (const v of rows) {
        if (freed >= bytesNeeded) break;
        if (this.gone.has(v.id)) continue;
        out.push({ id: v.id, gone: { bytes: v.bytes, cls, mqtt: v.destination === 'mqtt' } });
        freed += v.bytes;
      }
      if (rows.length < 256) break;
      cursor = rows.at(-1)!.id;
    }
    for (const row of this.pending) {
      if (freed >= bytesNeeded) break;
      if (row.class !== cls || this.gone.has(row.id)) continue;
      out.push({ id: row.id, gone: { bytes: row.bytes, cls, mqtt: row.destination === 'mqtt' } });
      freed += row.bytes;
    }
    return out;
  }
}
