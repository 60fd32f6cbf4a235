/**
 * `rpm-gateway replay` (SPEC §5): a recorded VM-250 stream or daily file through the same
 * framing, codec and occupancy rules as a live lane, as fast as it can, printing NDJSON.
 *
 * Path, in two stages: (1) chunks → LineFramer → decode → daily-file timeline, packed into
 * batches of numbers (replay-stage.ts) — in a worker thread for a file, in-process for a
 * stream; (2) here: occupancy tracker → alarm pipeline (SPEC §3) + occupancy accumulator →
 * NDJSON, buffered into large writes that honour backpressure. On two cores the stages overlap
 * (the worker's side: replay-decoder.ts). Malformed input is counted (and shown in the final
 * `replay-summary` record and the returned summary), never fatal.
 *
 * Base date for time-of-day files, first that applies: `options.baseDate` (the user said so),
 * a `YYYY-MM-DD`/`YYYYMMDD` in the file name (how daily files are named), the file's mtime
 * date (UTC), today (UTC) for streams. Times of day are taken as UTC unless
 * `utcOffsetMinutes` says otherwise: the logger's zone is not in the file.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { LaneEvent } from '../domain/lane-events.js';
import { GatewayError } from '../core/errors.js';
import { decodeLine } from '../drivers/vm250/codec.js';
import { COUNT_TAGS } from '../drivers/vm250/count-lines.js';
import type { CountRecord, LineTime } from '../drivers/vm250/records.js';
import {
  COUNT,
  createDecodeStage,
  DISCARD,
  DISCARD_REASONS,
  FLAG_OWN_TIME,
  FLAG_REPEAT,
  STRIDE,
  type Batch,
} from './replay-stage.js';
import { decodeInWorker, replayWorkerFile } from './replay-decoder.js';
import { createVm250Tracker } from '../drivers/vm250/occupancy-tracker.js';
import { baseDateFromFileName, parseBaseDate } from '../drivers/vm250/daily-file-timeline.js';
import { createLaneRecorder, inferredDescriptor } from './lane-recorder.js';
import { iso, occupancyRecordLine, type OccupancyRecord } from './occupancy-record.js';
import type { CategoryRefiner } from '../alarm/adjudicate.js';

export interface ReplayOptions {
  /** Lane id in the records. Default `replay`. */
  lane?: string;
  /** `YYYY-MM-DD` (or `YYYYMMDD`) of the file's first day. */
  baseDate?: string;
  /** Offset of the logger's clock from UTC in minutes (east positive). Default 0. */
  utcOffsetMinutes?: number;
  /** Gamma N-sigma. Default 6. */
  nSigma?: number;
  channelOrder?: readonly number[];
  /** First gateway occupancy number. Default 1. */
  firstSeq?: number;
  /** Wall clock for the summary's duration and the stdin base date. Default Date.now. */
  now?: () => number;
  /** Print `fault`/`tamper`/`device-restart` records too. Default true. */
  eventRecords?: boolean;
  /** Print the final `replay-summary` record on the output. Default true. */
  summaryRecord?: boolean;
  /**
   * Decode a file in a worker thread while this thread tracks, decides and prints (default
   * true; streams such as stdin are always decoded in-process).
   */
  worker?: boolean;
  /**
   * Sees every lane event (before the pipeline) and every occupancy record — for `--n42`.
   * Absent, the hot path is as without it: the tracker emits straight to the pipeline.
   */
  observer?: ReplayObserver;
  /** The alarm classifier (a configuration's `classifier`, loaded); default: the rules alone. */
  refiner?: CategoryRefiner;
}

/** An observer of the replayed lane (the N42.42 writer of `replay --n42`). */
export interface ReplayObserver {
  event(e: LaneEvent): void;
  occupancy(record: OccupancyRecord): void;
}

export interface ReplaySummary {
  readonly lane: string;
  /** Lines framed (clean lines, including malformed ones), plus discarded lines. */
  readonly lines: number;
  readonly occupancies: number;
  readonly abnormalEnds: number;
  readonly gammaAlarms: number;
  readonly neutronAlarms: number;
  /** Malformed lines by reason (field values stripped, so reasons group). */
  readonly malformed: Readonly<Record<string, number>>;
  /** Other unusable input: line-too-long, garbage, duplicate-line. */
  readonly badInput: Readonly<Record<string, number>>;
  readonly unknownTags: Readonly<Record<string, number>>;
  readonly baseDate: string;
  readonly baseDateSource: 'option' | 'file-name' | 'file-mtime' | 'today';
  readonly firstTime: string | null;
  readonly lastTime: string | null;
  /** Wall time taken, ms. */
  readonly durationMs: number;
}

