/**
 * The main thread's share of a pipelined analysis (worker-runner.ts). The model's worker thread
 * only runs tiles; everything else happens here, in slices of about a millisecond with a turn of
 * the event loop between them (SPEC §7: no stall), on the core the worker leaves free:
 *
 * 1. calibrate (pulse gains from the air rows; each row's gain from its air columns, strip by
 *    strip), then normalize in strips of rows, into a depth in the model's units shared with the
 *    worker; each tile is handed to the worker (by index: it cuts the tile from the depth) as soon
 *    as its rows are final, so the model runs tile k while this thread normalizes the rows of
 *    the next ones. When the image is still being decoded (png-stream.ts), the calibration waits
 *    for the air rows only and each strip for its own rows, so the first tiles run while the
 *    decode goes on; a failed decode ends the feed with its error;
 * 2. once the first tile is out, behind the depth, strip by strip while its rows are still in
 *    this core's cache: the 8-bit preview (when asked for), the shielding detector's block means
 *    and the overlay's grey, the last two in buffers shared with the worker;
 * 3. after its last tile, the worker finishes the scan ({@link finishScan}: regions, shielding
 *    suspects from the block means, heat and boxes drawn into the shared overlay). Those run
 *    once per scan, so they stay in the worker: on this thread their first runs (before the JIT
 *    has optimized them) would leave megabytes of boxed numbers in the gateway's young heap.
 *
 * Same results as pipeline.ts's `analyzePixels` (one piece, in-process), byte for byte: the
 * same functions over the same rows, only in another order.
 */
import { calibrateHead, calibrateRows, depthRows, finalRows, headRows, repairReady } from './normalize.js';
import type { ModelInfo } from './onnx-runtime.js';
import {
  overlayGreyRows,
  overlayMarks,
  previewAir,
  renderPreview,
  type GreyImage,
  type OverlayImage,
  type OverlayInput,
} from './overlay.js';
import { DEPTH_UNIT, pictureSizes, type PixelJob, type PixelOptions } from './pipeline.js';
import { heatRegions, maxHeat } from './regions.js';
import { BLOCK_SIDE, blockGrid, blockMeanRows, shieldingFromMeans } from './shielding.js';
import { planTiles, type HeatMap } from './tiling.js';
import type { ScoredRegion, ShieldingSuspect } from './types.js';

/** How tiles reach the model's worker. */
export interface TileIo {
  /**
   * Hand tiles [first, first + count), whose rows of `depth` (in memory shared with the worker)
   * are final, to the model, which cuts them from it. Throws once the analysis has failed.
   */
  send(first: number, count: number, depth: Float32Array): void;
}

/**
 * Buffers kept from one scan to the next (one analysis at a time; grown, never shrunk). The
 * depth, the block means and the overlay are shared with the worker: it cuts tiles from the
 * depth and finishes the rest.
 */
export interface FeedWorkspace {
  depth: Float32Array;
  means: SharedArrayBuffer;
  rgb: SharedArrayBuffer;
  grey: Uint8Array;
}

export function newFeedWorkspace(): FeedWorkspace {
  return {
    depth: new Float32Array(new SharedArrayBuffer(0)),
    means: new SharedArrayBuffer(0),
    rgb: new SharedArrayBuffer(0),
    grey: new Uint8Array(0),
  };
}

/** What the worker needs to finish a scan: plain data and the shared buffers. */
export interface FinishJob {
  readonly width: number;
  readonly height: number;
  readonly options: PixelOptions;
  /** The shielding detector's 4 × 4 block means (its first cols × rows values). */
  readonly means: SharedArrayBuffer;
  /** The overlay, grey drawn (its first width × height × 3 bytes at the overlay's scale). */
  readonly rgb: SharedArrayBuffer;
}

/** A scan prepared and fed: the job the worker finishes, and this thread's share of the result. */
export interface FedScan {
  readonly finish: FinishJob;
  readonly overlay: OverlayImage;
  readonly preview: GreyImage | null;
  readonly preprocessMs: number;
  readonly shieldingMs: number;
  readonly postprocessMs: number;
}

/** What the worker's {@link finishScan} adds. */
export interface Finished {
  readonly regions: ScoredRegion[];
  readonly shieldingSuspects: ShieldingSuspect[];
  readonly maxScore: number;
  readonly shieldingMs: number;
  readonly postprocessMs: number;
}

