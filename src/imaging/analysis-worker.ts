/**
 * The analysis worker thread (started by worker-runner.ts): owns the ONNX session and runs every
 * per-pixel step of a scan (pipeline.ts) beside it, so the gateway's main thread only shares the
 * decoded pixels and gets back regions, suspects and the finished pictures. The pixels are read
 * from, and the pictures drawn into, buffers shared with the main thread and reused for every
 * scan (the main thread sends one analysis at a time), so a scan allocates almost nothing here.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createInProcessRunner, type ScoreBatch, type ScoreRunner } from './onnx-runtime.js';
import { analyzePixels, newWorkspace } from './pipeline.js';
import { errorReply, type FromWorker, type ToWorker, type WorkerInit } from './worker-protocol.js';

const port = parentPort!;
const init = workerData as WorkerInit;
const reply = (message: FromWorker, transfer: ArrayBuffer[] = []): void =>
  port.postMessage(message, transfer);

let runner: ScoreRunner | null = null;
const workspace = newWorkspace();
const ready = createInProcessRunner(new Uint8Array(init.model), { threads: init.threads }).then(
  (r) => {
    runner = r;
    reply({ type: 'ready', info: r.info });
  },
  (error: unknown) => reply({ type: 'failed', ...errorReply(error, 'MODEL_INVALID') }),
);

async function handle(msg: ToWorker, r: ScoreRunner): Promise<void> {
  if (msg.type === 'run') {
    const out = await r.run(new Float32Array(msg.buffer, 0, msg.length), msg.count);
    const own = out.data.byteOffset === 0 && out.data.byteLength === out.data.buffer.byteLength;
    const data = own ? out.data : out.data.slice();
    const buffer = data.buffer as ArrayBuffer;
    reply({ type: 'result', id: msg.id, buffer, dims: [...out.dims], runMs: out.runMs }, [buffer]);
  } else if (msg.type === 'analyze') {
    const image = { width: msg.width, height: msg.height, data: new Uint16Array(msg.pixels, 0, msg.length) };
    workspace.pictures = new Uint8Array(msg.pictures);
    const run = (tiles: Float32Array, count: number): Promise<ScoreBatch> => r.run(tiles, count);
    const result = await analyzePixels({ image, options: msg.options }, r.info, run, workspace);
    // The pictures are views into the shared buffer: they travel as views, not copies.
    reply({ type: 'analysis', id: msg.id, result });
  }
}

/** Requests in flight: closing waits for them, so a session is never released mid-analysis. */
const inFlight = new Set<Promise<void>>();

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
    try {
      await handle(msg, runner);
    } catch (error) {
      reply({ type: 'error', id: msg.id, ...errorReply(error, 'INFERENCE_FAILED') });
    }
  })();
  inFlight.add(done);
  done.finally(() => inFlight.delete(done)).catch(() => undefined);
});
