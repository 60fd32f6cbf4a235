/**
 * A seeded pseudo-random generator for the simulators (SPEC §2): the same seed gives the same
 * stream of vehicles, sources and counts on every machine, so ground truth is reproducible.
 *
 * Core: xoshiro128** (32-bit state words, fast in JS, passes BigCrush), seeded via splitmix32
 * from a number or from a string hashed with cyrb53-style mixing. `Math.random` is never used.
 */

/** A seed: any finite number or any string ("lane-3", "bench-2024"). */
export type Seed = number | string;

const TWO_POW_32 = 4294967296;

/** splitmix32: spreads a 32-bit seed into well-mixed state words (never all zero). */
function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Hash a seed to 32 bits. Numbers keep their full double precision (both halves mixed). */
export function hashSeed(seed: Seed): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  const text = typeof seed === 'number' ? `#${seed}` : seed;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h1 ^ h2) >>> 0;
}

/**
 * log Γ(x) for x > 0 (Stirling series with upward shift below 7; accurate to ~1e-14), as used
 * by the PTRS Poisson sampler's acceptance test.
 */
export function logGamma(x: number): number {
  if (x === 1 || x === 2) return 0;
  const coeffs = [
    8.333333333333333e-2, -2.777777777777778e-3, 7.936507936507937e-4, -5.952380952380952e-4,
    8.417508417508418e-4, -1.917526917526918e-3, 6.41025641025641e-3, -2.955065359477124e-2,
    1.796443723688307e-1, -1.3924322169059,
  ];
  const n = x < 7 ? Math.floor(7 - x) : 0;
  let x0 = x + n;
  const x2 = 1 / (x0 * x0);
  let gl0 = coeffs[9]!;
  for (let k = 8; k >= 0; k--) gl0 = gl0 * x2 + coeffs[k]!;
  let gl = gl0 / x0 + 0.5 * 1.8378770664093453 + (x0 - 0.5) * Math.log(x0) - x0;
  for (let k = 1; k <= n; k++) {
    gl -= Math.log(x0 - 1);
    x0 -= 1;
  }
  return gl;
}

/** Below this mean Poisson draws multiply uniforms (Knuth); above, PTRS (Hörmann 1993). */
const POISSON_PTRS_FROM = 10;

/** A seeded generator. Not thread-shared; fork() derives independent sub-streams. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  constructor(seed: Seed) {
    const next = splitmix32(hashSeed(seed));
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** Next raw 32-bit unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1), 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Uniform in [min, max). */
  uniform(min = 0, max = 1): number {
    return min + (max - min) * this.next();
  }

  /** Log-uniform in [min, max) (min > 0): for strengths spanning decades. */
  logUniform(min: number, max: number): number {
    return Math.exp(this.uniform(Math.log(min), Math.log(max)));
  }

  /** Integer uniform in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Normal draw (Box–Muller, polar form; the spare is kept for the next call). */
  normal(mean = 0, sd = 1): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return mean + sd * z;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * f;
    return mean + sd * u * f;
  }

  /**
   * Poisson draw with mean `lambda` (≥ 0). Exact for every λ: Knuth's product of uniforms for
   * λ < 10, Hörmann's PTRS transformed rejection above (a few uniforms per draw, so 1,000
   * counts per 200 ms sample cost the same as 10).
   */
  poisson(lambda: number): number {
    if (!(lambda > 0)) return 0;
    if (lambda < POISSON_PTRS_FROM) {
      const limit = Math.exp(-lambda);
      let k = 0;
      let p = this.next();
      while (p > limit) {
        k++;
        p *= this.next();
      }
      return k;
    }
    return this.poissonPtrs(lambda);
  }

  private poissonPtrs(lam: number): number {
    const slam = Math.sqrt(lam);
    const loglam = Math.log(lam);
    const b = 0.931 + 2.53 * slam;
    const a = -0.059 + 0.02483 * b;
    const invalpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const U = this.next() - 0.5;
      const V = this.next();
      const us = 0.5 - Math.abs(U);
      const k = Math.floor(((2 * a) / us + b) * U + lam + 0.43);
      if (us >= 0.07 && V <= vr) return k;
      if (k < 0 || (us < 0.013 && V > us)) continue;
      if (
        Math.log(V) + Math.log(invalpha) - Math.log(a / (us * us) + b) <=
        -lam + k * loglam - logGamma(k + 1)
      ) {
        return k;
      }
    }
  }

  /** One element, uniformly. Throws on an empty list (a programming error). */
  choice<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('choice() from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /**
   * One key of `weights`, with probability proportional to its weight (negative or non-finite
   * weights count as 0). Keys are visited in insertion order, so the draw is reproducible.
   */
  weighted<K extends string>(weights: Readonly<Partial<Record<K, number>>>): K {
    const entries = Object.entries(weights) as [K, number | undefined][];
    let total = 0;
    for (const [, w] of entries) total += w !== undefined && w > 0 && Number.isFinite(w) ? w : 0;
    if (total <= 0) throw new RangeError('weighted() needs at least one positive weight');
    let r = this.next() * total;
    let last: K | undefined;
    for (const [key, w] of entries) {
      const weight = w !== undefined && w > 0 && Number.isFinite(w) ? w : 0;
      if (weight === 0) continue;
      last = key;
      if (r < weight) return key;
      r -= weight;
    }
    return last!;
  }

  /** An independent generator derived from this one's next output and a label. */
  fork(label: string): Rng {
    return new Rng(`${label}:${this.nextUint32()}:${this.nextUint32()}`);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Shorthand for `new Rng(seed)`. */
export function createRng(seed: Seed): Rng {
  return new Rng(seed);
}
