/**
 * The unshadowed per-channel baseline of one occupancy's gamma tests (SPEC §3 steps 1–2), fixed
 * at the first scan sample.
 *
 * The robust line estimate of each channel is checked against the pre-trigger look-back: a
 * look-back consistent with it is averaged in (inverse-variance), a look-back far *below* it
 * means the background fell and is used instead (a source cannot lower counts). Those ratios are
 * the median over the channels (one odd panel cannot move it; its error is the channels' own).
 * A look-back above it (> 2σ) — the background rose since the reports (they lag by the device's
 * averaging and a median over 45 s), or a source is approaching — keeps the reports and defers
 * the decisions, and so does one channel standing > 4σ + 2 % above the others: the second half
 * of the hold-in, the empty lane after the vehicle, tells the two apart ({@link
 * GammaBaseline.confirmRise}). Where it stands as high, the baseline is raised to the lower of
 * the two and the tests re-run: a lagging report was how drift at a few thousand cps made
 * false alarms.
 *
 * A channel whose reports still lag a level change (settling: a fault started or ended, a dead
 * or stuck channel recovered, an unflagged jump), or a faulted channel whose look-back disagrees
 * with its reports by more than 5σ, takes its own look-back instead, with that look-back's Poisson error — the device's running mean lags such a
 * change by its averaging time, and a lagging low estimate was the one way a detector fault
 * became a false alarm. Without a look-back such a channel is left out.
 *
 * No lines: the look-back. No look-back either: the first second of the occupancy (flagged: any
 * alarm then goes to INVESTIGATE).
 *
 * Uncertainty: the line-based channels share one relative error ε (spread of the reports and the
 * look-back, floor 0.5 %, fully correlated between channels); an own-look-back channel has its
 * own. {@link GammaBaseline.groupEpsilon} combines them for a group.
 */
import type { BackgroundTracker } from './background.js';
import type { GammaProfile } from './gamma-profile.js';
import { medianInPlace } from './stats.js';
import type { HealthCode } from './types.js';

export type Report = (code: HealthCode, channel: number | null, message: string) => void;

export class GammaBaseline {
  /** Per-channel baseline, cps (after the look-back correction). */
  readonly bg: Float64Array;
  /** Per-channel pre-trigger counts, and their total time. */
  readonly pre: Float64Array;
  preS = 0;
  /** 1: the channel's own look-back is its baseline. */
  private readonly own: Uint8Array;
  /** Relative error of an own-look-back baseline. */
  private readonly epsOwn: Float64Array;
  /** Common relative error of the line-based channels. */
  epsilon = 0;
  fallback = false;
  private readonly first: Float64Array;
  private firstN = 0;
  private readonly ratios: Float64Array;
  /**
   * A look-back far above the reports: the background rose since them, or a source is
   * approaching. `riseAll` is the look-back's common ratio (0: none) and `riseErr` its error;
   * `rose[c]` the ratio of a channel whose own look-back stands out (0: none). Decisions wait
   * for the hold-in ({@link confirmRise}).
   */
  private riseAll = 0;
  private riseErr = 0;
  private readonly rose: Float64Array;
  deferred = false;

  constructor(
    readonly channels: number,
    private readonly floor: number,
  ) {
    this.bg = new Float64Array(channels);
    this.pre = new Float64Array(channels);
    this.own = new Uint8Array(channels);
    this.epsOwn = new Float64Array(channels);
    this.first = new Float64Array(channels);
    this.ratios = new Float64Array(channels);
    this.rose = new Float64Array(channels);
  }

  reset(): void {
    this.pre.fill(0);
    this.preS = 0;
    this.own.fill(0);
    this.epsOwn.fill(0);
    this.fallback = false;
    this.first.fill(0);
    this.firstN = 0;
    this.epsilon = 0;
    this.riseAll = 0;
    this.rose.fill(0);
    this.deferred = false;
  }

  addPre(counts: ArrayLike<number>, seconds: number): void {
    for (let c = 0; c < this.channels; c++) this.pre[c]! += counts[c]!;
    this.preS += seconds;
  }

  /** A baseline has been measured (or is being measured from the occupancy itself). */
  get started(): boolean {
    return this.firstN > 0;
  }

  /**
   * Fix the baseline from the tracker and the look-back. False: neither exists, and the first
   * second of the occupancy must stand in ({@link fallbackSample}).
   */
  arm(tracker: BackgroundTracker, profile: GammaProfile, names: readonly string[], report: Report): boolean {
    const known = tracker.known;
    const preT = this.preS;
    if (!known && preT <= 0) {
      report(
        'no-background',
        null,
        'no gamma background and no look-back: the first second of the occupancy is the baseline',
      );
      this.fallback = true;
      return false;
    }
    if (!known) {
      report(
        'no-background',
        null,
        'no gamma background line yet: the pre-trigger look-back is the baseline',
      );
      for (let c = 0; c < this.channels; c++) this.bg[c] = this.pre[c]! / preT;
      this.epsilon = 1 / Math.sqrt(Math.max(1, sum(this.pre)));
      return true;
    }
    this.fromLines(tracker, profile, names, preT, report);
    return true;
  }

