/**
 * Replay throughput (SPEC §7): lines per second through the whole replay (frame, decode, time,
 * track occupancies, decide, build and print NDJSON to a null sink), paired with its floor
 * measured in the same process on the same file.
 *
 * The floor is "read the file and split it into line strings": the same chunked fs read,
 * Latin-1 decode of each chunk and `indexOf('\n')` slicing of every line, with nothing done to
 * the lines. That is the least work any replay must do, and it uses the fastest split there is
 * (native indexOf), not our framer — so the ratio also charges the framer's validation (CR,
 * over-long, garbage) to the replay. Each figure is the best of 3 runs.
 */
import { createReadStream } from 'node:fs';
import { Writable } from 'node:stream';
import { replay } from '../src/app/replay.js';

export interface ReplayBenchResult {
  floorLinesPerS: number;
  replayLinesPerS: number;
  ratio: number;
  lines: number;
}

const CHUNK = 256 * 1024;

/** Read + split into line strings; returns the number of lines. */
async function floor(file: string): Promise<number> {
  let lines = 0;
  let carry = '';
  let sink = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK }) as AsyncIterable<Buffer>) {
    const s = carry + chunk.toString('latin1');
    let start = 0;
    for (;;) {
      const nl = s.indexOf('\n', start);
      if (nl < 0) break;
      const line = s.slice(start, nl);
      sink += line.length;
      lines++;
      start = nl + 1;
    }
    carry = s.slice(start);
  }
  if (carry.length > 0) lines++;
  if (sink < 0) throw new Error('unreachable');
  return lines;
}

function nullSink(): Writable {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
}

async function best<T>(runs: number, fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  let bestMs = Infinity;
  let value!: T;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    value = await fn();
    bestMs = Math.min(bestMs, performance.now() - t0);
  }
  return { ms: bestMs, value };
}

export async function benchReplay(file: string): Promise<ReplayBenchResult> {
  const f = await best(3, () => floor(file));
  const r = await best(3, () => replay(file, nullSink(), { lane: 'bench', baseDate: '2016-06-01' }));
  const lines = f.value;
  const floorLinesPerS = lines / (f.ms / 1000);
  const replayLinesPerS = r.value.lines / (r.ms / 1000);
  return { floorLinesPerS, replayLinesPerS, ratio: replayLinesPerS / floorLinesPerS, lines };
}
