/**
 * The link of a simulated VM-250 (SPEC §2: a silent device, link drops, line noise): what the
 * device sends becomes stream items only while it talks and the link is up. Silences and link
 * drops are windows [from, to) of stream time; a line or corrupt bytes inside one are lost
 * (lost lines are counted: the truth's `linesDropped`); a link drop is itself an item (TCP drops
 * its clients meanwhile). Occupancy-phase windows are scheduled when the occupancy starts and
 * open when their time comes. Kept apart from the device's behaviour (stream.ts), which decides
 * what is sent and when.
 */
import { encodeLine } from '../../src/drivers/vm250/codec.js';
import type { Vm250Record } from '../../src/drivers/vm250/records.js';
import type { Rng } from '../physics/rng.js';
import type { Vm250StreamItem } from './stream.js';

type MuteType = 'silence' | 'link-drop';

export class Vm250Link {
  /** Windows [from, to) in which the device is silent or the link is down. */
  private muted: { from: number; to: number }[] = [];
  /** Occupancy-phase mutes not started yet, in the order scheduled. */
  private pendingMute: { type: MuteType; at: number; durationS: number }[] = [];
  /** Lines lost to silence or a link drop so far. */
  dropped = 0;

  /** A silence or a link drop starts at `at`; a link drop is announced as an item. */
  mute(type: MuteType, at: number, durationS: number): Vm250StreamItem[] {
    const durationMs = Math.round(durationS * 1000);
    this.muted.push({ from: at, to: at + durationMs });
    return type === 'link-drop' ? [{ kind: 'link-drop', atMs: at, durationMs }] : [];
  }

  /** A silence or a link drop to start at `at`, once {@link flushMutes} reaches it. */
  schedule(type: MuteType, at: number, durationS: number): void {
    this.pendingMute.push({ type, at, durationS });
  }

  /** Start the scheduled mutes that fall due by `atMs`. */
  *flushMutes(atMs: number): Generator<Vm250StreamItem> {
    while (this.pendingMute.length > 0 && this.pendingMute[0]!.at <= atMs) {
      const m = this.pendingMute.shift()!;
      yield* this.mute(m.type, m.at, m.durationS);
    }
  }

  corrupt(atMs: number, bytes: Buffer, reason: 'garbage' | 'truncated'): Vm250StreamItem[] {
    return this.isMuted(atMs) ? [] : [{ kind: 'corrupt', atMs, bytes, reason }];
  }

  line(atMs: number, record: Vm250Record): Vm250StreamItem | null {
    if (this.isMuted(atMs)) {
      this.dropped++;
      return null;
    }
    return { kind: 'line', atMs, line: encodeLine(record), record };
  }

  lines(atMs: number, records: readonly Vm250Record[]): Vm250StreamItem[] {
    const out: Vm250StreamItem[] = [];
    for (const r of records) {
      const item = this.line(atMs, r);
      if (item) out.push(item);
    }
    return out;
  }

  private isMuted(atMs: number): boolean {
    if (this.muted.length === 0) return false;
    this.muted = this.muted.filter((w) => w.to > atMs || w.from > atMs);
    return this.muted.some((w) => atMs >= w.from && atMs < w.to);
  }
}

/** Line noise: random bytes, never CR or LF (transports end it with CR LF). */
export function garbageBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    let v = rng.int(0, 255);
    if (v === 10 || v === 13) v = 0x7e;
    b[i] = v;
  }
  return b;
}
