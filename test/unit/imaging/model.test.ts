import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEPTH_SCALE, FEATURES, MIXTURE_COMPONENTS, OPSET } from '../../../src/imaging/model/architecture.js';
import { featureAt, localStats } from '../../../src/imaging/model/features.js';
import { fitModel } from '../../../src/imaging/model/fit.js';
import { mixtureScore } from '../../../src/imaging/model/gmm.js';
import { readModelHeader } from '../../../src/imaging/model/onnx-proto.js';
import { defaultModelPath, readManifest } from '../../../src/imaging/model-store.js';
import { normalizeScan } from '../../../src/imaging/normalize.js';
import { createInProcessRunner, describeModel } from '../../../src/imaging/onnx-runtime.js';
import { extractTiles, planTiles } from '../../../src/imaging/tiling.js';
import { makePhantom } from '../../../simulators/scanner/phantom.js';
import { buildDefaultModel, phantomToModelImage } from '../../../simulators/scanner/train-model.js';

const small = (seed: string) => phantomToModelImage({ seed, width: 512, height: 256 });

describe('the project-built ONNX anomaly model', () => {
  it('the committed model matches its manifest (sha256, opset) and its header is readable', () => {
    const bytes = readFileSync(defaultModelPath());
    const manifest = readManifest()!;
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(manifest.sha256);
    const header = readModelHeader(bytes);
    expect(header.opsets).toContainEqual({ domain: '', version: OPSET });
    const info = describeModel(bytes);
    expect(info).toMatchObject({
      id: 'rpm-xray-patch-gmm-v1',
      opset: 17,
      tile: 512,
      margin: 80,
      threshold: 1,
    });
  });

  it('regenerating it from the simulator gives the same bytes (sha256)', () => {
    const fitted = buildDefaultModel();
    expect(fitted.sha256).toBe(readManifest()!.sha256);
  }, 240_000);

  it('golden outputs: a fixed phantom gives the recorded scores', async () => {
    const runner = await createInProcessRunner(readFileSync(defaultModelPath()));
    const p = makePhantom({ seed: 'golden', width: 512, height: 256, anomalies: ['dense'] });
    const n = normalizeScan(p.high, {
      polarity: 'transmission',
      airValue: p.airValue,
      darkValue: p.darkValue,
    });
    const layout = planTiles(512, 256, runner.info.tile, runner.info.margin);
    const out = await runner.run(extractTiles(n.depth, layout, 1 / DEPTH_SCALE), layout.count);
    await runner.close();
    expect(out.dims).toEqual([2, 1, 64, 64]);
    const mean = out.data.reduce((a, b) => a + b, 0) / out.data.length;
    expect(mean).toBeCloseTo(0.05113, 3);
    const golden: Array<[number, number]> = [
      [0, 0.031166],
      [100, 0.001515],
      [1000, -0.046939],
      [2080, 0.389168],
      [2500, -0.0662],
      [4095, 0.001639],
    ];
    for (const [i, v] of golden) expect(out.data[i]).toBeCloseTo(v, 3);
  });

  it('the ONNX graph computes the same score as the TypeScript definition it was fitted with', async () => {
    const fitted = fitModel([small('t-a'), small('t-b')], [small('t-c')], {
      modelId: 'tiny',
      trainingData: 'test',
      cellsPerImage: 150,
      emIterations: 3,
    });
    const img = small('t-d');
    const runner = await createInProcessRunner(fitted.bytes);
    const layout = planTiles(img.width, img.height, runner.info.tile, runner.info.margin);
    const depth = img.values.map((v) => v * DEPTH_SCALE);
    const out = await runner.run(extractTiles(depth, layout, 1 / DEPTH_SCALE), layout.count);
    await runner.close();
    // Recover the calibration from two cells, then compare raw scores at interior cells of tile 0.
    const stats = localStats(img);
    const f = new Float64Array(FEATURES);
    const patch = new Float64Array(256);
    const scratch = new Float64Array(MIXTURE_COMPONENTS);
    const raw = (i: number, j: number) =>
      mixtureScore(fitted.mixture, featureAt(img, stats, fitted.filters, i, j, patch, f), scratch);
    const graph = (i: number, j: number) => out.data[(j + 10) * 64 + i + 10]!; // tile 0 starts 80 px (10 cells) before the image
    const cells: Array<[number, number]> = [
      [20, 12],
      [30, 15],
      [40, 18],
      [25, 20],
      [35, 10],
    ];
    const [a, b] = [cells[0]!, cells[1]!];
    const slope = (graph(...a) - graph(...b)) / (raw(...a) - raw(...b));
    const offset = graph(...a) - slope * raw(...a);
    for (const c of cells) expect(graph(...c)).toBeCloseTo(slope * raw(...c) + offset, 2);
  }, 60_000);
});