/** After the last tile, where the heat map is: regions, suspects, heat and boxes into the overlay. */
export function finishScan(job: FinishJob, heat: HeatMap): Finished {
  const { width: W, height: H, options } = job;
  let t = performance.now();
  const grid = blockGrid(W, H, new Float32Array(job.means));
  const shieldingSuspects = shieldingFromMeans(grid, W, { ...options.shielding, depthScale: DEPTH_UNIT });
  const shieldingMs = performance.now() - t;
  t = performance.now();
  const regions = heatRegions(heat, W, H, { threshold: options.threshold, minCells: options.minRegionCells });
  const sizes = pictureSizes(W, H, options);
  const input: OverlayInput = {
    width: W,
    height: H,
    depth: new Float32Array(0), // the grey is already drawn
    scale: sizes.overlayScale,
    heat,
    threshold: options.threshold,
    regions,
    shielding: shieldingSuspects,
  };
  overlayMarks(input, new Uint8Array(job.rgb, 0, sizes.overlayBytes));
  const postprocessMs = performance.now() - t;
  return { regions, shieldingSuspects, maxScore: maxHeat(heat), shieldingMs, postprocessMs };
}

/** Rows of depth per slice (≈ 130 k pixels for a 2048-wide scan). */
const STRIP_ROWS = 64;
/** Output rows of the overlay's grey or the preview per slice. */
const PICTURE_ROWS = 32;
/** Block rows (4 pixel rows each) of the shielding means per slice. */
const BLOCK_ROWS = 32;

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function grow<T extends Float32Array | Uint8Array>(buffer: T, length: number, make: (n: number) => T): T {
  return buffer.length >= length ? buffer : make(length);
}

/**
 * Prepare a scan and feed its tiles to the model; resolves when every tile has been handed over
 * and the preview, shielding and overlay grey are done (the model may still be running the last
 * tiles). `onPreview` gets the preview as soon as it is drawn (a view into the workspace).
 */