  /** One sample of the fallback baseline; true once the first second is in. */
  fallbackSample(counts: ArrayLike<number>, dt: number): boolean {
    for (let c = 0; c < this.channels; c++) this.first[c]! += counts[c]!;
    this.firstN++;
    if (this.firstN * dt < 1 - 1e-9) return false;
    for (let c = 0; c < this.channels; c++) this.bg[c] = this.first[c]! / (this.firstN * dt);
    this.epsilon = 1 / Math.sqrt(Math.max(1, sum(this.first)));
    return true;
  }

  /** Relative error of the expected counts of a set of channels (`mask` 1 = in the group). */
  groupEpsilon(profile: GammaProfile, g: number): number {
    let common = 0;
    let ownVar = 0;
    let total = 0;
    for (let c = 0; c < this.channels; c++) {
      if (g < this.channels ? c !== g : !profile.usable(c)) continue;
      const b = this.bg[c]!;
      total += b;
      if (this.own[c] === 1) ownVar += (this.epsOwn[c]! * b) ** 2;
      else common += b;
    }
    if (!(total > 0)) return this.epsilon;
    return Math.sqrt((this.epsilon * common) ** 2 + ownVar) / total;
  }

  private fromLines(
    tracker: BackgroundTracker,
    profile: GammaProfile,
    names: readonly string[],
    preT: number,
    report: Report,
  ): void {
    let b = 0;
    let p = 0;
    let nr = 0;
    let inv = 0;
    for (let c = 0; c < this.channels; c++) {
      const v = tracker.cps(c);
      this.bg[c] = Number.isFinite(v) ? v : 0;
      if (!tracker.usable(c) || !(v > 0)) {
        profile.disable(c);
        continue;
      }
      if (preT > 0 && this.pre[c] === 0 && v * preT >= 10) {
        // Silent through the whole look-back where ≥ 10 counts were due (P < 5e-5): dead.
        report(
          'dead-channel',
          c,
          `${names[c]!} counted 0 in the look-back, ${(v * preT).toFixed(0)} expected`,
        );
        profile.disable(c);
        continue;
      }
      const settling = tracker.settling(c);
      // A faulted channel whose level has settled keeps its reports unless its look-back disagrees.
      const disagrees =
        tracker.faulted(c) && preT > 0 && Math.abs(this.pre[c]! - v * preT) > 5 * Math.sqrt(v * preT);
      if (settling || disagrees) {
        if (!(preT > 0) || !(this.pre[c]! > 0)) {
          report(
            'background-settling',
            c,
            `${names[c]!}: its background reports still lag a level change and there is no look-back: left out`,
          );
          profile.disable(c);
          continue;
        }
        // The device's running mean lags the change: the channel's own look-back is its level.
        this.own[c] = 1;
        this.bg[c] = this.pre[c]! / preT;
        this.epsOwn[c] = 1 / Math.sqrt(this.pre[c]!);
        if (settling) {
          report(
            'background-settling',
            c,
            `${names[c]!}: background reports still lag a level change (${v.toFixed(0)} cps reported, ` +
              `${this.bg[c]!.toFixed(0)} cps in the look-back): the look-back is its baseline`,
          );
        }
        continue;
      }
      b += this.bg[c]! * preT;
      p += this.pre[c]!;
      inv += 1 / (this.bg[c]! * preT);
      this.ratios[nr++] = this.pre[c]! / (this.bg[c]! * preT);
    }
    const eLines = Math.max(this.floor, tracker.relativeSpread());
    this.epsilon = eLines;
    if (!(preT > 0) || !(b > 0)) return;
    const r = nr >= 3 ? medianInPlace(this.ratios, nr) : p / b;
    if (nr >= 3) this.levelChanges(profile, names, preT, r, report);
    // The median's error comes from the channels' own counts (1.25 σ/√n for alike ones): a
    // faulted channel at 25× the others' rate must not make the median look precise.
    const ePre = nr >= 3 ? (1.2533 * Math.sqrt(inv)) / nr : 1 / Math.sqrt(b);
    const z = (r - 1) / Math.hypot(eLines, ePre);
    let k = 1;
    if (z < -4) {
      k = r; // background fell since the last report: a source cannot lower counts
      this.epsilon = Math.max(this.floor, ePre);
      if (r < 0.75)
        report(
          'pre-trigger-mismatch',
          null,
          `look-back ${Math.round((1 - r) * 100)} % below the background reports: the background fell or a panel weakened`,
        );
    } else if (z > 2) {
      // Far above: a rise since the reports, or an approaching source (the cab's medical
      // patient lifts the look-back; it is gone from the hold-in). The reports stay the
      // baseline until the hold-in tells which ({@link confirmRise}).
      this.riseAll = r;
      this.riseErr = ePre;
      this.deferred = true;
    } else {
      const wl = 1 / (eLines * eLines);
      const wp = 1 / (ePre * ePre);
      k = (wl + r * wp) / (wl + wp);
      this.epsilon = Math.max(this.floor, 1 / Math.sqrt(wl + wp));
    }
    for (let c = 0; c < this.channels; c++) if (this.own[c] === 0) this.bg[c]! *= k;
    // One channel far above the others' ratio (a fault recovering, its reports' median still
    // low; or a source on its side): it too waits for the hold-in.
    for (let c = 0; c < this.channels; c++) {
      if (this.own[c] === 1 || !profile.usable(c) || !(this.bg[c]! > 0)) continue;
      const mu = (r / k) * this.bg[c]! * preT;
      if (this.pre[c]! - mu > 4 * Math.sqrt(mu) + 0.02 * mu) {
        this.rose[c] = this.pre[c]! / (this.bg[c]! * preT);
        this.deferred = true;
      }
    }
  }

