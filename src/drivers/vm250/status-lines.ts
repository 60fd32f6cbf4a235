/**
 * VM-250 status lines (SPEC §1.1): SP (speed), GX (end of occupancy), TT/TC (tamper).
 * Each carries four device fields, then up to two daily-file time fields.
 * These arrive once per occupancy or rarely, so clarity beats speed here.
 */
import type { DecodeResult, LineTime, OccupancyEndRecord, SpeedRecord, TamperRecord } from './records.js';

const COMMA = 44;
import { parseFixedTimeOfDay, parseTimeFields } from './line-time.js';
import { isPlainUnsigned, malformed, pad6, parseDecimal, printable, splitFields } from './count-lines.js';

/**
 * Read four numeric fields from `s[start, end)` (the text after `TAG,`) into `out`, then the
 * time fields. Returns the line's time (null when none or unreadable), or `undefined` when the
 * four fields are not all plain non-negative numbers — the caller then explains the line.
 */
function readFour(s: string, start: number, end: number, out: number[]): LineTime | null | undefined {
  let i = start;
  for (let k = 0; k < 4; k++) {
    let j = i;
    while (j < end && s.charCodeAt(j) !== COMMA) j++;
    const v = parseDecimal(s, i, j);
    if (!(v >= 0)) return undefined;
    out[k] = v;
    if (j >= end) return k === 3 ? null : undefined;
    i = j + 1;
  }
  if (end - i === 12) {
    const ms = parseFixedTimeOfDay(s, i);
    if (ms >= 0) return { kind: 'time-of-day', msOfDay: ms };
  }
  return parseTimeFields(s, i, end);
}

/** `SP,0.2249,03.032,004.88,000000`: seconds per foot, mph, km/h, car counter. */
export function decodeSpeedLine(line: string, comma: number): DecodeResult {
  const v = [0, 0, 0, 0];
  const time = readFour(line, comma + 1, line.length, v);
  if (time !== undefined) {
    return { type: 'speed', secondsPerFoot: v[0]!, mph: v[1]!, kph: v[2]!, carCounter: v[3]!, time };
  }
  const f = splitFields(line, comma);
  if (f.length < 4) return malformed(line, `SP line has ${f.length} fields, expected 4`);
  const names = ['seconds per foot', 'mph', 'km/h', 'car counter'];
  for (let k = 0; k < 4; k++) {
    const x = parseDecimal(f[k]!);
    if (!(x >= 0)) return malformed(line, `SP ${names[k]} is not a number (${printable(f[k]!)})`);
  }
  return malformed(line, 'SP line could not be read');
}

export function encodeSpeedLine(r: SpeedRecord): string {
  return `SP,${r.secondsPerFoot.toFixed(4)},${padNum(r.mph, 3)},${padNum(r.kph, 2)},${pad6(r.carCounter)}`;
}

/** `GX,000123,004100,000000,000000`: index, neutron background ×1000, rail-car index, 0. */
export function decodeEndLine(line: string, comma: number): DecodeResult {
  const v = [0, 0, 0, 0];
  const time = readFour(line, comma + 1, line.length, v);
  if (time !== undefined && Number.isInteger(v[0]) && Number.isInteger(v[1]) && Number.isInteger(v[2])) {
    return { type: 'occupancy-end', index: v[0]!, neutronBackgroundX1000: v[1]!, railCarIndex: v[2]!, time };
  }
  const f = splitFields(line, comma);
  if (f.length < 4) return malformed(line, `GX line has ${f.length} fields, expected 4`);
  const names = ['occupancy index', 'neutron background', 'rail-car index'];
  for (let k = 0; k < 3; k++) {
    const x = f[k]!;
    if (!isPlainUnsigned(x, 0, x.length)) {
      return malformed(line, `GX ${names[k]} is not a whole number (${printable(x)})`);
    }
  }
  return malformed(line, 'GX line could not be read');
}

export function encodeEndLine(r: OccupancyEndRecord): string {
  return `GX,${pad6(r.index)},${pad6(r.neutronBackgroundX1000)},${pad6(r.railCarIndex)},000000`;
}

/**
 * `TT,000000,…` (tamper active) / `TC,111111,…` (cleared). The tag alone carries the meaning,
 * so unusual field contents are tolerated: a tamper report must never be lost to a typo.
 */
export function decodeTamperLine(line: string, comma: number, active: boolean): DecodeResult {
  let at = comma;
  for (let k = 0; k < 4 && at >= 0; k++) at = line.indexOf(',', at + 1);
  return { type: 'tamper', active, time: at < 0 ? null : parseTimeFields(line, at + 1) };
}

export function encodeTamperLine(r: TamperRecord): string {
  return r.active ? 'TT,000000,000000,000000,000000' : 'TC,111111,111111,111111,111111';
}

/** `3.032` → `03.032` (total width 6, like the device's speed fields). */
function padNum(x: number, decimals: number): string {
  const s = x.toFixed(decimals);
  return s.length >= 6 ? s : '000000'.slice(s.length) + s;
}
