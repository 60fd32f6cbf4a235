/**
 * A Gaussian mixture with full covariances fitted by EM (deterministic: seeded k-means++ start,
 * fixed iteration count), and its negative log-likelihood score. Pure, doubles.
 */
import { cholesky, invertLower } from './linalg.js';

export interface Mixture {
  readonly dims: number;
  readonly components: ReadonlyArray<{
    readonly mean: Float64Array;
    /** Whitening matrix W = L⁻¹ (L Lᵀ = Σ): Mahalanobis² = |W (f − mean)|². */
    readonly whiten: Float64Array;
    /** log det Σ − 2 log π. */
    readonly offset: number;
  }>;
}

/** mulberry32: a tiny seeded generator, enough for picking starting points. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function build(dims: number, means: Float64Array[], covs: Float64Array[], weights: number[]): Mixture {
  return {
    dims,
    components: means.map((mean, k) => {
      const l = cholesky(covs[k]!, dims)!;
      let logDet = 0;
      for (let d = 0; d < dims; d++) logDet += 2 * Math.log(l[d * dims + d]!);
      return { mean, whiten: invertLower(l, dims), offset: logDet - 2 * Math.log(weights[k]!) };
    }),
  };
}

/** Score of one sample under each component: Mahalanobis² + offset. */
export function componentScores(m: Mixture, f: ArrayLike<number>, out: Float64Array): Float64Array {
  const D = m.dims;
  const diff = new Float64Array(D);
  m.components.forEach((c, k) => {
    for (let d = 0; d < D; d++) diff[d] = f[d]! - c.mean[d]!;
    let sum = 0;
    for (let r = 0; r < D; r++) {
      let dot = 0;
      for (let q = 0; q <= r; q++) dot += c.whiten[r * D + q]! * diff[q]!;
      sum += dot * dot;
    }
    out[k] = sum + c.offset;
  });
  return out;
}

/** The model's raw score: min over components (≈ −2 log-likelihood of the best component). */
export function mixtureScore(m: Mixture, f: ArrayLike<number>, scratch: Float64Array): number {
  componentScores(m, f, scratch);
  let best = Infinity;
  for (let k = 0; k < m.components.length; k++) best = Math.min(best, scratch[k]!);
  return best;
}

/** Fit K components to N samples of D dims (row-major), `iterations` EM steps. */
export function fitMixture(
  samples: Float64Array,
  D: number,
  K: number,
  iterations: number,
  seed: number,
): Mixture {
  const N = samples.length / D;
  const rand = mulberry32(seed);
  const row = (n: number) => samples.subarray(n * D, n * D + D);
  // Per-dimension variance: the covariance floor keeps every component well conditioned.
  const gMean = new Float64Array(D);
  const gVar = new Float64Array(D);
  for (let n = 0; n < N; n++) for (let d = 0; d < D; d++) gMean[d]! += samples[n * D + d]! / N;
  for (let n = 0; n < N; n++)
    for (let d = 0; d < D; d++) gVar[d]! += (samples[n * D + d]! - gMean[d]!) ** 2 / N;
  const floor = gVar.map((v) => Math.max(v * 1e-3, 1e-9));
  // k-means++ start.
  const means: Float64Array[] = [Float64Array.from(row(Math.floor(rand() * N)))];
  const dist = new Float64Array(N).fill(Infinity);
  while (means.length < K) {
    const last = means[means.length - 1]!;
    let total = 0;
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += (samples[n * D + d]! - last[d]!) ** 2 / gVar[d]!;
      dist[n] = Math.min(dist[n]!, s);
      total += dist[n]!;
    }
    let r = rand() * total;
    let pick = N - 1;
    for (let n = 0; n < N; n++) {
      r -= dist[n]!;
      if (r <= 0) {
        pick = n;
        break;
      }
    }
    means.push(Float64Array.from(row(pick)));
  }
  let covs: Float64Array[] = means.map(() => {
    const c = new Float64Array(D * D);
    for (let d = 0; d < D; d++) c[d * D + d] = gVar[d]!;
    return c;
  });
  let weights = means.map(() => 1 / K);
  const resp = new Float64Array(N * K);
  const scratch = new Float64Array(K);
  for (let it = 0; it < iterations; it++) {
    const model = build(D, means, covs, weights);
    for (let n = 0; n < N; n++) {
      componentScores(model, row(n), scratch);
      let best = Infinity;
      for (let k = 0; k < K; k++) best = Math.min(best, scratch[k]!);
      let sum = 0;
      for (let k = 0; k < K; k++) sum += resp[n * K + k] = Math.exp(-0.5 * (scratch[k]! - best));
      for (let k = 0; k < K; k++) resp[n * K + k]! /= sum;
    }
    const nextCovs: Float64Array[] = [];
    const nextWeights: number[] = [];
    for (let k = 0; k < K; k++) {
      let nk = 0;
      const mean = new Float64Array(D);
      for (let n = 0; n < N; n++) {
        const r = resp[n * K + k]!;
        nk += r;
        for (let d = 0; d < D; d++) mean[d]! += r * samples[n * D + d]!;
      }
      nk = Math.max(nk, 1e-9);
      for (let d = 0; d < D; d++) mean[d]! /= nk;
      const cov = new Float64Array(D * D);
      const diff = new Float64Array(D);
      for (let n = 0; n < N; n++) {
        const r = resp[n * K + k]!;
        if (r < 1e-8) continue;
        for (let d = 0; d < D; d++) diff[d] = samples[n * D + d]! - mean[d]!;
        for (let a = 0; a < D; a++) for (let b = 0; b <= a; b++) cov[a * D + b]! += r * diff[a]! * diff[b]!;
      }
      for (let a = 0; a < D; a++)
        for (let b = 0; b <= a; b++) {
          const v = cov[a * D + b]! / nk + (a === b ? floor[a]! : 0);
          cov[a * D + b] = v;
          cov[b * D + a] = v;
        }
      means[k] = mean;
      nextCovs.push(cov);
      nextWeights.push(Math.max(nk / N, 1e-6));
    }
    covs = nextCovs;
    weights = nextWeights;
  }
  return build(D, means, covs, weights);
}
