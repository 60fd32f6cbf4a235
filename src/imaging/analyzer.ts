/**
 * The imaging pipeline (SPEC §1.3, §5): normalize → tile → model (worker) → heat map → regions,
 * and beside it the shielding detector; the result is the `imaging.scan.analyzed` data. I/O-free
 * apart from the model runner it is handed; decoding happens before, the overlay after.
 */
import { GatewayError } from '../core/errors.js';
import { DEPTH_SCALE } from './model/architecture.js';
import { runChunked } from './chunked.js';
import { normalizeSteps, type Normalized } from './normalize.js';
import type { ScoreRunner } from './onnx-runtime.js';
import { encodeOverlayPng, overlayScaleFor, overlaySteps } from './overlay.js';
import { heatRegions, maxHeat } from './regions.js';
import { shieldingSteps, type ShieldingOptions } from './shielding.js';
import { extractTileSteps, planTiles, stitchHeat, strideFor, type HeatMap } from './tiling.js';
import type { Energy, Scan, ScanAnalyzedData } from './types.js';

export interface AnalyzerOptions {
  readonly runner: ScoreRunner;
  readonly shielding?: ShieldingOptions;
  /** Smallest heat-map component reported, in cells. Default 3. */
  readonly minRegionCells?: number;
  /** Override the model's region threshold. */
  readonly threshold?: number;
  /** Tiles per session.run: bounds the runtime's working memory (SPEC §7 RSS). Default 6. */
  readonly batchTiles?: number;
}

/** Run the tiles in batches of `batch`, concatenating the score maps. */
async function runBatched(runner: ScoreRunner, tiles: Float32Array, count: number, batch: number) {
  if (count <= batch) return runner.run(tiles, count);
  const per = tiles.length / count;
  const parts: Float32Array[] = [];
  let dims: readonly number[] = [];
  let runMs = 0;
  for (let first = 0; first < count; first += batch) {
    const n = Math.min(batch, count - first);
    const out = await runner.run(tiles.slice(first * per, (first + n) * per), n);
    parts.push(out.data);
    dims = out.dims;
    runMs += out.runMs;
  }
  const data = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.length;
  }
  return { data, dims: [count, ...dims.slice(1)], runMs };
}

export interface Analysis {
  readonly data: ScanAnalyzedData;
  readonly normalized: Normalized;
  readonly heat: HeatMap;
  readonly threshold: number;
}

const ms = (t0: number): number => Math.round((performance.now() - t0) * 100) / 100;

export interface Analyzer {
  analyze(scan: Scan, decodeMs?: number): Promise<Analysis>;
}

export function createAnalyzer(options: AnalyzerOptions): Analyzer {
  const { runner } = options;
  const threshold = options.threshold ?? runner.info.threshold;
  return {
    async analyze(scan, decodeMs = 0) {
      const start = performance.now();
      const { meta, high } = scan;
      if (scan.low && (scan.low.width !== high.width || scan.low.height !== high.height)) {
        throw new GatewayError(
          'IMAGE_MISMATCH',
          `scan ${meta.scanId}: high ${high.width} × ${high.height} and low ${scan.low.width} × ${scan.low.height} differ`,
          { scanId: meta.scanId },
        );
      }
      let t = performance.now();
      // Pure steps run in slices (chunked.ts) so the event loop keeps turning.
      const normalized = await runChunked(
        normalizeSteps(high, {
          polarity: meta.polarity,
          ...(meta.airValue !== undefined ? { airValue: meta.airValue } : {}),
          ...(meta.darkValue !== undefined ? { darkValue: meta.darkValue } : {}),
        }),
      );
      const layout = planTiles(high.width, high.height, runner.info.tile, runner.info.margin);
      const tiles = await runChunked(extractTileSteps(normalized.depth, layout, 1 / DEPTH_SCALE));
      const preprocessMs = ms(t);
      t = performance.now();
      // The worker infers while this thread runs the shielding detector: both need only the depth.
      let inferenceMs = 0;
      const inference = runBatched(runner, tiles, layout.count, options.batchTiles ?? 6).then((out) => {
        inferenceMs = ms(t);
        return out;
      });
      inference.catch(() => undefined);
      const shieldingSuspects = await runChunked(
        shieldingSteps(normalized.depth, high.width, high.height, {
          ...(meta.pixelPitchMm !== undefined ? { pixelPitchMm: meta.pixelPitchMm } : {}),
          ...options.shielding,
        }),
      );
      const shieldingMs = ms(t);
      const out = await inference;
      t = performance.now();
      const stride = strideFor(layout, out.dims);
      if (stride === null)
        throw new GatewayError(
          'MODEL_INVALID',
          `model output [${out.dims.join(', ')}] does not meet the contract [N, 1, T/s, T/s] for ${layout.count} tiles of ${layout.tile}`,
          { dims: out.dims },
        );
      const heat = stitchHeat(out.data, layout, stride);
      const regions = heatRegions(heat, high.width, high.height, {
        threshold,
        minCells: options.minRegionCells ?? 3,
      });
      const postprocessMs = ms(t);
      const energies: Energy[] = scan.low ? ['high', 'low'] : ['high'];
      const data: ScanAnalyzedData = {
        scanId: meta.scanId,
        lane: meta.lane ?? null,
        time: meta.time !== undefined ? new Date(meta.time).toISOString() : null,
        image: { width: high.width, height: high.height, energies },
        model: { id: runner.info.id, sha256: runner.info.sha256, opset: runner.info.opset },
        regions,
        shieldingSuspects,
        maxScore: maxHeat(heat),
        timings: {
          decodeMs,
          preprocessMs,
          inferenceMs,
          postprocessMs,
          shieldingMs,
          totalMs: Math.round((decodeMs + performance.now() - start) * 100) / 100,
        },
        sources: scan.sources,
      };
      return { data, normalized, heat, threshold };
    },
  };
}

/** The overlay PNG of an analysis, at most `maxWidth` wide (default 1024; 0 = full size). */
export async function overlayPng(a: Analysis, maxWidth = 1024): Promise<Buffer> {
  const { width, height } = a.data.image;
  const scale = maxWidth > 0 ? overlayScaleFor(width, maxWidth) : 1;
  const img = await runChunked(
    overlaySteps({
      width,
      height,
      depth: a.normalized.depth,
      heat: a.heat,
      threshold: a.threshold,
      regions: a.data.regions,
      shielding: a.data.shieldingSuspects,
      scale,
    }),
  );
  return encodeOverlayPng(img);
}
