/**
 * What the gross-count profile says about an alarming occupancy (SPEC §3 step 4): the features
 * adjudication reasons with. Computed once, at occupancy end, in O(samples).
 *
 * Geometry (SPEC §2): the occupancy sensors sit ~0.5 m before and after the detector plane, so
 * a point ξ metres behind the vehicle's front crosses the plane at t = (ξ + 0.5)/v after the
 * trigger, and the vehicle is L = v·T − 1 m long, T its presence time (the occupancy minus the
 * `OccupancyHoldin` samples). A point source at distance d from a panel makes a peak of
 * FWHM ≈ 1.533·d/v; the reference d is the middle of the lane (2.25 m).
 *
 * Baseline of the excess: the unshadowed background outside the vehicle and (1 − s)·B while it
 * is in the plane, where the suppression s is 1 − the median of its 1 s block ratios (a source
 * or a NORM plateau pulls that median up, never down, so s errs low: conservative), in [0, 0.3].
 */
import type { GammaDetector } from './gamma.js';
import { plateauBump } from './plateau.js';
import { medianInPlace } from './stats.js';

export interface FeatureOptions {
  /** Samples the device holds the occupancy after the vehicle clears. Default 10. */
  readonly holdinSamples?: number;
  /** Largest suppression believed (SPEC §2: up to 30 %). Default 0.3. */
  readonly maxSuppression?: number;
  /** Reference source-to-panel distance for the point width (m). Default 2.25. */
  readonly referenceDistanceM?: number;
  /** Occupancy sensor offset either side of the detector plane (m). Default 0.5. */
  readonly sensorOffsetM?: number;
}

export interface Bump {
  /** Family-wise significance of the localized excess over the plateau around it. */
  readonly sigma: number;
  readonly timeS: number;
  /** Fraction of the vehicle length (null without speed). */
  readonly position: number;
  readonly widthS: number;
}

export interface ProfileFeatures {
  readonly samples: number;
  readonly speedMps: number | null;
  readonly vehicleS: number;
  readonly vehicleLengthM: number | null;
  readonly suppression: number;
  /** Excess counts over the baseline in the half-maximum region, all usable channels. */
  readonly excessCounts: number;
  readonly peakTimeS: number;
  /** Where along the vehicle the excess is: 0 = front, 1 = rear (time-based when no speed). */
  readonly position: number;
  readonly alongM: number | null;
  readonly widthS: number;
  /** FWHM a point source at the reference distance would have at this speed; null without speed. */
  readonly pointWidthS: number | null;
  readonly widthRatio: number | null;
  /** Fraction of the vehicle's samples above half the peak excess. */
  readonly coverage: number;
  /** (master − slave)/(master + slave) of the excess around the peak; null if not a 2-pillar lane. */
  readonly asymmetry: number | null;
  readonly asymmetryError: number | null;
  /** upper/(upper + lower) of the excess around the peak; null if unknown. */
  readonly upperFraction: number | null;
  readonly bump: Bump | null;
}

interface Roles {
  readonly master: number[];
  readonly slave: number[];
  readonly upper: number[];
  readonly lower: number[];
}

/** Channel roles from the lane's channel names (masterUpper, slaveLower, …). */
export function channelRoles(names: readonly string[]): Roles {
  const r: Roles = { master: [], slave: [], upper: [], lower: [] };
  names.forEach((raw, c) => {
    const n = raw.toLowerCase();
    if (n.includes('master')) r.master.push(c);
    if (n.includes('slave')) r.slave.push(c);
    if (n.includes('upper')) r.upper.push(c);
    if (n.includes('lower')) r.lower.push(c);
  });
  return r;
}

