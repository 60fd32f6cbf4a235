/**
 * The durable outbox (SPEC §4 "committed to a durable local outbox … deleted only after the
 * broker's PUBACK"), in the shared gateway database (WAL, synchronous = FULL: a committed
 * transaction is on disk). The bridge's committer batches many rows into one transaction, so one
 * fsync covers a batch. Tables and the committed rows' queries: outbox-rows.ts; the queue as this
 * thread sees it meanwhile (rows in flight, deletes not yet confirmed, the counts, every read):
 * outbox-ledger.ts. This file: ids, sequence numbers, and the batches posted to the writer.
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
import { OutboxLedger, type PendingRow } from './outbox-ledger.js';
import {
  OutboxDisk,
  rowBytes,
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

interface Outstanding {
  /** Rows inserted by the batch, ids ascending. */
  readonly inserted: readonly PendingRow[];
  /** Rows the batch deletes (delivered, evicted, dead-lettered). */
  readonly deleted: readonly number[];
  readonly done: ((error: Error | null) => void) | undefined;
}

export class OutboxStore {
  private readonly disk: OutboxDisk;
  private readonly sequences: Map<string, number>;
  /** The queue's rows and counts, in-flight commits and unconfirmed deletes included. */
  private readonly ledger: OutboxLedger;
  /** The last row id handed out (AUTOINCREMENT's counter, kept here). */
  private lastId: number;
  private readonly outstanding = new Map<number, Outstanding>();
  private batchNo = 0;
  private closed = false;
  private failure: Error | null = null;
  private readonly writer: WorkerWriter | InlineWriter;

  constructor(readonly db: Db) {
    this.disk = new OutboxDisk(db);
    const opened = this.disk.open();
    this.sequences = opened.sequences;
    this.ledger = new OutboxLedger(this.disk, opened);
    this.lastId = opened.lastId;
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
    return { rows: this.ledger.rows, bytes: this.ledger.bytes };
  }

  /** Whether any row for `destination` is queued (in-flight commits included, deleted rows not); no query. */
  hasQueued(destination: OutboxDestination): boolean {
    const l = this.ledger;
    return destination === 'mqtt' ? l.mqttRows > 0 : l.rows > l.mqttRows;
  }

  /** `depth.bytes` without the object (the committer checks the budget once per row). */
  get queuedBytes(): number {
    return this.ledger.bytes;
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
    const ledger = this.ledger;
    const rowsBefore = ledger.rows;
    const bytesBefore = ledger.bytes;
    const mqttBefore = ledger.mqttRows;
    const pendingBefore = ledger.pendingCount;
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
        ledger.add(stored);
        return stored;
      },
      evictOldest: (cls, bytesNeeded) => {
        const victims = ledger.oldestOfClass(cls, bytesNeeded);
        for (const v of victims) {
          ledger.forget(v.id, v.gone);
          deleted.push(v.id);
        }
        return victims.length;
      },
    };
    let result: T;
    try {
      result = work(tx);
    } catch (error) {
      ledger.rollback(rowsBefore, bytesBefore, mqttBefore, pendingBefore, deleted);
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
    return this.ledger.after(destination, afterId, limit);
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
    this.ledger.forgetIds(ids, deleted);
    if (deleted.length > 0) this.post({ batch: 0, del: deleted }, [], deleted, undefined);
  }

  /** Move a row the broker refused into the dead-letter table. */
  deadLetter(row: OutboxRow, reason: string, nowMs: number): void {
    if (this.closed) return;
    const gone = this.ledger.lookup(row.id);
    const dead: DeadLetterOp[] = [
      { id: row.id, topic: row.topic, payload: row.payload, reason, deadMs: nowMs },
    ];
    if (gone === null) {
      this.post({ batch: 0, dead }, [], [], undefined);
      return;
    }
    this.ledger.forget(row.id, gone);
    this.post({ batch: 0, dead, del: [row.id] }, [], [row.id], undefined);
  }

  deadLetterCount(): number {
    this.waitForWriter();
    return this.disk.deadLetterCount();
  }

  /** Rows per class (for telemetry and tests), counting in-flight commits, not rows deleted. */
  countByClass(): Record<OutboxClass, number> {
    return this.ledger.countByClass();
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
      this.ledger.settle(o.inserted, o.deleted, error !== null);
      o.done?.(error);
    }
  }
}
