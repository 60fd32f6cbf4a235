/**
 * The model in a worker thread (analysis-worker.ts), as a ScoreRunner: the gateway's and
 * `analyze`'s way to run it. The main thread never loops over pixels: a scan's pixels are
 * copied (one memcpy) into a shared slot the worker reads, reused for every scan so neither
 * thread leaves megabytes of garbage per scan for its GC; tiles, scores and pictures move by
 * transfer. Failures keep their codes: MODEL_INVALID for a model the runtime rejects (at start)
 * or whose output breaks the contract, INFERENCE_FAILED for the rest.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { GatewayError, type ErrorCode } from '../core/errors.js';
import type { LeasedResult, ModelInfo, RunnerOptions, ScoreBatch, ScoreRunner } from './onnx-runtime.js';
import { pictureBytes, type PixelResult } from './pipeline.js';
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

type Pending = { resolve: (value: ScoreBatch | PixelResult) => void; reject: (error: Error) => void };

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
      } else if (msg.type === 'analysis') settle(msg.id)?.resolve(msg.result);
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

  // Each request's reply type is fixed by its message type ('run' → ScoreBatch, 'analyze' → PixelResult).
  const call = <T extends ScoreBatch | PixelResult>(
    message: ToWorker & { id: number },
    transfer: ArrayBuffer[],
  ): Promise<T> => {
    if (dead) return Promise.reject(dead);
    return new Promise<T>((resolve, reject) => {
      pending.set(message.id, { resolve: (value) => resolve(value as T), reject });
      worker.postMessage(message, transfer);
    });
  };

  // Shared with the worker and reused for every scan: the pixels in, the pictures out.
  let pixels = new SharedArrayBuffer(0);
  let pictures = new SharedArrayBuffer(0);
  let analyses: Promise<unknown> = Promise.resolve();
  return {
    info,
    run(tiles, count) {
      const buffer = ownBuffer(tiles);
      return call<ScoreBatch>({ type: 'run', id: nextId++, buffer, length: tiles.length, count }, [buffer]);
    },
    analyzePixels({ image, options: pixelOptions }) {
      // One scan in the slots at a time: the next is copied in once this one's pictures are released.
      let release = (): void => undefined;
      const released = new Promise<void>((resolve) => (release = resolve));
      const next = analyses.then(async (): Promise<LeasedResult> => {
        const length = image.data.length;
        if (pixels.byteLength < length * 2) pixels = new SharedArrayBuffer(length * 2);
        new Uint16Array(pixels, 0, length).set(image.data);
        const bytes = pictureBytes(image.width, image.height, pixelOptions);
        if (pictures.byteLength < bytes) pictures = new SharedArrayBuffer(bytes);
        const message: ToWorker & { id: number } = {
          type: 'analyze',
          id: nextId++,
          width: image.width,
          height: image.height,
          pixels,
          length,
          pictures,
          options: pixelOptions,
        };
        return { ...(await call<PixelResult>(message, [])), release };
      });
      analyses = next.then(
        () => released,
        () => undefined,
      );
      return next;
    },
    async close() {
      if (dead) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage({ type: 'close' } satisfies ToWorker);
      const timer = setTimeout(() => void worker.terminate(), 2000);
      await exited;
      clearTimeout(timer);
    },
  };
}
