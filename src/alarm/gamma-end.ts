/**
 * The gamma tests at the occupancy's end (SPEC §3 step 2), once the vehicle's own samples are
 * known and the detector has re-estimated the shadowed level from them (GammaDetector.finish):
 * - the local tests re-run over the whole profile with that level, including the windows whose
 *   right flank the end cut short;
 * - with a measured speed, each window also against the rest of the cargo interior beyond a
 *   guard of one window (`sidebandTest`, gamma-local.ts): in a short interior a source fills
 *   most samples, and the shadowed level and the flanks sit on it;
 * - and the interior fitted as a flat level plus a point source's peak (`profileFitTest`,
 *   gamma-fit.ts), which tells the peak from the level with the peak's own samples.
 * Before the level is final, the interior's start moves back behind a short cab
 * ({@link extendInterior}).
 *
 * Functions over the detector (as an {@link EndHost}), like gamma-local.ts: once per occupancy,
 * no per-sample cost.
 */
import type { GammaHit } from './gamma.js';
import { profileFitTest } from './gamma-fit.js';
import { localTest, sidebandTest, type LocalHost } from './gamma-local.js';
import type { WindowTest } from './gamma-windows.js';

/** What the end reads from the detector beyond the local tests' host. */
export interface EndHost extends LocalHost {
  /** Measured speed (m/s), null without one. */
  readonly speedMps: number | null;
  /** Sample length (s). */
  readonly sampleS: number;
  /** Highest z so far (the fit runs only where the windows already see 3.5σ). */
  readonly maxSigma: number;
}

/**
 * The interior starts where a cab of `cabMaxM` (+10 % for the speed) surely ends; behind a
 * shorter cab the cargo's level is measured earlier. Walking back from the interior's start,
 * each sample at the cargo's level (below the midpoint to the full background and within 1σ
 * of the level) joins it, down to a 2.5 m cab (SPEC §2, −10 %). A cab sample, or one a
 * source lifts, stops the walk: the interior grows only where it is seen to be cargo — in a
 * short, fast truck that is a quarter more samples for the level and the tests.
 * Returns whether the interior grew (the level is then to be rebuilt).
 */
export function extendInterior(h: EndHost): boolean {
  const L = h.level;
  const v = h.speedMps;
  if (!L.known || !(L.kv < 1) || v === null) return false;
  const p = h.profile;
  const mu = h.expectedGroup(p.sumGroup);
  if (!(mu > 0)) return false;
  const floor = Math.max(p.first, Math.ceil((0.9 * (2.5 + 0.5)) / v / h.sampleS));
  const bar = Math.min((mu * (1 + L.kv)) / 2, L.kv * mu + Math.sqrt(L.kv * mu));
  let k = L.lo;
  while (k - 1 >= floor && p.at(p.sumGroup, k - 1) <= bar) k--;
  if (k === L.lo) return false;
  L.lo = k;
  return true;
}

/**
 * The end's window tests over the whole profile, with the final level: `lvScreen` the level's
 * screens rebuilt for it (gamma-screens.ts), `kvMinStream` the lowest level any streaming test
 * used, `distancesM` the panel distances the profile fit tries.
 */
export function endTests(
  h: EndHost,
  tests: readonly WindowTest[],
  lvScreen: Float64Array,
  kvMinStream: number,
  distancesM: readonly number[],
): GammaHit | null {
  const p = h.profile;
  const L = h.level;
  const n = p.n;
  // Windows tested while streaming against a level no lower than the final one cannot turn
  // into alarms now, except those whose flanks the end (or the interior's end) cut: only the
  // tail is re-run then. A lower final level re-runs everything.
  let from = p.first;
  if (L.kv >= kvMinStream - 0.002) {
    let reach = 0;
    for (const t of tests) reach = Math.max(reach, t.w + t.gap + t.flank + Math.ceil(t.w / 2) + 1);
    const hi = Number.isFinite(L.hi) ? L.hi : n;
    from = Math.max(from, Math.min(n - 1, hi) - reach);
  }
  let hit: GammaHit | null = null;
  for (let k = 0; k < tests.length; k++) {
    const t = tests[k]!;
    for (let j = Math.max(from, p.first + t.w - 1); j < n; j++)
      hit ??= localTest(h, t, lvScreen, k, j, n - 1);
  }
  // Each window against the rest of the interior (once per occupancy: see sidebandTest).
  if (L.known) {
    for (const t of tests) {
      const to = Math.min(n, L.hi + t.w);
      for (let j = Math.max(p.first + t.w - 1, L.lo); j < to; j++) hit ??= sidebandTest(h, t, j, n - 1);
    }
    // The fit costs a few window tests per sample: only where the windows already see 3.5σ.
    const v = h.speedMps;
    if (v !== null && h.maxSigma >= 3.5) hit ??= profileFitTest(h, v, h.sampleS, distancesM, n - 1);
  }
  return hit;
}