const WRITE_THRESHOLD = 64 * 1024;
const READ_CHUNK = 256 * 1024;

/** Replay one input (a path, `-` is the caller's business: pass process.stdin) to `output`. */
export async function replay(
  input: Readable | string,
  output: Writable,
  options: ReplayOptions = {},
): Promise<ReplaySummary> {
  const now = options.now ?? Date.now;
  const started = now();
  const lane = options.lane ?? 'replay';
  const base = await resolveBaseDate(input, options, now);
  const eventRecords = options.eventRecords ?? true;

  let out = '';
  let lines = 0;
  let occupancies = 0;
  let abnormalEnds = 0;
  let gammaAlarms = 0;
  let neutronAlarms = 0;
  let firstTime = NaN;
  let lastTime = NaN;
  const malformed = new Map<string, number>();
  const badInput = new Map<string, number>();
  const unknownTags = new Map<string, number>();

  // The same decision and records as a live lane (lane-recorder.ts); replay only counts for its
  // summary and writes NDJSON text in large pieces. It reads VM-250 streams: 4 + 4 channels.
  const recorder = createLaneRecorder({
    lane,
    descriptor: inferredDescriptor(lane, 4),
    ...(options.nSigma === undefined ? {} : { nSigma: options.nSigma }),
    ...(options.refiner === undefined ? {} : { pipeline: { refiner: options.refiner } }),
    eventRecords,
    decisionRecords: false,
    write: (record) => {
      out +=
        record.type === 'occupancy'
          ? occupancyRecordLine(record as OccupancyRecord)
          : JSON.stringify(record) + '\n';
    },
    onOccupancy: (record) => {
      occupancies++;
      if (record.endedAbnormally) abnormalEnds++;
      if (record.gamma.alarm) gammaAlarms++;
      if (record.neutron.alarm) neutronAlarms++;
      options.observer?.occupancy(record);
    },
  });
  const onEvent = (e: LaneEvent): void => {
    recorder.handle(e);
    if (e.kind === 'bad-input') {
      if (e.reason === 'malformed-line') bump(malformed, groupReason(e.detail));
      else bump(badInput, e.reason);
    } else if (e.kind === 'unknown-record') {
      bump(unknownTags, e.tag);
    }
  };

  const tracker = createVm250Tracker({
    lane,
    emit: observed(onEvent, options.observer),
    ...(options.channelOrder === undefined ? {} : { channelOrder: options.channelOrder }),
    ...(options.firstSeq === undefined ? {} : { firstSeq: options.firstSeq }),
  });

  /** The main thread's half: every entry of a decoded batch into the tracker (see replay-stage.ts). */
  const consume = (batch: Batch): void => {
    const e = batch.entries;
    const n = batch.count * STRIDE;
    for (let at = 0; at < n; at += STRIDE) {
      lines++;
      const kind = e[at];
      const time = e[at + 6]!;
      if (kind === DISCARD) {
        bump(badInput, DISCARD_REASONS[e[at + 1]!]!);
        continue;
      }
      if (firstTime !== firstTime) firstTime = time;
      lastTime = time;
      const flags = e[at + 7]!;
      if (kind === COUNT) {
        const record: CountRecord = {
          type: 'count',
          tag: COUNT_TAGS[e[at + 1]!]!,
          counts: [e[at + 2]!, e[at + 3]!, e[at + 4]!, e[at + 5]!],
          time: (flags & FLAG_OWN_TIME) !== 0 ? RESOLVED_TIME : null,
        };
        // A count line's text is needed only for a bad-input event; repeats cross as text.
        tracker.line(record, time, '', false);
      } else {
        const text = batch.texts[e[at + 1]!]!;
        const record = decodeLine(text);
        tracker.line(record, time, text, (flags & FLAG_REPEAT) !== 0);
      }
    }
  };

  const flushOutput = async (): Promise<void> => {
    if (out.length < WRITE_THRESHOLD) return;
    const text = out;
    out = '';
    await write(output, text);
  };

  const stageOptions = { baseDayMs: base.ms, utcOffsetMinutes: options.utcOffsetMinutes ?? 0 };
  try {
    const workerFile = typeof input === 'string' && options.worker !== false ? replayWorkerFile() : null;
    if (workerFile !== null && typeof input === 'string') {
      for await (const batch of decodeInWorker(workerFile, input, stageOptions)) {
        consume(batch.value);
        batch.done();
        await flushOutput();
      }
    } else {
      const stream =
        typeof input === 'string' ? createReadStream(input, { highWaterMark: READ_CHUNK }) : input;
      const stage = createDecodeStage(stageOptions, consume);
      for await (const chunk of stream as AsyncIterable<Buffer | string>) {
        stage.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
        await flushOutput();
      }
      stage.end();
    }
  } catch (error) {
    throw new GatewayError(
      'INPUT_UNREADABLE',
      `replay input could not be read: ${describe(error)}`,
      {
        input: typeof input === 'string' ? input : 'stream',
      },
      { cause: error },
    );
  }
  tracker.inputEnded(Number.isNaN(lastTime) ? base.ms : lastTime);

  const summary: ReplaySummary = {
    lane,
    lines,
    occupancies,
    abnormalEnds,
    gammaAlarms,
    neutronAlarms,
    malformed: Object.fromEntries(malformed),
    badInput: Object.fromEntries(badInput),
    unknownTags: Object.fromEntries(unknownTags),
    baseDate: new Date(base.ms).toISOString().slice(0, 10),
    baseDateSource: base.source,
    firstTime: Number.isNaN(firstTime) ? null : iso(firstTime),
    lastTime: Number.isNaN(lastTime) ? null : iso(lastTime),
    durationMs: Math.max(0, now() - started),
  };
  if (options.summaryRecord ?? true) {
    const { durationMs: _omit, ...rest } = summary;
    out += JSON.stringify({ type: 'replay-summary', ...rest }) + '\n';
  }
  if (out.length > 0) await write(output, out);
  return summary;
}

