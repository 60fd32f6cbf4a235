/**
 * The shadowing-corrected gamma tests (SPEC §3 step 2, "optionally with a shadowing correction"):
 * a window against the vehicle's shadowed level, checked on its flanks, and against the
 * vehicle's profile model when the flanks cannot place it. See gamma-sample.ts for the family
 * of tests, gamma-windows.ts for the threshold; gamma-level.ts for the level and the cargo
 * interior.
 *
 * Functions over the detector (as a {@link LocalHost}), so a sample costs no allocation.
 */
import type { GammaHit } from './gamma.js';
import type { GammaProfile } from './gamma-profile.js';
import type { ShadowLevel } from './gamma-level.js';
import type { WindowTest } from './gamma-windows.js';
import { poissonSigma } from './stats.js';

/** What the tests read from the detector. */
export interface LocalHost {
  readonly profile: GammaProfile;
  readonly level: ShadowLevel;
  /** The Gaussian pre-filter's bar (see gamma.ts). */
  readonly bar: number;
  expectedGroup(g: number): number;
  groupUsable(g: number): boolean;
  consider(
    z: number,
    g: number,
    t: WindowTest,
    baseline: 'background' | 'local',
    i: number,
    centre: number,
    level: number,
  ): GammaHit | null;
}

/** Window (j−w, j], flanks L samples at `gap` either side, right flank ending at or before `last`. */
export function localTest(
  h: LocalHost,
  t: WindowTest,
  screen: Float64Array,
  k: number,
  j: number,
  last: number,
): GammaHit | null {
  return passesScreen(h.profile, screen, k, t.w, j) ? screenedLocalTest(h, t, j, last) : null;
}

/**
 * Does any group's window (j−w, j] exceed its screen (the counts below which no local or model
 * test can reach the bar)? Two reads per group; most windows stop here.
 */
export function passesScreen(
  p: GammaProfile,
  screen: Float64Array,
  k: number,
  w: number,
  j: number,
): boolean {
  const sums = p.sums;
  const G = p.groups;
  const rb = p.row(j);
  const ra = p.row(j - w);
  const base = k * G;
  for (let g = 0; g < G; g++) {
    if (sums[rb + g]! - (ra < 0 ? 0 : sums[ra + g]!) > screen[base + g]!) return true;
  }
  return false;
}

/** {@link localTest} for a window that passed its screen. */
export function screenedLocalTest(h: LocalHost, t: WindowTest, j: number, last: number): GammaHit | null {
  const L = h.level;
  const lo = j - t.w;
  const leftEnd = lo - t.gap;
  let leftStart = Math.max(h.profile.first - 1, leftEnd - t.flank);
  const rightStart = j + t.gap;
  let rightEnd = Math.min(last, rightStart + t.flank);
  if (L.known) {
    // Flanks stay inside the cargo interior: the cab and the empty lane are other levels.
    leftStart = Math.max(leftStart, L.lo - 1);
    rightEnd = Math.min(rightEnd, L.hi - 1);
  }
  const nl = leftEnd - leftStart;
  const nr = rightEnd - rightStart;
  // Both flanks, inside the stored profile: a missing flank may be the unshadowed lane (the
  // look-back before the vehicle, the hold-in after it), so one flank alone proves nothing.
  if (Math.min(nl, nr) < Math.min(5, t.flank)) return L.known ? modelTest(h, t, j, last) : null;
  let hit: GammaHit | null = null;
  for (let g = 0; g < h.profile.groups; g++) {
    if (!h.groupUsable(g)) continue;
    const cap = h.expectedGroup(g);
    const level = L.kv * cap;
    const n = h.profile.window(g, lo, j);
    // A flank is at the level within 3σ and a quarter of the shadow's depth, plus a fifth of
    // the window's own excess (a source's tail; a point peak's flanks one window away carry
    // < 10 % of it): a flank on a step — the cab/cargo boundary, the vehicle's end — carries
    // as much as the window and never counts as shadowed.
    // The level is the lowest baseline either branch below can use: its Gaussian z bounds both.
    if ((n - level * t.w) / Math.sqrt(level * t.w) <= h.bar) continue;
    const tail = 0.2 * Math.max(0, n / t.w - level);
    const depth = 0.25 * (cap - level);
    let mu: number;
    let inflation: number;
    if (
      L.kv < 1 &&
      atLevel(h, g, leftStart, leftEnd, level, tail, depth) &&
      atLevel(h, g, rightStart, rightEnd, level, tail, depth)
    ) {
      // Both flanks sit at the vehicle's shadowed level: measure against that precise level.
      mu = level * t.w;
      inflation = Math.sqrt(1 + L.kvErr * L.kvErr * mu);
    } else {
      // Otherwise the higher flank (an edge of the shadow, a source's tail): noisier, never low.
      const rl = h.profile.window(g, leftStart, leftEnd) / nl;
      const rr = h.profile.window(g, rightStart, rightEnd) / nr;
      const useRight = rr >= rl;
      const rate = useRight ? rr : rl;
      if (!(rate > 0) || rate >= cap) continue; // no suppression: the background test covers it
      mu = rate * t.w;
      inflation = Math.sqrt(1 + t.w / (useRight ? nr : nl));
    }
    if ((n - mu) / (Math.sqrt(mu) * inflation) <= h.bar) continue;
    const centre = j - (t.w - 1) / 2;
    hit ??= h.consider(poissonSigma(n, mu) / inflation, g, t, 'local', last, centre, mu / (cap * t.w));
  }
  return hit ?? (L.known ? modelTest(h, t, j, last) : null);
}

