/**
 * The decode stage of a replay in its own thread (see replay-stage.ts): reads the file, frames,
 * decodes and times every line, and posts batches of numbers to the main thread, which tracks,
 * decides and prints. Credit-based flow control: at most `credits` batches are in flight, so a
 * fast reader cannot pile a whole file up in the main thread's queue.
 */
import { createReadStream } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { createDecodeStage, type Batch } from './replay-stage.js';

export interface ReplayWorkerData {
  readonly path: string;
  readonly baseDayMs: number;
  readonly utcOffsetMinutes: number;
  readonly credits: number;
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

async function run(port: NonNullable<typeof parentPort>, data: ReplayWorkerData): Promise<void> {
  let credits = data.credits;
  let wake: (() => void) | null = null;
  port.on('message', (message: { type: 'credit' }) => {
    if (message.type !== 'credit') return;
    credits++;
    wake?.();
    wake = null;
  });
  const post = (batch: Batch): void => {
    credits--;
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
    while (credits <= 0) await new Promise<void>((resolve) => (wake = resolve));
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
