/**
 * The time fields of VM-250 daily files (SPEC §1.1): loggers append the time of day, in
 * several dialects, after the device's own fields. Pure, allocation-light, never throws.
 *
 * Read formats:
 * - time of day `HH-MM-SS.sss` or `HH:MM:SS.sss` (`00-00-04.919`), fraction optional;
 * - unpadded `9-5-3.7`: the fraction is **milliseconds as an integer** (`.7` = 7 ms, SPEC §1.1),
 *   so `.7`, `.07` and `.007` are all 7 ms; fractions of 4–6 digits are a decimal fraction of a
 *   second (micro-second loggers) and keep their first three digits;
 * - full date-time `2016-06-01 15:03:44.163 -07` (also `T` between date and time, zones `Z`,
 *   `±HH`, `±HHMM`, `±HH:MM`, or none = UTC); here the fraction is an ordinary decimal fraction.
 */
import type { LineTime } from './records.js';

const C0 = 48;
const C9 = 57;
const COMMA = 44;
const SPACE = 32;

function isDigit(c: number): boolean {
  return c >= C0 && c <= C9;
}

/**
 * Parse one time field `s[start, end)`. Returns null when the field is not a time this module
 * can read (the caller then falls back to the previous line's time plus cadence).
 */
export function parseLineTime(s: string, start = 0, end = s.length): LineTime | null {
  // Trim spaces: some loggers pad fields.
  while (start < end && s.charCodeAt(start) === SPACE) start++;
  while (end > start && s.charCodeAt(end - 1) === SPACE) end--;
  if (end - start < 5) return null;
  // A date starts with four digits and a '-'.
  if (
    end - start >= 10 &&
    isDigit(s.charCodeAt(start + 3)) &&
    s.charCodeAt(start + 4) === 45 &&
    isDigit(s.charCodeAt(start))
  ) {
    return parseDateTime(s, start, end);
  }
  const ms = parseTimeOfDay(s, start, end, true);
  return ms < 0 ? null : { kind: 'time-of-day', msOfDay: ms };
}

/**
 * The common logger's exact shape, `HH-MM-SS.sss` or `HH:MM:SS.sss` in `s[start, start+12)`,
 * read without loops (replay's hot path). Returns ms since midnight, or -1 for anything else.
 */
export function parseFixedTimeOfDay(s: string, start: number): number {
  const sep1 = s.charCodeAt(start + 2);
  const sep2 = s.charCodeAt(start + 5);
  if ((sep1 !== 45 && sep1 !== 58) || sep2 !== sep1 || s.charCodeAt(start + 8) !== 46) return -1;
  const h0 = s.charCodeAt(start) - C0;
  const h1 = s.charCodeAt(start + 1) - C0;
  const m0 = s.charCodeAt(start + 3) - C0;
  const m1 = s.charCodeAt(start + 4) - C0;
  const s0 = s.charCodeAt(start + 6) - C0;
  const s1 = s.charCodeAt(start + 7) - C0;
  const f0 = s.charCodeAt(start + 9) - C0;
  const f1 = s.charCodeAt(start + 10) - C0;
  const f2 = s.charCodeAt(start + 11) - C0;
  return timeOfDayFromDigits(h0, h1, m0, m1, s0, s1, f0, f1, f2);
}

/**
 * Milliseconds since midnight from the nine digit values of `HH?MM?SS.sss` (each already
 * minus '0'), or -1 when one is not a digit or the time is out of range. Shared by the text
 * and the byte readers of the fixed shape.
 */
export function timeOfDayFromDigits(
  h0: number,
  h1: number,
  m0: number,
  m1: number,
  s0: number,
  s1: number,
  f0: number,
  f1: number,
  f2: number,
): number {
  // Every digit in 0..9: OR of all values fits in 4 bits and none is negative.
  if ((h0 | h1 | m0 | m1 | s0 | s1 | f0 | f1 | f2) >>> 0 > 15) return -1;
  if (h1 > 9 || m1 > 9 || s1 > 9 || f0 > 9 || f1 > 9 || f2 > 9) return -1;
  const h = h0 * 10 + h1;
  const m = m0 * 10 + m1;
  const sec = s0 * 10 + s1;
  if (h > 23 || m > 59 || sec > 59) return -1;
  return ((h * 60 + m) * 60 + sec) * 1000 + f0 * 100 + f1 * 10 + f2;
}

/**
 * Read `H[H]{-|:}M[M]{-|:}S[S][.fff]` from `s[start, end)` (nothing after it). Returns the
 * milliseconds since midnight, or -1. `msInteger` selects the daily-file rule for the fraction.
 */
