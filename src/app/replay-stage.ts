/**
 * Replay's first stage: bytes → framed lines → decoded → timed, packed into batches of plain
 * numbers. It runs either in-process or in a worker thread (replay-worker.ts), so a replay on
 * this machine's two cores frames and decodes on one while the other tracks, decides and prints.
 *
 * A batch is a Float64Array of {@link STRIDE}-number entries plus the text of the few lines
 * that are not plain count lines:
 *
 *   [0] kind: COUNT (counts inline) | TEXT (decode `texts[j]` again) | DISCARD
 *   [1] COUNT: index in COUNT_TAGS · DISCARD: 0 line-too-long, 1 garbage
 *   [2..5] COUNT: the four counts, wire order
 *   [6] the line's time, epoch ms (daily-file time, or the timeline's fallback)
 *   [7] flags: 1 = the line carries its own time, 2 = repeat of the previous line
 *
 * Count lines — nearly every line of a stream — cross as numbers and allocate nothing here.
 */
import { LineFramer, type LineDiscard } from '../drivers/transport/line-framer.js';
import { COUNT_TAGS, decodeCountFields, NO_TIME, NOT_FAST } from '../drivers/vm250/count-lines.js';
import { countTagCode, decodeLineBytes } from '../drivers/vm250/codec.js';
import { createDailyFileTimeline } from '../drivers/vm250/daily-file-timeline.js';
import type { CountTag, LineTime } from '../drivers/vm250/records.js';

export const STRIDE = 8;
export const COUNT = 0;
export const TEXT = 1;
export const DISCARD = 2;
export const FLAG_OWN_TIME = 1;
export const FLAG_REPEAT = 2;
export const DISCARD_REASONS = ['line-too-long', 'garbage'] as const;

export interface StageOptions {
  /** Epoch ms of UTC midnight of the file's first day. */
  readonly baseDayMs: number;
  readonly utcOffsetMinutes?: number;
  /**
   * Entries per batch. Default 32,768 (2 MB of numbers): each batch's credit may wake the decode
   * worker, which costs the main thread up to a millisecond on a busy 2-core machine.
   */
  readonly batchEntries?: number;
}

export interface Batch {
  readonly entries: Float64Array;
  readonly count: number;
  readonly texts: string[];
}

export interface DecodeStage {
  push(chunk: Buffer): void;
  /** End of input: frame a trailing partial line and hand over the last batch. */
  end(): void;
}

const COMMA = 44;

export function createDecodeStage(options: StageOptions, onBatch: (batch: Batch) => void): DecodeStage {
  const size = options.batchEntries ?? 32_768;
  const timeline = createDailyFileTimeline({
    baseDayMs: options.baseDayMs,
    utcOffsetMinutes: options.utcOffsetMinutes ?? 0,
  });
  let entries = new Float64Array(size * STRIDE);
  let count = 0;
  let texts: string[] = [];
  const fields = new Float64Array(4);
  // A reusable record for the timeline, which reads only type, tag and time.
  const timeOfDay = { kind: 'time-of-day' as const, msOfDay: 0 };
  const probe: { type: 'count'; tag: CountTag; counts: readonly number[]; time: LineTime | null } = {
    type: 'count',
    tag: 'GS',
    counts: [],
    time: null,
  };

  // The previous line, for the logger-duplicate rule (compared as bytes, only when times tie).
  let prevBytes: Buffer | null = null;
  let prevStart = 0;
  let prevEnd = 0;
  let prevTime = NaN;

  const flush = (): void => {
    if (count === 0) return;
    onBatch({ entries, count, texts });
    entries = new Float64Array(size * STRIDE);
    count = 0;
    texts = [];
  };

  const onLineBytes = (bytes: Buffer, start: number, end: number): void => {
    let at = count * STRIDE;
    let time: number;
    let ownTime: boolean;
    const code =
      end - start > 3 && bytes[start + 2] === COMMA ? countTagCode(bytes[start]!, bytes[start + 1]!) : -1;
    const ms = code < 0 ? NOT_FAST : decodeCountFields(bytes, start + 3, end, fields);
    if (ms !== NOT_FAST) {
      probe.tag = COUNT_TAGS[code]!;
      ownTime = ms !== NO_TIME;
      if (ownTime) timeOfDay.msOfDay = ms;
      probe.time = ownTime ? timeOfDay : null;
      time = timeline.timeOf(probe);
    } else {
      const record = decodeLineBytes(bytes, start, end);
      ownTime = record.type !== 'malformed' && record.time !== null;
      time = timeline.timeOf(record);
    }
    const repeat =
      time === prevTime && prevBytes !== null && sameBytes(prevBytes, prevStart, prevEnd, bytes, start, end);
    prevBytes = bytes;
    prevStart = start;
    prevEnd = end;
    prevTime = time;
    const flags = (ownTime ? FLAG_OWN_TIME : 0) | (repeat ? FLAG_REPEAT : 0);
    if (ms !== NOT_FAST && !repeat) {
      entries[at++] = COUNT;
      entries[at++] = code;
      entries[at++] = fields[0]!;
      entries[at++] = fields[1]!;
      entries[at++] = fields[2]!;
      entries[at++] = fields[3]!;
    } else {
      // Rare lines (and repeats, whose text a bad-input record shows) cross as text.
      entries[at++] = TEXT;
      entries[at] = texts.length;
      at += 5;
      texts.push(bytes.toString('latin1', start, end));
    }
    entries[at++] = time;
    entries[at] = flags;
    if (++count === size) flush();
  };

  const framer = new LineFramer({
    onLine: (): void => undefined, // onLineBytes takes every line
    onLineBytes,
    onDiscard: (d: LineDiscard): void => {
      const at = count * STRIDE;
      entries[at] = DISCARD;
      entries[at + 1] = d.reason === 'line-too-long' ? 0 : 1;
      entries[at + 6] = prevTime;
      entries[at + 7] = 0;
      if (++count === size) flush();
    },
  });

  return {
    push: (chunk) => framer.push(chunk),
    end: () => {
      framer.flush();
      flush();
    },
  };
}

function sameBytes(
  a: Buffer,
  aStart: number,
  aEnd: number,
  b: Buffer,
  bStart: number,
  bEnd: number,
): boolean {
  const n = aEnd - aStart;
  if (n !== bEnd - bStart) return false;
  for (let k = 0; k < n; k++) if (a[aStart + k] !== b[bStart + k]) return false;
  return true;
}
