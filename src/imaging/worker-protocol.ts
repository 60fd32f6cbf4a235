/**
 * Messages between the main thread (worker-runner.ts) and the model's worker
 * (analysis-worker.ts). The worker cuts a scan's tiles from its depth, a buffer shared with it:
 * a tile is handed over by its index once its rows are final (transferring a buffer per tile
 * made V8 count it as new external memory each time, and the extra scavenges promoted decoded
 * scans); 'run' batches and scores travel in transfer lists. Nothing large is cloned.
 */
import type { ModelInfo } from './onnx-runtime.js';
import type { FinishJob } from './scan-feed.js';
import type { ScoredRegion, ShieldingSuspect } from './types.js';

export interface WorkerInit {
  /** The model file's bytes. */
  readonly model: ArrayBuffer;
  readonly threads: number;
}

export type ToWorker =
  | { type: 'run'; id: number; buffer: ArrayBuffer; length: number; count: number }
  /** The analysis's depth (shared, reused for every scan; sent again when it grows), in the model's units. */
  | { type: 'depth'; buffer: SharedArrayBuffer }
  /**
   * Tiles [first, first + count) of scan `id` (a width × height image), whose rows of depth are
   * final: to cut from the depth, run and stitch into the scan's heat map.
   */
  | { type: 'tiles'; id: number; width: number; height: number; first: number; count: number }
  /** After scan `id`'s last tiles: finish it (regions, suspects, overlay marks); 'analysis' answers. */
  | { type: 'finish'; id: number; job: FinishJob }
  /** Forget scan `id` (its feeding failed). */
  | { type: 'drop'; id: number }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; info: ModelInfo }
  | { type: 'failed'; code: string; message: string }
  | { type: 'result'; id: number; buffer: ArrayBuffer; dims: number[]; runMs: number }
  | {
      type: 'analysis';
      id: number;
      regions: ScoredRegion[];
      shieldingSuspects: ShieldingSuspect[];
      maxScore: number;
      /** Time in session.run and stitching, summed over the scan's tiles. */
      inferenceMs: number;
      shieldingMs: number;
      postprocessMs: number;
    }
  | { type: 'error'; id: number; code: string; message: string };

/** A thrown value as a code and a message (GatewayError codes survive the thread boundary). */
export function errorReply(error: unknown, fallback: string): { code: string; message: string } {
  const e = error as { code?: unknown; message?: unknown } | null;
  return {
    code: typeof e?.code === 'string' && /^[A-Z_]+$/.test(e.code) ? e.code : fallback,
    message: typeof e?.message === 'string' ? e.message : String(error),
  };
}
