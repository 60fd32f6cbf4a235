/**
 * Tiling (pure): the image is cut into overlapping square tiles the model's fixed input size
 * wants, each with a margin of real neighbouring pixels (edge-replicated at the image border)
 * so that context features are the same inside a tile as in the whole image; the model's
 * per-tile score maps are stitched back from each tile's core only.
 */
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
  const T = layout.tile;
  const out = new Float32Array(layout.count * T * T);
  for (let t = 0; t < layout.count; t++) extractTile(values, layout, t, scale, out, t * T * T);
  return out;
}

/** Tile `index` (row-major over the layout) into `out` at `offset`, as 1 × 1 × T × T values × scale. */
export function extractTile(
  values: Float32Array,
  layout: TileLayout,
  index: number,
  scale: number,
  out: Float32Array,
  offset = 0,
): void {
  const { width: W, height: H, tile: T, margin: M } = layout;
  const core = T - 2 * M;
  const ox = (index % layout.cols) * core - M;
  const oy = Math.floor(index / layout.cols) * core - M;
  // Columns inside the image are one contiguous run: copy it straight, clamp only the edges.
  const lo = Math.min(T, Math.max(0, -ox));
  const hi = Math.max(lo, Math.min(T, W - ox));
  let o = offset;
  for (let j = 0; j < T; j++) {
    const row = Math.min(H - 1, Math.max(0, oy + j)) * W;
    tileRow(values, out, o, row, ox, lo, hi, T, W, scale);
    o += T;
  }
}

function tileRow(
  values: Float32Array,
  out: Float32Array,
  o: number,
  row: number,
  ox: number,
  lo: number,
  hi: number,
  T: number,
  W: number,
  scale: number,
): void {
  if (lo > 0) out.fill(values[row]! * scale, o, o + lo);
  // Values already in the model's units (the analysis's depth): a plain copy.
  if (scale === 1) out.set(values.subarray(row + ox + lo, row + ox + hi), o + lo);
  else for (let s = row + ox + lo, d = o + lo, end = o + hi; d < end; s++, d++) out[d] = values[s]! * scale;
  if (hi < T) out.fill(values[row + W - 1]! * scale, o + hi, o + T);
}

/** A score per cell of `stride` × `stride` pixels over the whole image. */
export interface HeatMap {
  readonly cols: number;
  readonly rows: number;
  readonly stride: number;
  readonly data: Float32Array;
}

/** The stride a model's output implies, or null when it breaks the contract (T/s cells, margin a multiple of s). */
export function strideFor(layout: TileLayout, dims: readonly number[], count = layout.count): number | null {
  const [n, c, h, w] = dims;
  if (dims.length !== 4 || n !== count || c !== 1 || h !== w || !h) return null;
  const s = layout.tile / h;
  return Number.isInteger(s) && layout.margin % s === 0 ? s : null;
}

/** An empty heat map over the layout's image, for {@link stitchTile}. */
export function emptyHeat(layout: TileLayout, s: number): HeatMap {
  const cols = Math.ceil(layout.width / s);
  const rows = Math.ceil(layout.height / s);
  return { cols, rows, stride: s, data: new Float32Array(cols * rows) };
}

/** Stitch the model's N × 1 × (T/s) × (T/s) output into one heat map over the image. */
export function stitchHeat(scores: Float32Array, layout: TileLayout, s: number): HeatMap {
  const heat = emptyHeat(layout, s);
  const cells = (layout.tile / s) ** 2;
  for (let t = 0; t < layout.count; t++) stitchTile(heat, scores, t * cells, layout, t);
  return heat;
}

/** Copy the core of tile `index`'s score map (at `offset` in `scores`) into its place in `heat`. */
export function stitchTile(
  heat: HeatMap,
  scores: Float32Array,
  offset: number,
  layout: TileLayout,
  index: number,
): void {
  const s = heat.stride;
  const cellsPerSide = layout.tile / s;
  const coreCells = (layout.tile - 2 * layout.margin) / s;
  const marginCells = layout.margin / s;
  const r = Math.floor(index / layout.cols);
  const c = index % layout.cols;
  for (let j = 0; j < coreCells; j++) {
    const gy = r * coreCells + j;
    if (gy >= heat.rows) break;
    const from = offset + (j + marginCells) * cellsPerSide + marginCells;
    const n = Math.min(coreCells, heat.cols - c * coreCells);
    heat.data.set(scores.subarray(from, from + n), gy * heat.cols + c * coreCells);
  }
}
