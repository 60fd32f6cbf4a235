/**
 * The gamma tests of one scan sample (SPEC §3 step 2): every window that sample completes,
 * against the background and — one window and its right flank later — against the vehicle's
 * shadowed level. The detector (gamma.ts) keeps the state they run on (the tests in force, the
 * groups' expectations, the screens, the threshold) up to date before each sample; the tests at
 * the occupancy's end are gamma-end.ts.
 *
 * Two tests per window and group (each channel, and the sum of the usable channels):
 * - `background`: counts against k·B·t (k: look-back correction). Shadowing only lowers counts,
 *   so this test never alarms on it — and a heavy load hides a source from it.
 * - `local` (the shadowing correction, decided once the right flank is in, a delay of ~2w):
 *   flanks of L = 2w samples (5–25) one window away on both sides. When both flanks sit at the
 *   vehicle's shadowed level (`ShadowLevel`, gamma-level.ts: the cargo's level, from the
 *   samples in which the plane surely sees cargo) within 3σ and a quarter of the shadow depth
 *   plus a fifth of the window's own excess (a source's tail), the window is tested against
 *   that precise level. With a measured speed, flanks are clipped to that cargo interior, and a
 *   window inside it may lean on one flank at the level when the other runs into the cab or the
 *   empty lane (a source next to the cab or at the rear door). Otherwise (a flank on a step)
 *   against the higher flank, capped at k·B. A step therefore never looks like a source, and a
 *   heavy load's shadowing cannot hide one (gamma-local.ts).
 * - at the occupancy's end, with a measured speed, each window also against the rest of the
 *   cargo interior, and the interior fitted as a flat level plus a point source's peak
 *   (gamma-end.ts).
 *
 * Significance: the signed root of the Poisson deviance (exact-tail accuracy at small counts),
 * deflated by the baseline's own uncertainty (background: √(1 + ε²μ), ε the group's relative
 * error of the baseline; shadowed level: its standard error; higher flank: √(1 + w/L)). Reported
 * sigmas are per test, in the device's sense (threshold = NSigma per window; the threshold and
 * its multiple-testing correction are gamma-windows.ts).
 *
 * Functions over the detector (as a {@link LocalHost}), like gamma-local.ts: the hot path, no
 * allocation and no closure per sample; a window under its screen (gamma-screens.ts) costs two
 * reads per group.
 */
import type { GammaHit } from './gamma.js';
import { passesScreen, screenedLocalTest, type LocalHost } from './gamma-local.js';
import type { TestScreens } from './gamma-screens.js';
import type { WindowTest } from './gamma-windows.js';
import { poissonSigma } from './stats.js';

/**
 * The tests of the windows that sample i completes: `tests` the windows in force, `screens`
 * theirs (current for the bar and the level), `expG`/`epsG` each group's expected counts per
 * sample and their relative error. Returns the first hit over the threshold, or null.
 */
export function sampleTests(
  h: LocalHost,
  tests: readonly WindowTest[],
  screens: TestScreens,
  expG: Float64Array,
  epsG: Float64Array,
  i: number,
): GammaHit | null {
  let hit: GammaHit | null = null;
  const p = h.profile;
  const first = p.first;
  const sums = p.sums;
  const G = p.groups;
  const rowI = p.row(i);
  // Nothing below refreshes the screens: their arrays are read from locals.
  const bgScreen = screens.bg;
  const lvScreen = screens.lv;
  for (let k = 0; k < tests.length; k++) {
    const t = tests[k]!;
    if (i - t.w + 1 >= first) {
      // The background test, screened inline: the ring row of each end once, two reads a group.
      const ra = p.row(i - t.w);
      for (let g = 0; g < G; g++) {
        const n = sums[rowI + g]! - (ra < 0 ? 0 : sums[ra + g]!);
        // The Gaussian z bounds the deviance z from above: most windows stop at the screen.
        if (n > bgScreen[k * G + g]!) hit ??= backgroundTest(h, t, expG, epsG, g, n, i);
      }
    }
    const j = i - t.gap - t.flank;
    if (j - t.w + 1 >= first && passesScreen(p, lvScreen, k, t.w, j)) hit ??= screenedLocalTest(h, t, j, i);
  }
  return hit;
}

/** Window (i−w, i] of group g, with `n` counts over its screen, against the background. */
function backgroundTest(
  h: LocalHost,
  t: WindowTest,
  expG: Float64Array,
  epsG: Float64Array,
  g: number,
  n: number,
  i: number,
): GammaHit | null {
  const mu = expG[g]! * t.w;
  const eps = epsG[g]!;
  const inflation = Math.sqrt(1 + eps * eps * mu);
  return h.consider(poissonSigma(n, mu) / inflation, g, t, 'background', i, i - (t.w - 1) / 2, 1);
}
