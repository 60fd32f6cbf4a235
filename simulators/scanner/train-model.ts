/**
 * The project's default X-ray anomaly model, built from the scanner simulator's normal phantoms
 * (no anomalies) — no Python, no downloads. Training and calibration seeds are fixed and never
 * used by the evaluation (which draws from `eval-*` seeds), so the reported figures are on
 * unseen scans. Deterministic: the same code gives the same bytes and sha256.
 */
import { DEPTH_SCALE } from '../../src/imaging/model/architecture.js';
import type { ModelImage } from '../../src/imaging/model/features.js';
import { fitModel, type FittedModel } from '../../src/imaging/model/fit.js';
import { normalizeScan } from '../../src/imaging/normalize.js';
import { makePhantom, type PhantomOptions } from './phantom.js';

export const DEFAULT_MODEL_ID = 'rpm-xray-patch-gmm-v1';

/** Sizes the model is fitted on: several pixel pitches, so it tolerates scanners' differences. */
const SIZES: ReadonlyArray<readonly [number, number, number]> = [
  [1024, 512, 12],
  [512, 256, 12],
  [2048, 1024, 2],
];

export function phantomToModelImage(options: PhantomOptions): ModelImage {
  const p = makePhantom(options);
  const n = normalizeScan(p.high, { polarity: p.polarity, airValue: p.airValue, darkValue: p.darkValue });
  const values = new Float32Array(n.depth.length);
  for (let i = 0; i < values.length; i++) values[i] = n.depth[i]! / DEPTH_SCALE;
  return { width: n.width, height: n.height, values };
}

function normalSet(prefix: string, scale: number): ModelImage[] {
  const out: ModelImage[] = [];
  for (const [width, height, count] of SIZES)
    for (let i = 0; i < Math.max(1, Math.round(count * scale)); i++)
      out.push(phantomToModelImage({ seed: `${prefix}-${width}-${i}`, width, height }));
  return out;
}

/** Build the default model (a few seconds). */
export function buildDefaultModel(): FittedModel {
  return fitModel(normalSet('model-train', 1), normalSet('model-calib', 0.5), {
    modelId: DEFAULT_MODEL_ID,
    trainingData:
      'rpm-gateway scanner simulator, normal phantoms, seeds model-train-* (fit) and model-calib-* (calibration)',
  });
}
