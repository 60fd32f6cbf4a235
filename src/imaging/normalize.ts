/**
 * Detector values → optical depth μ = ln(I₀ / I) per pixel (pure; SPEC §1.3). Handles the
 * scanner's polarity, the dark offset, the air value (from the sidecar or the image), and the
 * two line-scan artefacts that would otherwise look like anomalies: per-detector-row gain
 * (calibrated on the air columns before the vehicle enters) with dead or hot rows repaired from
 * their neighbours, and pulse-to-pulse source variation (calibrated on the air rows above the
 * vehicle). 16-bit values are used as they are: a 65,536-entry log table, no 8-bit step.
 */
import { runSync, type Steps } from './chunked.js';
import type { Image16, Polarity } from './types.js';

export interface NormalizeOptions {
  readonly polarity: Polarity;
  readonly airValue?: number;
  readonly darkValue?: number;
  /** Leading columns that see only air (row-gain calibration). Default max(4, 2 % of width). */
  readonly airColumns?: number;
  /** Top rows that see only air (pulse calibration). Default max(4, 2 % of height). */
  readonly airRows?: number;
}

export interface Normalized {
  readonly width: number;
  readonly height: number;
  /** Optical depth per pixel, ≥ 0 in practice (noise can dip slightly below), at most {@link MAX_DEPTH}. */
  readonly depth: Float32Array;
  readonly air: number;
  readonly dark: number;
  /** Detector rows found dead or hot and repaired. */
  readonly repairedRows: readonly number[];
}

export const MAX_DEPTH = 12;

function transmissionOf(v: number, polarity: Polarity): number {
  return polarity === 'transmission' ? v : 65535 - v;
}

/** The 99.5th percentile of the transmission values: the air level when the sidecar has none. */
export function estimateAir(img: Image16, polarity: Polarity): number {
  const hist = new Uint32Array(65536);
  for (let i = 0; i < img.data.length; i++) hist[transmissionOf(img.data[i]!, polarity)]!++;
  let remaining = Math.ceil(img.data.length * 0.005);
  for (let v = 65535; v > 0; v--) {
    remaining -= hist[v]!;
    if (remaining <= 0) return v;
  }
  return 1;
}

function median(values: number[]): number {
  values.sort((a, b) => a - b);
  return values.length === 0 ? NaN : values[values.length >> 1]!;
}

export function normalizeScan(img: Image16, options: NormalizeOptions): Normalized {
  return runSync(normalizeSteps(img, options));
}

/** {@link normalizeScan} in bands of rows (see chunked.ts). */
export function* normalizeSteps(img: Image16, options: NormalizeOptions): Steps<Normalized> {
  const { width: W, height: H, data } = img;
  const polarity = options.polarity;
  const dark = options.darkValue ?? 0;
  const air = options.airValue ?? estimateAir(img, polarity);
  const span = Math.max(1, air - dark);
  const lnTab = new Float32Array(65536);
  for (let v = 0; v < 65536; v++) lnTab[v] = Math.log(Math.max(transmissionOf(v, polarity) - dark, 1));

  const airCols = Math.min(W, options.airColumns ?? Math.max(4, Math.round(0.02 * W)));
  const lgy = new Float64Array(H);
  const bad: number[] = [];
  for (let y = 0; y < H; y++) {
    const vals: number[] = [];
    for (let x = 0; x < airCols; x++) vals.push(transmissionOf(data[y * W + x]!, polarity) - dark);
    const gain = median(vals) / span;
    if (gain > 0.95 && gain < 1.05) lgy[y] = Math.log(gain);
    else if (gain < 0.8 || gain > 1.25) bad.push(y); // dead or hot detector row
  }
  const airRows = Math.min(H, options.airRows ?? Math.max(4, Math.round(0.02 * H)));
  const lgx = new Float64Array(W);
  const rowGain = Array.from(lgy, (v) => Math.exp(v));
  for (let x = 0; x < W; x++) {
    const vals: number[] = [];
    for (let y = 0; y < airRows; y++)
      if (!bad.includes(y)) vals.push((transmissionOf(data[y * W + x]!, polarity) - dark) / rowGain[y]!);
    const gain = median(vals) / span;
    if (gain > 0.95 && gain < 1.05) lgx[x] = Math.log(gain);
  }
  yield;

  const lnAir = Math.log(span);
  const depth = new Float32Array(W * H);
  const lgxf = Float32Array.from(lgx);
  yield;
  for (let y = 0; y < H; y++) {
    if ((y & 63) === 63) yield;
    const base = lnAir + lgy[y]!;
    const row = y * W;
    for (let x = 0; x < W; x++) {
      const d = base + lgxf[x]! - lnTab[data[row + x]!]!;
      depth[row + x] = d > MAX_DEPTH ? MAX_DEPTH : d;
    }
  }
  repairRows(depth, W, H, bad);
  return { width: W, height: H, depth, air, dark, repairedRows: bad };
}

/** Replace each bad row by the mean of the nearest good rows above and below. */
function repairRows(depth: Float32Array, W: number, H: number, bad: readonly number[]): void {
  const isBad = new Set(bad);
  for (const y of bad) {
    let above = y - 1;
    while (above >= 0 && isBad.has(above)) above--;
    let below = y + 1;
    while (below < H && isBad.has(below)) below++;
    for (let x = 0; x < W; x++) {
      const a = above >= 0 ? depth[above * W + x]! : undefined;
      const b = below < H ? depth[below * W + x]! : undefined;
      depth[y * W + x] = a !== undefined && b !== undefined ? (a + b) / 2 : (a ?? b ?? 0);
    }
  }
}
