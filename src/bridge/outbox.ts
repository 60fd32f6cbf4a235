/**
 * The outbox committer (SPEC §4 Delivery): events are queued in memory for at most one turn of
 * the event loop, then posted together as one batch to the store's writer thread, which commits
 * it in an fsync'd transaction (grouped with whatever else arrived while its last COMMIT ran).
 * Each event gets its ULID id and per-source sequence at once, on this thread; the promise of
 * `enqueue*` resolves only once the row is on disk (`onCommitted` then). The new rows may go on
 * the wire before that (`onInserted`, the publisher's early path): a PUBACK that beats the
 * COMMIT only queues the delete behind it.
 *
 * Disk budget: before a batch goes in, the oldest telemetry is evicted to make room, then the
 * oldest ordinary events; alarms are never evicted. A non-alarm message that still does not fit
 * is refused (counted); an alarm always goes in, even over budget.
 */
import type { Clock } from '../core/clock.js';
import type { Counters } from '../core/counters.js';
import type { Logger } from '../core/logger.js';
import {
  OutboxStore,
  type NewOutboxRow,
  type OutboxClass,
  type OutboxRow,
  type OutboxTransaction,
} from '../storage/outbox-store.js';
import { envelopeJson, eventSource, type DeliveryClass } from './envelope.js';
import type { TopicTree } from './topics.js';
import type { UlidGenerator } from '../core/ulid.js';

export interface OutboxOptions {
  readonly store: OutboxStore;
  readonly site: string;
  readonly topics: TopicTree;
  readonly ulid: UlidGenerator;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly counters: Counters;
  /** Disk budget for queued messages, bytes. */
  readonly maxBytes: number;
  /** Largest single message accepted, bytes. */
  readonly maxMessageBytes: number;
  /** Rows per transaction at most. Default 4096. */
  readonly maxBatch?: number;
  /** Called after every commit that added rows (publishers pump from the store). */
  readonly onCommitted?: () => void;
  /** Called with the rows just handed to the writer, before their COMMIT (see MqttPublisher.publishEarly). */
  readonly onInserted?: (rows: readonly OutboxRow[]) => void;
  /** Called when a commit failed after `onInserted` (the publisher rewinds). */
  readonly onCommitFailed?: () => void;
}

export interface EventInput {
  readonly type: string;
  /** Lane id, or `gateway` for gateway-wide events. */
  readonly lane: string;
  /** When it happened, epoch ms. */
  readonly time: number;
  readonly data: unknown;
  readonly class: DeliveryClass;
}

export type CommitResult =
  | { readonly committed: true; readonly rowId: number; readonly id?: string; readonly sequence?: number }
  | { readonly committed: false; readonly reason: 'too-large' | 'over-budget' | 'closed' };

interface Pending {
  readonly row: Omit<NewOutboxRow, 'payload'> & { payload: string };
  readonly event: { type: string; time: number; source: string } | null;
  readonly resolve: (result: CommitResult) => void;
}

export class Outbox {
  private pending: Pending[] = [];
  /** Rows handed to the writer whose commit has not returned yet. */
  private posted = 0;
  private scheduled = false;
  private closed = false;
  private readonly maxBatch: number;

  constructor(private readonly o: OutboxOptions) {
    this.maxBatch = o.maxBatch ?? 4096;
  }

  /** Queue a CloudEvent; resolves when it is committed durably (or refused). */
  enqueueEvent(e: EventInput): Promise<CommitResult> {
    let dataJson: string;
    try {
      dataJson = JSON.stringify(e.data ?? null);
    } catch (error) {
      // Programming error upstream (a cycle, a BigInt): count it rather than lose the lane.
      this.o.counters.increment('bridge.event.unserializable');
      this.o.logger.error('event data could not be serialized', { type: e.type, error: String(error) });
      return Promise.resolve({ committed: false, reason: 'too-large' });
    }
    return this.push(
      {
        destination: 'mqtt',
        class: e.class,
        kind: 'event',
        lane: e.lane,
        topic: this.o.topics.event(e.lane, e.type),
        payload: dataJson,
        retain: false,
        createdMs: this.o.clock.now(),
      },
      { type: e.type, time: e.time, source: eventSource(this.o.site, e.lane) },
    );
  }

  /** Queue a retained message (lane state); delivered in order with the lane's events. */
  enqueueRetained(lane: string, topic: string, payload: unknown): Promise<CommitResult> {
    return this.push(
      {
        destination: 'mqtt',
        class: 'event',
        kind: 'state',
        lane,
        topic,
        payload: JSON.stringify(payload),
        retain: true,
        createdMs: this.o.clock.now(),
      },
      null,
    );
  }

  /** Queue telemetry in Influx line protocol. */
  enqueueTelemetry(lane: string, lines: string): Promise<CommitResult> {
    return this.push(
      {
        destination: 'influx',
        class: 'telemetry',
        kind: 'line',
        lane,
        topic: '',
        payload: lines,
        retain: false,
        createdMs: this.o.clock.now(),
      },
      null,
    );
  }

  /** Hand everything queued to the writer now (committed asynchronously). */
  flush(): void {
    this.drain(true);
  }

  /** Commit what is queued and refuse anything later. */
  close(): void {
    this.flush();
    this.closed = true;
  }

