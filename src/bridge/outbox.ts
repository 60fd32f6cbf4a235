/**
 * The outbox committer (SPEC §4 Delivery): events are queued in memory for at most one turn of
 * the event loop, then posted together as one batch to the store's writer thread, which commits
 * it in an fsync'd transaction (grouped with whatever else arrived while its last COMMIT ran).
 * Each event gets its ULID id and per-source sequence at once, on this thread; the promise of
 * `enqueue*` resolves only once the row is on disk (`onCommitted` then). The new rows may go on
 * the wire before that (`onInserted`, the publisher's early path): a PUBACK that beats the
 * COMMIT only queues the delete behind it.
 *
 * Alarms first (SPEC §7 alarm latency): at the end of a turn, the queued events that announce
 * an alarm (`URGENT_EVENT_TYPES`) are committed and published ahead of the rest as their own
 * batch, and the rest follows on the next turn, so the alarms' packets are on the wire before
 * the broker (and this thread) spend time on lane states, telemetry and other events. Ahead only
 * of other lanes' messages: an alarm behind an earlier message of its own lane keeps its place
 * (per-lane order). Committing each alarm the moment it is queued was tried at 32 lanes: a batch
 * and a socket write per lane cost about 15% more CPU on this thread, and later lanes' lines
 * waited behind them.
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

/**
 * The events that announce an alarm (SPEC §3, §7: central must have them within milliseconds):
 * committed and published ahead of everything else. Other alarm-class messages — the lane's
 * state change, the completed occupancy, acknowledgements — are never evicted either, but they
 * keep their turn: at 32 lanes they would double the burst in front of the last alarm.
 */
export const URGENT_EVENT_TYPES: ReadonlySet<string> = new Set(['rpm.alarm.raised', 'rpm.device.tamper']);
const URGENT_TOPIC_ENDINGS = [...URGENT_EVENT_TYPES].map((type) => `/events/${type}`);

/** Whether a stored row is an event of `URGENT_EVENT_TYPES` (by its topic, `…/events/<type>`). */
export function isUrgentRow(row: Pick<OutboxRow, 'kind' | 'topic'>): boolean {
  if (row.kind !== 'event') return false;
  for (const ending of URGENT_TOPIC_ENDINGS) if (row.topic.endsWith(ending)) return true;
  return false;
}

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
  readonly row: NewOutboxRow;
  /** UTF-8 bytes of `row.payload` (before the envelope). */
  readonly payloadBytes: number;
  /** One of `URGENT_EVENT_TYPES`. */
  readonly urgent: boolean;
  readonly event: { type: string; time: number; source: string } | null;
  readonly resolve: (result: CommitResult) => void;
}

export class Outbox {
  private pending: Pending[] = [];
  /** Rows handed to the writer whose commit has not returned yet. */
  private posted = 0;
  private scheduled = false;
  private closed = false;
  /** Urgent messages in `pending`. */
  private urgentQueued = 0;
  /** The last turn sent alarms ahead; this one commits what is queued in order. */
  private restDeferred = false;
  private readonly maxBatch: number;
  private readonly drainSoon = (): void => {
    this.scheduled = false;
    this.drain(false);
  };

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
      URGENT_EVENT_TYPES.has(e.type),
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