  /**
   * The hold-in's verdict on a rise the look-back suggested: `hold[c]` counts of channel c over
   * `holdS` seconds after the vehicle left. A rise is confirmed where the hold-in stands as far
   * above the reports as the look-back did (a source, at the front or the rear, lifts one of
   * them only); the baseline then takes the lower of the two (a source only adds counts).
   * Returns whether the baseline changed (the tests must then be re-run).
   */
  confirmRise(profile: GammaProfile, hold: ArrayLike<number>, holdS: number): boolean {
    if (!this.deferred) return false;
    this.deferred = false;
    let changed = false;
    if (!(holdS > 0)) return false;
    for (let c = 0; c < this.channels; c++) {
      if (!(this.rose[c]! > 0) || this.own[c] === 1 || !profile.usable(c)) continue;
      const mu = this.bg[c]! * holdS;
      const q = hold[c]! / mu;
      const sq = 1 / Math.sqrt(mu);
      const sr = 1 / Math.sqrt(this.pre[c]!);
      if (q - 1 <= 3 * sq || Math.abs(q - this.rose[c]!) > 3 * Math.hypot(sq, sr)) continue;
      const useHold = q < this.rose[c]!;
      this.own[c] = 1;
      this.bg[c]! *= useHold ? q : this.rose[c]!;
      this.epsOwn[c] = useHold ? sq : sr;
      changed = true;
    }
    if (this.riseAll > 0) {
      let mu = 0;
      let h = 0;
      for (let c = 0; c < this.channels; c++) {
        if (this.own[c] === 1 || !profile.usable(c)) continue;
        mu += this.bg[c]! * holdS;
        h += hold[c]!;
      }
      const q = mu > 0 ? h / mu : 0;
      const sq = 1 / Math.sqrt(Math.max(1, mu));
      if (
        q - 1 > 3 * Math.hypot(sq, this.epsilon) &&
        Math.abs(q - this.riseAll) <= 3 * Math.hypot(sq, this.riseErr)
      ) {
        const k = Math.min(q, this.riseAll);
        for (let c = 0; c < this.channels; c++) if (this.own[c] === 0) this.bg[c]! *= k;
        this.epsilon = Math.max(this.floor, q < this.riseAll ? sq : this.riseErr);
        changed = true;
      }
    }
    return changed;
  }

  /**
   * A channel whose look-back left the others' common ratio by more than half and 10σ changed
   * level since its last report (a fault starting between two reports, or with no report in
   * between: back-to-back vehicles). An approaching source cannot do that to one panel alone
   * one second before the trigger; the channel takes its own look-back, as a settling one does.
   */
  private levelChanges(
    profile: GammaProfile,
    names: readonly string[],
    preT: number,
    r: number,
    report: Report,
  ): void {
    for (let c = 0; c < this.channels; c++) {
      if (this.own[c] === 1 || !profile.usable(c) || !(this.bg[c]! > 0)) continue;
      const expected = r * this.bg[c]! * preT;
      const d = this.pre[c]! - expected;
      if (Math.abs(d) <= 0.5 * expected || Math.abs(d) <= 10 * Math.sqrt(expected)) continue;
      if (!(this.pre[c]! > 0)) continue;
      this.own[c] = 1;
      this.bg[c] = this.pre[c]! / preT;
      this.epsOwn[c] = 1 / Math.sqrt(this.pre[c]!);
      report(
        'pre-trigger-mismatch',
        c,
        `${names[c]!}: look-back at ${this.bg[c]!.toFixed(0)} cps, its reports at ${((expected / r / preT) | 0).toString()} cps while the other channels agree with theirs — a level change since the last report: the look-back is its baseline`,
      );
    }
  }
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}