/**
 * The window against the vehicle's profile model, with a measured speed: the cargo interior at
 * the shadowed level, every sample outside it (the cab, the empty lane) at the full background
 * — an upper envelope, so the cab/cargo step and the vehicle's end never look like a source.
 * For windows the flank test cannot place: next to the cab, at the rear door, or anywhere in a
 * short, fast truck. The interior samples beside the window (past a guard of half a window)
 * must sit at the level, on each side that the interior does not end first.
 */
function modelTest(h: LocalHost, t: WindowTest, j: number, last: number): GammaHit | null {
  const L = h.level;
  if (!(L.kv < 1)) return null;
  const lo = j - t.w;
  const inFrom = Math.max(lo + 1, L.lo);
  const inTo = Math.min(j + 1, L.hi);
  const inside = inTo - inFrom;
  if (2 * inside < t.w) return null;
  const guard = Math.ceil(t.w / 2);
  const leftB = lo + 1 - guard;
  const leftA = Math.max(h.profile.first, L.lo, leftB - t.flank);
  const rightA = j + 1 + guard;
  const rightB = Math.min(L.hi, last + 1, rightA + t.flank);
  const nl = Math.max(0, leftB - leftA);
  const nr = Math.max(0, rightB - rightA);
  const leftCut = leftB - 3 < L.lo;
  const rightCut = rightA + 3 > L.hi;
  if ((nl < 3 && !leftCut) || (nr < 3 && !rightCut) || nl + nr < 3) return null;
  let hit: GammaHit | null = null;
  for (let g = 0; g < h.profile.groups; g++) {
    if (!h.groupUsable(g)) continue;
    const cap = h.expectedGroup(g);
    const level = L.kv * cap;
    const n = h.profile.window(g, lo, j);
    const mu = level * inside + cap * (t.w - inside);
    const sd = L.kvErr * cap * inside;
    const inflation = Math.sqrt(1 + (sd * sd) / mu);
    if ((n - mu) / (Math.sqrt(mu) * inflation) <= h.bar) continue;
    const tail = 0.2 * Math.max(0, n / t.w - level);
    const depth = 0.25 * (cap - level);
    if (nl > 0 && !atLevel(h, g, leftA - 1, leftB - 1, level, tail, depth)) continue;
    if (nr > 0 && !atLevel(h, g, rightA - 1, rightB - 1, level, tail, depth)) continue;
    const centre = j - (t.w - 1) / 2;
    hit ??= h.consider(poissonSigma(n, mu) / inflation, g, t, 'local', last, centre, mu / (cap * t.w));
  }
  return hit;
}

function atLevel(
  h: LocalHost,
  g: number,
  a: number,
  b: number,
  level: number,
  tail: number,
  depth: number,
): boolean {
  const k = b - a;
  return h.profile.window(g, a, b) / k <= level + tail + Math.min(depth, 3 * Math.sqrt(level / k));
}

/**
 * The window against the rest of the cargo interior (at the occupancy's end, with a measured
 * speed): the level is the mean of the interior samples outside the window and a guard of one
 * window on each side — both sides pooled when they agree within 3σ, else the higher one (a
 * step in the load never looks like a source). For the short interiors of short, fast trucks:
 * a source's peak and tails fill so much of them that the shadowed level (their 10–60 %
 * quantile range) and the flanks sit on the source itself, which hid sources of 8–11σ. Samples
 * of the window outside the interior are at the full background (the upper envelope, as in the
 * model test); the level's own Poisson error deflates the result. A source's tails beyond the
 * guard only raise the level: conservative.
 */
export function sidebandTest(h: LocalHost, t: WindowTest, j: number, last: number): GammaHit | null {
  const L = h.level;
  if (!L.known || !Number.isFinite(L.hi)) return null;
  const lo = j - t.w;
  const inside = Math.min(j + 1, L.hi) - Math.max(lo + 1, L.lo);
  if (2 * inside < t.w) return null;
  const leftA = Math.max(L.lo, h.profile.first);
  const leftB = lo + 1 - t.w;
  const rightA = j + 1 + t.w;
  const rightB = Math.min(L.hi, last + 1);
  const nl = Math.max(0, leftB - leftA);
  const nr = Math.max(0, rightB - rightA);
  if (nl + nr < 3) return null;
  let hit: GammaHit | null = null;
  for (let g = 0; g < h.profile.groups; g++) {
    if (!h.groupUsable(g)) continue;
    const cap = h.expectedGroup(g);
    const cl = nl > 0 ? h.profile.window(g, leftA - 1, leftB - 1) : 0;
    const cr = nr > 0 ? h.profile.window(g, rightA - 1, rightB - 1) : 0;
    let rate = (cl + cr) / (nl + nr);
    let m = nl + nr;
    if (nl >= 3 && nr >= 3 && Math.abs(cl / nl - cr / nr) > 3 * Math.sqrt(cl / (nl * nl) + cr / (nr * nr))) {
      const left = cl / nl >= cr / nr;
      rate = left ? cl / nl : cr / nr;
      m = left ? nl : nr;
    } else if (nl >= 3 && nr < 3) {
      rate = cl / nl;
      m = nl;
    } else if (nr >= 3 && nl < 3) {
      rate = cr / nr;
      m = nr;
    }
    if (!(rate > 0) || rate >= cap) continue; // no suppression: the background test covers it
    const n = h.profile.window(g, lo, j);
    const mu = rate * inside + cap * (t.w - inside);
    const sd = Math.sqrt(rate / m) * inside;
    const inflation = Math.sqrt(1 + (sd * sd) / mu);
    if ((n - mu) / (Math.sqrt(mu) * inflation) <= h.bar) continue;
    const centre = j - (t.w - 1) / 2;
    hit ??= h.consider(poissonSigma(n, mu) / inflation, g, t, 'local', last, centre, mu / (cap * t.w));
  }
  return hit;
}
