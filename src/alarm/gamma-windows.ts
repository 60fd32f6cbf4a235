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

/**
 * The window lists of one detector (its maximum window and panel distances are fixed), keyed by
 * sample length and speed. Speeds repeat to the centimetre per second across a day's traffic:
 * one list per speed, found by a numeric key (a string key cost more than the lists).
 */
export class MatchedTestCache {
  /** Sample length → speed in cm/s (−1: none) → windows. */
  private readonly lists = new Map<number, Map<number, readonly WindowTest[]>>();
  private size = 0;

  constructor(
    private readonly maxWindowS: number,
    private readonly distancesM: readonly number[],
  ) {}

  /** The windows for sample length `dt` (s) at speed `v` (m/s, null = unknown); shared, read-only. */
  get(dt: number, v: number | null): readonly WindowTest[] {
    const speed = v === null ? null : Number(v.toFixed(2));
    const key = speed === null ? -1 : Math.round(speed * 100);
    if (this.size > 4096) {
      this.lists.clear();
      this.size = 0;
    }
    let byDt = this.lists.get(dt);
    if (byDt === undefined) {
      byDt = new Map();
      this.lists.set(dt, byDt);
    }
    let tests = byDt.get(key);
    if (tests === undefined) {
      tests = buildTests(dt, this.maxWindowS, speed, this.distancesM);
      byDt.set(key, tests);
      this.size++;
    }
    return tests;
  }
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
  let byTests = budgetCache.get(budget);
  if (byTests === undefined || byTests.size > 4096) {
    byTests = new Map();
    budgetCache.set(budget, byTests);
  }
  const tests = m * positions;
  let zBudget = byTests.get(tests);
  if (zBudget === undefined) {
    zBudget = sigmaOfLogP(Math.log(budget) - Math.log(tests));
    byTests.set(tests, zBudget);
  }
  return { threshold: Math.max(nSigma, zBudget), validUntil: 2 * positions };
}

/** Budget → tests (m · positions) → z. Numeric keys: this runs at every arming. */
const budgetCache = new Map<number, Map<number, number>>();

function clampInt(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.round(x)));
}
