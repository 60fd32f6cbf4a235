/**
 * A tiny multilayer perceptron (standardize → dense → tanh → dense → softmax), trained by
 * full-batch Adam on softmax cross-entropy with L2, from a seeded initialisation. Everything is
 * deterministic: a seeded generator (no Math.random), a fixed order of every sum, float64
 * arithmetic, weights rounded to float32 at the end (what the ONNX file stores). The same data,
 * config and seed give the same bytes on every run.
 */

export interface MlpConfig {
  readonly hidden: number;
  readonly epochs: number;
  readonly learningRate: number;
  readonly l2: number;
  /** Weight each class by (n / (k · n_class))^classBalance: 0 = none, 1 = fully balanced. */
  readonly classBalance: number;
  readonly seed: string;
}

/** Trained parameters, row-major, as the ONNX graph stores them. */
export interface MlpParams {
  readonly inputs: number;
  readonly hidden: number;
  readonly outputs: number;
  /** Per-input mean and standard deviation (the graph's Sub / Div). */
  readonly mean: Float32Array;
  readonly std: Float32Array;
  /** [inputs × hidden], [hidden], [hidden × outputs], [outputs]. */
  readonly w1: Float32Array;
  readonly b1: Float32Array;
  readonly w2: Float32Array;
  readonly b2: Float32Array;
}

export interface TrainingTrace {
  readonly initialLoss: number;
  readonly finalLoss: number;
}

/** Forward pass in float64 on float32 weights (the reference the ONNX output is tested against). */
export function forward(p: MlpParams, x: ArrayLike<number>): Float64Array {
  const { inputs: n, hidden: h, outputs: k } = p;
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) z[i] = (Math.fround(x[i]!) - p.mean[i]!) / p.std[i]!;
  const a = new Float64Array(h);
  for (let j = 0; j < h; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += z[i]! * p.w1[i * h + j]!;
    a[j] = Math.tanh(s + p.b1[j]!);
  }
  const out = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let j = 0; j < h; j++) s += a[j]! * p.w2[j * k + c]!;
    out[c] = s + p.b2[c]!;
  }
  return softmaxInPlace(out);
}

