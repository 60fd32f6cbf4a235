/**
 * The two ways the outbox's writes reach the database (see outbox-store.ts): a worker thread
 * that owns the writing connection of a database on disk, or — for a database in memory, which
 * no other connection can see — the same writer run on this thread, its replies deferred so
 * callers see the same asynchronous order.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import {
  OutboxWriter,
  type OutboxWorkerData,
  type WriterBatch,
  type WriterReply,
  WRITER_FORMAT,
} from '../bridge/outbox-worker.js';
import type { Db } from './database.js';

/** How long a synchronous wait for the writer (shutdown) may take at most, ms. */
const SYNC_WAIT_MS = 30_000;

/** The writer in a worker thread (a database on disk). */
export class WorkerWriter {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly done = new Int32Array(new SharedArrayBuffer(4));
  private posted = 0;
  private settled = 0;
  private exited: Error | null = null;

  constructor(
    file: string,
    private readonly onReply: (reply: WriterReply) => void,
  ) {
    const channel = new MessageChannel();
    this.port = channel.port1;
    const data: OutboxWorkerData = {
      outboxWriter: true,
      format: WRITER_FORMAT,
      file,
      port: channel.port2,
      done: this.done.buffer,
    };
    this.worker = new Worker(outboxWorkerFile(), { workerData: data, transferList: [channel.port2] });
    this.worker.unref();
    this.port.on('message', (reply: WriterReply) => this.receive(reply));
    this.port.unref();
    const fail = (error: Error): void => {
      this.exited ??= error;
      const missing: number[] = [];
      for (let b = this.settled + 1; b <= this.posted; b++) missing.push(b);
      this.drain();
      if (missing.length > 0) this.receive({ batches: missing, error: String(error) });
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the outbox writer exited (code ${code})`)));
  }

  post(batch: WriterBatch): void {
    if (this.exited) {
      const error = this.exited;
      this.posted = batch.batch;
      queueMicrotask(() => this.receive({ batches: [batch.batch], error: String(error) }));
      return;
    }
    this.posted = batch.batch;
    if (this.posted - this.settled === 1) this.port.ref();
    this.port.postMessage(batch);
  }

  waitFor(batch: number): void {
    const deadline = Date.now() + SYNC_WAIT_MS;
    while (!this.exited && Atomics.load(this.done, 0) < batch) {
      if (Date.now() > deadline) throw new Error('the outbox writer did not finish in time');
      Atomics.wait(this.done, 0, Atomics.load(this.done, 0), 100);
    }
    this.drain();
  }

  stop(): void {
    this.exited ??= new Error('the outbox writer was stopped');
    this.port.close();
    void this.worker.terminate();
  }

  private drain(): void {
    for (let m = receiveMessageOnPort(this.port); m !== undefined; m = receiveMessageOnPort(this.port)) {
      this.receive(m.message as WriterReply);
    }
  }

  private receive(reply: WriterReply): void {
    for (const b of reply.batches) if (b > this.settled) this.settled = b;
    if (this.settled >= this.posted) this.port.unref();
    this.onReply(reply);
  }
}

/** The writer on this thread (a database in memory: no other connection can see it). */
export class InlineWriter {
  private readonly writer: OutboxWriter;
  private queue: WriterReply[] = [];

  constructor(
    db: Db,
    private readonly onReply: (reply: WriterReply) => void,
  ) {
    this.writer = new OutboxWriter(db);
  }

  post(batch: WriterBatch): void {
    let reply: WriterReply = { batches: [batch.batch] };
    try {
      this.writer.apply([batch]);
    } catch (error) {
      reply = { batches: [batch.batch], error: String(error) };
    }
    this.queue.push(reply);
    if (this.queue.length === 1) setImmediate(() => this.waitFor());
  }

  waitFor(): void {
    const replies = this.queue;
    this.queue = [];
    for (const r of replies) this.onReply(r);
  }

  stop(): void {
    this.waitFor();
  }
}

/**
 * The compiled writer: beside this module's compiled sibling, or — running from TypeScript
 * sources (tests, the ts-loader) — in dist/, which `npm run build` (and the tests' global setup)
 * produces. A worker thread cannot run TypeScript by itself.
 */
function outboxWorkerFile(): string {
  const here = fileURLToPath(import.meta.url);
  const file = here.endsWith('.ts')
    ? join(dirname(here), '../../dist/src/bridge/outbox-worker.js')
    : join(dirname(here), '../bridge/outbox-worker.js');
  if (!existsSync(file)) {
    throw new Error(`the outbox writer ${file} is missing: build it first (npm run build)`);
  }
  return file;
}
