/**
 * The model in a worker thread (analysis-worker.ts), as a ScoreRunner: the gateway's and
 * `analyze`'s way to run it. A scan's analysis is a pipeline over the two threads: this thread
 * prepares it in short slices (scan-feed.ts: normalize, preview, shielding, overlay) and hands
 * each tile over as soon as its rows of depth are final — the worker cuts it from the depth,
 * which is shared with it, while this thread goes on — so the preparation hides behind the
 * inference; after the last tile the worker finishes the scan (regions, suspects, overlay
 * marks). The depth, block means and pictures stay in buffers reused from scan to scan (the
 * depth, the means and the overlay shared with the worker). Failures keep their codes:
 * MODEL_INVALID for a model the runtime rejects (at start) or whose output breaks the contract,
 * INFERENCE_FAILED for the rest.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { GatewayError, type ErrorCode } from '../core/errors.js';
import type { LeasedResult, ModelInfo, RunnerOptions, ScoreBatch, ScoreRunner } from './onnx-runtime.js';
import { feedScan, newFeedWorkspace, type TileIo } from './scan-feed.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';

/** The compiled worker: beside this module in dist/, or dist/'s copy when running from sources (tests). */
function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  const file = here.endsWith('.ts')
    ? fileURLToPath(new URL('../../dist/src/imaging/analysis-worker.js', import.meta.url))
    : fileURLToPath(new URL('./analysis-worker.js', import.meta.url));
  if (!existsSync(file))
    throw new Error(`the analysis worker ${file} is missing: build it first (npm run build)`);
  return file;
}

const gatewayError = (code: string, message: string): GatewayError =>
  new GatewayError(code as ErrorCode, message);

/** A buffer the worker may take over: the view's own, or a copy when it is a view into more. */
function ownBuffer(view: Float32Array): ArrayBuffer {
  const whole = view.byteOffset === 0 && view.byteLength === view.buffer.byteLength;
  return (whole ? view.buffer : view.slice().buffer) as ArrayBuffer;
}

/** The worker's share of a scan's result. */
type WorkerFinish = Extract<FromWorker, { type: 'analysis' }>;

type Pending = { resolve: (value: ScoreBatch | WorkerFinish) => void; reject: (error: Error) => void };

const round2 = (v: number): number => Math.round(v * 100) / 100;

export async function createWorkerRunner(
  bytes: Uint8Array,
  options: RunnerOptions = {},
): Promise<ScoreRunner> {
  // A copy (Buffer#slice would share memory), so transferring it leaves the caller's bytes alone.
  const init: WorkerInit = { model: new Uint8Array(bytes).buffer, threads: options.threads ?? 1 };
  const worker = new Worker(workerFile(), { workerData: init, transferList: [init.model] });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let dead: Error | null = null;
  const failAll = (error: Error): void => {
    dead ??= error;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  const settle = (id: number): Pending | undefined => {
    const p = pending.get(id);
    pending.delete(id);
    return p;
  };
  const info = await new Promise<ModelInfo>((resolve, reject) => {
    worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'ready') resolve(msg.info);
      else if (msg.type === 'failed')
        reject(gatewayError(msg.code, `onnxruntime rejected the model: ${msg.message}`));
      else if (msg.type === 'result') {
        settle(msg.id)?.resolve({ data: new Float32Array(msg.buffer), dims: msg.dims, runMs: msg.runMs });
      } else if (msg.type === 'analysis') settle(msg.id)?.resolve(msg);
      else settle(msg.id)?.reject(gatewayError(msg.code, `inference failed: ${msg.message}`));
    });
    worker.once('error', (error) => {
      const e = new GatewayError(
        'INFERENCE_FAILED',
        `inference worker crashed: ${error.message}`,
        {},
        { cause: error },
      );
      failAll(e);
      reject(e);
    });
    worker.once('exit', () => {
      const e = new GatewayError('INFERENCE_FAILED', 'inference worker exited');
      failAll(e);
      reject(e);
    });
  }).catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });

  // Each request's reply type is fixed by its message type ('run' → ScoreBatch, 'finish' → WorkerFinish).
  const call = <T extends ScoreBatch | WorkerFinish>(
    message: ToWorker & { id: number },
    transfer: ArrayBuffer[],
  ): Promise<T> => {
    if (dead) return Promise.reject(dead);
    return new Promise<T>((resolve, reject) => {
      pending.set(message.id, { resolve: (value) => resolve(value as T), reject });
      worker.postMessage(message, transfer);
    });
  };

  /** The depth buffer the worker has (it cuts tiles from it): sent again when the workspace grows. */
  let sharedDepth: SharedArrayBuffer | null = null;
  const workspace = newFeedWorkspace();
  let analyses: Promise<unknown> = Promise.resolve();
  /** The analysis under way (closing waits for it: its tiles are not all with the worker yet). */
  let current: Promise<unknown> = Promise.resolve();
  return {
    info,
    run(tiles, count) {
      const buffer = ownBuffer(tiles);
      return call<ScoreBatch>({ type: 'run', id: nextId++, buffer, length: tiles.length, count }, [buffer]);
    },
    analyzePixels(job, hooks) {
      // One scan in the workspace at a time: the next starts once this one's pictures are released.
      let release = (): void => undefined;
      const released = new Promise<void>((resolve) => (release = resolve));
      const next = analyses.then(async (): Promise<LeasedResult> => {
        const id = nextId++;
        const { width, height } = job.image;
        let failure: Error | null = null;
        const finished = new Promise<WorkerFinish>((resolve, reject) => {
          if (dead) reject(dead);
          else pending.set(id, { resolve: (value) => resolve(value as WorkerFinish), reject });
        });
        finished.catch((error: Error) => {
          failure = error;
        });
        const io: TileIo = {
          send(first, count, depth) {
            if (failure !== null) throw failure;
            const buffer = depth.buffer as SharedArrayBuffer;
            if (buffer !== sharedDepth) {
              sharedDepth = buffer;
              worker.postMessage({ type: 'depth', buffer } satisfies ToWorker);
            }
            worker.postMessage({ type: 'tiles', id, width, height, first, count } satisfies ToWorker);
          },
        };
        try {
          const fed = await feedScan(job, info, io, workspace, hooks?.onPreview);
          worker.postMessage({ type: 'finish', id, job: fed.finish } satisfies ToWorker);
          const done = await finished;
          const timings = {
            preprocessMs: round2(fed.preprocessMs),
            inferenceMs: round2(done.inferenceMs),
            postprocessMs: round2(fed.postprocessMs + done.postprocessMs),
            shieldingMs: round2(fed.shieldingMs + done.shieldingMs),
          };
          const { regions, shieldingSuspects, maxScore } = done;
          return {
            regions,
            shieldingSuspects,
            maxScore,
            overlay: fed.overlay,
            preview: fed.preview,
            timings,
            release,
          };
        } catch (error) {
          pending.delete(id);
          if (!dead) worker.postMessage({ type: 'drop', id } satisfies ToWorker);
          throw error;
        }
      });
      current = next.catch(() => undefined);
      analyses = next.then(
        () => released,
        () => undefined,
      );
      return next;
    },
    async close() {
      await current;
      if (dead) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage({ type: 'close' } satisfies ToWorker);
      const timer = setTimeout(() => void worker.terminate(), 2000);
      await exited;
      clearTimeout(timer);
    },
  };
}
