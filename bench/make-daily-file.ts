/**
 * A synthetic VM-250 daily file for the replay benchmark, made with the real encoder: blocks of
 * background (NB + GB every 5 s), then occupancies (SP, a 5-line pre-trigger burst, ~60 GS at
 * 200 ms with an NS every second, GX), every line stamped `HH-MM-SS.sss`; one occupancy in
 * twenty carries a point source. Deterministic (seeded). The simulator's daily-file writer
 * (simulators/vm250/daily-file.ts) makes more realistic files; this one only needs to be fast
 * to make and representative in line mix.
 */
import { createWriteStream } from 'node:fs';
import { encodeLine } from '../src/drivers/vm250/codec.js';
import { formatTimeOfDay } from '../src/drivers/vm250/line-time.js';
import type { CountTag } from '../src/drivers/vm250/records.js';

/** mulberry32: small, fast, deterministic. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Generate `lines` lines (CR LF terminated) in pieces, handing each piece to `sink`. */
export function generateDailyFile(lines: number, sink: (text: string) => void, seed = 1): void {
  const random = rng(seed);
  const poisson = (mean: number): number => {
    if (mean < 30) {
      const l = Math.exp(-mean);
      let k = 0;
      let p = random();
      while (p > l) {
        k++;
        p *= random();
      }
      return k;
    }
    // Normal approximation (Box–Muller) for large means.
    const z = Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
    return Math.max(0, Math.round(mean + z * Math.sqrt(mean)));
  };
  const bgCps = [820, 750, 770, 757];
  const nCps = [1.2, 1.0, 1.1, 0.9];
  let t = 0;
  let written = 0;
  let piece = '';
  let occ = 0;
  const emit = (tag: CountTag, counts: number[]): void => {
    piece += encodeLine({ type: 'count', tag, counts, time: null }, { time: formatTimeOfDay(t) }) + '\r\n';
    written++;
  };
  const other = (line: string): void => {
    piece += `${line},${formatTimeOfDay(t)}\r\n`;
    written++;
  };
  while (written < lines) {
    for (let k = 0; k < 6 && written < lines; k++) {
      t += 5000;
      emit(
        'NB',
        nCps.map((c) => Math.floor(c)),
      );
      emit(
        'GB',
        bgCps.map((c) => poisson(c)),
      );
    }
    occ++;
    const source = occ % 20 === 0;
    t += 1300;
    other(
      encodeLine({ type: 'speed', secondsPerFoot: 0.2249, mph: 3.032, kph: 4.88, carCounter: 0, time: null }),
    );
    for (let k = 0; k < 5; k++)
      emit(
        'GS',
        bgCps.map((c) => poisson(c / 5)),
      );
    const n = 55 + Math.floor(random() * 10);
    let alarm = false;
    for (let k = 0; k < n && written < lines; k++) {
      t += 200;
      const u = (k - n / 2) / 4;
      const extra = source ? 900 * Math.pow(1 + u * u, -1.5) : 0;
      const counts = bgCps.map((c) => poisson(c / 5 + extra / 4));
      const hot = counts.reduce((a, b) => a + b, 0) > 3100 / 5 + (6 * Math.sqrt(3100)) / 2.2;
      alarm ||= hot;
      emit(hot ? 'GA' : 'GS', counts);
      if (k % 5 === 4)
        emit(
          'NS',
          nCps.map((c) => poisson(c)),
        );
    }
    t += 200;
    other(
      encodeLine({
        type: 'occupancy-end',
        index: occ,
        neutronBackgroundX1000: 4200,
        railCarIndex: 0,
        time: null,
      }),
    );
    if (piece.length > 1 << 20) {
      sink(piece);
      piece = '';
    }
  }
  if (piece.length > 0) sink(piece);
}

/** Write a synthetic daily file of about `lines` lines to `path`. */
export async function writeDailyFile(path: string, lines: number, seed = 1): Promise<void> {
  const out = createWriteStream(path);
  const pieces: string[] = [];
  generateDailyFile(lines, (text) => pieces.push(text), seed);
  for (const text of pieces) {
    if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
}