export function trainMlp(
  xs: readonly Float32Array[],
  labels: readonly number[],
  outputs: number,
  cfg: MlpConfig,
): { params: MlpParams; trace: TrainingTrace } {
  const m = xs.length;
  if (m === 0 || labels.length !== m) throw new RangeError('training needs samples with one label each');
  const n = xs[0]!.length;
  const h = cfg.hidden;
  const k = outputs;

  // Standardization from the training set (a constant input keeps std 1).
  const mean = new Float64Array(n);
  const std = new Float64Array(n);
  for (const x of xs) for (let i = 0; i < n; i++) mean[i]! += x[i]!;
  for (let i = 0; i < n; i++) mean[i] = Math.fround(mean[i]! / m);
  for (const x of xs) for (let i = 0; i < n; i++) std[i]! += (x[i]! - mean[i]!) ** 2;
  for (let i = 0; i < n; i++) {
    const s = Math.sqrt(std[i]! / m);
    std[i] = Math.fround(s > 1e-6 ? s : 1);
  }
  const z = xs.map((x) => {
    const r = new Float64Array(n);
    for (let i = 0; i < n; i++) r[i] = (x[i]! - mean[i]!) / std[i]!;
    return r;
  });

  const counts = new Float64Array(k);
  for (const y of labels) counts[y]!++;
  const classWeight = Array.from(counts, (c) => (c > 0 ? (m / (k * c)) ** cfg.classBalance : 0));
  let weightSum = 0;
  for (const y of labels) weightSum += classWeight[y]!;

  // Xavier-uniform initialisation from the seed; biases zero.
  const rng = seededUniform(cfg.seed);
  const theta = {
    w1: Float64Array.from({ length: n * h }, () => (rng() * 2 - 1) * Math.sqrt(6 / (n + h))),
    b1: new Float64Array(h),
    w2: Float64Array.from({ length: h * k }, () => (rng() * 2 - 1) * Math.sqrt(6 / (h + k))),
    b2: new Float64Array(k),
  };
  const grads = {
    w1: new Float64Array(n * h),
    b1: new Float64Array(h),
    w2: new Float64Array(h * k),
    b2: new Float64Array(k),
  };
  const names = ['w1', 'b1', 'w2', 'b2'] as const;
  const m1 = Object.fromEntries(names.map((nm) => [nm, new Float64Array(theta[nm].length)])) as typeof grads;
  const m2 = Object.fromEntries(names.map((nm) => [nm, new Float64Array(theta[nm].length)])) as typeof grads;

  const a = new Float64Array(h);
  const o = new Float64Array(k);
  const da = new Float64Array(h);
  const lossAndGrad = (): number => {
    for (const nm of names) grads[nm].fill(0);
    let loss = 0;
    for (let s = 0; s < m; s++) {
      const x = z[s]!;
      const y = labels[s]!;
      const w = classWeight[y]! / weightSum;
      for (let j = 0; j < h; j++) {
        let acc = theta.b1[j]!;
        for (let i = 0; i < n; i++) acc += x[i]! * theta.w1[i * h + j]!;
        a[j] = Math.tanh(acc);
      }
      for (let c = 0; c < k; c++) {
        let acc = theta.b2[c]!;
        for (let j = 0; j < h; j++) acc += a[j]! * theta.w2[j * k + c]!;
        o[c] = acc;
      }
      softmaxInPlace(o);
      loss -= w * Math.log(Math.max(1e-300, o[y]!));
      o[y]! -= 1; // dL/dlogits
      da.fill(0);
      for (let c = 0; c < k; c++) {
        const g = w * o[c]!;
        grads.b2[c]! += g;
        for (let j = 0; j < h; j++) {
          grads.w2[j * k + c]! += g * a[j]!;
          da[j]! += g * theta.w2[j * k + c]!;
        }
      }
      for (let j = 0; j < h; j++) {
        const g = da[j]! * (1 - a[j]! * a[j]!);
        grads.b1[j]! += g;
        for (let i = 0; i < n; i++) grads.w1[i * h + j]! += g * x[i]!;
      }
    }
    for (const nm of ['w1', 'w2'] as const) {
      const t = theta[nm];
      const g = grads[nm];
      for (let i = 0; i < t.length; i++) {
        loss += 0.5 * cfg.l2 * t[i]! * t[i]!;
        g[i]! += cfg.l2 * t[i]!;
      }
    }
    return loss;
  };

  const beta1 = 0.9;
  const beta2 = 0.999;
  const eps = 1e-8;
  let initialLoss = NaN;
  for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
    const loss = lossAndGrad();
    if (epoch === 1) initialLoss = loss;
    const c1 = 1 - beta1 ** epoch;
    const c2 = 1 - beta2 ** epoch;
    for (const nm of names) {
      const t = theta[nm];
      const g = grads[nm];
      const v1 = m1[nm];
      const v2 = m2[nm];
      for (let i = 0; i < t.length; i++) {
        v1[i] = beta1 * v1[i]! + (1 - beta1) * g[i]!;
        v2[i] = beta2 * v2[i]! + (1 - beta2) * g[i]! * g[i]!;
        t[i]! -= (cfg.learningRate * (v1[i]! / c1)) / (Math.sqrt(v2[i]! / c2) + eps);
      }
    }
  }
  return {
    params: {
      inputs: n,
      hidden: h,
      outputs: k,
      mean: Float32Array.from(mean),
      std: Float32Array.from(std),
      w1: Float32Array.from(theta.w1),
      b1: Float32Array.from(theta.b1),
      w2: Float32Array.from(theta.w2),
      b2: Float32Array.from(theta.b2),
    },
    trace: { initialLoss, finalLoss: lossAndGrad() },
  };
}

function softmaxInPlace(v: Float64Array): Float64Array {
  let max = -Infinity;
  for (const x of v) max = Math.max(max, x);
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i] = Math.exp(v[i]! - max);
  for (let i = 0; i < v.length; i++) v[i]! /= sum;
  return v;
}

/** Uniform [0, 1) from a string seed: cyrb-style hash → mulberry32. */
export function seededUniform(seed: string): () => number {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193);
  let s = h >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
