import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/core/errors.js';
import { DEPTH_SCALE } from '../../../src/imaging/model/architecture.js';
import { defaultModelPath } from '../../../src/imaging/model-store.js';
import { normalizeScan } from '../../../src/imaging/normalize.js';
import { createInProcessRunner, createWorkerRunner } from '../../../src/imaging/onnx-runtime.js';
import { extractTiles, planTiles } from '../../../src/imaging/tiling.js';
import { matches } from '../../../src/imaging/evaluate.js';
import type { ScanAnalyzedData } from '../../../src/imaging/types.js';
import { dropScan } from '../../../simulators/scanner/inbox-writer.js';
import { makePhantom } from '../../../simulators/scanner/phantom.js';
import { runCli } from '../../support/run-cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rpm-analyze-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('rpm-gateway analyze', () => {
  it('prints the imaging.scan.analyzed data and writes the overlay', async () => {
    const p = makePhantom({ seed: 'cli-1', width: 512, height: 256, anomalies: ['dense'], energies: 2 });
    await dropScan(dir, p, { scanId: 'CLI1', lane: 'lane-3', time: Date.parse('2024-05-01T10:00:00Z') });
    const overlay = join(dir, 'overlay.png');
    const r = await runCli(['analyze', join(dir, 'CLI1.json'), '--json', '--overlay', overlay]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout) as ScanAnalyzedData & { type: string };
    expect(d).toMatchObject({
      type: 'imaging.scan.analyzed',
      scanId: 'CLI1',
      lane: 'lane-3',
      time: '2024-05-01T10:00:00.000Z',
      image: { width: 512, height: 256, energies: ['high', 'low'] },
      model: { id: 'rpm-xray-patch-gmm-v1', opset: 17 },
    });
    const dense = p.truth[0]!;
    expect(d.shieldingSuspects.some((s) => matches(dense, s))).toBe(true);
    expect(d.regions.some((s) => matches(dense, s))).toBe(true);
    for (const k of [
      'decodeMs',
      'preprocessMs',
      'inferenceMs',
      'postprocessMs',
      'shieldingMs',
      'totalMs',
    ] as const)
      expect(d.timings[k]).toBeGreaterThanOrEqual(0);
    const meta = await sharp(await readFile(overlay)).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', 512, 256, 3]);
  });

  it('analyzes a bare image and a DICOS file; bad input gives a clear error and exit 1', async () => {
    const p = makePhantom({ seed: 'cli-2', width: 256, height: 128 });
    await dropScan(dir, p, { scanId: 'CLI2', format: 'dicos' });
    const r = await runCli(['analyze', join(dir, 'CLI2.dcm')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/256 × 128 \(high\), model rpm-xray-patch-gmm-v1/);
    await writeFile(join(dir, 'junk.png'), Buffer.from('\x89PNG\r\n\x1a\n not really', 'latin1'));
    const bad = await runCli(['analyze', join(dir, 'junk.png')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/IMAGE_CORRUPT/);
    expect((await runCli(['analyze'])).code).toBe(2);
    const model = await runCli(['analyze', join(dir, 'junk.png'), '--model', join(dir, 'junk.png')]);
    expect(model.stderr).toMatch(/MODEL_INVALID/);
  });
});

describe('inference in a worker thread', () => {
  it('gives the in-process result, and the event loop keeps turning meanwhile', async () => {
    const bytes = await readFile(defaultModelPath());
    const p = makePhantom({ seed: 'worker', width: 1024, height: 512 });
    const n = normalizeScan(p.high, {
      polarity: 'transmission',
      airValue: p.airValue,
      darkValue: p.darkValue,
    });
    const local = await createInProcessRunner(bytes);
    const worker = await createWorkerRunner(bytes);
    try {
      const layout = planTiles(1024, 512, local.info.tile, local.info.margin);
      const a = await local.run(extractTiles(n.depth, layout, 1 / DEPTH_SCALE), layout.count);
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      const b = await worker.run(extractTiles(n.depth, layout, 1 / DEPTH_SCALE), layout.count);
      clearInterval(timer);
      expect(b.dims).toEqual(a.dims);
      expect(b.data).toEqual(new Float32Array(a.data));
      // The loop ran timers while the worker inferred (a blocking run would allow at most one).
      expect(ticks).toBeGreaterThan(1);
    } finally {
      await local.close();
      await worker.close();
    }
  });

  it('refuses a file that is not an ONNX model', async () => {
    await expect(createWorkerRunner(Buffer.from('not a model at all'))).rejects.toBeInstanceOf(GatewayError);
  });
});