export async function feedScan(
  job: PixelJob,
  info: ModelInfo,
  io: TileIo,
  ws: FeedWorkspace,
  onPreview?: (preview: GreyImage) => void,
): Promise<FedScan> {
  const { image, options, rows } = job;
  const { width: W, height: H, data } = image;
  // A streamed decode: only the rows the calibration reads (the air rows at the top) are awaited.
  await rows?.whenRows(headRows(H, options.normalize));
  let t = performance.now();
  // Only the air rows and pulse gains here: each strip's rows are calibrated with their depth, so
  // the first tile is not kept waiting for the rows below it.
  const cal = calibrateHead(image, { ...options.normalize, depthScale: DEPTH_UNIT });
  ws.depth = grow(ws.depth, W * H, (n) => new Float32Array(new SharedArrayBuffer(n * 4)));
  const depth = ws.depth.subarray(0, W * H);
  let preprocessMs = performance.now() - t;
  let shieldingMs = 0;
  let postprocessMs = 0;

  const layout = planTiles(W, H, info.tile, info.margin);
  const T = info.tile;
  const core = T - 2 * info.margin;
  const needs = (index: number): number =>
    Math.min(H, Math.floor(index / layout.cols) * core - info.margin + T);

  const sizes = pictureSizes(W, H, options);
  if (ws.rgb.byteLength < sizes.overlayBytes) ws.rgb = new SharedArrayBuffer(sizes.overlayBytes);
  const rgb = new Uint8Array(ws.rgb, 0, sizes.overlayBytes);
  const overlayRows = Math.floor(H / sizes.overlayScale);
  const blocks = Math.floor(W / BLOCK_SIDE) * Math.floor(H / BLOCK_SIDE);
  if (ws.means.byteLength < blocks * 4) ws.means = new SharedArrayBuffer(blocks * 4);
  const grid = blockGrid(W, H, new Float32Array(ws.means, 0, blocks));

  // The pictures and the shielding means, drawn row by row behind the depth: each slice right
  // after the strip whose rows it reads, while they are still in this core's cache (passes over
  // the whole 8 MB depth afterwards slowed the model's runs on the other core by a few ms a
  // scan), and the preview is ready to encode long before the model's last tile.
  /** Image rows with their depth, of which [0, final) are final (bad rows repaired); tiles sent. */
  let done = 0;
  let repaired = 0;
  let final = 0;
  let next = 0;
  let preview: GreyImage | null = null;
  const k = sizes.previewScale;
  const pw = Math.floor(W / k);
  const ph = options.preview ? Math.floor(H / k) : 0;
  if (options.preview) ws.grey = grow(ws.grey, sizes.previewBytes, (n) => new Uint8Array(n));
  const grey = ws.grey.subarray(0, pw * ph);
  const { polarity, airValue, darkValue } = options.normalize;
  // Without an air value the preview's is estimated from the whole image: drawn once all is decoded.
  let air = airValue;
  const look = { width: W, depth, scale: sizes.overlayScale, depthScale: DEPTH_UNIT };
  const scale = sizes.overlayScale;
  /** Output rows of the preview and the overlay, and block rows of the means, done so far. */
  let previewRows = 0;
  let overlayDone = 0;
  let blockRows = 0;
  const pictured = (): boolean =>
    previewRows === ph && overlayDone === overlayRows && blockRows === grid.rows;
  /** Draw what the final depth rows [0, final) allow, up to one strip's rows of each; false if nothing could be. */
  const drawBehind = (): boolean => {
    let drew = false;
    if (air === undefined && done === H) air = previewAir(image);
    const py1 = air === undefined ? 0 : Math.min(ph, Math.floor(done / k), previewRows + PICTURE_ROWS);
    if (py1 > previewRows) {
      const y0 = previewRows;
      const part = { width: W, height: (py1 - y0) * k, data: data.subarray(y0 * k * W, py1 * k * W) };
      const o = { polarity, airValue: air!, scale: k, into: grey.subarray(y0 * pw, py1 * pw) };
      renderPreview(part, darkValue !== undefined ? { ...o, darkValue } : o);
      previewRows = py1;
      drew = true;
      if (py1 === ph) {
        preview = { grey, width: pw, height: ph };
        onPreview?.(preview);
      }
    }
    const b1 = Math.min(grid.rows, Math.floor(final / BLOCK_SIDE), blockRows + BLOCK_ROWS);
    if (b1 > blockRows) {
      const s = performance.now();
      blockMeanRows(depth, W, grid, blockRows, b1);
      shieldingMs += performance.now() - s;
      blockRows = b1;
      drew = true;
    }
    const o1 = Math.min(overlayRows, Math.floor(final / scale), overlayDone + PICTURE_ROWS);
    if (o1 > overlayDone) {
      const s = performance.now();
      overlayGreyRows(look, rgb, overlayDone, o1);
      postprocessMs += performance.now() - s;
      overlayDone = o1;
      drew = true;
    }
    return drew;
  };

  // Tiles first, as soon as their rows are final (handing one over costs nothing here: the worker
  // cuts it from the shared depth); then the depth, up to the next row of tiles; then the
  // pictures behind the depth, once the first tile is out; then more depth; wait only for rows
  // still being decoded.
  const batch = Math.max(1, Math.min(options.batchTiles, layout.count));
  const sendReady = (): void => {
    for (let n = Math.min(batch, layout.count - next); n > 0 && final >= needs(next + n - 1);) {
      io.send(next, n, depth);
      next += n;
      n = Math.min(batch, layout.count - next);
    }
  };
  const drawing = (): boolean => next > 0 || done === H;
  /**
   * The depth comes before the pictures until it reaches the first tile of the next row of
   * tiles: drawn first, they would hold back that row's depth while the model runs out of tiles.
   */
  const depthFirst = (): boolean =>
    done < H && final < needs(Math.min(layout.count - 1, (Math.floor(next / layout.cols) + 1) * layout.cols));
  const stripEnd = (): number => Math.min(H, done + STRIP_ROWS);
  const stripReady = (): boolean => rows === undefined || rows.rows >= stripEnd();
  const strip = (): void => {
    const end = stripEnd();
    t = performance.now();
    calibrateRows(cal, end);
    depthRows(cal, data, depth, done, end);
    done = end;
    repaired = repairReady(cal, depth, done, repaired);
    final = finalRows(cal, done, repaired);
    preprocessMs += performance.now() - t;
    sendReady();
  };
  while (next < layout.count || done < H || !pictured()) {
    await turn();
    if (depthFirst() && stripReady()) strip();
    else if (drawing() && drawBehind()) continue;
    else if (done < H) {
      if (stripReady()) strip();
      else await rows!.whenRows(stripEnd()); // rejects, ending the feed, when the decode fails
    } else {
      // The depth is whole, so every tile went with its last strip and every picture's rows are
      // final: drawBehind always has something to draw until the pictures are done.
      throw new Error(
        `scan feed stalled with ${next} of ${layout.count} tiles sent and its pictures unfinished`,
      );
    }
  }

  return {
    finish: { width: W, height: H, options, means: ws.means, rgb: ws.rgb },
    overlay: { rgb, width: Math.floor(W / sizes.overlayScale), height: overlayRows },
    preview,
    preprocessMs,
    shieldingMs,
    postprocessMs,
  };
}
