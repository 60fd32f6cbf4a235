/**
 * Every per-pixel step of a scan's analysis, in one place: normalize → tile by tile (extract →
 * model → stitch into the heat map) → regions, the shielding detector, the overlay and the
 * preview pictures. In the gateway this runs inside the model's worker thread (analysis-worker.ts),
 * next to the ONNX session, so the main thread only posts the decoded pixels and receives
 * results: no long loops, no large copies, no stalls on the event loop (SPEC §7).
 *
 * Tiles go to the model one (or `batchTiles`) at a time: a 1-tile batch keeps the runtime's
 * working set in cache and its memory small — measured faster than one 18-tile batch — and the
 * tile buffer, the depth buffer and the log table are reused from scan to scan (`Workspace`).
 */
import { GatewayError } from '../core/errors.js';
import { DEPTH_SCALE } from './model/architecture.js';
import { normalizeScan, type NormalizeOptions } from './normalize.js';
import type { ModelInfo, ScoreBatch } from './onnx-runtime.js';
import {
  overlayScaleFor,
  renderOverlay,
  renderPreview,
  type GreyImage,
  type OverlayImage,
} from './overlay.js';
import { heatRegions, maxHeat } from './regions.js';
import { detectShielding, type ShieldingOptions } from './shielding.js';
import { emptyHeat, extractTile, planTiles, stitchTile, strideFor, type HeatMap } from './tiling.js';
import type { Image16, RowProgress, ScoredRegion, ShieldingSuspect } from './types.js';

/** What the pipeline needs besides the pixels: plain data, so it can be posted to a worker. */
export interface PixelOptions {
  readonly normalize: NormalizeOptions;
  readonly shielding: ShieldingOptions;
  /** Region threshold on the model score. */
  readonly threshold: number;
  /** Smallest heat-map component reported, in cells. */
  readonly minRegionCells: number;
  /** Tiles per session.run. */
  readonly batchTiles: number;
  /** Widest overlay picture (integer down-scaling); 0 = full size. */
  readonly overlayMaxWidth: number;
  /** Render the 8-bit preview of the original image too. */
  readonly preview: boolean;
}

export interface PixelJob {
  readonly image: Image16;
  readonly options: PixelOptions;
  /**
   * When the image is still being decoded: its rows as they come. The pipelined analysis
   * (scan-feed.ts) waits for the rows each step needs; in one piece, for all of them.
   */
  readonly rows?: RowProgress;
}

export interface PixelTimings {
  readonly preprocessMs: number;
  readonly inferenceMs: number;
  readonly postprocessMs: number;
  readonly shieldingMs: number;
}

export interface PixelResult {
  readonly regions: ScoredRegion[];
  readonly shieldingSuspects: ShieldingSuspect[];
  readonly maxScore: number;
  readonly overlay: OverlayImage;
  readonly preview: GreyImage | null;
  readonly timings: PixelTimings;
}

/**
 * How the pipeline reaches the model: one batch of tiles, N × 1 × T × T, at a time. The tiles'
 * buffer is the workspace's: it must be read during the call, not kept or transferred.
 */
export type RunTiles = (tiles: Float32Array, count: number) => Promise<ScoreBatch>;

/** Buffers kept from one scan to the next (one analysis at a time per workspace). */
export interface Workspace {
  depth: Float32Array;
  tiles: Float32Array;
}

export function newWorkspace(): Workspace {
  return { depth: new Float32Array(0), tiles: new Float32Array(0) };
}

export interface PictureSizes {
  readonly overlayScale: number;
  readonly overlayBytes: number;
  readonly previewScale: number;
  readonly previewBytes: number;
}

export function pictureSizes(width: number, height: number, options: PixelOptions): PictureSizes {
  const overlayScale = options.overlayMaxWidth > 0 ? overlayScaleFor(width, options.overlayMaxWidth) : 1;
  const previewScale = overlayScaleFor(width, 1024);
  const area = (k: number): number => Math.floor(width / k) * Math.floor(height / k);
  return {
    overlayScale,
    overlayBytes: area(overlayScale) * 3,
    previewScale,
    previewBytes: options.preview ? area(previewScale) : 0,
  };
}

