/**
 * The durable outbox as this thread sees it while commits and deletes are in flight (see
 * outbox-store.ts): the committed rows on disk (`OutboxDisk`, outbox-rows.ts, read up to
 * `committedHigh`), plus the rows whose commit is in flight (in memory, ids ascending), minus
 * the rows deleted here whose delete the writer has not confirmed yet. It keeps the queue's
 * counts (rows, bytes, broker rows) in step with both, answers every read of the queue — the
 * publisher's rows after a cursor, the eviction's oldest rows of a class, the counts per class —
 * and settles a batch once the writer has answered (committed: its rows are on disk; failed:
 * its rows are lost and its deletes undone).
 *
 * Kept apart from `OutboxStore`, which assigns ids and sequence numbers, builds the batches and
 * talks to the writer: this is what the queue holds, that is how it changes. The counts are
 * plain fields: keeping them costs no allocation per row.
 */
import type { Gone, OutboxClass, OutboxDestination, OutboxDisk, OutboxRow } from './outbox-rows.js';

/** A row whose commit is in flight. */
export type PendingRow = OutboxRow;

/**
 * Acknowledged ids closer together than this are looked up with one range query (PUBACKs come in
 * publish order, so a flush of deletes is nearly contiguous); farther apart, a new query.
 */
const DELETE_RANGE_GAP = 64;

export class OutboxLedger {
  /** Rows and bytes queued (counting in-flight commits, not rows deleted); plain fields, no allocation per row. */
  private rowCount: number;
  private byteCount: number;
  /** Of the rows, those for the broker (the publisher's "anything left?" without a query). */
  private mqttRowCount: number;
  /** Rows with an id up to this are on disk (or were lost with a failed commit). */
  private committedHigh: number;
  /** Rows whose commit is in flight, ids ascending. */
  private readonly pending: PendingRow[] = [];
  /** Rows deleted here whose delete the writer has not confirmed yet. */
  private readonly gone = new Map<number, Gone>();

  /** `opened`: what the outbox held when it was opened (all of it committed, up to `lastId`). */
  constructor(
    private readonly disk: OutboxDisk,
    opened: {
      readonly rows: number;
      readonly bytes: number;
      readonly mqttRows: number;
      readonly lastId: number;
    },
  ) {
    this.rowCount = opened.rows;
    this.byteCount = opened.bytes;
    this.mqttRowCount = opened.mqttRows;
    this.committedHigh = opened.lastId;
  }

  /** Rows queued, counting rows whose commit is in flight, not rows already deleted. */
  get rows(): number {
    return this.rowCount;
  }

  /** Bytes of those rows, counted against the disk budget. */
  get bytes(): number {
    return this.byteCount;
  }

  /** Of `rows`, those for the broker. */
  get mqttRows(): number {
    return this.mqttRowCount;
  }

  /** Rows whose commit is in flight (a transaction's mark to roll back to). */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** A row inserted by a transaction: queued, in flight until its batch settles. */
  add(row: PendingRow): void {
    this.pending.push(row);
    this.rowCount++;
    this.byteCount += row.bytes;
    if (row.destination === 'mqtt') this.mqttRowCount++;
  }

  /**
   * Undo a transaction whose work threw: the counts and the in-flight rows as they were at its
   * start, and the rows it deleted (`deleted`) queued again.
   */
  rollback(
    rows: number,
    bytes: number,
    mqttRows: number,
    pendingCount: number,
    deleted: readonly number[],
  ): void {
    this.rowCount = rows;
    this.byteCount = bytes;
    this.mqttRowCount = mqttRows;
    this.pending.length = pendingCount;
    for (const id of deleted) this.gone.delete(id);
  }

  /**
   * Forget the queued rows among `ids` (any order; repeats, unknown and already deleted ids are
   * skipped) and add them to `deleted`. A row whose commit is in flight is found in memory; the
   * committed ones with one range query per run of near ids, not one query per id.
   */
  forgetIds(ids: readonly number[], deleted: number[]): void {
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
    if (onDisk !== null) this.forgetOnDisk(onDisk, deleted);
  }

  /** {@link forgetIds} for committed rows: `ids` is sorted here. */
  private forgetOnDisk(ids: number[], deleted: number[]): void {
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

  /** Take row `id` out of the queue; `g` what that takes away. Its delete is then in flight. */
  forget(id: number, g: Gone): void {
    this.gone.set(id, g);
    this.rowCount--;
    this.byteCount -= g.bytes;
    if (g.mqtt) this.mqttRowCount--;
  }

  /**
   * The writer's answer for one batch — `inserted` its rows (ids ascending), `deleted` the rows
   * it deleted: committed, its rows are on disk and its deletes done; failed, nothing of it is on
   * disk (its rows are lost, its deletes did not happen).
   */
  settle(inserted: readonly PendingRow[], deleted: readonly number[], failed: boolean): void {
    const last = inserted.at(-1);
    if (last !== undefined) {
      if (last.id > this.committedHigh) this.committedHigh = last.id;
      let n = 0;
      while (n < this.pending.length && this.pending[n]!.id <= last.id) n++;
      this.pending.splice(0, n);
    }
    if (failed) {
      for (const row of inserted) {
        if (this.gone.delete(row.id)) continue;
        this.rowCount--;
        this.byteCount -= row.bytes;
        if (row.destination === 'mqtt') this.mqttRowCount--;
      }
      for (const id of deleted) {
        const g = this.gone.get(id);
        if (g === undefined) continue;
        this.gone.delete(id);
        this.rowCount++;
        this.byteCount += g.bytes;
        if (g.mqtt) this.mqttRowCount++;
      }
    } else {
      for (const id of deleted) this.gone.delete(id);
    }
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

  /** Rows per class, counting in-flight commits, not rows deleted. */
  countByClass(): Record<OutboxClass, number> {
    const out = this.disk.countByClass(this.committedHigh);
    for (const [id, g] of this.gone) if (id <= this.committedHigh) out[g.cls]--;
    for (const row of this.pending) if (!this.gone.has(row.id)) out[row.class]++;
    return out;
  }

  /** What deleting `id` takes away, or null when it is not (any more) in the outbox. */
  lookup(id: number): Gone | null {
    if (this.gone.has(id)) return null;
    const i = this.firstPendingAfter(id - 1);
    const p = this.pending[i];
    if (p !== undefined && p.id === id)
      return { bytes: p.bytes, cls: p.class, mqtt: p.destination === 'mqtt' };
    const r = this.disk.row(id, this.committedHigh);
    return r === undefined ? null : { bytes: r.bytes, cls: r.class, mqtt: r.destination === 'mqtt' };
  }

  /** The oldest rows of `cls` (not deleted yet) that free `bytesNeeded`. */
  oldestOfClass(cls: OutboxClass, bytesNeeded: number): Array<{ id: number; gone: Gone }> {
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
}
