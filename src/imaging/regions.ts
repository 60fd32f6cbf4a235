/**
 * Anomaly heat map → scored regions (pure): cells at or above the model's threshold, grouped
 * into 8-connected components, small specks dropped, boxes in input pixel coordinates.
 */
import { components } from './components.js';
import type { HeatMap } from './tiling.js';
import type { ScoredRegion } from './types.js';

export interface RegionOptions {
  /** Score at which a cell is anomalous (the model's `score_threshold`, default 1). */
  readonly threshold: number;
  /** Smallest component kept, in cells. Default 3. */
  readonly minCells?: number;
  /** At most this many regions, highest score first. Default 32. */
  readonly maxRegions?: number;
}

export function heatRegions(
  heat: HeatMap,
  width: number,
  height: number,
  options: RegionOptions,
): ScoredRegion[] {
  const mask = new Uint8Array(heat.data.length);
  for (let i = 0; i < mask.length; i++) mask[i] = heat.data[i]! >= options.threshold ? 1 : 0;
  const s = heat.stride;
  const out: ScoredRegion[] = [];
  for (const c of components(mask, heat.cols, heat.rows)) {
    if (c.cells.length < (options.minCells ?? 3)) continue;
    let score = -Infinity;
    for (const n of c.cells) score = Math.max(score, heat.data[n]!);
    const x = c.minX * s;
    const y = c.minY * s;
    out.push({
      x,
      y,
      width: Math.min(width, (c.maxX + 1) * s) - x,
      height: Math.min(height, (c.maxY + 1) * s) - y,
      score: Math.round(score * 1000) / 1000,
    });
  }
  out.sort((a, b) => b.score - a.score || a.y - b.y || a.x - b.x);
  return out.slice(0, options.maxRegions ?? 32);
}

/** Largest value of the heat map. */
export function maxHeat(heat: HeatMap): number {
  let m = -Infinity;
  const data = heat.data;
  for (let i = 0; i < data.length; i++) if (data[i]! > m) m = data[i]!;
  return m === -Infinity ? 0 : Math.round(m * 1000) / 1000;
}
