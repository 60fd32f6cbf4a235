/**
 * The gamma windows of an occupancy and the threshold they share (SPEC §3 step 2).
 *
 * Widths: 1 s (5 samples, the device's `Intervals`) plus widths matched to a point source's
 * peak, 1.2 × FWHM with FWHM = 1.533·d/v for each panel distance d at the measured speed
 * (without a usable speed: d = 2.25 m at 1, 2.5 and 4 m/s). Each width w has flanks of
 * L = 2w samples (5–25) one window away for the local test.
 *
 * Threshold: per occupancy, m = 2·K·G tests (K widths, G groups: each channel and their sum)
 * at each of n positions (n ≥ 150); the per-test threshold is the larger of NSigma and the
 * Bonferroni z for `budget` over m·n tests (5.45σ at m = 40, n = 150 and 1e-4), so adding
 * windows or channels can only raise it.
 */
import { sigmaOfLogP } from './stats.js';

export interface WindowTest {
  readonly w: number;
  readonly gap: number;
  readonly flank: number;
}

const NOMINAL_SPEEDS_MPS = [1, 2.5, 4];

const cache = new Map<string, readonly WindowTest[]>();

/** The windows for sample length `dt` (s) at speed `v` (m/s, null = unknown); shared, read-only. */
export function matchedTests(
  dt: number,
  maxWindowS: number,
  v: number | null,
  distancesM: readonly number[],
): readonly WindowTest[] {
  // Speeds repeat to the centimetre per second across a day's traffic: one list per speed.
  const key = `${dt}|${maxWindowS}|${v === null ? '-' : v.toFixed(2)}|${distancesM.join(',')}`;
  let tests = cache.get(key);
  if (tests === undefined) {
    if (cache.size > 4096) cache.clear();
    tests = buildTests(dt, maxWindowS, v === null ? null : Number(v.toFixed(2)), distancesM);
    cache.set(key, tests);
  }
  return tests;
}

function buildTests(
  dt: number,
  maxWindowS: number,
  v: number | null,
  distancesM: readonly number[],
): WindowTest[] {
  const maxW = Math.max(1, Math.round(maxWindowS / dt));
  const widths = new Set<number>([Math.max(1, Math.round(1 / dt))]);
  if (v !== null && v > 0.2 && v < 30) {
    for (const d of distancesM) widths.add(clampInt((1.2 * 1.533 * d) / v / dt, 1, maxW));
  } else {
    for (const s of NOMINAL_SPEEDS_MPS) widths.add(clampInt((1.2 * 1.533 * 2.25) / s / dt, 1, maxW));
  }
  return [...widths]
    .sort((a, b) => a - b)
    .map((w) => ({ w, gap: w, flank: Math.min(25, Math.max(5, 2 * w)) }));
}

/**
 * The per-test threshold for `widths` windows over `usableChannels` channels after `samples`
 * samples, and the sample count up to which it holds (it is recomputed beyond).
 */
export function testThreshold(
  nSigma: number,
  budget: number,
  widths: number,
  usableChannels: number,
  samples: number,
): { threshold: number; validUntil: number } {
  const groups = usableChannels === 0 ? 0 : usableChannels > 1 ? usableChannels + 1 : 1;
  const m = Math.max(1, 2 * widths * groups);
  const positions = Math.max(150, samples);
  // The inverse normal tail is a few Newton steps: cached, most occupancies share one answer.
  const key = `${budget}|${m * positions}`;
  let zBudget = budgetCache.get(key);
  if (zBudget === undefined) {
    if (budgetCache.size > 4096) budgetCache.clear();
    zBudget = sigmaOfLogP(Math.log(budget) - Math.log(m * positions));
    budgetCache.set(key, zBudget);
  }
  return { threshold: Math.max(nSigma, zBudget), validUntil: 2 * positions };
}

const budgetCache = new Map<string, number>();

function clampInt(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.round(x)));
}
