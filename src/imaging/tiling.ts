/**
 * Tiling (pure): the image is cut into overlapping square tiles the model's fixed input size
 * wants, each with a margin of real neighbouring pixels (edge-replicated at the image border)
 * so that context features are the same inside a tile as in the whole image; the model's
 * per-tile score maps are stitched back from each tile's core only.
 */
import { runSync, type Steps } from './chunked.js';

export interface TileLayout {
  readonly width: number;
  readonly height: number;
  readonly tile: number;
  readonly margin: number;
  readonly cols: number;
  readonly rows: number;
  readonly count: number;
}

export function planTiles(width: number, height: number, tile: number, margin: number): TileLayout {
  const core = tile - 2 * margin;
  if (core <= 0) throw new RangeError(`bad tiling: tile ${tile}, margin ${margin}`);
  const cols = Math.ceil(width / core);
  const rows = Math.ceil(height / core);
  return { width, height, tile, margin, cols, rows, count: cols * rows };
}

/** N × 1 × T × T float32 tiles of `values × scale`. */
export function extractTiles(values: Float32Array, layout: TileLayout, scale: number): Float32Array {
  return runSync(extractTileSteps(values, layout, scale));
}

/** {@link extractTiles}, yielding after each tile. */
export function* extractTileSteps(
  values: Float32Array,
  layout: TileLayout,
  scale: number,
): Steps<Float32Array> {
  const { width: W, height: H, tile: T, margin: M } = layout;
  const core = T - 2 * M;
  const out = new Float32Array(layout.count * T * T);
  const xs = new Int32Array(T);
  let o = 0;
  for (let r = 0; r < layout.rows; r++) {
    for (let c = 0; c < layout.cols; c++) {
      const ox = c * core - M;
      const oy = r * core - M;
      for (let i = 0; i < T; i++) xs[i] = Math.min(W - 1, Math.max(0, ox + i));
      // Columns inside the image are one contiguous run: copy it straight, clamp only the edges.
      const lo = Math.max(0, -ox);
      const hi = Math.min(T, W - ox);
      for (let j = 0; j < T; j++) {
        const row = Math.min(H - 1, Math.max(0, oy + j)) * W;
        for (let i = 0; i < lo; i++) out[o + i] = values[row + xs[i]!]! * scale;
        const src = row + ox;
        for (let i = lo; i < hi; i++) out[o + i] = values[src + i]! * scale;
        for (let i = hi; i < T; i++) out[o + i] = values[row + xs[i]!]! * scale;
        o += T;
      }
      yield;
    }
  }
  return out;
}

/** A score per cell of `stride` × `stride` pixels over the whole image. */
export interface HeatMap {
  readonly cols: number;
  readonly rows: number;
  readonly stride: number;
  readonly data: Float32Array;
}

/** The stride a model's output implies, or null when it breaks the contract (T/s cells, margin a multiple of s). */
export function strideFor(layout: TileLayout, dims: readonly number[]): number | null {
  const [n, c, h, w] = dims;
  if (dims.length !== 4 || n !== layout.count || c !== 1 || h !== w || !h) return null;
  const s = layout.tile / h;
  return Number.isInteger(s) && layout.margin % s === 0 ? s : null;
}

/** Stitch the model's N × 1 × (T/s) × (T/s) output into one heat map over the image. */
export function stitchHeat(scores: Float32Array, layout: TileLayout, s: number): HeatMap {
  const { tile: T, margin: M } = layout;
  const cellsPerSide = T / s;
  const coreCells = (T - 2 * M) / s;
  const marginCells = M / s;
  const cols = Math.ceil(layout.width / s);
  const rows = Math.ceil(layout.height / s);
  const data = new Float32Array(cols * rows);
  for (let r = 0; r < layout.rows; r++) {
    for (let c = 0; c < layout.cols; c++) {
      const base = (r * layout.cols + c) * cellsPerSide * cellsPerSide;
      for (let j = 0; j < coreCells; j++) {
        const gy = r * coreCells + j;
        if (gy >= rows) break;
        for (let i = 0; i < coreCells; i++) {
          const gx = c * coreCells + i;
          if (gx >= cols) break;
          data[gy * cols + gx] = scores[base + (j + marginCells) * cellsPerSide + i + marginCells]!;
        }
      }
    }
  }
  return { cols, rows, stride: s, data };
}
