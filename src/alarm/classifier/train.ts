/**
 * Build the classifier end to end — simulate, label, train, export, hash — deterministically
 * from a config: the same config gives the same ONNX bytes and sha256 (tested). Build-time only
 * (`rpm-gateway train-classifier`); the gateway loads the result with ./onnx-refiner.ts.
 */
import { createHash } from 'node:crypto';
import { buildDataset, type Sample } from './dataset.js';
import { CATEGORIES, FEATURE_NAMES, FEATURE_VERSION } from './feature-vector.js';
import { forward, trainMlp, type MlpConfig, type MlpParams } from './mlp.js';
import { IR_VERSION, mlpToOnnx, OPSET } from './onnx-model.js';
import type { OccupancyKind } from '../../../simulators/physics/scenario.js';

export interface TrainingConfig {
  readonly trainSeeds: readonly string[];
  /** Seeds never used in training or tuning: the reported accuracy is measured on them. */
  readonly holdoutSeeds: readonly string[];
  readonly occupanciesPerSeed: number;
  readonly mix: Readonly<Record<OccupancyKind, number>>;
  readonly mlp: MlpConfig;
}

/** Innocent and threat sources over-represented against the field mix, so each class has data. */
export const DEFAULT_TRAINING_CONFIG: TrainingConfig = {
  trainSeeds: ['classifier-train-1', 'classifier-train-2', 'classifier-train-3', 'classifier-train-4'],
  holdoutSeeds: ['classifier-holdout-1', 'classifier-holdout-2'],
  occupanciesPerSeed: 1000,
  mix: { background: 0.15, norm: 0.3, medical: 0.2, threat: 0.15, 'threat-in-norm': 0.1, neutron: 0.1 },
  mlp: { hidden: 12, epochs: 600, learningRate: 0.02, l2: 1e-3, classBalance: 0.5, seed: 'rpm-classifier-1' },
};

export interface Evaluation {
  readonly samples: number;
  readonly perClass: Readonly<Record<string, number>>;
  /** Argmax against the ground-truth category. */
  readonly classifierAccuracy: number;
  readonly ruleAccuracy: number;
  /** Recall per true category: [classifier, rules]. */
  readonly recall: Readonly<Record<string, { classifier: number; rules: number; n: number }>>;
  /** Per ground-truth kind: rows truth kind, columns predicted category (classifier). */
  readonly confusion: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export interface GoldenCase {
  readonly x: number[];
  readonly probabilities: number[];
}

export interface ModelCard {
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly format: { readonly opset: number; readonly irVersion: number };
  readonly input: { readonly name: string; readonly features: readonly string[]; readonly version: number };
  readonly output: { readonly name: string; readonly categories: readonly string[] };
  readonly config: TrainingConfig;
  readonly training: {
    readonly samples: number;
    /** Features that failed to reproduce the pipeline's probabilities (must be 0). */
    readonly tapMismatches: number;
    readonly seedsDropped: number;
    readonly initialLoss: number;
    readonly finalLoss: number;
  };
  readonly holdout: Evaluation;
  /** Fixed feature vectors and the probabilities the model gives them (float64 reference). */
  readonly golden: readonly GoldenCase[];
}

export interface TrainedClassifier {
  readonly onnx: Uint8Array;
  readonly params: MlpParams;
  readonly card: ModelCard;
  /** The held-out samples (for evaluation beyond the card). */
  readonly holdout: readonly Sample[];
}

export function trainClassifier(
  config: TrainingConfig = DEFAULT_TRAINING_CONFIG,
  fileName = 'alarm-category-refiner.onnx',
): TrainedClassifier {
  const trainSet = buildDataset({
    seeds: config.trainSeeds,
    occupanciesPerSeed: config.occupanciesPerSeed,
    mix: config.mix,
  });
  const train = trainSet.samples;
  const { params, trace } = trainMlp(
    train.map((s) => s.x),
    train.map((s) => s.label),
    CATEGORIES.length,
    config.mlp,
  );
  const onnx = mlpToOnnx(params, { seed: config.mlp.seed, producerVersion: `feature-v${FEATURE_VERSION}` });
  const holdoutData = buildDataset({
    seeds: config.holdoutSeeds,
    occupanciesPerSeed: config.occupanciesPerSeed,
    mix: config.mix,
  });
  const holdoutSet = holdoutData.samples;
  const card: ModelCard = {
    file: fileName,
    sha256: sha256(onnx),
    bytes: onnx.length,
    format: { opset: OPSET, irVersion: IR_VERSION },
    input: { name: 'features', features: FEATURE_NAMES, version: FEATURE_VERSION },
    output: { name: 'probabilities', categories: CATEGORIES },
    config,
    training: {
      samples: train.length,
      tapMismatches: trainSet.tapMismatches + holdoutData.tapMismatches,
      seedsDropped: trainSet.seedsDropped + holdoutData.seedsDropped,
      initialLoss: round(trace.initialLoss),
      finalLoss: round(trace.finalLoss),
    },
    holdout: evaluate(params, holdoutSet),
    golden: goldenCases(params, holdoutSet),
  };
  return { onnx, params, card, holdout: holdoutSet };
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function evaluate(params: MlpParams, set: readonly Sample[]): Evaluation {
  const k = CATEGORIES.length;
  const hits = { classifier: new Array<number>(k).fill(0), rules: new Array<number>(k).fill(0) };
  const n = new Array<number>(k).fill(0);
  const confusion: Record<string, Record<string, number>> = {};
  for (const s of set) {
    const c = argmax(forward(params, s.x));
    const r = argmax(CATEGORIES.map((cat) => s.ruleProbabilities[cat]));
    n[s.label]!++;
    if (c === s.label) hits.classifier[s.label]!++;
    if (r === s.label) hits.rules[s.label]!++;
    const row = (confusion[s.kind] ??= Object.fromEntries(CATEGORIES.map((cat) => [cat, 0])));
    row[CATEGORIES[c]!]!++;
  }
  const total = set.length;
  const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0);
  return {
    samples: total,
    perClass: Object.fromEntries(CATEGORIES.map((cat, i) => [cat, n[i]!])),
    classifierAccuracy: round(sum(hits.classifier) / Math.max(1, total)),
    ruleAccuracy: round(sum(hits.rules) / Math.max(1, total)),
    recall: Object.fromEntries(
      CATEGORIES.map((cat, i) => [
        cat,
        {
          classifier: round(hits.classifier[i]! / Math.max(1, n[i]!)),
          rules: round(hits.rules[i]! / Math.max(1, n[i]!)),
          n: n[i]!,
        },
      ]),
    ),
    confusion,
  };
}

/** Two held-out vectors per true category (the first of each), with the model's output. */
function goldenCases(params: MlpParams, set: readonly Sample[]): GoldenCase[] {
  const out: GoldenCase[] = [];
  for (let c = 0; c < CATEGORIES.length; c++) {
    for (const s of set.filter((x) => x.label === c).slice(0, 2)) {
      out.push({ x: Array.from(s.x), probabilities: Array.from(forward(params, s.x), (p) => round(p, 9)) });
    }
  }
  return out;
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

function round(x: number, digits = 4): number {
  const k = 10 ** digits;
  return Math.round(x * k) / k;
}