async function resolveBaseDate(
  input: Readable | string,
  options: ReplayOptions,
  now: () => number,
): Promise<{ ms: number; source: ReplaySummary['baseDateSource'] }> {
  if (options.baseDate !== undefined) {
    const ms = parseBaseDate(options.baseDate);
    if (ms === null) {
      throw new GatewayError('CLI_USAGE', `the date "${options.baseDate}" is not a date like 2016-06-01`, {
        baseDate: options.baseDate,
      });
    }
    return { ms, source: 'option' };
  }
  if (typeof input === 'string') {
    const fromName = baseDateFromFileName(basename(input));
    if (fromName !== null) return { ms: fromName, source: 'file-name' };
    try {
      const st = await stat(input);
      return { ms: utcMidnight(st.mtimeMs), source: 'file-mtime' };
    } catch (error) {
      throw new GatewayError(
        'INPUT_UNREADABLE',
        `replay input ${input} could not be read: ${describe(error)}`,
        {
          input,
        },
        { cause: error },
      );
    }
  }
  return { ms: utcMidnight(now()), source: 'today' };
}

/** `emit` itself without an observer (no cost per event), else the observer first. */
function observed(
  emit: (e: LaneEvent) => void,
  observer: ReplayObserver | undefined,
): (e: LaneEvent) => void {
  if (observer === undefined) return emit;
  return (e) => {
    observer.event(e);
    emit(e);
  };
}

function utcMidnight(ms: number): number {
  return Math.floor(ms / 86_400_000) * 86_400_000;
}

/** Write and, when the stream's buffer is full, wait for it to drain (backpressure). */
function write(output: Writable, text: string): Promise<void> {
  if (output.write(text)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (error?: Error): void => {
      output.off('drain', onDrain);
      output.off('error', onError);
      output.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = (): void => done();
    const onError = (error: Error): void => done(error);
    const onClose = (): void => done(new Error('the output closed before the replay finished'));
    output.on('drain', onDrain);
    output.on('error', onError);
    output.on('close', onClose);
  });
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** "GB count 2 is negative (-12)" → "GB count 2 is negative", so the summary groups. */
function groupReason(reason: string): string {
  const at = reason.indexOf(' (');
  return at < 0 ? reason : reason.slice(0, at);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A count line's time has already been resolved to epoch ms by the decode stage; the tracker
 * only asks whether the line carried a time of its own, so one shared marker stands for it.
 */
const RESOLVED_TIME: LineTime = Object.freeze({ kind: 'time-of-day', msOfDay: Number.NaN });
