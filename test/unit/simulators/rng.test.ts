import { describe, expect, it } from 'vitest';
import { createRng, logGamma, type Rng } from '../../../simulators/physics/rng.js';

function draws(rng: Rng, n: number, f: (r: Rng) => number): number[] {
  return Array.from({ length: n }, () => f(rng));
}

function meanVar(xs: readonly number[]): { mean: number; variance: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  return { mean, variance };
}

describe('Rng', () => {
  it('gives the same sequence for the same seed, another for another seed', () => {
    const a = draws(createRng(42), 50, (r) => r.nextUint32());
    const b = draws(createRng(42), 50, (r) => r.nextUint32());
    const c = draws(createRng(43), 50, (r) => r.nextUint32());
    const s = draws(createRng('lane-1'), 50, (r) => r.nextUint32());
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(s).toEqual(draws(createRng('lane-1'), 50, (r) => r.nextUint32()));
    expect(s).not.toEqual(a);
  });

  it('keeps Poisson, normal and choice draws reproducible by seed', () => {
    const run = (seed: number) => {
      const r = createRng(seed);
      return [
        r.poisson(3),
        r.poisson(800),
        r.normal(),
        r.choice(['a', 'b', 'c']),
        r.weighted({ x: 1, y: 2 }),
      ];
    };
    expect(run(7)).toEqual(run(7));
  });

  it('forks independent sub-streams deterministically', () => {
    const a = createRng(1).fork('x');
    const b = createRng(1).fork('x');
    expect(a.next()).toBe(b.next());
    expect(createRng(1).fork('x').next()).not.toBe(createRng(1).fork('y').next());
  });

  it('draws uniforms in [0, 1) with mean 1/2 and variance 1/12', () => {
    const xs = draws(createRng(5), 50_000, (r) => r.next());
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const { mean, variance } = meanVar(xs);
    expect(mean).toBeCloseTo(0.5, 2);
    expect(variance).toBeCloseTo(1 / 12, 2);
  });

  it('draws normals with the asked mean and sd', () => {
    const { mean, variance } = meanVar(draws(createRng(9), 50_000, (r) => r.normal(10, 2)));
    expect(Math.abs(mean - 10)).toBeLessThan(0.05);
    expect(Math.abs(Math.sqrt(variance) - 2)).toBeLessThan(0.05);
  });

  it('computes log Γ accurately', () => {
    expect(logGamma(0.5)).toBeCloseTo(0.5723649429247001, 12);
    expect(logGamma(1)).toBe(0);
    expect(logGamma(10)).toBeCloseTo(Math.log(362880), 12);
    expect(logGamma(171)).toBeCloseTo(706.5730622457874, 9);
  });

  // Small λ (Knuth), the switch-over, and the large λ of a 200 ms sample (PTRS).
  it.each([0.3, 2, 9.9, 10, 37.5, 200, 1000, 5000])('Poisson(λ=%f) has mean and variance λ', (lambda) => {
    const n = 40_000;
    const xs = draws(createRng(`poisson-${lambda}`), n, (r) => r.poisson(lambda));
    expect(xs.every((x) => Number.isInteger(x) && x >= 0)).toBe(true);
    const { mean, variance } = meanVar(xs);
    // Mean within 5 standard errors; variance within 5 of its standard errors (≈ λ·√(2/n)).
    expect(Math.abs(mean - lambda)).toBeLessThan(5 * Math.sqrt(lambda / n));
    const varSe = Math.sqrt((2 * lambda * lambda + lambda) / n);
    expect(Math.abs(variance - lambda)).toBeLessThan(5 * varSe);
  });

  it('matches the exact Poisson pmf at λ = 25 (PTRS acceptance is exact)', () => {
    const lambda = 25;
    const n = 100_000;
    const hist = new Map<number, number>();
    const r = createRng('pmf');
    for (let i = 0; i < n; i++) {
      const k = r.poisson(lambda);
      hist.set(k, (hist.get(k) ?? 0) + 1);
    }
    for (let k = 15; k <= 35; k++) {
      const p = Math.exp(-lambda + k * Math.log(lambda) - logGamma(k + 1));
      const observed = (hist.get(k) ?? 0) / n;
      expect(Math.abs(observed - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
    }
  });

  it('returns 0 for λ ≤ 0 and picks weighted keys in proportion', () => {
    const r = createRng(3);
    expect(r.poisson(0)).toBe(0);
    expect(r.poisson(-1)).toBe(0);
    const counts = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 30_000; i++) counts[r.weighted({ a: 1, b: 2, c: 0 })]++;
    expect(counts.c).toBe(0);
    expect(counts.b / counts.a).toBeGreaterThan(1.85);
    expect(counts.b / counts.a).toBeLessThan(2.15);
    expect(() => r.weighted({ a: 0 })).toThrow(RangeError);
    expect(() => r.choice([])).toThrow(RangeError);
  });
});
