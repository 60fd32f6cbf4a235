/**
 * The VM-250 line codec (SPEC §1.1): one line (without its terminator) ↔ one typed record.
 * Pure — no I/O, clock or globals — so the driver, replay and the simulators share it.
 *
 * Rules where the device documentation is silent:
 * - a tag is 2–3 uppercase letters or digits followed by a comma; anything else is malformed;
 * - unknown tags with any number of fields (≥ 1) are kept raw as `unknown` records;
 *   trailing fields that read as a time are taken as the line's time, not as device fields;
 * - count lines need exactly four whole, non-negative counts (any width) plus at most two
 *   time fields; `***`, negatives, decimals or a fifth number make the line malformed.
 */
import type { CountTag, DecodeResult, LineTime, MalformedRecord, Vm250Record } from './records.js';
import {
  COUNT_TAGS,
  decodeCountBytes,
  decodeCountLine,
  encodeCountLine,
  malformed,
  printable,
  splitFields,
} from './count-lines.js';
import {
  decodeEndLine,
  decodeSpeedLine,
  decodeTamperLine,
  encodeEndLine,
  encodeSpeedLine,
  encodeTamperLine,
} from './status-lines.js';
import { decodeSetupLine, encodeSetupLine, isSetupTag } from './setup-lines.js';
import { parseLineTime } from './line-time.js';

const COMMA = 44;

function isTagChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
}

/**
 * Decode the line `bytes[start, end)` (replay's hot path: the framer hands out ranges of the
 * chunk it received). Count lines are read straight from the bytes; anything else is made a
 * Latin-1 string and decoded by {@link decodeLine}. Same result as decoding the text.
 */
export function decodeLineBytes(bytes: Buffer, start: number, end: number): DecodeResult {
  if (end - start > 3 && bytes[start + 2] === COMMA) {
    const tag = twoLetterCountTag(bytes[start]!, bytes[start + 1]!);
    if (tag !== null) {
      const r = decodeCountBytes(bytes, start + 3, end, tag);
      if (r !== null) return r;
    }
  }
  return decodeLine(bytes.toString('latin1', start, end));
}

/** Decode one line (terminator already removed). Never throws. */
export function decodeLine(line: string): DecodeResult {
  const c0 = line.charCodeAt(0);
  const c1 = line.charCodeAt(1);
  const c2 = line.charCodeAt(2);
  if (c2 === COMMA && isTagChar(c0) && isTagChar(c1)) {
    const tag = twoLetterCountTag(c0, c1);
    if (tag !== null) return decodeCountLine(line, tag, 2);
    if (c0 === 83 && c1 === 80) return decodeSpeedLine(line, 2); // SP
    if (c0 === 71 && c1 === 88) return decodeEndLine(line, 2); // GX
    if (c0 === 84 && c1 === 84) return decodeTamperLine(line, 2, true); // TT
    if (c0 === 84 && c1 === 67) return decodeTamperLine(line, 2, false); // TC
    return decodeUnknownLine(line, line.slice(0, 2), 2);
  }
  if (line.charCodeAt(3) === COMMA && isTagChar(c0) && isTagChar(c1) && isTagChar(c2)) {
    const tag = line.slice(0, 3);
    if (isSetupTag(tag)) return decodeSetupLine(line, tag, 3);
    return decodeUnknownLine(line, tag, 3);
  }
  return explainTag(line);
}

/**
 * The index in {@link COUNT_TAGS} of the count tag spelled by two tag characters, or -1;
 * without allocating a string.
 */
export function countTagCode(c0: number, c1: number): number {
  if (c0 === 71) {
    // G: GB GH GL GS GA
    if (c1 === 83) return 5;
    if (c1 === 66) return 0;
    if (c1 === 65) return 6;
    if (c1 === 72) return 1;
    if (c1 === 76) return 2;
  } else if (c0 === 78) {
    // N: NB NH NS NA
    if (c1 === 83) return 7;
    if (c1 === 66) return 3;
    if (c1 === 65) return 8;
    if (c1 === 72) return 4;
  }
  return -1;
}

function twoLetterCountTag(c0: number, c1: number): CountTag | null {
  const code = countTagCode(c0, c1);
  return code < 0 ? null : COUNT_TAGS[code]!;
}

function explainTag(line: string): MalformedRecord {
  if (line.trim() === '') return malformed(line, 'empty line');
  const comma = line.indexOf(',');
  const tag = comma < 0 ? line : line.slice(0, comma);
  if (comma < 0 && /^[A-Z0-9]{2,3}$/.test(tag)) return malformed(line, `${tag} line has no fields`);
  return malformed(
    line,
    `line does not start with a tag of 2–3 uppercase letters or digits (${printable(tag, 12)})`,
  );
}

function decodeUnknownLine(line: string, tag: string, comma: number): DecodeResult {
  const fields = splitFields(line, comma);
  let time: LineTime | null = null;
  // Up to two trailing fields that read as a time are the logger's, not the device's.
  let keep = fields.length;
  for (let k = fields.length - 1; k >= Math.max(1, fields.length - 2); k--) {
    const t = parseLineTime(fields[k]!);
    if (t === null) break;
    time = t;
    keep = k;
  }
  return { type: 'unknown', tag, fields: keep === fields.length ? fields : fields.slice(0, keep), time };
}

/**
 * Encode a record as the device writes it (no terminator). `time`, when given, is appended as
 * one extra field the way daily-file loggers do (e.g. `00-00-04.919`).
 */
export function encodeLine(record: Vm250Record, options?: { time?: string }): string {
  const line = encodeBody(record);
  return options?.time === undefined ? line : `${line},${options.time}`;
}

function encodeBody(record: Vm250Record): string {
  switch (record.type) {
    case 'count':
      return encodeCountLine(record);
    case 'speed':
      return encodeSpeedLine(record);
    case 'occupancy-end':
      return encodeEndLine(record);
    case 'tamper':
      return encodeTamperLine(record);
    case 'setup':
      return encodeSetupLine(record);
    case 'unknown':
      return `${record.tag},${record.fields.join(',')}`;
  }
}

export type { DecodeResult, Vm250Record } from './records.js';
