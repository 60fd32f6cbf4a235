/**
 * The decode stage of a replay in its own thread (see replay-stage.ts): reads the file, frames,
 * decodes and times every line, and posts batches of numbers to the main thread, which tracks,
 * decides and prints. Credit-based flow control: at most `credits` batches are in flight, so a
 * fast reader cannot pile a whole file up in the main thread's queue. The credits are a counter
 * in shared memory, not messages: a `postMessage` from the busy main thread cost about 1 ms each
 * (measured: 163 credits, 86–240 ms of a 2.6–3.8 s replay).
 */
import { createReadStream } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { createDecodeStage, type Batch } from './replay-stage.js';

export interface ReplayWorkerData {
  readonly path: string;
  readonly baseDayMs: number;
  readonly utcOffsetMinutes: number;
  /** `[0]`: batches the main thread will still take; on a SharedArrayBuffer. */
  readonly credits: Int32Array;
}

export type ReplayWorkerMessage =
  | {
      readonly type: 'batch';
      readonly entries: Float64Array;
      readonly count: number;
      readonly texts: string[];
    }
  | { readonly type: 'end' }
  | { readonly type: 'error'; readonly message: string };

const READ_CHUNK = 256 * 1024;

/** `Atomics.waitAsync` (Node ≥ 16; not in the ES2023 lib the project compiles against). */
type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

async function run(port: NonNullable<typeof parentPort>, data: ReplayWorkerData): Promise<void> {
  const credits = data.credits;
  const post = (batch: Batch): void => {
    Atomics.sub(credits, 0, 1);
    const message: ReplayWorkerMessage = { type: 'batch', ...batch };
    port.postMessage(message, [batch.entries.buffer as ArrayBuffer]);
  };
  const stage = createDecodeStage(
    { baseDayMs: data.baseDayMs, utcOffsetMinutes: data.utcOffsetMinutes },
    post,
  );
  for await (const chunk of createReadStream(data.path, {
    highWaterMark: READ_CHUNK,
  }) as AsyncIterable<Buffer>) {
    stage.push(chunk);
    for (let c = Atomics.load(credits, 0); c <= 0; c = Atomics.load(credits, 0)) {
      const wait = waitAsync(credits, 0, c);
      if (!wait.async) continue;
      // A pending waitAsync does not keep a thread alive; a timer does.
      const alive = setInterval(() => undefined, 60_000);
      await wait.value;
      clearInterval(alive);
    }
  }
  stage.end();
  port.postMessage({ type: 'end' } satisfies ReplayWorkerMessage);
}

if (parentPort) {
  const port = parentPort;
  run(port, workerData as ReplayWorkerData).catch((error: unknown) => {
    port.postMessage({
      type: 'error',
      message: error instanceof Error ? error.message : String(error),
    } satisfies ReplayWorkerMessage);
  });
}
