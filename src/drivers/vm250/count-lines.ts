/**
 * VM-250 count lines (SPEC §1.1): `TAG,c1,c2,c3,c4[,time[,time]]` for GB GH GL NB NH GS GA NS NA.
 * This is the hot path of replay, so decoding walks the line once with charCodeAt and
 * allocates only the record; anything unusual drops to {@link explainCountLine}, which may be
 * slow because it only runs for bad lines.
 *
 * Also home of the small field helpers the other message families share.
 */
import type { CountRecord, CountTag, DecodeResult, MalformedRecord } from './records.js';
import { parseFixedTimeOfDay, parseLineTime, parseTimeFields, timeOfDayFromDigits } from './line-time.js';

const COMMA = 44;
const SPACE = 32;
const C0 = 48;
const C9 = 57;

/** Every count tag, for dispatch tables and tests. */
export const COUNT_TAGS: readonly CountTag[] = ['GB', 'GH', 'GL', 'NB', 'NH', 'GS', 'GA', 'NS', 'NA'];

/**
 * The fast path, on a range of a larger string (replay decodes straight from the chunk):
 * `s[start, end)` is the text after `TAG,`. Handles the device's and the common logger's shape —
 * four unsigned counts, then nothing or one readable time field — and returns null for
 * anything else, which {@link decodeCountLine} then reads (or explains) at leisure.
 */
export function decodeCountRange(s: string, start: number, end: number, tag: CountTag): CountRecord | null {
  let i = start;
  let c0 = 0;
  let c1 = 0;
  let c2 = 0;
  let c3 = 0;
  for (let k = 0; k < 4; k++) {
    const from = i;
    let v = 0;
    let c = 0;
    while (i < end) {
      c = s.charCodeAt(i);
      if (c < C0 || c > C9) break;
      v = v * 10 + (c - C0);
      i++;
    }
    if (i === from || i - from > 15) return null;
    if (k === 0) c0 = v;
    else if (k === 1) c1 = v;
    else if (k === 2) c2 = v;
    else c3 = v;
    if (i < end) {
      if (c !== COMMA) return null;
      i++;
    } else if (k !== 3) return null;
  }
  if (i >= end) {
    // A line ending in a comma after the fourth count ("…,000757,") is left to the slow path.
    return s.charCodeAt(end - 1) === COMMA
      ? null
      : { type: 'count', tag, counts: [c0, c1, c2, c3], time: null };
  }
  if (end - i === 12) {
    const ms = parseFixedTimeOfDay(s, i);
    if (ms >= 0)
      return { type: 'count', tag, counts: [c0, c1, c2, c3], time: { kind: 'time-of-day', msOfDay: ms } };
  }
  let j = i;
  while (j < end && s.charCodeAt(j) !== COMMA) j++;
  if (j !== end) return null;
  const time = parseLineTime(s, i, end);
  return time === null ? null : { type: 'count', tag, counts: [c0, c1, c2, c3], time };
}

/** {@link decodeCountFields}: the line has no time field. */
export const NO_TIME = -2;
/** {@link decodeCountFields}: not the common shape; decode the line as text instead. */
export const NOT_FAST = -1;

/**
 * The count fields of the line `b[start, end)` (after `TAG,`) read straight from the bytes
 * (typed-array loads are cheaper than charCodeAt, and nothing is allocated): the four counts go
 * to `out[0..3]`; returns the time of day in ms, {@link NO_TIME}, or {@link NOT_FAST} for
 * anything but the device's and the common logger's shape (four unsigned counts, then nothing
 * or one `HH-MM-SS.sss` field).
 */
export function decodeCountFields(b: Uint8Array, start: number, end: number, out: Float64Array): number {
  let i = start;
  for (let k = 0; k < 4; k++) {
    const from = i;
    let v = 0;
    let c = 0;
    while (i < end) {
      c = b[i]!;
      if (c < C0 || c > C9) break;
      v = v * 10 + (c - C0);
      i++;
    }
    if (i === from || i - from > 15) return NOT_FAST;
    out[k] = v;
    if (i < end) {
      if (c !== COMMA) return NOT_FAST;
      i++;
    } else if (k !== 3) return NOT_FAST;
  }
  if (i >= end) return b[end - 1] === COMMA ? NOT_FAST : NO_TIME;
  if (end - i !== 12) return NOT_FAST;
  const ms = fixedTimeOfDayBytes(b, i);
  return ms < 0 ? NOT_FAST : ms;
}

