/**
 * The committed classifier (models/alarm-category-refiner.onnx): its hash, its golden outputs on
 * onnxruntime-node and on the synchronous mirror, the model loader's refusals, and the ONNX
 * writer on a hand-made graph.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEATURE_COUNT, featureVector } from '../../../src/alarm/classifier/feature-vector.js';
import { forward, trainMlp } from '../../../src/alarm/classifier/mlp.js';
import { mlpToOnnx, readMetadata, readMlp } from '../../../src/alarm/classifier/onnx-model.js';
import {
  loadModelFile,
  MirrorCategoryRefiner,
  OnnxCategoryRefiner,
} from '../../../src/alarm/classifier/onnx-refiner.js';
import { sha256, type ModelCard } from '../../../src/alarm/classifier/train.js';
import type { ProfileFeatures } from '../../../src/alarm/features.js';
import { GatewayError } from '../../../src/core/errors.js';

const MODEL = 'models/alarm-category-refiner.onnx';
const card = JSON.parse(readFileSync('models/alarm-category-refiner.json', 'utf8')) as ModelCard;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof GatewayError) return e.code;
    throw e;
  }
  return 'no error';
}

describe('the committed classifier model', () => {
  let onnx: OnnxCategoryRefiner;
  beforeAll(async () => {
    onnx = await OnnxCategoryRefiner.load(MODEL);
  });
  afterAll(async () => {
    await onnx.dispose();
  });

  it('matches the sha256 its card records, and says what it was trained on', () => {
    const bytes = readFileSync(MODEL);
    expect(sha256(bytes)).toBe(card.sha256);
    expect(card.bytes).toBe(bytes.length);
    const meta = readMetadata(bytes);
    expect(meta['training_seed']).toBe(card.config.mlp.seed);
    expect(meta['categories']).toBe('background,NORM,medical,threat');
    expect(card.format.opset).toBeGreaterThanOrEqual(13);
    expect(card.training.tapMismatches).toBe(0);
  });

  it('beats the rule-based probabilities on held-out seeds (argmax accuracy)', () => {
    expect(card.holdout.samples).toBeGreaterThan(500);
    expect(card.holdout.classifierAccuracy).toBeGreaterThanOrEqual(card.holdout.ruleAccuracy);
    for (const seed of card.config.holdoutSeeds) expect(card.config.trainSeeds).not.toContain(seed);
  });

  it('gives the golden probabilities on onnxruntime-node and on the mirror (within 1e-5)', async () => {
    expect(card.golden.length).toBeGreaterThanOrEqual(6);
    const mirror = new MirrorCategoryRefiner(onnx.model);
    const out = await onnx.classify(card.golden.map((g) => Float32Array.from(g.x)));
    card.golden.forEach((g, i) => {
      const fromOrt = Array.from(out[i]!);
      const fromMirror = Array.from(forward(mirror.params, g.x));
      for (let c = 0; c < 4; c++) {
        expect(Math.abs(fromOrt[c]! - g.probabilities[c]!)).toBeLessThan(1e-5);
        expect(Math.abs(fromMirror[c]! - g.probabilities[c]!)).toBeLessThan(1e-5);
      }
    });
  });

  it('refines a profile: async on onnxruntime and sync on the mirror agree', async () => {
    const f: ProfileFeatures = {
      samples: 60,
      speedMps: 2.5,
      vehicleS: 10,
      vehicleLengthM: 15,
      suppression: 0.15,
      excessCounts: 4000,
      peakTimeS: 5,
      position: 0.5,
      alongM: 7.5,
      widthS: 5,
      pointWidthS: 1.4,
      widthRatio: 3.6,
      coverage: 0.6,
      asymmetry: 0.02,
      asymmetryError: 0.03,
      upperFraction: 0.5,
      bump: null,
    };
    const rules = { background: 0.01, NORM: 0.85, medical: 0.01, threat: 0.13 };
    const a = await onnx.refine(f, rules);
    const b = new MirrorCategoryRefiner(onnx.model).refine(f, rules);
    for (const c of ['background', 'NORM', 'medical', 'threat'] as const) expect(a[c]).toBeCloseTo(b[c], 5);
    expect(a.background + a.NORM + a.medical + a.threat).toBeCloseTo(1, 5);
  });

  describe('refuses a model it cannot trust', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'classifier-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('a modified file (hash mismatch)', async () => {
      const bytes = readFileSync(MODEL);
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
      writeFileSync(join(dir, 'm.onnx'), bytes);
      copyFileSync('models/alarm-category-refiner.json', join(dir, 'm.json'));
      expect(await codeOf(loadModelFile(join(dir, 'm.onnx')))).toBe('CLASSIFIER_MODEL_INVALID');
    });

    it('a missing card, a missing file, a wrong expected hash', async () => {
      copyFileSync(MODEL, join(dir, 'lonely.onnx'));
      expect(await codeOf(loadModelFile(join(dir, 'lonely.onnx')))).toBe('CLASSIFIER_MODEL_INVALID');
      expect(await codeOf(loadModelFile(join(dir, 'absent.onnx'), card.sha256))).toBe(
        'CLASSIFIER_MODEL_INVALID',
      );
      expect(await codeOf(loadModelFile(MODEL, '0'.repeat(64)))).toBe('CLASSIFIER_MODEL_INVALID');
      expect((await loadModelFile(join(dir, 'lonely.onnx'), card.sha256)).sha256).toBe(card.sha256);
    });
  });
});

describe('feature vector', () => {
  it('is finite and bounded even for an occupancy with no speed and NaN quantities', () => {
    const f: ProfileFeatures = {
      samples: 0,
      speedMps: null,
      vehicleS: 0,
      vehicleLengthM: null,
      suppression: Number.NaN,
      excessCounts: -5,
      peakTimeS: 0,
      position: Number.POSITIVE_INFINITY,
      alongM: null,
      widthS: 0,
      pointWidthS: null,
      widthRatio: null,
      coverage: 2,
      asymmetry: null,
      asymmetryError: null,
      upperFraction: null,
      bump: { sigma: 1e9, timeS: 1, position: -4, widthS: 1 },
    };
    const v = featureVector(f, { background: 0, NORM: 0, medical: 0, threat: 1 });
    expect(v).toHaveLength(FEATURE_COUNT);
    for (const x of v) {
      expect(Number.isFinite(x)).toBe(true);
      expect(Math.abs(x)).toBeLessThan(20);
    }
  });
});

describe('MLP and its ONNX file', () => {
  it('trains deterministically per seed, and round-trips its weights through the ONNX file', () => {
    const xs = Array.from({ length: 40 }, (_, i) =>
      Float32Array.from({ length: FEATURE_COUNT }, (_, j) => Math.sin(i * 7 + j)),
    );
    const ys = xs.map((_, i) => i % 4);
    const cfg = { hidden: 5, epochs: 30, learningRate: 0.05, l2: 1e-3, classBalance: 0.5, seed: 'a' };
    const a = trainMlp(xs, ys, 4, cfg).params;
    const b = trainMlp(xs, ys, 4, cfg).params;
    const c = trainMlp(xs, ys, 4, { ...cfg, seed: 'b' }).params;
    const bytesA = mlpToOnnx(a, { seed: 'a', producerVersion: 't' });
    expect(sha256(mlpToOnnx(b, { seed: 'a', producerVersion: 't' }))).toBe(sha256(bytesA));
    expect(Array.from(c.w1)).not.toEqual(Array.from(a.w1));
    expect(readMlp(bytesA)).toEqual(a);
  });
});

describe('rpm-gateway train-classifier', () => {
  it('is listed, explains itself, and refuses an output that is not .onnx', async () => {
    const { runCli } = await import('../../support/run-cli.js');
    expect((await runCli(['--help'])).stdout).toContain('train-classifier');
    const help = await runCli(['train-classifier', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--out <file>');
    const bad = await runCli(['train-classifier', '--out', 'model.bin']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('.onnx');
  });
});
