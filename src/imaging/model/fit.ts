/**
 * Fit the project's anomaly model on normal scans (pure TypeScript, deterministic): principal
 * components of mean-removed 16 × 16 patches as texture filters, a Gaussian mixture on the
 * feature vectors, and a calibration of the score on separate normal scans. Returns the ONNX
 * bytes; the same inputs give the same bytes (and sha256) on every run.
 */
import { createHash } from 'node:crypto';
import {
  FEATURES,
  MIXTURE_COMPONENTS,
  OPSET,
  STRIDE,
  TEXTURE_COMPONENTS,
  TILE,
  MARGIN,
  DEPTH_SCALE,
  WINDOW,
} from './architecture.js';
import { featureAt, localStats, patchAt, type ModelImage } from './features.js';
import { fitMixture, mixtureScore, type Mixture } from './gmm.js';
import { buildModelBytes } from './graph.js';
import { symmetricEigen } from './linalg.js';

export interface FitOptions {
  /** Cells sampled per training image. Default 700. */
  readonly cellsPerImage?: number;
  /** Quantile of normal cell scores that becomes the threshold (score 1.0). Default 0.9995. */
  readonly quantile?: number;
  readonly emIterations?: number;
  readonly modelId: string;
  /** Free-form description of the training data, recorded in the model's metadata. */
  readonly trainingData: string;
}

export interface FittedModel {
  readonly bytes: Buffer;
  readonly sha256: string;
  readonly opset: number;
  readonly mixture: Mixture;
  readonly filters: readonly Float64Array[];
}

/** Deterministic cell picks: a simple multiplicative hash of the image index and draw. */
function pickCells(img: ModelImage, count: number, salt: number): Array<[number, number]> {
  const cols = Math.ceil(img.width / STRIDE);
  const rows = Math.ceil(img.height / STRIDE);
  // Near the image edge the pipeline replicates edge pixels where this sums only real ones: keep 2 cells off it.
  const border = 2;
  const out: Array<[number, number]> = [];
  let h = (salt * 2654435761) >>> 0;
  for (let n = 0; n < count; n++) {
    h = (Math.imul(h ^ (h >>> 15), 2246822519) + 374761393) >>> 0;
    const i = border + (h % Math.max(1, cols - 2 * border));
    h = (Math.imul(h ^ (h >>> 13), 3266489917) + 668265263) >>> 0;
    const j = border + (h % Math.max(1, rows - 2 * border));
    out.push([i, j]);
  }
  return out;
}

function textureFilters(images: readonly ModelImage[], perImage: number): Float64Array[] {
  const P = WINDOW * WINDOW;
  const moment = new Float64Array(P * P);
  const patch = new Float64Array(P);
  let count = 0;
  images.forEach((img, index) => {
    for (const [i, j] of pickCells(img, perImage, 7919 + index)) {
      patchAt(img, i, j, patch);
      let mean = 0;
      for (let p = 0; p < P; p++) mean += patch[p]!;
      mean /= P;
      for (let p = 0; p < P; p++) patch[p]! -= mean;
      for (let a = 0; a < P; a++) {
        const pa = patch[a]!;
        for (let b = a; b < P; b++) moment[a * P + b]! += pa * patch[b]!;
      }
      count++;
    }
  });
  for (let a = 0; a < P; a++)
    for (let b = a; b < P; b++) {
      moment[a * P + b]! /= count;
      moment[b * P + a] = moment[a * P + b]!;
    }
  return symmetricEigen(moment, P).vectors.slice(0, TEXTURE_COMPONENTS);
}

function collectFeatures(
  images: readonly ModelImage[],
  filters: readonly Float64Array[],
  perImage: number,
  salt: number,
): Float64Array {
  const out = new Float64Array(images.length * perImage * FEATURES);
  const patch = new Float64Array(WINDOW * WINDOW);
  const f = new Float64Array(FEATURES);
  let o = 0;
  images.forEach((img, index) => {
    const stats = localStats(img);
    for (const [i, j] of pickCells(img, perImage, salt + index)) {
      out.set(featureAt(img, stats, filters, i, j, patch, f), o);
      o += FEATURES;
    }
  });
  return out;
}

/** Fit on `train` (normal scans) and calibrate on `calibrate` (other normal scans). */
export function fitModel(
  train: readonly ModelImage[],
  calibrate: readonly ModelImage[],
  options: FitOptions,
): FittedModel {
  const per = options.cellsPerImage ?? 700;
  const filters = textureFilters(train, Math.ceil(per / 2));
  const samples = collectFeatures(train, filters, per, 104729);
  const mixture = fitMixture(samples, FEATURES, MIXTURE_COMPONENTS, options.emIterations ?? 20, 42);
  const calib = collectFeatures(calibrate, filters, per * 4, 15485863);
  const scratch = new Float64Array(MIXTURE_COMPONENTS);
  const scores: number[] = [];
  for (let n = 0; n < calib.length / FEATURES; n++)
    scores.push(mixtureScore(mixture, calib.subarray(n * FEATURES, (n + 1) * FEATURES), scratch));
  scores.sort((a, b) => a - b);
  const reference = scores[Math.floor(scores.length / 2)]!;
  const threshold =
    scores[Math.min(scores.length - 1, Math.floor(scores.length * (options.quantile ?? 0.9995)))]!;
  const bytes = buildModelBytes({
    filters,
    mixture,
    reference,
    threshold,
    metadata: {
      model_id: options.modelId,
      input_scale: `optical depth / ${DEPTH_SCALE}`,
      tile: String(TILE),
      margin: String(MARGIN),
      stride: String(STRIDE),
      score_threshold: '1',
      training_data: options.trainingData,
    },
  });
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex'), opset: OPSET, mixture, filters };
}
