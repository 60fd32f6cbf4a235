/**
 * The main thread's side of replay's decode worker (replay-worker.ts): starts it on a file and
 * yields its batches in order, returning each batch's credit when the caller is done with it
 * (a counter in shared memory: see replay-worker.ts). Without a compiled worker (running from
 * TypeScript sources) `replayWorkerFile` says so and replay decodes in-process.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Batch, StageOptions } from './replay-stage.js';
import type { ReplayWorkerData, ReplayWorkerMessage } from './replay-worker.js';

/** The compiled worker beside this module, or null when running from TypeScript sources. */
export function replayWorkerFile(): string | null {
  if (!import.meta.url.endsWith('.js')) return null;
  const file = fileURLToPath(new URL('./replay-worker.js', import.meta.url));
  return existsSync(file) ? file : null;
}

/** Batches from the decode worker, in order; `done()` returns the batch's credit. */
export async function* decodeInWorker(
  workerFile: string,
  path: string,
  stage: StageOptions,
): AsyncGenerator<{ value: Batch; done: () => void }> {
  const data: ReplayWorkerData = {
    path,
    baseDayMs: stage.baseDayMs,
    utcOffsetMinutes: stage.utcOffsetMinutes ?? 0,
    credits: new Int32Array(new SharedArrayBuffer(4)),
  };
  Atomics.store(data.credits, 0, 4);
  const worker = new Worker(workerFile, { workerData: data });
  const queue: ReplayWorkerMessage[] = [];
  let wake: (() => void) | null = null;
  const state: { failure: Error | null } = { failure: null };
  const notify = (): void => {
    wake?.();
    wake = null;
  };
  worker.on('message', (message: ReplayWorkerMessage) => {
    queue.push(message);
    notify();
  });
  worker.on('error', (error) => {
    state.failure = error;
    notify();
  });
  worker.on('exit', (code) => {
    // It exits after posting `end`; an exit before that is a failure, whatever its code.
    state.failure ??= new Error(`the replay decode worker exited early (code ${code})`);
    notify();
  });
  try {
    for (;;) {
      const message = queue.shift();
      if (message === undefined) {
        if (state.failure !== null) throw state.failure;
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      if (message.type === 'end') return;
      if (message.type === 'error') throw new Error(message.message);
      yield {
        value: message,
        done: () => {
          Atomics.add(data.credits, 0, 1);
          Atomics.notify(data.credits, 0);
        },
      };
    }
  } finally {
    await worker.terminate();
  }
}