function parseTimeOfDay(s: string, start: number, end: number, msInteger: boolean): number {
  let i = start;
  let h = 0;
  let m = 0;
  let sec = 0;
  for (let part = 0; part < 3; part++) {
    const from = i;
    let v = 0;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (!isDigit(c)) break;
      v = v * 10 + (c - C0);
      i++;
    }
    if (i === from || i - from > 2) return -1;
    if (part === 0) h = v;
    else if (part === 1) m = v;
    else sec = v;
    if (part < 2) {
      const sep = s.charCodeAt(i);
      if (sep !== 45 && sep !== 58) return -1; // '-' or ':'
      i++;
    }
  }
  if (h > 23 || m > 59 || sec > 59) return -1;
  let ms = 0;
  if (i < end) {
    if (s.charCodeAt(i) !== 46) return -1; // '.'
    i++;
    const from = i;
    let v = 0;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (!isDigit(c)) return -1;
      v = v * 10 + (c - C0);
      i++;
    }
    const digits = i - from;
    if (digits === 0 || digits > 9) return -1;
    if (digits <= 3) ms = msInteger ? v : v * (digits === 1 ? 100 : digits === 2 ? 10 : 1);
    else ms = Math.floor(v / 10 ** (digits - 3));
  }
  return ((h * 60 + m) * 60 + sec) * 1000 + ms;
}

function parseDateTime(s: string, start: number, end: number): LineTime | null {
  const y = readFixed(s, start, 4);
  const mo = readFixed(s, start + 5, 2);
  const d = readFixed(s, start + 8, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || s.charCodeAt(start + 7) !== 45) return null;
  let i = start + 10;
  const sep = s.charCodeAt(i);
  if (sep !== SPACE && sep !== 84) return null; // ' ' or 'T'
  i++;
  // The time runs up to the zone (a space, 'Z', '+' or a '-' after the seconds).
  let j = i;
  let seps = 0;
  while (j < end) {
    const c = s.charCodeAt(j);
    if (c === SPACE || c === 90 || c === 43) break;
    if (c === 45 || c === 58) {
      if (seps === 2) break; // a third '-' starts the zone
      seps++;
    }
    j++;
  }
  const ms = parseTimeOfDay(s, i, j, false);
  if (ms < 0) return null;
  while (j < end && s.charCodeAt(j) === SPACE) j++;
  const offsetMin = parseZone(s, j, end);
  if (offsetMin === null) return null;
  return { kind: 'absolute', epochMs: Date.UTC(y, mo - 1, d) + ms - offsetMin * 60_000 };
}

/** `Z`, `±HH`, `±HHMM`, `±HH:MM`, or nothing (UTC). Returns minutes east of UTC, or null. */
function parseZone(s: string, i: number, end: number): number | null {
  if (i >= end) return 0;
  const c = s.charCodeAt(i);
  if (c === 90) return i + 1 === end ? 0 : null;
  if (c !== 43 && c !== 45) return null;
  const sign = c === 45 ? -1 : 1;
  const h = readFixed(s, i + 1, 2);
  if (h < 0 || h > 14) return null;
  let k = i + 3;
  let m = 0;
  if (k < end && s.charCodeAt(k) === 58) k++;
  if (k < end) {
    m = readFixed(s, k, 2);
    if (m < 0 || m > 59 || k + 2 !== end) return null;
  } else if (k !== end) return null;
  return sign * (h * 60 + m);
}

function readFixed(s: string, at: number, width: number): number {
  let v = 0;
  for (let k = 0; k < width; k++) {
    const c = s.charCodeAt(at + k);
    if (!isDigit(c)) return -1;
    v = v * 10 + (c - C0);
  }
  return v;
}

/**
 * The time of a line from its trailing time fields `s[start, end)` (one or two
 * comma-separated fields: local and UTC): the first readable one wins.
 */
export function parseTimeFields(s: string, start: number, end = s.length): LineTime | null {
  let from = start;
  while (from <= end) {
    let to = from;
    while (to < end && s.charCodeAt(to) !== COMMA) to++;
    const t = parseLineTime(s, from, to);
    if (t !== null) return t;
    from = to + 1;
  }
  return null;
}

/** Format a time of day the way the common logger does: `HH-MM-SS.sss` (for simulators, tests). */
export function formatTimeOfDay(msOfDay: number): string {
  const ms = Math.floor(msOfDay) % 86_400_000;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const sec = Math.floor(ms / 1000) % 60;
  const frac = ms % 1000;
  return `${pad2(h)}-${pad2(m)}-${pad2(sec)}.${String(frac).padStart(3, '0')}`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
