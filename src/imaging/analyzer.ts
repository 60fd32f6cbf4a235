/**
 * The imaging pipeline (SPEC §1.3, §5): normalize → tile → model → heat map → regions, beside it
 * the shielding detector, and the overlay picture; the result is the `imaging.scan.analyzed`
 * data. The runner does every per-pixel step (with a worker runner — the gateway and `analyze` —
 * pipelined: this thread prepares the scan in short slices while the worker runs the model,
 * scan-feed.ts); this module checks the scan, has sharp encode the pictures (libuv pool, off
 * the event loop; the preview's as soon as it is drawn, while the model still runs) and
 * assembles the event data. Decoding happens before, or goes on while the analysis starts (a
 * streamed PNG: the pixel steps wait for the rows they read, and a failed decode fails the analysis).
 */
import { GatewayError } from '../core/errors.js';
import type { ScoreRunner } from './onnx-runtime.js';
import { releaseScanMemory } from './release.js';
import { encodePng } from './overlay.js';
import type { ShieldingOptions } from './shielding.js';
import type { Energy, Scan, ScanAnalyzedData } from './types.js';

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
  /**
   * Analyze one scan (its images are only read). `decodeMs`: the time before the analysis began
   * (the decode, or with a streamed decode the opening of the images, whose decode's own time
   * is then reported); counted in `totalMs`.
   */
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
      // The preview PNG is encoded (sharp, libuv pool) as soon as its pixels are drawn, while the
      // model is still running.
      const encoding: { preview?: Promise<Buffer> } = {};
      const pixels = await runner.analyzePixels(
        {
          image: high,
          ...(scan.decoding !== undefined ? { rows: scan.decoding.high } : {}),
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
            preview: wantPreview,
          },
        },
        {
          onPreview: (picture) => {
            encoding.preview = encodePng(picture);
            encoding.preview.catch(() => undefined);
          },
        },
      );
      // The overlay is encoded (sharp, off the event loop) straight from the runner's buffer.
      const t = performance.now();
      let overlay: Buffer;
      let preview: Buffer | null = null;
      // A streamed decode: its time (it overlapped the analysis), and a failure of any image.
      let decodedMs = decodeMs;
      try {
        overlay = await encodePng(pixels.overlay);
        if (pixels.preview !== null) preview = await (encoding.preview ?? encodePng(pixels.preview));
        if (scan.decoding !== undefined) decodedMs = Math.round((await scan.decoding.done) * 100) / 100;
      } finally {
        pixels.release();
      }
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
          decodeMs: decodedMs,
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

/** The overlay PNG of an analysis (its size was set by the analyzer's `overlayMaxWidth`). */
export function overlayPng(a: Analysis): Promise<Buffer> {
  return Promise.resolve(a.overlay);
}

/** The 8-bit preview PNG of an analysis made with `preview: true`. */
export function previewPng(a: Analysis): Promise<Buffer> {
  if (a.preview === null) return Promise.reject(new Error('the analyzer was not asked for a preview'));
  return Promise.resolve(a.preview);
}
