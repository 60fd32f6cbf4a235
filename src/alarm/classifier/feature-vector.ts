/**
 * The classifier's input: one fixed-length vector per alarming occupancy, built from the
 * profile features (src/alarm/features.ts) and the rule-based probabilities it refines. Every
 * entry is bounded (clamped, logs of clamped values) and a missing quantity (no speed, a
 * one-pillar lane) reads as 0 with an indicator beside it, so a strange occupancy never feeds
 * the model a value it never saw in training.
 *
 * Changing this list changes the model's input: bump FEATURE_VERSION and retrain.
 */
import type { ProfileFeatures } from '../features.js';
import type { AssessmentCategory } from '../types.js';
import type { CategoryProbabilities } from './refiner.js';

/** Output order of the model (softmax index → category). */
export const CATEGORIES: readonly AssessmentCategory[] = ['background', 'NORM', 'medical', 'threat'];

export const FEATURE_VERSION = 1;

export const FEATURE_NAMES = [
  'rule.logP.background',
  'rule.logP.NORM',
  'rule.logP.medical',
  'rule.logP.threat',
  'suppression',
  'log1p.excessCounts',
  'position',
  'alongM/10',
  'vehicleLengthM/10',
  'log2.widthRatio',
  'log.widthS',
  'coverage',
  'asymmetry',
  'asymmetry.z/5',
  'upperFraction-0.5',
  'bump.sigma/5',
  'bump.position',
  'bump.present',
  'speedMps/5',
  'speed.known',
  'car',
  'pointWidthS',
  'log.samples',
] as const;

export const FEATURE_COUNT = FEATURE_NAMES.length;

/** Vehicles shorter than this are cars (as adjudicate's default carLengthM). */
const CAR_LENGTH_M = 8;

export function featureVector(f: ProfileFeatures, p: CategoryProbabilities): Float32Array {
  const v = new Float32Array(FEATURE_COUNT);
  let k = 0;
  // Probabilities as the replay record prints them (3 decimals), so training on recorded
  // assessments and inference on live ones see the same numbers.
  for (const c of CATEGORIES) v[k++] = Math.log(Math.max(1e-3, Math.round(num(p[c]) * 1000) / 1000));
  v[k++] = clamp(num(f.suppression), 0, 0.5);
  v[k++] = Math.log1p(clamp(num(f.excessCounts), 0, 1e7));
  v[k++] = clamp(num(f.position), -0.5, 1.5);
  v[k++] = f.alongM === null ? 0 : clamp(num(f.alongM), -2, 30) / 10;
  v[k++] = f.vehicleLengthM === null ? 0 : clamp(num(f.vehicleLengthM), 0, 30) / 10;
  v[k++] = f.widthRatio === null ? 0 : clamp(Math.log2(Math.max(1e-3, num(f.widthRatio))), -3, 5);
  v[k++] = Math.log(clamp(num(f.widthS), 0.05, 120));
  v[k++] = clamp(num(f.coverage), 0, 1);
  v[k++] = f.asymmetry === null ? 0 : clamp(num(f.asymmetry), -1, 1);
  v[k++] =
    f.asymmetry === null || f.asymmetryError === null
      ? 0
      : clamp(Math.abs(num(f.asymmetry)) / Math.max(1e-3, num(f.asymmetryError)), 0, 10) / 5;
  v[k++] = f.upperFraction === null ? 0 : clamp(num(f.upperFraction), 0, 1) - 0.5;
  v[k++] = f.bump === null ? 0 : clamp(num(f.bump.sigma), 0, 20) / 5;
  v[k++] = f.bump === null ? 0 : clamp(num(f.bump.position), -0.5, 1.5);
  v[k++] = f.bump === null ? 0 : 1;
  v[k++] = f.speedMps === null ? 0 : clamp(num(f.speedMps), 0, 31) / 5;
  v[k++] = f.speedMps === null ? 0 : 1;
  v[k++] = f.vehicleLengthM !== null && f.vehicleLengthM < CAR_LENGTH_M ? 1 : 0;
  v[k++] = f.pointWidthS === null ? 0 : clamp(num(f.pointWidthS), 0, 10);
  v[k++] = Math.log(clamp(num(f.samples), 1, 1e5));
  return v;
}

/** NaN (a bug upstream) reads as 0: the vector stays finite. */
function num(x: number): number {
  return Number.isFinite(x) ? x : 0;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
