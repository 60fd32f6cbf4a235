/**
 * The vehicle's shadowed background level (SPEC §2–3: "the pre-source suppression measured in
 * the occupancy"), relative to the unshadowed background, and where along the occupancy it holds.
 *
 * Level. Each scan sample's summed counts over the unshadowed expectation is one ratio; the level
 * is the bias-corrected mean of the 10–60 % quantile range of the sorted ratios (a source lifts
 * up to 40 % of the samples to the top without moving it; a mean of a range avoids the integer
 * steps of a median at low counts). Clamped to [1 − maxSuppression, 1]. Its standard error is
 * about 1.3 σ/√N, σ the relative Poisson spread of one sample.
 *
 * Interior. With a measured speed v, the samples in which the plane surely sees the cargo:
 * from the time the front is `cabMaxM` + the sensor offset into the lane (+10 % for the speed
 * changing over the pass) to one sample before the rear crosses the plane (known at the end: the
 * occupancy ends `holdin` samples after the rear clears the exit sensor). Only interior samples
 * enter the level; a local test may lean on one flank when the other leaves the interior (the
 * cab before it, the empty lane after it) — a source next to the cab or at the rear door is
 * tested against the cargo's level instead of being lost in the step. Without a speed the whole
 * profile is used and both flanks are always required. At the end the detector moves the start
 * back over samples seen at the cargo's level, behind a cab shorter than `cabMaxM`
 * (`extendInterior`, gamma-end.ts).
 *
 * The ratios come from the detector's profile (gamma-profile.ts): one per sample as it streams
 * in ({@link ShadowLevel.addSample}), or all of the interior's at once at arming, a new speed, a
 * channel leaving and the end ({@link ShadowLevel.measure}, into a scratch array sized once to
 * the profile's capacity).
 */
import type { GammaProfile } from './gamma-profile.js';

export interface LevelOptions {
  /** Largest suppression believed (SPEC §2: 30 %). Default 0.3. */
  readonly maxSuppression?: number;
  /** The longest cab plus the gap to the cargo, metres behind the front (SPEC §2: cabs 2.5–3 m). Default 3.5. */
  readonly cabMaxM?: number;
  /** Occupancy sensors sit this far either side of the detector plane (m). Default 0.5. */
  readonly sensorOffsetM?: number;
}

export class ShadowLevel {
  private readonly sorted: Float64Array;
  private count = 0;
  private readonly sMax: number;
  private readonly cabMaxM: number;
  private readonly offsetM: number;
  /** Level ÷ unshadowed background (1 − suppression), and its standard error. */
  kv = 1;
  kvErr = 0;
  /** Interior sample range [lo, hi) (absolute indices); hi = Infinity until the end is known. */
  lo = 0;
  hi = Infinity;
  /** The interior comes from a measured speed (one-flank tests allowed). */
  known = false;
  /** The ratios {@link measure} sorts in, sized to the profile's capacity. */
  private scratch = new Float64Array(0);

  constructor(capacity: number, o: LevelOptions = {}) {
    this.sorted = new Float64Array(Math.max(16, capacity));
    this.sMax = o.maxSuppression ?? 0.3;
    this.cabMaxM = o.cabMaxM ?? 3.5;
    this.offsetM = o.sensorOffsetM ?? 0.5;
  }

  reset(): void {
    this.count = 0;
    this.kv = 1;
    this.kvErr = 0;
    this.lo = 0;
    this.hi = Infinity;
    this.known = false;
  }

  /** The interior from the speed (m/s) and the sample length (s); `end`: samples of the vehicle. */
  setInterior(speedMps: number | null, dt: number, vehicleSamples: number | null): void {
    if (speedMps === null || !(speedMps > 0.2) || !(dt > 0)) {
      this.lo = 0;
      this.hi = Infinity;
      this.known = false;
      return;
    }
    this.known = true;
    this.lo = Math.ceil((1.1 * (this.cabMaxM + this.offsetM)) / speedMps / dt);
    this.hi =
      vehicleSamples === null ? Infinity : Math.floor(vehicleSamples - this.offsetM / speedMps / dt) - 1;
  }

  /** Is absolute sample i inside the interior? */
  inside(i: number): boolean {
    return i >= this.lo && i < this.hi;
  }

  /** Take one sample's ratio (its summed counts ÷ the unshadowed expectation); `mu` that expectation. */
  add(ratio: number, mu: number): void {
    if (this.count >= this.sorted.length || !Number.isFinite(ratio)) return;
    let i = this.count++;
    while (i > 0 && this.sorted[i - 1]! > ratio) {
      this.sorted[i] = this.sorted[i - 1]!;
      i--;
    }
    this.sorted[i] = ratio;
    this.update(mu);
  }

  /** Take sample i of profile `p` (its summed counts); `mu` the unshadowed expectation per sample. */
  addSample(p: GammaProfile, i: number, mu: number): void {
    if (mu > 0) this.add(p.at(p.sumGroup, i) / mu, mu);
  }

  /**
   * Re-measure from profile `p`: the ratios of the interior's samples before `end`, `mu` the
   * unshadowed expectation per sample. Without an expectation or such samples, no level.
   */
  measure(p: GammaProfile, mu: number, end: number): void {
    const to = Math.min(end, this.hi);
    const from = Math.max(p.first, this.lo);
    if (!(mu > 0) || to <= from) {
      this.clear();
      return;
    }
    if (this.scratch.length < to - from) this.scratch = new Float64Array(p.capacity);
    for (let i = from; i < to; i++) this.scratch[i - from] = p.at(p.sumGroup, i) / mu;
    this.fill(this.scratch, to - from, mu);
  }

  /** Replace the ratios by `values[0…n)` (sorted natively: O(n log n), not n insertions). */
  fill(values: Float64Array, n: number, mu: number): void {
    const k = Math.min(n, this.sorted.length);
    this.sorted.set(values.subarray(0, k));
    this.sorted.subarray(0, k).sort();
    this.count = k;
    this.kv = 1;
    this.kvErr = 0;
    this.update(mu);
  }

  clear(): void {
    this.count = 0;
    this.kv = 1;
    this.kvErr = 0;
  }

  get samples(): number {
    return this.count;
  }

  private update(mu: number): void {
    const n = this.count;
    if (n < 5) return;
    // Mean of the 10–60 % quantile range: a source may lift up to 40 % of the samples without
    // moving it. For Poisson-normal noise that range sits 0.4216 σ below the mean (normal
    // order statistics: (φ(z0.1) − φ(z0.6))/0.5), which is added back.
    const a = Math.floor(0.1 * n);
    const b = Math.max(a + 1, Math.ceil(0.6 * n));
    let s = 0;
    for (let i = a; i < b; i++) s += this.sorted[i]!;
    const raw = s / (b - a);
    const level = raw + 0.4216 / Math.sqrt(Math.max(1e-9, raw * mu));
    this.kv = Math.min(1, Math.max(1 - this.sMax, level));
    this.kvErr = 1.3 / Math.sqrt(n * Math.max(1e-9, mu));
  }
}
