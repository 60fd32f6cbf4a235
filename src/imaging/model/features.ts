/**
 * The model's features computed in TypeScript (doubles), exactly as the ONNX graph defines them
 * (architecture.ts): used to fit the model on normal scans and to calibrate its score. A unit
 * test checks this against the graph run by onnxruntime, so the two definitions cannot drift.
 */
import {
  CONTEXT_PAD,
  FEATURES,
  STRIDE,
  TEXTURE_COMPONENTS,
  VAR_EPS,
  WINDOW,
  WINDOW_PAD,
  Z_FLOOR,
} from './architecture.js';

/** A normalised image: model input values (optical depth / DEPTH_SCALE). */
export interface ModelImage {
  readonly width: number;
  readonly height: number;
  readonly values: Float32Array;
}

export interface LocalStats {
  readonly cols: number;
  readonly rows: number;
  readonly m1: Float64Array;
  readonly v1: Float64Array;
  readonly m2: Float64Array;
  readonly v2: Float64Array;
}

function integral(values: ArrayLike<number>, W: number, H: number, square: boolean): Float64Array {
  const s = new Float64Array((W + 1) * (H + 1));
  for (let y = 0; y < H; y++) {
    let run = 0;
    for (let x = 0; x < W; x++) {
      const v = values[y * W + x]!;
      run += square ? v * v : v;
      s[(y + 1) * (W + 1) + x + 1] = s[y * (W + 1) + x + 1]! + run;
    }
  }
  return s;
}

/** Mean over [x0, x1) × [y0, y1) clipped to the image (AveragePool with count_include_pad = 0). */
function boxMean(
  s: Float64Array,
  W: number,
  H: number,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
): number {
  const a = Math.max(0, x0);
  const b = Math.max(0, y0);
  const c = Math.min(W, x1);
  const d = Math.min(H, y1);
  const n = (c - a) * (d - b);
  const w = W + 1;
  return (s[d * w + c]! - s[b * w + c]! - s[d * w + a]! + s[b * w + a]!) / n;
}

export function localStats(img: ModelImage): LocalStats {
  const { width: W, height: H, values } = img;
  const cols = Math.ceil(W / STRIDE);
  const rows = Math.ceil(H / STRIDE);
  const s1 = integral(values, W, H, false);
  const s2 = integral(values, W, H, true);
  const m1 = new Float64Array(cols * rows);
  const q1 = new Float64Array(cols * rows);
  for (let j = 0; j < rows; j++)
    for (let i = 0; i < cols; i++) {
      const x0 = i * STRIDE - WINDOW_PAD;
      const y0 = j * STRIDE - WINDOW_PAD;
      m1[j * cols + i] = boxMean(s1, W, H, x0, y0, x0 + WINDOW, y0 + WINDOW);
      q1[j * cols + i] = boxMean(s2, W, H, x0, y0, x0 + WINDOW, y0 + WINDOW);
    }
  const c1 = integral(m1, cols, rows, false);
  const c2 = integral(m1, cols, rows, true);
  const m2 = new Float64Array(cols * rows);
  const v1 = new Float64Array(cols * rows);
  const v2 = new Float64Array(cols * rows);
  const k = 2 * CONTEXT_PAD + 1;
  for (let j = 0; j < rows; j++)
    for (let i = 0; i < cols; i++) {
      const n = j * cols + i;
      const mean = boxMean(
        c1,
        cols,
        rows,
        i - CONTEXT_PAD,
        j - CONTEXT_PAD,
        i - CONTEXT_PAD + k,
        j - CONTEXT_PAD + k,
      );
      const sq = boxMean(
        c2,
        cols,
        rows,
        i - CONTEXT_PAD,
        j - CONTEXT_PAD,
        i - CONTEXT_PAD + k,
        j - CONTEXT_PAD + k,
      );
      m2[n] = mean;
      v1[n] = Math.max(0, q1[n]! - m1[n]! * m1[n]!);
      v2[n] = Math.max(0, sq - mean * mean);
    }
  return { cols, rows, m1, v1, m2, v2 };
}

/** The 16 × 16 window of cell (i, j), zero outside the image (Conv's zero padding). */
export function patchAt(img: ModelImage, i: number, j: number, out: Float64Array): Float64Array {
  const x0 = i * STRIDE - WINDOW_PAD;
  const y0 = j * STRIDE - WINDOW_PAD;
  for (let dy = 0; dy < WINDOW; dy++)
    for (let dx = 0; dx < WINDOW; dx++) {
      const x = x0 + dx;
      const y = y0 + dy;
      out[dy * WINDOW + dx] =
        x >= 0 && y >= 0 && x < img.width && y < img.height ? img.values[y * img.width + x]! : 0;
    }
  return out;
}

/** The full feature vector of cell (i, j), given texture filters (TEXTURE_COMPONENTS × 256). */
export function featureAt(
  img: ModelImage,
  stats: LocalStats,
  filters: readonly Float64Array[],
  i: number,
  j: number,
  patch: Float64Array,
  out: Float64Array,
): Float64Array {
  const n = j * stats.cols + i;
  out[0] = stats.m1[n]!;
  out[1] = Math.log(stats.v1[n]! + VAR_EPS);
  out[2] = stats.m2[n]!;
  out[3] = Math.log(stats.v2[n]! + VAR_EPS);
  out[4] = (stats.m1[n]! - stats.m2[n]!) / Math.sqrt(stats.v2[n]! + Z_FLOOR);
  patchAt(img, i, j, patch);
  for (let k = 0; k < TEXTURE_COMPONENTS; k++) {
    const f = filters[k]!;
    let dot = 0;
    for (let p = 0; p < patch.length; p++) dot += f[p]! * patch[p]!;
    out[5 + k] = dot;
  }
  return out;
}

export const FEATURE_COUNT = FEATURES;
