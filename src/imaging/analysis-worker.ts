/**
 * The model's worker thread (started by worker-runner.ts): owns the ONNX session and runs tiles
 * as the main thread hands them over (scan-feed.ts), stitching each tile's scores into the scan's
 * heat map; after the last tile it finishes the scan (regions, shielding suspects, overlay marks,
 * in buffers shared with the main thread). Each tile is cut here from the scan's depth (shared with
 * the main thread, already in the model's units: a copy of its rows, ~0.1 ms a tile) into this
 * thread's input buffer for the runtime, which refuses shared memory. Requests run one at a
 * time, in arrival order; the main thread is meanwhile normalizing the rows of the next tiles.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { GatewayError } from '../core/errors.js';
import { createInProcessRunner, type ScoreRunner } from './onnx-runtime.js';
import { finishScan, type FinishJob } from './scan-feed.js';
import {
  emptyHeat,
  extractTile,
  planTiles,
  stitchTile,
  strideFor,
  type HeatMap,
  type TileLayout,
} from './tiling.js';
import { errorReply, type FromWorker, type ToWorker, type WorkerInit } from './worker-protocol.js';

const port = parentPort!;
const init = workerData as WorkerInit;
const reply = (message: FromWorker, transfer: ArrayBuffer[] = []): void =>
  port.postMessage(message, transfer);

let runner: ScoreRunner | null = null;
const ready = createInProcessRunner(new Uint8Array(init.model), { threads: init.threads }).then(
  (r) => {
    runner = r;
    reply({ type: 'ready', info: r.info });
  },
  (error: unknown) => reply({ type: 'failed', ...errorReply(error, 'MODEL_INVALID') }),
);

/** A scan whose tiles are arriving. */
interface ScanState {
  readonly layout: TileLayout;
  heat: HeatMap | null;
  tilesDone: number;
  inferenceMs: number;
  failed: boolean;
}
const scans = new Map<number, ScanState>();
/** The analysis's depth, shared with the main thread, and this thread's tiles for the runtime (which refuses shared memory). */
let depth: SharedArrayBuffer | null = null;
let input = new Float32Array(0);

async function runTiles(msg: Extract<ToWorker, { type: 'tiles' }>, r: ScoreRunner): Promise<void> {
  let scan = scans.get(msg.id);
  if (scan === undefined) {
    scan = {
      layout: planTiles(msg.width, msg.height, r.info.tile, r.info.margin),
      heat: null,
      tilesDone: 0,
      inferenceMs: 0,
      failed: false,
    };
    scans.set(msg.id, scan);
  }
  const { layout } = scan;
  const T = layout.tile;
  try {
    if (!scan.failed) {
      const t = performance.now();
      const length = msg.count * T * T;
      if (depth === null || depth.byteLength < msg.width * msg.height * 4)
        throw new Error('tiles before their depth');
      if (input.length < length) input = new Float32Array(length);
      const tiles = input.subarray(0, length);
      const values = new Float32Array(depth, 0, msg.width * msg.height);
      for (let k = 0; k < msg.count; k++) extractTile(values, layout, msg.first + k, 1, tiles, k * T * T);
      const out = await r.run(tiles, msg.count);
      const stride = strideFor(layout, out.dims, msg.count);
      if (stride === null)
        throw new GatewayError(
          'MODEL_INVALID',
          `model output [${out.dims.join(', ')}] does not meet the contract [N, 1, T/s, T/s] for ${msg.count} tile(s) of ${T}`,
          { dims: out.dims },
        );
      scan.heat ??= emptyHeat(layout, stride);
      const cells = (T / stride) ** 2;
      for (let k = 0; k < msg.count; k++) stitchTile(scan.heat, out.data, k * cells, layout, msg.first + k);
      scan.inferenceMs += performance.now() - t;
    }
  } catch (error) {
    scan.failed = true;
    reply({ type: 'error', id: msg.id, ...errorReply(error, 'INFERENCE_FAILED') });
  }
  scan.tilesDone += msg.count;
}

function finish(id: number, job: FinishJob): void {
  const scan = scans.get(id);
  scans.delete(id);
  // A failed scan has had its error already.
  if (scan === undefined || scan.failed) return;
  if (scan.heat === null || scan.tilesDone < scan.layout.count)
    throw new Error(`scan ${id}: finish before its last tile (${scan.tilesDone} of ${scan.layout.count})`);
  const done = finishScan(job, scan.heat);
  reply({ type: 'analysis', id, ...done, inferenceMs: scan.inferenceMs });
}

async function handle(msg: ToWorker, r: ScoreRunner): Promise<void> {
  if (msg.type === 'run') {
    const out = await r.run(new Float32Array(msg.buffer, 0, msg.length), msg.count);
    const own = out.data.byteOffset === 0 && out.data.byteLength === out.data.buffer.byteLength;
    const data = own ? out.data : out.data.slice();
    const buffer = data.buffer as ArrayBuffer;
    reply({ type: 'result', id: msg.id, buffer, dims: [...out.dims], runMs: out.runMs }, [buffer]);
  } else if (msg.type === 'depth') depth = msg.buffer;
  else if (msg.type === 'tiles') await runTiles(msg, r);
  else if (msg.type === 'finish') finish(msg.id, msg.job);
  else if (msg.type === 'drop') scans.delete(msg.id);
}

/** Requests in flight: closing waits for them, so a session is never released mid-run. */
const inFlight = new Set<Promise<void>>();
/** Requests run one at a time, in arrival order (a scan's tiles share its heat map). */
let queue: Promise<void> = Promise.resolve();

port.on('message', (msg: ToWorker) => {
  const done = (async () => {
    await ready;
    if (msg.type === 'close') {
      await Promise.all([...inFlight].filter((p) => p !== done));
      await runner?.close();
      port.close();
      return;
    }
    if (runner === null) return;
    const r = runner;
    const turn = queue.then(() => handle(msg, r));
    queue = turn.catch(() => undefined);
    try {
      await turn;
    } catch (error) {
      if ('id' in msg) reply({ type: 'error', id: msg.id, ...errorReply(error, 'INFERENCE_FAILED') });
    }
  })();
  inFlight.add(done);
  done.finally(() => inFlight.delete(done)).catch(() => undefined);
});