const scratch = new Float64Array(4);

/** {@link decodeCountFields} as a record; null = not the common shape. */
export function decodeCountBytes(
  b: Uint8Array,
  start: number,
  end: number,
  tag: CountTag,
): CountRecord | null {
  const ms = decodeCountFields(b, start, end, scratch);
  if (ms === NOT_FAST) return null;
  const counts = [scratch[0]!, scratch[1]!, scratch[2]!, scratch[3]!];
  return { type: 'count', tag, counts, time: ms === NO_TIME ? null : { kind: 'time-of-day', msOfDay: ms } };
}

/** `HH-MM-SS.sss` / `HH:MM:SS.sss` at `b[at, at+12)`; ms since midnight or -1 (see line-time.ts). */
function fixedTimeOfDayBytes(b: Uint8Array, at: number): number {
  const sep = b[at + 2]!;
  if ((sep !== 45 && sep !== 58) || b[at + 5] !== sep || b[at + 8] !== 46) return -1;
  const h0 = b[at]! - C0;
  const h1 = b[at + 1]! - C0;
  const m0 = b[at + 3]! - C0;
  const m1 = b[at + 4]! - C0;
  const s0 = b[at + 6]! - C0;
  const s1 = b[at + 7]! - C0;
  const f0 = b[at + 9]! - C0;
  const f1 = b[at + 10]! - C0;
  const f2 = b[at + 11]! - C0;
  return timeOfDayFromDigits(h0, h1, m0, m1, s0, s1, f0, f1, f2);
}

/**
 * Decode a count line whose tag (already validated) ends at the comma at `comma`.
 * Accepts any digit width and surrounding spaces; up to two trailing time fields.
 */
export function decodeCountLine(line: string, tag: CountTag, comma: number): DecodeResult {
  const fast = decodeCountRange(line, comma + 1, line.length, tag);
  if (fast !== null) return fast;
  const n = line.length;
  let i = comma + 1;
  const counts = [0, 0, 0, 0];
  for (let k = 0; k < 4; k++) {
    while (i < n && line.charCodeAt(i) === SPACE) i++;
    const from = i;
    let v = 0;
    while (i < n) {
      const c = line.charCodeAt(i);
      if (c < C0 || c > C9) break;
      v = v * 10 + (c - C0);
      i++;
    }
    if (i === from || i - from > 15) return explainCountLine(line, tag, comma);
    while (i < n && line.charCodeAt(i) === SPACE) i++;
    counts[k] = v;
    if (i === n) {
      if (k !== 3) return explainCountLine(line, tag, comma);
    } else if (line.charCodeAt(i) === COMMA) {
      i++;
    } else {
      return explainCountLine(line, tag, comma);
    }
  }
  if (i >= n) return { type: 'count', tag, counts, time: null };
  // Trailing fields: time fields. A plain number there is a fifth count, not a time.
  if (isPlainUnsigned(line, i, fieldEnd(line, i))) return explainCountLine(line, tag, comma);
  let commas = 0;
  for (let j = i; j < n; j++) if (line.charCodeAt(j) === COMMA) commas++;
  if (commas > 1) return explainCountLine(line, tag, comma);
  return { type: 'count', tag, counts, time: parseTimeFields(line, i, n) };
}

