/**
 * The ONNX runtime, behind this one module. A model runs either in-process (tests, the bench's
 * bare `session.run` floor) or — in the gateway and `analyze` — in a worker thread, so the event
 * loop never waits on inference (SPEC §7). Both take the same tile batch and give the same
 * score maps. Input/output contract (docs/imaging.md): float32 input [N, 1, T, T], float32
 * output [N, 1, T/s, T/s]; names are taken from the model.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { GatewayError } from '../core/errors.js';
import { readModelHeader } from './model/onnx-proto.js';

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
  close(): Promise<void>;
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

const SESSION_OPTIONS = (threads: number): ort.InferenceSession.SessionOptions => ({
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  // No arena: the gateway's RSS budget matters more than the allocator's reuse (SPEC §7 memory).
  enableCpuMemArena: false,
});

/** In-process runner: session.run on the calling thread (tests, bench floor). */
export async function createInProcessRunner(
  bytes: Uint8Array,
  options: RunnerOptions = {},
): Promise<ScoreRunner & { session: ort.InferenceSession }> {
  const info = describeModel(bytes);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, SESSION_OPTIONS(options.threads ?? 1));
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
  return {
    info,
    session,
    async run(tiles, count) {
      const input = new ort.Tensor('float32', tiles, [count, 1, info.tile, info.tile]);
      const t0 = performance.now();
      const out = await session.run({ [inputName]: input });
      const runMs = performance.now() - t0;
      const o = out[outputName]!;
      return { data: o.data as Float32Array, dims: o.dims, runMs };
    },
    async close() {
      await session.release();
    },
  };
}

/**
 * The worker's code, kept as CommonJS source so it runs the same from TypeScript sources
 * (tests) and from dist/ (production) with no loader; it requires onnxruntime-node by the
 * path resolved here.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
let session;
const ready = ort.InferenceSession.create(new Uint8Array(workerData.model), workerData.sessionOptions).then(
  (s) => { session = s; parentPort.postMessage({ type: 'ready', inputName: s.inputNames[0], outputName: s.outputNames[0] }); },
  (e) => parentPort.postMessage({ type: 'failed', message: String((e && e.message) || e) }),
);
parentPort.on('message', async (msg) => {
  if (msg.type === 'close') { await ready; if (session) await session.release(); parentPort.close(); return; }
  try {
    const input = new ort.Tensor('float32', new Float32Array(msg.buffer, 0, msg.length), msg.dims);
    const t0 = performance.now();
    const out = await session.run({ [session.inputNames[0]]: input });
    const runMs = performance.now() - t0;
    const o = out[session.outputNames[0]];
    const copy = new Float32Array(o.data);
    parentPort.postMessage({ type: 'result', id: msg.id, buffer: copy.buffer, dims: o.dims, runMs }, [copy.buffer]);
  } catch (e) {
    parentPort.postMessage({ type: 'error', id: msg.id, message: String((e && e.message) || e) });
  }
});
`;

type WorkerReply =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; buffer: ArrayBuffer; dims: number[]; runMs: number }
  | { type: 'error'; id: number; message: string };

/** Worker runner: the session lives in a worker thread; tiles are transferred, not copied. */
export async function createWorkerRunner(
  bytes: Uint8Array,
  options: RunnerOptions = {},
): Promise<ScoreRunner> {
  const info = describeModel(bytes);
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      ortPath,
      model: bytes.slice().buffer,
      sessionOptions: SESSION_OPTIONS(options.threads ?? 1),
    },
  });
  const pending = new Map<number, { resolve: (b: ScoreBatch) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let dead: Error | null = null;
  const failAll = (error: Error): void => {
    dead = error;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  await new Promise<void>((resolve, reject) => {
    const onMessage = (msg: WorkerReply): void => {
      if (msg.type === 'ready') resolve();
      else if (msg.type === 'failed')
        reject(new GatewayError('MODEL_INVALID', `onnxruntime rejected the model: ${msg.message}`));
      else if (msg.type === 'result') {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        p?.resolve({ data: new Float32Array(msg.buffer), dims: msg.dims, runMs: msg.runMs });
      } else {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        p?.reject(new GatewayError('INFERENCE_FAILED', `inference failed: ${msg.message}`));
      }
    };
    worker.on('message', onMessage);
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
    worker.once('exit', () => failAll(new GatewayError('INFERENCE_FAILED', 'inference worker exited')));
  }).catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });
  return {
    info,
    run(tiles, count) {
      if (dead) return Promise.reject(dead);
      const id = nextId++;
      const own =
        tiles.byteOffset === 0 && tiles.byteLength === tiles.buffer.byteLength ? tiles : tiles.slice();
      return new Promise<ScoreBatch>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage(
          { type: 'run', id, buffer: own.buffer, length: own.length, dims: [count, 1, info.tile, info.tile] },
          [own.buffer as ArrayBuffer],
        );
      });
    },
    async close() {
      if (dead) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage({ type: 'close' });
      const timer = setTimeout(() => void worker.terminate(), 2000);
      await exited;
      clearTimeout(timer);
    },
  };
}