export function extractFeatures(
  d: GammaDetector,
  roles: Roles,
  speedKph: number | null,
  o: FeatureOptions = {},
): ProfileFeatures | null {
  const p = d.profile;
  const first = p.first;
  const n = p.n;
  const count = n - first;
  if (count < 3) return null;
  const g = p.sumGroup;
  const dt = d.sampleS;
  const mu = d.expectedGroup(g);
  if (!(mu > 0)) return null;
  const holdin = o.holdinSamples ?? 10;
  const offset = o.sensorOffsetM ?? 0.5;
  const vEnd = n - holdin > first + 3 ? n - holdin : n;
  const v = speedKph !== null && speedKph > 0.7 && speedKph < 110 ? speedKph / 3.6 : null;
  const vehicleS = vEnd * dt;
  const lengthM = v === null ? null : Math.max(1, v * vehicleS - 2 * offset);

  // Suppression from the median 1 s block ratio while the vehicle is in the plane.
  const blocks: number[] = [];
  for (let a = Math.max(first, 1); a + 5 <= vEnd; a += 5) blocks.push(p.window(g, a - 1, a + 4) / (5 * mu));
  const med = blocks.length >= 2 ? medianInPlace(blocks, blocks.length) : 1;
  const s = Math.min(o.maxSuppression ?? 0.3, Math.max(0, 1 - med));
  // The excess is measured against the baseline of the test that found it (the shadowed level
  // for a local test, the background for the other), so a less shadowed cab never outshines it.
  const level = d.bestCentre >= first ? Math.min(1, Math.max(0.5, d.bestLevel)) : 1 - s;
  // With a measured speed, the shadowed level holds only while the cargo is in the plane: the
  // cab, the look-back and the hold-in are at the full background. Measuring them against the
  // cargo's level would turn the cab into "excess" and widen a point source into a plateau.
  // Once the rear has crossed the plane the lane is empty: the full background, not the cab's.
  const gone = d.level.known ? d.level.hi : Infinity;
  const base = (i: number, m: number): number =>
    (d.shadowedAt(i) ? level : i >= gone ? Math.max(level, 1) : Math.max(level, 1 - 0.05)) * m;

  // Peak of the excess, smoothed over a point source's width.
  const pointWidthS = v === null ? null : (1.533 * (o.referenceDistanceM ?? 2.25)) / v;
  const h = Math.max(1, Math.round(((pointWidthS ?? 1) / dt - 1) / 2));
  let peak = first;
  let peakValue = -Infinity;
  const lead = d.bestCentre >= first ? Math.min(n - 1, Math.round(d.bestCentre)) : -1;
  const from = lead >= 0 ? Math.max(first, lead - h) : first;
  const to = lead >= 0 ? Math.min(n, lead + h + 1) : n;
  for (let i = from; i < to; i++) {
    const a = Math.max(first - 1, i - h - 1);
    const b = Math.min(n - 1, i + h);
    let e = p.window(g, a, b);
    for (let k = a + 1; k <= b; k++) e -= base(k, mu);
    if (e > peakValue) {
      peakValue = e;
      peak = i;
    }
  }
  // Half-maximum region on a 3-sample average (first crossing: a noisy dip narrows, never widens).
  const smooth = (i: number): number => {
    const a = Math.max(first - 1, i - 2);
    const b = Math.min(n - 1, i + 1);
    let e = p.window(g, a, b);
    for (let k = a + 1; k <= b; k++) e -= base(k, mu);
    return e / (b - a);
  };
  const top = smooth(peak);
  let left = peak;
  while (left - 1 >= first && smooth(left - 1) >= top / 2) left--;
  let right = peak;
  while (right + 1 < n && smooth(right + 1) >= top / 2) right++;
  let covered = 0;
  for (let i = first; i < vEnd; i++) if (smooth(i) >= top / 2) covered++;
  const widthS = (right - left + 1) * dt;

  let excessCounts = p.window(g, left - 1, right);
  for (let k = left; k <= right; k++) excessCounts -= base(k, mu);

  // Centre of the excess: the peak for narrow ones, the middle of the half-max region for plateaus.
  const centre = widthS > 2 * (pointWidthS ?? 1.5) ? (left + right + 1) / 2 : peak + 0.5;
  const peakTimeS = centre * dt;
  const alongM = v === null ? null : v * peakTimeS - offset;
  const position =
    alongM !== null && lengthM !== null ? alongM / lengthM : peakTimeS / Math.max(dt, vehicleS);

  const lo = Math.max(first, peak - h);
  const hi = Math.min(n - 1, peak + h);
  const side = (chs: number[]): { e: number; n: number } => {
    let e = 0;
    let c = 0;
    for (const ch of chs) {
      if (!p.usable(ch)) continue;
      const counts = p.window(ch, lo - 1, hi);
      c += counts;
      let b = 0;
      for (let k = lo; k <= hi; k++) b += base(k, d.expected(ch));
      e += counts - b;
    }
    return { e, n: c };
  };
  let asymmetry: number | null = null;
  let asymmetryError: number | null = null;
  const usableOf = (chs: number[]): boolean => chs.some((c) => p.usable(c));
  if (usableOf(roles.master) && usableOf(roles.slave)) {
    const m = side(roles.master);
    const sl = side(roles.slave);
    const tot = m.e + sl.e;
    if (tot > 0) {
      asymmetry = clamp((m.e - sl.e) / tot, -1, 1);
      asymmetryError = (2 * Math.sqrt(m.n * sl.e * sl.e + sl.n * m.e * m.e)) / (tot * tot);
    }
  }
  let upperFraction: number | null = null;
  if (usableOf(roles.upper) && usableOf(roles.lower)) {
    const u = side(roles.upper);
    const l = side(roles.lower);
    if (u.e + l.e > 0) upperFraction = clamp(u.e / (u.e + l.e), 0, 1);
  }

  const widthRatio = pointWidthS === null ? null : widthS / pointWidthS;
  const coverage = covered / Math.max(1, vEnd - first);
  const broad = (widthRatio !== null && widthRatio >= 1.8) || coverage >= 0.35;
  const bump = broad ? findBump(d, left, right, mu, pointWidthS, v, lengthM, offset, vehicleS) : null;
  return {
    samples: count,
    speedMps: v,
    vehicleS,
    vehicleLengthM: lengthM,
    suppression: s,
    excessCounts,
    peakTimeS,
    position,
    alongM,
    widthS,
    pointWidthS,
    widthRatio,
    coverage,
    asymmetry,
    asymmetryError,
    upperFraction,
    bump,
  };
}

/** A localized excess on top of the plateau [left, right], against a model of the plateau. */
function findBump(
  d: GammaDetector,
  left: number,
  right: number,
  mu: number,
  pointWidthS: number | null,
  v: number | null,
  lengthM: number | null,
  offset: number,
  vehicleS: number,
): Bump | null {
  const p = d.profile;
  const dt = d.sampleS;
  const w = Math.max(3, Math.round((1.2 * (pointWidthS ?? 1.4)) / dt));
  const found = plateauBump(p, p.sumGroup, p.first, p.n, left, right, dt, () => mu, w);
  if (found === null) return null;
  const timeS = (found.centre + 0.5) * dt;
  const position =
    v !== null && lengthM !== null ? (v * timeS - offset) / lengthM : timeS / Math.max(dt, vehicleS);
  return { sigma: found.sigma, timeS, position, widthS: w * dt };
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
