/**
 * Resolve each replayed line's time to epoch ms (SPEC §1.1: "in daily files the line's own time
 * is used; it wraps at midnight"; "a time you cannot read never costs the line its counts: fall
 * back to the previous line's time plus the tag's cadence").
 *
 * Rules:
 * - Time of day = base day (UTC midnight of the caller's date) + msOfDay − utcOffsetMinutes.
 *   The zone of a time-of-day logger is not in the file, so it is the caller's (default UTC).
 * - Midnight wrap: a time of day more than 12 h *earlier* than the previous one moves to the
 *   next day. One more than 12 h *later* (a line logged just before midnight, after the wrap)
 *   is put on the previous day without moving the current day back.
 * - Absolute date-times are used as they are, and re-anchor the current day.
 * - No readable time: previous resolved time + cadence — GS/GA 200 ms, NS/NA 1 s, NB/NH 5 s,
 *   GB/GH/GL 5 s (0 right after an NB/NH: the device sends NB then GB on the same tick),
 *   GX 200 ms; SP, tamper, setup, unknown and malformed lines share the previous time. The 5 GS
 *   of a pre-trigger burst (the first gamma samples after background or GX) share one time.
 *   Before any time is known, the base day's midnight.
 *
 * Deterministic and I/O free; one instance per replayed input.
 */
import type { DecodeResult } from './records.js';

const DAY_MS = 86_400_000;
const HALF_DAY_MS = DAY_MS / 2;

export interface DailyFileTimelineOptions {
  /** Epoch ms of UTC midnight of the file's first day (see {@link parseBaseDate}). */
  baseDayMs: number;
  /** Offset of the logger's clock from UTC, minutes east (e.g. -420 for `-07`). Default 0. */
  utcOffsetMinutes?: number;
}

export interface DailyFileTimeline {
  /** The epoch ms of this line; call once per line, in file order. */
  timeOf(record: DecodeResult): number;
}

export function createDailyFileTimeline(o: DailyFileTimelineOptions): DailyFileTimeline {
  return new Timeline(o.baseDayMs, (o.utcOffsetMinutes ?? 0) * 60_000);
}

class Timeline implements DailyFileTimeline {
  private dayStart: number;
  private lastTod = -1;
  private last = NaN;
  /** After background/GX: the next gamma samples (whatever SP/NS lines come first) open a burst. */
  private idle = true;
  private burstLeft = 0;
  private afterNeutronBackground = false;

  constructor(
    baseDayMs: number,
    private readonly offsetMs: number,
  ) {
    this.dayStart = baseDayMs;
  }

  timeOf(r: DecodeResult): number {
    const cadence = this.cadence(r);
    const t = r.type === 'malformed' ? null : r.time;
    let time: number;
    if (t === null) {
      time = Number.isNaN(this.last) ? this.dayStart - this.offsetMs : this.last + cadence;
    } else if (t.kind === 'time-of-day') {
      const tod = t.msOfDay;
      if (this.lastTod >= 0 && tod < this.lastTod - HALF_DAY_MS) {
        this.dayStart += DAY_MS;
      } else if (this.lastTod >= 0 && tod > this.lastTod + HALF_DAY_MS) {
        // Logged just before midnight but written after the wrap: yesterday, keep today.
        time = this.dayStart - DAY_MS + tod - this.offsetMs;
        this.last = time;
        return time;
      }
      this.lastTod = tod;
      time = this.dayStart + tod - this.offsetMs;
    } else {
      time = t.epochMs;
      const local = time + this.offsetMs;
      this.lastTod = ((local % DAY_MS) + DAY_MS) % DAY_MS;
      this.dayStart = local - this.lastTod;
    }
    this.last = time;
    return time;
  }

  /** Cadence of this line after the previous one, updating the burst state. */
  private cadence(r: DecodeResult): number {
    const wasNeutronBackground = this.afterNeutronBackground;
    this.afterNeutronBackground = false;
    switch (r.type) {
      case 'count':
        switch (r.tag) {
          case 'GS':
          case 'GA':
            if (this.idle) {
              this.idle = false;
              this.burstLeft = 4;
              return 200;
            }
            if (this.burstLeft > 0) {
              this.burstLeft--;
              return 0;
            }
            return 200;
          case 'NS':
          case 'NA':
            return 1000;
          case 'NB':
          case 'NH':
            this.idle = true;
            this.afterNeutronBackground = true;
            return 5000;
          case 'GB':
          case 'GH':
          case 'GL':
            this.idle = true;
            return wasNeutronBackground ? 0 : 5000;
        }
        return 0;
      case 'occupancy-end':
        this.idle = true;
        this.burstLeft = 0;
        return 200;
      case 'speed':
        return 0;
      case 'tamper':
      case 'setup':
      case 'unknown':
      case 'malformed':
        return 0;
    }
  }
}

/**
 * Epoch ms of UTC midnight for `YYYY-MM-DD` or `YYYYMMDD`; null when it is not a real date.
 */
export function parseBaseDate(text: string): number | null {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(text);
  if (m === null) return null;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const ms = Date.UTC(y, mo - 1, d);
  const check = new Date(ms);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
  return ms;
}

/** The first `YYYY-MM-DD` or `YYYYMMDD` (years 1990–2099) in a file name, as UTC midnight. */
export function baseDateFromFileName(name: string): number | null {
  const re = /(?:^|\D)((?:19[89]\d|20\d\d)-?(?:0[1-9]|1[0-2])-?(?:0[1-9]|[12]\d|3[01]))(?!\d)/g;
  for (const m of name.matchAll(re)) {
    const ms = parseBaseDate(m[1]!);
    if (ms !== null) return ms;
  }
  return null;
}
