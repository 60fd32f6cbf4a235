/**
 * The imaging pipeline (SPEC §1.3, §5): normalize → tile → model → heat map → regions, beside it
 * the shielding detector, and the overlay picture; the result is the `imaging.scan.analyzed`
 * data. Every per-pixel step of the analysis runs where the model runs (pipeline.ts): with a
 * worker runner — the gateway and `analyze` — that is the worker thread, and this module only
 * checks the scan, hands its pixels over, has sharp encode the finished pictures (libuv pool,
 * off the event loop) and assembles the event data. The one exception is the 8-bit preview,
 * which needs only the decoded pixels: it is rendered here in short slices while the worker
 * infers, so it costs no time on the scan's critical path. Decoding happens before.
 */
import { GatewayError } from '../core/errors.js';
import type { ScoreRunner } from './onnx-runtime.js';
import { releaseScanMemory } from './release.js';
import { encodePng, overlayScaleFor, previewAir, renderPreview, type GreyImage } from './overlay.js';
import type { ShieldingOptions } from './shielding.js';
import type { Energy, Image16, Polarity, Scan, ScanAnalyzedData } from './types.js';

export interface AnalyzerOptions {
  readonly runner: ScoreRunner;
  readonly shielding?: ShieldingOptions;
  /** Smallest heat-map component reported, in cells. Default 3. */
  readonly minRegionCells?: number;
  /** Override the model's region threshold. */
  readonly threshold?: number;
  /** Tiles per session.run. Default 1: fastest measured, and the runtime's memory stays small. */
  readonly batchTiles?: number;
  /** Widest overlay picture, by integer down-scaling; 0 = full size. Default 1024 (a console panel). */
  readonly overlayMaxWidth?: number;
  /** Also render the 8-bit preview of the original image (the scanner service stores it). */
  readonly preview?: boolean;
}

export interface Analysis {
  readonly data: ScanAnalyzedData;
  /** The overlay picture as PNG ({@link overlayPng}). */
  readonly overlay: Buffer;
  /** The 8-bit preview as PNG when asked for ({@link previewPng}). */
  readonly preview: Buffer | null;
  readonly threshold: number;
}

export interface Analyzer {
  /** Analyze one scan (its images are only read). */
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
      const { width, height } = high;
      const wantPreview = options.preview ?? false;
      const result = runner.analyzePixels({
        image: high,
        options: {
          normalize: {
            polarity: meta.polarity,
            ...(meta.airValue !== undefined ? { airValue: meta.airValue } : {}),
            ...(meta.darkValue !== undefined ? { darkValue: meta.darkValue } : {}),
          },
          shielding: {
            ...(meta.pixelPitchMm !== undefined ? { pixelPitchMm: meta.pixelPitchMm } : {}),
            ...options.shielding,
          },
          threshold,
          minRegionCells: options.minRegionCells ?? 3,
          batchTiles: options.batchTiles ?? 1,
          overlayMaxWidth: options.overlayMaxWidth ?? 1024,
          // The preview depends only on the decoded pixels: made here, below, while the worker infers.
          preview: false,
        },
      });
      // The preview, meanwhile: rendered in short slices on this thread (the event loop stays
      // free) and encoded by sharp on the libuv pool, both idle while the worker runs the model.
      const previewJob = wantPreview
        ? previewPngOf(high, meta.polarity, meta.airValue, meta.darkValue)
        : null;
      previewJob?.catch(() => undefined);
      const pixels = await result;
      // The overlay is encoded (sharp, off the event loop) straight from the runner's buffer.
      const t = performance.now();
      let overlay: Buffer;
      try {
        overlay = await encodePng(pixels.overlay);
      } finally {
        pixels.release();
      }
      const preview = previewJob === null ? null : await previewJob;
      const encodeMs = performance.now() - t;
      releaseScanMemory();
      const energies: Energy[] = scan.low ? ['high', 'low'] : ['high'];
      const data: ScanAnalyzedData = {
        scanId: meta.scanId,
        lane: meta.lane ?? null,
        time: meta.time !== undefined ? new Date(meta.time).toISOString() : null,
        image: { width, height, energies },
        model: { id: runner.info.id, sha256: runner.info.sha256, opset: runner.info.opset },
        regions: pixels.regions,
        shieldingSuspects: pixels.shieldingSuspects,
        maxScore: pixels.maxScore,
        timings: {
          decodeMs,
          ...pixels.timings,
          postprocessMs: Math.round((pixels.timings.postprocessMs + encodeMs) * 100) / 100,
          totalMs: Math.round((decodeMs + performance.now() - start) * 100) / 100,
        },
        sources: scan.sources,
      };
      return { data, overlay, preview, threshold };
    },
  };
}

/** Output rows of the preview rendered per slice (≈ 130 k source pixels, about a millisecond). */
const PREVIEW_SLICE_ROWS = 32;

/**
 * The 8-bit preview PNG (half size for a 2048-wide scan, at most 1024 wide), rendered slice by
 * slice with a turn of the event loop between slices, then encoded by sharp (libuv pool).
 */
async function previewPngOf(
  image: Image16,
  polarity: Polarity,
  airValue: number | undefined,
  darkValue: number | undefined,
): Promise<Buffer> {
  const { width } = image;
  const k = overlayScaleFor(width, 1024);
  const W = Math.floor(width / k);
  const H = Math.floor(image.height / k);
  const air = airValue ?? previewAir(image);
  const grey = new Uint8Array(W * H);
  for (let y0 = 0; y0 < H; y0 += PREVIEW_SLICE_ROWS) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const y1 = Math.min(H, y0 + PREVIEW_SLICE_ROWS);
    const rows = { width, height: (y1 - y0) * k, data: image.data.subarray(y0 * k * width, y1 * k * width) };
    renderPreview(rows, {
      polarity,
      airValue: air,
      ...(darkValue !== undefined ? { darkValue } : {}),
      scale: k,
      into: grey.subarray(y0 * W, y1 * W),
    });
  }
  const picture: GreyImage = { grey, width: W, height: H };
  return encodePng(picture);
}

/** The overlay PNG of an analysis (its size was set by the analyzer's `overlayMaxWidth`). */
export function overlayPng(a: Analysis): Promise<Buffer> {
  return Promise.resolve(a.overlay);
}

/** The 8-bit preview PNG of an analysis made with `preview: true`. */
export function previewPng(a: Analysis): Promise<Buffer> {
  if (a.preview === null) return Promise.reject(new Error('the analyzer was not asked for a preview'));
  return Promise.resolve(a.preview);
}
