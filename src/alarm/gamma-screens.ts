/**
 * The screens of the gamma window tests: per test and group, the counts a window must exceed
 * before any arithmetic beyond two reads — the background test's bar, and the bar at (a little
 * below) the shadowed level, which bounds the local and model tests (their baselines are never
 * below that level). The Gaussian z bounds the deviance z from above, so a window under its
 * screen can neither decide nor raise the reported maximum: most windows stop here.
 *
 * Read per sample by the detector (its background test, inline) and by gamma-local.ts
 * (`passesScreen`); rebuilt only when the bar, the groups or the level move (the bar in
 * quarter-sigma steps, {@link screenBar}). Allocation-free except when the tests outgrow them.
 */
import type { LocalHost } from './gamma-local.js';
import type { WindowTest } from './gamma-windows.js';

export class TestScreens {
  /** Background-test screens, at k·G + g (test k, group g). Replaced only by {@link refresh}. */
  bg = new Float64Array(0);
  /** Screens at the shadowed level, same layout. */
  lv = new Float64Array(0);
  /** The (rounded) bar and the level the screens were built for. */
  private bar = NaN;
  private kv = NaN;

  /** Must the screens be rebuilt for the Gaussian pre-filter's `bar` and the level `kv`? */
  stale(bar: number, kv: number): boolean {
    return screenBar(bar) !== this.bar || kv < this.kv - 0.004 || kv > this.kv + 0.01;
  }

  /**
   * Rebuild for `tests` over the host's groups: `expG`/`epsG` each group's expected counts per
   * sample and their relative error, `bar` the pre-filter's bar, `kv` the shadowed level.
   */
  refresh(
    h: Pick<LocalHost, 'profile' | 'groupUsable'>,
    tests: readonly WindowTest[],
    expG: Float64Array,
    epsG: Float64Array,
    bar: number,
    kv: number,
  ): void {
    const G = h.profile.groups;
    const K = tests.length;
    if (this.bg.length < K * G) {
      this.bg = new Float64Array(K * G);
      this.lv = new Float64Array(K * G);
    }
    const b = screenBar(bar);
    const kvLow = Math.max(0, kv - 0.005);
    for (let k = 0; k < K; k++) {
      const w = tests[k]!.w;
      for (let g = 0; g < G; g++) {
        const mu = expG[g]! * w;
        const eps = epsG[g]!;
        const ok = h.groupUsable(g) && mu > 0;
        this.bg[k * G + g] = ok ? mu + b * Math.sqrt(mu) * Math.sqrt(1 + eps * eps * mu) : Infinity;
        this.lv[k * G + g] = ok ? kvLow * mu + b * Math.sqrt(kvLow * mu) : Infinity;
      }
    }
    this.bar = b;
    this.kv = kv;
  }
}

/**
 * The bar the screens are built for: the bar rounded down to a quarter sigma, not below 3 (a bar
 * under 3 — an NSigma set that low — is kept as it is). A
 * lower screen only lets more windows through to the exact test, which compares against the
 * bar itself — so results are unchanged, and the screens are rebuilt once per quarter sigma
 * instead of at every small rise of the maximum.
 */
function screenBar(bar: number): number {
  return bar <= 3 ? bar : Math.max(3, Math.floor(bar * 4) / 4);
}