/** The slow path: say in a technician's words why a count line cannot be used. */
function explainCountLine(line: string, tag: CountTag, comma: number): MalformedRecord {
  const fields = splitFields(line, comma);
  for (let k = 0; k < Math.min(4, fields.length); k++) {
    const f = fields[k]!.trim();
    if (f === '***') return malformed(line, `${tag} count ${k + 1} is missing (***)`);
    if (f === '') return malformed(line, `${tag} count ${k + 1} is empty`);
    const v = parseDecimal(f);
    if (v < 0) return malformed(line, `${tag} count ${k + 1} is negative (${printable(f)})`);
    if (!isPlainUnsigned(f, 0, f.length)) {
      return malformed(line, `${tag} count ${k + 1} is not a whole number (${printable(f)})`);
    }
    if (f.length > 15) return malformed(line, `${tag} count ${k + 1} is too large (${printable(f)})`);
  }
  if (fields.length < 4) return malformed(line, `${tag} line has ${fields.length} count fields, expected 4`);
  let numeric = 4;
  while (numeric < fields.length && isPlainUnsigned(fields[numeric]!, 0, fields[numeric]!.length)) numeric++;
  if (numeric > 4) return malformed(line, `${tag} line has ${numeric} count fields, expected 4`);
  if (fields.length > 6) {
    return malformed(
      line,
      `${tag} line has ${fields.length - 4} fields after the counts, expected at most 2 times`,
    );
  }
  return malformed(line, `${tag} line could not be read`);
}

/** Encode a count line like the device: six-digit zero-padded counts (`GB,000822,000750,…`). */
export function encodeCountLine(record: CountRecord): string {
  const c = record.counts;
  return `${record.tag},${pad6(c[0] ?? 0)},${pad6(c[1] ?? 0)},${pad6(c[2] ?? 0)},${pad6(c[3] ?? 0)}`;
}

// ---- shared field helpers ------------------------------------------------------------------

export function malformed(raw: string, reason: string): MalformedRecord {
  return { type: 'malformed', reason, raw };
}

/** Index of the comma ending the field that starts at `i`, or the line length. */
export function fieldEnd(s: string, i: number): number {
  const n = s.length;
  while (i < n && s.charCodeAt(i) !== COMMA) i++;
  return i;
}

/** `s[from,to)` is digits only, spaces around allowed. */
export function isPlainUnsigned(s: string, from: number, to: number): boolean {
  while (from < to && s.charCodeAt(from) === SPACE) from++;
  while (to > from && s.charCodeAt(to - 1) === SPACE) to--;
  if (from === to) return false;
  for (let j = from; j < to; j++) {
    const c = s.charCodeAt(j);
    if (c < C0 || c > C9) return false;
  }
  return true;
}

/** A plain signed decimal (`-12`, `+0.5`, ` 03.032`), spaces around allowed. */
export function isPlainSigned(field: string): boolean {
  return !Number.isNaN(parseDecimal(field));
}

/**
 * Parse a plain signed decimal without regex or allocation; NaN when it is anything else
 * (exponents, hex, `***`, letters, empty). Exact as `Number()` for up to 15 significant digits.
 */
export function parseDecimal(s: string, from = 0, to = s.length): number {
  while (from < to && s.charCodeAt(from) === SPACE) from++;
  while (to > from && s.charCodeAt(to - 1) === SPACE) to--;
  if (from === to) return NaN;
  let sign = 1;
  const c0 = s.charCodeAt(from);
  if (c0 === 45 || c0 === 43) {
    if (c0 === 45) sign = -1;
    from++;
  }
  let v = 0;
  let scale = 1;
  let digits = 0;
  let dot = false;
  for (let j = from; j < to; j++) {
    const c = s.charCodeAt(j);
    if (c >= C0 && c <= C9) {
      v = v * 10 + (c - C0);
      digits++;
      if (dot) scale *= 10;
    } else if (c === 46 && !dot) {
      dot = true;
    } else return NaN;
  }
  if (digits === 0) return NaN;
  return (sign * v) / scale;
}

/** Split the fields after the tag comma (cold paths only). */
export function splitFields(line: string, comma: number): string[] {
  return comma < 0 || comma >= line.length ? [] : line.slice(comma + 1).split(',');
}

/** A field looks like a time (has ':' or an inner '-'), as opposed to a device value. */
export function looksLikeTime(field: string): boolean {
  return field.includes(':') || field.indexOf('-', 1) > 0;
}

export function pad6(n: number): string {
  const s = String(Math.trunc(n));
  return s.length >= 6 ? s : '000000'.slice(s.length) + s;
}

/** A short printable excerpt for messages. */
export function printable(s: string, max = 24): string {
  let out = '';
  for (let j = 0; j < s.length && out.length < max; j++) {
    const c = s.charCodeAt(j);
    out += c >= 32 && c < 127 ? s[j] : '?';
  }
  return s.length > max ? `${out}…` : out;
}