  private push(row: NewOutboxRow, event: Pending['event'], urgent = false): Promise<CommitResult> {
    if (this.closed) return Promise.resolve({ committed: false, reason: 'closed' });
    const payloadBytes = Buffer.byteLength(row.payload);
    // The envelope adds < 400 bytes to the data; checked here so the caller learns at once.
    if (payloadBytes + 400 > this.o.maxMessageBytes) {
      this.o.counters.increment('bridge.outbox.refused.too-large');
      this.o.logger.warn('message too large for the outbox: refused', {
        topic: row.topic,
        bytes: payloadBytes,
        limit: this.o.maxMessageBytes,
      });
      return Promise.resolve({ committed: false, reason: 'too-large' });
    }
    let resolve!: (result: CommitResult) => void;
    const promise = new Promise<CommitResult>((r) => (resolve = r));
    this.pending.push({ row, payloadBytes, urgent, event, resolve });
    if (urgent) this.urgentQueued++;
    if (this.pending.length >= this.maxBatch) this.drain(false);
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drainSoon);
    }
    return promise;
  }

  /**
   * Hand queued events to the writer, a batch at a time. Unless `all`, at most two batches' worth
   * is in flight: a burst waits here (as plain data) rather than piling up, enveloped and copied,
   * in front of the writer; each commit that returns lets the next batch go. Memory stays bounded:
   * when a whole batch more is waiting, this thread waits for the writer (a burst far beyond what
   * lanes produce — a flood from a bug or a replay — is slowed to the disk's pace, as before).
   */
  private drain(all: boolean): void {
    if (!all && this.urgentQueued > 0 && !this.restDeferred) {
      const urgent = this.takeUrgent();
      if (urgent.length > 0) {
        this.commit(urgent);
        // The rest on the next turn: mqtt.js writes the alarms' packets when this callback
        // returns, before the rest is enveloped and published. That turn takes everything in
        // order, so a stream of alarms cannot hold the rest back for longer.
        if (this.pending.length > 0) {
          this.restDeferred = true;
          if (!this.scheduled) {
            this.scheduled = true;
            setImmediate(this.drainSoon);
          }
        }
        return;
      }
    }
    this.restDeferred = false;
    while (this.pending.length > 0 && (all || this.posted < 2 * this.maxBatch)) {
      this.commit(this.pending.splice(0, this.maxBatch));
    }
    this.countUrgent();
    if (!all && this.pending.length >= this.maxBatch && this.posted > 0) {
      this.o.counters.increment('bridge.outbox.backpressure');
      this.o.store.waitForWriter(); // settles what was posted, which drains the next batches
    }
  }

  /**
   * The queued urgent events that may go ahead of the rest, taken out of `pending`: one goes ahead
   * unless an earlier message of its own lane stays behind (each lane's order is kept; other
   * lanes' messages simply get later ids). The rest keep their order.
   */
  private takeUrgent(): Pending[] {
    const urgent: Pending[] = [];
    const held = new Set<string>();
    let kept = 0;
    for (const p of this.pending) {
      if (p.urgent && !held.has(p.row.lane)) urgent.push(p);
      else {
        held.add(p.row.lane);
        this.pending[kept++] = p;
      }
    }
    this.pending.length = kept;
    this.countUrgent();
    return urgent;
  }

  private countUrgent(): void {
    let n = 0;
    for (const p of this.pending) if (p.urgent) n++;
    this.urgentQueued = n;
  }

  private commit(batch: Pending[]): void {
    const { store, maxBytes, ulid, clock } = this.o;
    const results: CommitResult[] = [];
    const inserted: OutboxRow[] = [];
    try {
      store.transaction(
        (tx) => {
          for (const p of batch) {
            const row = p.row;
            // Room first, so a refused event takes no sequence number (the envelope adds < 400 bytes).
            const estimate = OutboxStore.sizeWith(p.payloadBytes, row) + (p.event === null ? 0 : 400);
            if (store.queuedBytes + estimate > maxBytes && !this.makeRoom(tx, estimate, row.class)) {
              this.o.counters.increment('bridge.outbox.refused.over-budget');
              results.push({ committed: false, reason: 'over-budget' });
              continue;
            }
            const e = p.event;
            if (e === null) {
              const stored = tx.insert(row);
              if (stored.destination === 'mqtt') inserted.push(stored);
              results.push({ committed: true, rowId: stored.id });
              continue;
            }
            const id = ulid.next(clock.now());
            const sequence = tx.nextSequence(e.source);
            const payload = envelopeJson(
              { id, source: e.source, type: e.type, time: e.time, subject: row.lane, sequence },
              row.payload,
            );
            const stored = tx.insert(row, payload);
            if (stored.destination === 'mqtt') inserted.push(stored);
            results.push({ committed: true, rowId: stored.id, id, sequence });
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
    let committed = 0;
    for (let i = 0; i < batch.length; i++) {
      const r = results[i]!;
      if (r.committed) committed++;
      batch[i]!.resolve(r);
    }
    this.o.counters.increment('bridge.outbox.committed', committed);
    this.o.onCommitted?.();
  }

  /** Evict telemetry, then ordinary events, to fit `size` more bytes. Alarms always fit. */
  private makeRoom(tx: OutboxTransaction, size: number, cls: OutboxClass): boolean {
    const order: OutboxClass[] = ['telemetry', 'event'];
    for (const victim of order) {
      // Never evict an ordinary event to make room for telemetry.
      if (cls === 'telemetry' && victim !== 'telemetry') break;
      const needed = this.o.store.queuedBytes + size - this.o.maxBytes;
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
    if (this.o.store.queuedBytes + size <= this.o.maxBytes) return true;
    if (cls === 'alarm') {
      this.o.counters.increment('bridge.outbox.alarm-over-budget');
      return true;
    }
    return false;
  }
}