/**
 * The analysis keeps its depth in the model's input units (μ / DEPTH_SCALE, normalize.ts's
 * `depthScale`): a tile is then a plain copy of it, and the shielding detector and the overlay
 * read it in those units.
 */
export const DEPTH_UNIT = 1 / DEPTH_SCALE;

const since = (t0: number): number => performance.now() - t0;
const round2 = (v: number): number => Math.round(v * 100) / 100;

/** Grow a workspace buffer when a scan needs more than it holds (never shrinks). */
function ensure(buffer: Float32Array, length: number): Float32Array {
  return buffer.length >= length ? buffer : new Float32Array(length);
}

export async function analyzePixels(
  job: PixelJob,
  info: ModelInfo,
  run: RunTiles,
  ws: Workspace = newWorkspace(),
): Promise<PixelResult> {
  const { image, options } = job;
  const { width: W, height: H } = image;
  await job.rows?.whenRows(H);
  let t = performance.now();
  ws.depth = ensure(ws.depth, W * H);
  const { depth } = normalizeScan(image, { ...options.normalize, depthScale: DEPTH_UNIT }, ws.depth);
  let preprocessMs = since(t);

  const layout = planTiles(W, H, info.tile, info.margin);
  const T = info.tile;
  const batch = Math.max(1, Math.min(options.batchTiles, layout.count));
  ws.tiles = ensure(ws.tiles, batch * T * T);
  let heat: HeatMap | null = null;
  let inferenceMs = 0;
  for (let first = 0; first < layout.count; first += batch) {
    const n = Math.min(batch, layout.count - first);
    t = performance.now();
    for (let k = 0; k < n; k++) extractTile(depth, layout, first + k, 1, ws.tiles, k * T * T);
    preprocessMs += since(t);
    t = performance.now();
    const out = await run(ws.tiles.subarray(0, n * T * T), n);
    const stride = strideFor(layout, out.dims, n);
    if (stride === null)
      throw new GatewayError(
        'MODEL_INVALID',
        `model output [${out.dims.join(', ')}] does not meet the contract [N, 1, T/s, T/s] for ${n} tile(s) of ${T}`,
        { dims: out.dims },
      );
    heat ??= emptyHeat(layout, stride);
    const cells = (T / stride) ** 2;
    for (let k = 0; k < n; k++) stitchTile(heat, out.data, k * cells, layout, first + k);
    inferenceMs += since(t);
  }

  t = performance.now();
  const shieldingSuspects = detectShielding(depth, W, H, { ...options.shielding, depthScale: DEPTH_UNIT });
  const shieldingMs = since(t);

  t = performance.now();
  const regions = heatRegions(heat!, W, H, {
    threshold: options.threshold,
    minCells: options.minRegionCells,
  });
  const sizes = pictureSizes(W, H, options);
  const overlay = renderOverlay({
    width: W,
    height: H,
    depth,
    depthScale: DEPTH_UNIT,
    heat: heat!,
    threshold: options.threshold,
    regions,
    shielding: shieldingSuspects,
    scale: sizes.overlayScale,
  });
  const preview = options.preview
    ? renderPreview(image, {
        polarity: options.normalize.polarity,
        ...(options.normalize.airValue !== undefined ? { airValue: options.normalize.airValue } : {}),
        ...(options.normalize.darkValue !== undefined ? { darkValue: options.normalize.darkValue } : {}),
        scale: sizes.previewScale,
      })
    : null;
  const postprocessMs = since(t);
  return {
    regions,
    shieldingSuspects,
    maxScore: maxHeat(heat!),
    overlay,
    preview,
    timings: {
      preprocessMs: round2(preprocessMs),
      inferenceMs: round2(inferenceMs),
      postprocessMs: round2(postprocessMs),
      shieldingMs: round2(shieldingMs),
    },
  };
}
