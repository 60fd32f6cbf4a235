import { describe, expect, it } from 'vitest';
import {
  logGamma,
  poissonSigma,
  poissonThreshold,
  poissonUpperTail,
  sigmaOfLogP,
} from '../../../src/alarm/stats.js';

/** P(X ≥ n) by direct summation of the pmf (reference for small means). */
function direct(n: number, mu: number): number {
  let pmf = Math.exp(-mu);
  let below = 0;
  for (let k = 0; k < n; k++) {
    below += pmf;
    pmf *= mu / (k + 1);
  }
  return 1 - below;
}

describe('alarm statistics', () => {
  it('ln Γ matches factorials', () => {
    expect(logGamma(1)).toBeCloseTo(0, 12);
    expect(logGamma(11)).toBeCloseTo(Math.log(3628800), 10);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 10);
  });

  it('the Poisson tail is exact, from the bulk to far tails', () => {
    for (const [n, mu] of [
      [0, 2],
      [1, 0.5],
      [3, 3],
      [7, 1],
      [12, 4],
      [30, 12],
      [8, 20],
    ] as const) {
      expect(poissonUpperTail(n, mu)).toBeCloseTo(direct(n, mu), 10);
    }
    // Far tail keeps relative precision where 1 − cdf would underflow: P(X ≥ 60 | 2) ≈ e^−2·2^60/60!·(1+2/61+…)
    const lp = Math.log(poissonUpperTail(60, 2));
    expect(lp).toBeCloseTo(
      -2 + 60 * Math.log(2) - logGamma(61) + Math.log(1 + 2 / 61 + 4 / (61 * 62) + 8 / (61 * 62 * 63)),
      5,
    );
    // "6σ" is wrong at a few counts: 7 counts over a mean of 1 is 8e-5, not 1e-9.
    expect(poissonUpperTail(7, 1)).toBeGreaterThan(1e-5);
  });

  it('thresholds are the smallest count whose tail is within alpha', () => {
    for (const mu of [0.5, 3, 12, 40]) {
      const k = poissonThreshold(mu, 1e-6);
      expect(poissonUpperTail(k, mu)).toBeLessThanOrEqual(1e-6);
      expect(poissonUpperTail(k - 1, mu)).toBeGreaterThan(1e-6);
    }
  });

  it('the deviance sigma tracks the exact tail and is below the Gaussian z', () => {
    for (const [n, mu] of [
      [106, 60],
      [700, 600],
      [40, 20],
    ] as const) {
      const z = poissonSigma(n, mu);
      expect(z).toBeLessThan((n - mu) / Math.sqrt(mu));
      expect(Math.abs(z - sigmaOfLogP(Math.log(poissonUpperTail(n, mu))))).toBeLessThan(0.35);
    }
    expect(poissonSigma(50, 60)).toBeLessThan(0);
  });

  it('converts tail probabilities to sigma', () => {
    expect(sigmaOfLogP(Math.log(1.349898e-3))).toBeCloseTo(3, 3);
    expect(sigmaOfLogP(Math.log(9.8659e-10))).toBeCloseTo(6, 3);
    expect(sigmaOfLogP(-1000)).toBeGreaterThan(44);
  });
});
