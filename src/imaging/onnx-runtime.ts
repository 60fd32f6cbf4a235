/**
 * The ONNX runtime, behind this one module. A model runs either in-process (tests, the bench's
 * bare `session.run` floor, and inside the analysis worker) or — in the gateway and `analyze` —
 * in a worker thread (worker-runner.ts) that also does every per-pixel step of a scan, so the
 * event loop never waits on inference or pixel loops (SPEC §7). Both give the same score maps
 * and the same analyses. Input/output contract (docs/imaging.md): float32 input [N, 1, T, T],
 * float32 output [N, 1, T/s, T/s]; names are taken from the model.
 */
import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { GatewayError } from '../core/errors.js';
import { readModelHeader } from './model/onnx-proto.js';
import type { GreyImage } from './overlay.js';
import { analyzePixels, newWorkspace, type PixelJob, type PixelResult } from './pipeline.js';

export { createWorkerRunner } from './worker-runner.js';

export interface ModelInfo {
  readonly id: string;
  readonly sha256: string;
  /** Default-domain opset. */
  readonly opset: number;
  readonly tile: number;
  readonly margin: number;
  /** Region threshold on the score (metadata `score_threshold`, default 1). */
  readonly threshold: number;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface ScoreBatch {
  readonly data: Float32Array;
  readonly dims: readonly number[];
  /** Time inside session.run. */
  readonly runMs: number;
}

export interface ScoreRunner {
  readonly info: ModelInfo;
  /** Run N tiles (N × 1 × T × T). The buffer may be transferred (detached) by a worker runner. */
  run(tiles: Float32Array, count: number): Promise<ScoreBatch>;
  /**
   * Every per-pixel step of one scan and the model: in one piece where the model lives
   * (pipeline.ts, in-process), or pipelined over this thread and the model's worker
   * (scan-feed.ts, worker runner) — the same results either way. The image is only read.
   * Analyses run one at a time, in call order. The result's pictures may be views into buffers
   * the runner reuses: call `release()` once they are encoded; the next analysis waits for it.
   */
  analyzePixels(job: PixelJob, hooks?: AnalysisHooks): Promise<LeasedResult>;
  close(): Promise<void>;
}

export interface AnalysisHooks {
  /** The preview (with `preview: true`) as soon as it is drawn, before the analysis ends; valid until `release()`. */
  readonly onPreview?: (preview: GreyImage) => void;
}

export interface LeasedResult extends PixelResult {
  release(): void;
}

export interface RunnerOptions {
  /** Threads for one inference (intra-op). Default 1: the gateway shares its cores. */
  readonly threads?: number;
}

/** Read a model's identity and tiling parameters; MODEL_INVALID if it is not an ONNX model. */
export function describeModel(bytes: Uint8Array, fallbackId = 'user-model'): ModelInfo {
  let header;
  try {
    header = readModelHeader(bytes);
  } catch (error) {
    throw new GatewayError(
      'MODEL_INVALID',
      `not an ONNX model: ${(error as Error).message}`,
      {},
      { cause: error },
    );
  }
  const opset = header.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0;
  if (header.irVersion === 0 || opset === 0)
    throw new GatewayError('MODEL_INVALID', 'not an ONNX model: no IR version or opset');
  const num = (key: string, fallback: number): number => {
    const v = Number(header.metadata[key]);
    return Number.isFinite(v) && v > 0 ? v : fallback;
  };
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return {
    id: header.metadata.model_id ?? `${fallbackId}-${sha256.slice(0, 12)}`,
    sha256,
    opset,
    tile: num('tile', 512),
    margin: num('margin', 80),
    threshold: num('score_threshold', 1),
    metadata: header.metadata,
  };
}

export const sessionOptions = (threads: number): ort.InferenceSession.SessionOptions => ({
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  // No arena, no memory pattern: with 1-tile batches (pipeline.ts) a run costs the same CPU
  // either way, and nothing stays reserved between scans.
  enableCpuMemArena: false,
  enableMemPattern: false,
});

/** In-process runner: session.run on the calling thread (tests, bench floor). */
export async function createInProcessRunner(
  bytes: Uint8Array,
  options: RunnerOptions = {},
): Promise<ScoreRunner & { session: ort.InferenceSession }> {
  const info = describeModel(bytes);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, sessionOptions(options.threads ?? 1));
  } catch (error) {
    throw new GatewayError(
      'MODEL_INVALID',
      `onnxruntime rejected the model: ${(error as Error).message}`,
      {},
      { cause: error },
    );
  }
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  const run = async (tiles: Float32Array, count: number): Promise<ScoreBatch> => {
    const input = new ort.Tensor('float32', tiles, [count, 1, info.tile, info.tile]);
    const t0 = performance.now();
    const out = await session.run({ [inputName]: input });
    const runMs = performance.now() - t0;
    const o = out[outputName]!;
    return { data: o.data as Float32Array, dims: o.dims, runMs };
  };
  // One analysis at a time: they share the workspace's buffers.
  const workspace = newWorkspace();
  let queue: Promise<unknown> = Promise.resolve();
  return {
    info,
    session,
    run,
    analyzePixels(job, hooks) {
      // Pictures are fresh buffers here: nothing to release.
      const next = queue.then(async () => {
        const result = await analyzePixels(job, info, run, workspace);
        if (result.preview !== null) hooks?.onPreview?.(result.preview);
        return { ...result, release: () => undefined };
      });
      queue = next.catch(() => undefined);
      return next;
    },
    async close() {
      await queue;
      await session.release();
    },
  };
}
