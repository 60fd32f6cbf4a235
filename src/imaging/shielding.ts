/**
 * The shielding detector (deterministic, no model): regions the beam did not penetrate, large
 * enough and placed where cargo is, are reported as shielding suspects. A lead or steel block
 * hiding a source is exactly such a region (SPEC §3 item 6 raises the case's priority for it).
 *
 * Method: optical depth averaged over 4 × 4 pixel blocks (photon noise is large where almost
 * nothing gets through), blocks at or above `opaqueDepth` are opaque, 8-connected opaque blocks
 * form components; a component is a suspect when both its sides reach `minSidePx` (thin
 * structures — end walls, beams, detector-line artefacts — are not), it does not touch the image
 * border (a truncated scan edge), and its centre lies above the bottom band of the vehicle
 * (axles, wheels, fuel tanks). Pure.
 */
import { components } from './components.js';
import type { ShieldingSuspect } from './types.js';

export interface ShieldingOptions {
  /** Optical depth (ln I₀/I) at and above which the beam is taken as not penetrating. Default 6. */
  readonly opaqueDepth?: number;
  /** Smallest side of a suspect, px. Default: 100 mm at the pixel pitch, else 1.5 % of the width (≥ 8). */
  readonly minSidePx?: number;
  readonly pixelPitchMm?: number;
  /** Bottom fraction of the vehicle's height ignored (running gear). Default 0.15. */
  readonly excludeBottomFraction?: number;
  /** The depth's unit: stored values are μ × depthScale (NormalizeOptions.depthScale). Default 1. */
  readonly depthScale?: number;
}

const BLOCK = 4;

export function detectShielding(
  depth: Float32Array,
  width: number,
  height: number,
  options: ShieldingOptions = {},
): ShieldingSuspect[] {
  const grid = blockGrid(width, height);
  blockMeanRows(depth, width, grid, 0, grid.rows);
  return shieldingFromMeans(grid, width, options);
}

/** The 4 × 4 block means of a scan: filled band by band ({@link blockMeanRows}), then judged. */
export interface BlockGrid {
  readonly cols: number;
  readonly rows: number;
  readonly mean: Float32Array;
}

export function blockGrid(width: number, height: number, reuse?: Float32Array): BlockGrid {
  const cols = Math.floor(width / BLOCK);
  const rows = Math.floor(height / BLOCK);
  const mean =
    reuse !== undefined && reuse.length >= cols * rows
      ? reuse.subarray(0, cols * rows)
      : new Float32Array(cols * rows);
  return { cols, rows, mean };
}

/** The depth rows block row `by` needs: [by × 4, by × 4 + 4). */
export const BLOCK_SIDE = BLOCK;

/** The suspects, once every block mean is in. */
export function shieldingFromMeans(
  grid: BlockGrid,
  width: number,
  options: ShieldingOptions = {},
): ShieldingSuspect[] {
  const unit = options.depthScale ?? 1;
  const opaque = (options.opaqueDepth ?? 6) * unit;
  const minSide =
    options.minSidePx ??
    (options.pixelPitchMm
      ? Math.max(8, Math.round(100 / options.pixelPitchMm))
      : Math.max(8, Math.round(0.015 * width)));
  const { cols, rows, mean } = grid;
  // The vehicle's vertical extent: rows whose mean depth shows material (> 0.2).
  let top = rows;
  let bottom = -1;
  for (let by = 0; by < rows; by++) {
    let sum = 0;
    for (let bx = 0; bx < cols; bx++) sum += mean[by * cols + bx]!;
    if (sum / cols > 0.2 * unit) {
      top = Math.min(top, by);
      bottom = Math.max(bottom, by);
    }
  }
  const cutoff = bottom < top ? rows : bottom - (bottom - top + 1) * (options.excludeBottomFraction ?? 0.15);
  const mask = new Uint8Array(cols * rows);
  for (let i = 0; i < mask.length; i++) mask[i] = mean[i]! >= opaque ? 1 : 0;
  const out: ShieldingSuspect[] = [];
  for (const c of components(mask, cols, rows)) {
    const w = (c.maxX - c.minX + 1) * BLOCK;
    const h = (c.maxY - c.minY + 1) * BLOCK;
    if (w < minSide || h < minSide) continue;
    if (c.minX === 0 || c.minY === 0 || c.maxX === cols - 1 || c.maxY === rows - 1) continue;
    if ((c.minY + c.maxY) / 2 > cutoff) continue;
    let sum = 0;
    for (const n of c.cells) sum += mean[n]!;
    const meanDepth = sum / c.cells.length;
    const fraction = c.cells.length / ((c.maxX - c.minX + 1) * (c.maxY - c.minY + 1));
    // Deeper and more compact = more suspicious; 0.5 at the threshold, 1 at 2 optical depths beyond.
    const score = Math.min(1, 0.5 + (meanDepth - opaque) / (4 * unit)) * (0.5 + 0.5 * fraction);
    out.push({
      x: c.minX * BLOCK,
      y: c.minY * BLOCK,
      width: w,
      height: h,
      score: Math.round(score * 1000) / 1000,
      opaqueFraction: Math.round(fraction * 1000) / 1000,
      areaPx: c.cells.length * BLOCK * BLOCK,
    });
  }
  return out.sort((a, b) => b.score - a.score || b.areaPx - a.areaPx);
}

/** The depth averaged over BLOCK × BLOCK pixel blocks (whole blocks only), block rows [by0, by1). */
export function blockMeanRows(
  depth: Float32Array,
  width: number,
  grid: BlockGrid,
  by0: number,
  by1: number,
): void {
  const { cols, mean } = grid;
  for (let by = by0; by < by1; by++) {
    for (let bx = 0; bx < cols; bx++) {
      let sum = 0;
      for (let dy = 0; dy < BLOCK; dy++) {
        const row = (by * BLOCK + dy) * width + bx * BLOCK;
        for (let dx = 0; dx < BLOCK; dx++) sum += depth[row + dx]!;
      }
      mean[by * cols + bx] = sum / (BLOCK * BLOCK);
    }
  }
}