  private push(row: Pending['row'], event: Pending['event']): Promise<CommitResult> {
    if (this.closed) return Promise.resolve({ committed: false, reason: 'closed' });
    // The envelope adds < 400 bytes to the data; checked here so the caller learns at once.
    if (Buffer.byteLength(row.payload) + 400 > this.o.maxMessageBytes) {
      this.o.counters.increment('bridge.outbox.refused.too-large');
      this.o.logger.warn('message too large for the outbox: refused', {
        topic: row.topic,
        bytes: Buffer.byteLength(row.payload),
        limit: this.o.maxMessageBytes,
      });
      return Promise.resolve({ committed: false, reason: 'too-large' });
    }
    return new Promise((resolve) => {
      this.pending.push({ row, event, resolve });
      if (this.pending.length >= this.maxBatch) this.drain(false);
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.drain(false));
      }
    });
  }

  /**
   * Hand queued events to the writer, a batch at a time. Unless `all`, at most two batches' worth
   * is in flight: a burst waits here (as plain data) rather than piling up, enveloped and copied,
   * in front of the writer; each commit that returns lets the next batch go. Memory stays bounded:
   * when a whole batch more is waiting, this thread waits for the writer (a burst far beyond what
   * lanes produce — a flood from a bug or a replay — is slowed to the disk's pace, as before).
   */
  private drain(all: boolean): void {
    this.scheduled = false;
    while (this.pending.length > 0 && (all || this.posted < 2 * this.maxBatch)) {
      this.commit(this.pending.splice(0, this.maxBatch));
    }
    if (!all && this.pending.length >= this.maxBatch && this.posted > 0) {
      this.o.counters.increment('bridge.outbox.backpressure');
      this.o.store.waitForWriter(); // settles what was posted, which drains the next batches
    }
  }

  private commit(batch: Pending[]): void {
    const { store, maxBytes } = this.o;
    const results: CommitResult[] = [];
    const inserted: OutboxRow[] = [];
    try {
      store.transaction(
        (tx) => {
          for (const p of batch) {
            // Room first, so a refused event takes no sequence number (the envelope adds < 400 bytes).
            const estimate = OutboxStore.sizeOf(p.row) + (p.event === null ? 0 : 400);
            if (store.depth.bytes + estimate > maxBytes && !this.makeRoom(tx, estimate, p.row.class)) {
              this.o.counters.increment('bridge.outbox.refused.over-budget');
              results.push({ committed: false, reason: 'over-budget' });
              continue;
            }
            let payload = p.row.payload;
            let id: string | undefined;
            let sequence: number | undefined;
            if (p.event !== null) {
              id = this.o.ulid.next(this.o.clock.now());
              sequence = tx.nextSequence(p.event.source);
              payload = envelopeJson(
                {
                  id,
                  source: p.event.source,
                  type: p.event.type,
                  time: p.event.time,
                  subject: p.row.lane,
                  sequence,
                },
                payload,
              );
            }
            const row = { ...p.row, payload };
            const rowId = tx.insert(row);
            if (row.destination === 'mqtt') {
              inserted.push({ ...row, id: rowId, bytes: OutboxStore.sizeOf(row) });
            }
            results.push(
              id === undefined || sequence === undefined
                ? { committed: true, rowId }
                : { committed: true, rowId, id, sequence },
            );
          }
        },
        (error) => {
          this.posted -= batch.length;
          this.settle(batch, results, inserted, error);
          if (this.pending.length > 0 && !this.scheduled) this.drain(false);
        },
      );
    } catch (error) {
      this.settle(batch, results, [], error as Error);
      return;
    }
    this.posted += batch.length;
    // On the wire at once when nothing older waits: the broker round trip overlaps the fsync.
    if (inserted.length > 0) this.o.onInserted?.(inserted);
  }

  /** The batch's COMMIT returned (or failed): only now are its rows committed. */
  private settle(
    batch: Pending[],
    results: CommitResult[],
    inserted: OutboxRow[],
    error: Error | null,
  ): void {
    if (error !== null) {
      // The disk failed us (full, read-only): nothing of this batch is committed. Say so loudly;
      // the producers learn it from the result and the counters.
      this.o.counters.increment('bridge.outbox.commit-failed', batch.length);
      this.o.logger.error('outbox commit failed', { rows: batch.length, error: String(error) });
      for (const p of batch) p.resolve({ committed: false, reason: 'closed' });
      if (inserted.length > 0) this.o.onCommitFailed?.();
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i]!));
    this.o.counters.increment('bridge.outbox.committed', results.filter((r) => r.committed).length);
    this.o.onCommitted?.();
  }

  /** Evict telemetry, then ordinary events, to fit `size` more bytes. Alarms always fit. */
  private makeRoom(tx: OutboxTransaction, size: number, cls: OutboxClass): boolean {
    const order: OutboxClass[] = ['telemetry', 'event'];
    for (const victim of order) {
      // Never evict an ordinary event to make room for telemetry.
      if (cls === 'telemetry' && victim !== 'telemetry') break;
      const needed = this.o.store.depth.bytes + size - this.o.maxBytes;
      if (needed <= 0) return true;
      const evicted = tx.evictOldest(victim, needed);
      if (evicted > 0) {
        this.o.counters.increment(`bridge.outbox.evicted.${victim}`, evicted);
        this.o.logger.warn('outbox over its disk budget: oldest messages evicted', {
          class: victim,
          evicted,
        });
      }
    }
    if (this.o.store.depth.bytes + size <= this.o.maxBytes) return true;
    if (cls === 'alarm') {
      this.o.counters.increment('bridge.outbox.alarm-over-budget');
      return true;
    }
    return false;
  }
}
