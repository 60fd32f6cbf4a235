/**
 * A simulated VM-250 daily file (SPEC §1.1 "daily files"): every line of the stream with the
 * logger's time of day appended (`HH-MM-SS.sss`, wrapping at midnight) and CR LF, plus a
 * ground-truth NDJSON file beside it (one object per occupancy, carrying the GX index).
 * Writes go through a large string buffer, so 10,000 occupancies take seconds.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { encodeLine } from '../../src/drivers/vm250/codec.js';
import { formatTimeOfDay } from '../../src/drivers/vm250/line-time.js';
import { vm250Stream, type Vm250OccupancyTruth, type Vm250StreamOptions } from './stream.js';

export interface DailyFileOptions extends Vm250StreamOptions {
  readonly path: string;
  readonly occupancies: number;
  /** Time of day of stream time 0: ms since midnight, or `HH:MM:SS[.sss]` / `HH-MM-SS[.sss]`. Default midnight. */
  readonly startTime?: number | string;
  /** Where the ground truth goes. Default: `<path>.truth.ndjson`. */
  readonly truthPath?: string;
}

export interface DailyFileResult {
  readonly path: string;
  readonly truthPath: string;
  /** Lines written (corrupt ones included). */
  readonly lines: number;
  readonly occupancies: number;
  /** Garbage and truncated lines among them. */
  readonly corruptLines: number;
}

/** A daily file's ground truth: the stream's truth plus the logged times of trigger and GX. */
export interface DailyFileTruth extends Vm250OccupancyTruth {
  readonly triggerTime: string;
  readonly endTime: string;
}

const FLUSH_CHARS = 1 << 20;

/** Parse a start time of day; throws RangeError on nonsense (a caller's mistake). */
export function parseStartTime(t: number | string | undefined): number {
  if (t === undefined) return 0;
  if (typeof t === 'number') return ((Math.floor(t) % 86_400_000) + 86_400_000) % 86_400_000;
  const m = /^(\d{1,2})[:-](\d{1,2})[:-](\d{1,2})(?:\.(\d{1,3}))?$/.exec(t.trim());
  if (!m) throw new RangeError(`start time "${t}" is not HH:MM:SS[.sss]`);
  const [h, mi, s] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (h > 23 || mi > 59 || s > 59) throw new RangeError(`start time "${t}" is out of range`);
  return ((h * 60 + mi) * 60 + s) * 1000 + Number((m[4] ?? '0').padEnd(3, '0'));
}

class BufferedWriter {
  private chunk = '';
  private readonly stream: WriteStream;

  constructor(path: string, encoding: BufferEncoding) {
    this.stream = createWriteStream(path, { encoding });
  }

  async write(text: string): Promise<void> {
    this.chunk += text;
    if (this.chunk.length >= FLUSH_CHARS) await this.flush();
  }

  private async flush(): Promise<void> {
    const text = this.chunk;
    this.chunk = '';
    if (text.length > 0 && !this.stream.write(text)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    await this.flush();
    this.stream.end();
    await once(this.stream, 'close');
  }
}

/** Write the daily file and its ground truth. */
export async function writeDailyFile(o: DailyFileOptions): Promise<DailyFileResult> {
  const start = parseStartTime(o.startTime);
  const truthPath = o.truthPath ?? `${o.path}.truth.ndjson`;
  // latin1 maps bytes 0–255 one to one, so garbage bytes go out exactly as drawn.
  const file = new BufferedWriter(o.path, 'latin1');
  const truth = new BufferedWriter(truthPath, 'utf8');
  const time = (atMs: number): string => formatTimeOfDay((start + atMs) % 86_400_000);
  let lines = 0;
  let occupancies = 0;
  let corruptLines = 0;
  try {
    for (const item of vm250Stream(o)) {
      switch (item.kind) {
        case 'line':
          await file.write(`${encodeLine(item.record, { time: time(item.atMs) })}\r\n`);
          lines++;
          break;
        case 'corrupt':
          // The logger writes what it received; garbage has no readable time of its own.
          await file.write(`${item.bytes.toString('latin1')}\r\n`);
          lines++;
          corruptLines++;
          break;
        case 'link-drop':
          break; // the lines lost meanwhile are already missing from the stream
        case 'occupancy': {
          const t: DailyFileTruth = {
            ...item.truth,
            triggerTime: time(item.truth.triggerMs),
            endTime: time(item.truth.endMs),
          };
          await truth.write(`${JSON.stringify(t)}\n`);
          occupancies++;
          break;
        }
      }
    }
  } finally {
    await Promise.all([file.close(), truth.close()]);
  }
  return { path: o.path, truthPath, lines, occupancies, corruptLines };
}
