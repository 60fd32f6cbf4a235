import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { defaultModelPath } from '../../src/imaging/model-store.js';
import {
  createInProcessRunner,
  createWorkerRunner,
  type ScoreRunner,
} from '../../src/imaging/onnx-runtime.js';

/** The default model's two runners, made before the file's tests and closed after them. */
export interface ModelRunners {
  /** In-process: the one-piece analysis (pipeline.ts), the reference. */
  readonly local: ScoreRunner;
  /** In a worker thread: the pipelined analysis (scan-feed.ts), as the gateway runs it. */
  readonly worker: ScoreRunner;
}

export function useModelRunners(): ModelRunners {
  const runners: { local?: ScoreRunner; worker?: ScoreRunner } = {};
  beforeAll(async () => {
    const bytes = await readFile(defaultModelPath());
    runners.local = await createInProcessRunner(bytes);
    runners.worker = await createWorkerRunner(bytes);
  });
  afterAll(async () => {
    await runners.local?.close();
    await runners.worker?.close();
  });
  return {
    get local() {
      return runners.local!;
    },
    get worker() {
      return runners.worker!;
    },
  };
}

/** 'ok', or the code of the GatewayError the promise rejects with. */
export async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    expect(e).toBeInstanceOf(GatewayError);
    return (e as GatewayError).code;
  }
}
