/**
 * Messages between the main thread (worker-runner.ts) and the analysis worker
 * (analysis-worker.ts). A scan's pixels go through one shared buffer reused from scan to scan;
 * tiles, scores and the finished pictures travel in transfer lists. Nothing large is cloned.
 */
import type { ModelInfo } from './onnx-runtime.js';
import type { PixelOptions, PixelResult } from './pipeline.js';

export interface WorkerInit {
  /** The model file's bytes. */
  readonly model: ArrayBuffer;
  readonly threads: number;
}

export type ToWorker =
  | { type: 'run'; id: number; buffer: ArrayBuffer; length: number; count: number }
  | {
      type: 'analyze';
      id: number;
      width: number;
      height: number;
      /** The 16-bit pixels: the first `length` samples of the shared slot. */
      pixels: SharedArrayBuffer;
      length: number;
      /** Where the worker draws the overlay and preview (shared, reused). */
      pictures: SharedArrayBuffer;
      options: PixelOptions;
    }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; info: ModelInfo }
  | { type: 'failed'; code: string; message: string }
  | { type: 'result'; id: number; buffer: ArrayBuffer; dims: number[]; runMs: number }
  | { type: 'analysis'; id: number; result: PixelResult }
  | { type: 'error'; id: number; code: string; message: string };

/** A thrown value as a code and a message (GatewayError codes survive the thread boundary). */
export function errorReply(error: unknown, fallback: string): { code: string; message: string } {
  const e = error as { code?: unknown; message?: unknown } | null;
  return {
    code: typeof e?.code === 'string' && /^[A-Z_]+$/.test(e.code) ? e.code : fallback,
    message: typeof e?.message === 'string' ? e.message : String(error),
  };
}
