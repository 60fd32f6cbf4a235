/**
 * The gamma decision of one lane (SPEC §3 step 2): N-sigma tests over sliding windows of the
 * gross-count samples, per channel and summed, at several widths, decided on the sample that
 * makes them decisive.
 *
 * Baseline: fixed at the first scan sample from the background reports and the pre-trigger
 * look-back ({@link GammaBaseline}, gamma-baseline.ts); sample health checks in gamma-checks.ts;
 * the tests each sample runs (background and shadowing-corrected, and their significance) in
 * gamma-sample.ts, the shadowing-corrected tests themselves in gamma-local.ts; the widths and
 * the threshold in gamma-windows.ts; the shadowed level and the cargo interior in gamma-level.ts;
 * the tests at the occupancy's end in gamma-end.ts; the windows' screens (the pre-filter) in
 * gamma-screens.ts. This file: the detector's state and the per-sample path — arming, the
 * groups' expectations, the threshold, the screens and the level kept current, and the record
 * of the best test.
 *
 * Windows. 1 s (5 samples, the device's `Intervals`) plus widths matched to a point source's
 * peak, 1.2 × FWHM with FWHM = 1.533·d/v for d = 1, 2.25 and 3.5 m from the panel at the
 * measured speed (without a usable speed: d = 2.25 m at 1, 2.5 and 4 m/s). When SP arrives the
 * widths change and the samples so far are re-tested once.
 *
 * Multiple testing: per occupancy, m = 2·K·G tests (K widths, G groups) at each of n positions
 * (n ≥ 150); the threshold is the larger of NSigma and the Bonferroni z for `falseAlarmBudget`
 * over m·n tests (5.45σ at m = 40, n = 150 and 1e-4), so adding windows or channels can only
 * raise it.
 */
import type { SampleEvent } from '../domain/lane-events.js';
import type { BackgroundTracker } from './background.js';
import { finding } from './background.js';
import { GammaBaseline, type Report } from './gamma-baseline.js';
import { SampleChecks, type ChannelHost } from './gamma-checks.js';
import { endTests, extendInterior, type EndHost } from './gamma-end.js';
import { ShadowLevel } from './gamma-level.js';
import { GammaProfile } from './gamma-profile.js';
import { sampleTests } from './gamma-sample.js';
import { TestScreens } from './gamma-screens.js';
import { MatchedTestCache, testThreshold, type WindowTest } from './gamma-windows.js';
import type { GammaTestId, HealthCode, HealthFinding } from './types.js';

export interface GammaOptions {
  /** Family-wise N-sigma. Default 6. */
  readonly nSigma?: number;
  /** Source-to-panel distances whose peak widths are tested (m). Default [1, 2.25, 3.5]. */
  readonly panelDistancesM?: readonly number[];
  /** Longest window (s). Default 6. */
  readonly maxWindowS?: number;
  /** Floor of the background's relative uncertainty. Default 0.005. */
  readonly uncertaintyFloor?: number;
  /** Samples kept per occupancy (bounded memory). Default 1500 (5 min at 200 ms). */
  readonly maxSamples?: number;
  /** Counts per second and channel beyond any real detector. Default 200,000. */
  readonly maxCps?: number;
  /** Identical consecutive samples that make a channel stuck. Default 8. */
  readonly stuckSamples?: number;
  /**
   * False alarms allowed per background-only occupancy across all its tests (Bonferroni over
   * tests × positions, at least 150 positions). The threshold is the larger of NSigma and what
   * this budget needs. Default 1e-4 (the quality goal is 1e-3).
   */
  readonly falseAlarmBudget?: number;
  /** Largest background suppression by a vehicle believed (SPEC §2: 30 %). Default 0.3. */
  readonly maxSuppression?: number;
  /** Longest cab plus cab-to-cargo gap (m): the cargo's level is measured behind it. Default 3.5. */
  readonly cabMaxM?: number;
}

export interface GammaHit {
  readonly sigma: number;
  readonly test: GammaTestId;
  readonly sample: number;
}

export class GammaDetector implements ChannelHost, EndHost {
  readonly profile: GammaProfile;
  private readonly nSigma: number;
  private readonly windowLists: MatchedTestCache;
  /** Source-to-panel distances whose peak widths are tested (m); the profile fit's too. */
  private readonly distances: readonly number[];
  private readonly names: readonly string[];
  private readonly base: GammaBaseline;
  private readonly checks: SampleChecks;
  /** The vehicle's shadowed level and the cargo interior. */
  readonly level: ShadowLevel;
  private readonly budget: number;
  private readonly reportFn: Report;
  // per occupancy
  private tests: readonly WindowTest[] = [];
  /** Relative error of each group's expected counts, and the expected counts per sample. */
  private readonly epsG: Float64Array;
  private readonly expG: Float64Array;
  private intervalS = 0.2;
  private armed = false;
  private out: HealthFinding[] = [];
  private readonly reported = new Set<string>();
  private thresholdRaw = Infinity;
  /** Highest raw (per-test) z so far: the cheap Gaussian pre-filter's bar. */
  private maxRaw = 0;
  private budgetN = 0;
  private readonly holdCounts: Float64Array;
  /** Lowest level any streaming test used (the end re-runs everything when it ends lower). */
  private kvMinStream = 1;
  private readonly screens = new TestScreens();
  maxSigma = 0;
  best: GammaTestId | null = null;
  bestSample = -1;
  /** Centre (sample index) of the most significant window, and its baseline ÷ background. */
  bestCentre = -1;
  bestLevel = 1;
  speedMps: number | null = null;

  constructor(channelNames: readonly string[], channels: number, o: GammaOptions = {}) {
    this.nSigma = o.nSigma ?? 6;
    this.distances = o.panelDistancesM ?? [1, 2.25, 3.5];
    this.windowLists = new MatchedTestCache(o.maxWindowS ?? 6, this.distances);
    this.budget = o.falseAlarmBudget ?? 1e-4;
    this.profile = new GammaProfile(channels, o.maxSamples ?? 1500);
    const c = this.profile.channels;
    this.names = Array.from({ length: c }, (_, k) => channelNames[k] ?? `channel ${k + 1}`);
    this.base = new GammaBaseline(c, o.uncertaintyFloor ?? 0.005);
    this.checks = new SampleChecks(c, this.names, o.maxCps ?? 200_000, o.stuckSamples ?? 8);
    this.level = new ShadowLevel(this.profile.capacity, {
      ...(o.maxSuppression === undefined ? {} : { maxSuppression: o.maxSuppression }),
      ...(o.cabMaxM === undefined ? {} : { cabMaxM: o.cabMaxM }),
    });
    this.holdCounts = new Float64Array(c);
    this.epsG = new Float64Array(this.profile.groups);
    this.expG = new Float64Array(this.profile.groups);
    this.reportFn = (code, ch, message) => this.report(code, ch, message);
  }

  get channels(): number {
    return this.profile.channels;
  }

  /** Per-sample expected counts of channel c (background, look-back corrected). */
  expected(c: number): number {
    return this.armed ? this.base.bg[c]! * this.intervalS : 0;
  }

  usable(c: number): boolean {
    return this.profile.usable(c);
  }

  /** Per-sample expected counts of group g (cached: set at arming and when a channel leaves). */
  expectedGroup(g: number): number {
    return this.armed ? this.expG[g]! : 0;
  }

  get sampleS(): number {
    return this.intervalS;
  }

  get usesFallbackBaseline(): boolean {
    return this.base.fallback;
  }

  get absurdHigh(): boolean {
    return this.checks.absurdHigh;
  }

  /**
   * Is sample i inside the cargo interior, where the shadowed level applies? Without a measured
   * speed the interior is unknown and every sample counts as shadowed (the earlier behaviour).
   */
  shadowedAt(i: number): boolean {
    return !this.level.known || this.level.inside(i);
  }

  /** Estimated background suppression by the vehicle (0 … maxSuppression). */
  get suppression(): number {
    return 1 - this.level.kv;
  }

  /** The per-test threshold in force (NSigma, or higher when the false-alarm budget needs it). */
  get threshold(): number {
    return this.thresholdRaw;
  }

  /** Background summed over usable channels (cps); null before the baseline is set. */
  backgroundCps(): number | null {
    if (!this.armed && !this.base.started) return null;
    let s = 0;
    for (let c = 0; c < this.channels; c++) if (this.profile.usable(c)) s += this.base.bg[c]!;
    return s;
  }

  begin(speedKph: number | null): void {
    this.profile.reset();
    this.base.reset();
    this.checks.reset();
    this.level.reset();
    this.armed = false;
    this.reported.clear();
    this.forgetBest();
    this.speedMps = speedKph === null ? null : speedKph / 3.6;
    this.tests = [];
  }

  /**
   * One gamma sample. Returns the first hit over the threshold (the caller decides whether it
   * is the occupancy's first decision) or null; findings go to `out`.
   */
  sample(e: SampleEvent, tracker: BackgroundTracker, out: HealthFinding[]): GammaHit | null {
    this.out = out;
    const dt = e.intervalMs > 0 ? e.intervalMs / 1000 : this.intervalS;
    const counts = this.checks.validate(e.counts, dt, this);
    if (e.preTrigger && !this.armed) {
      this.base.addPre(counts, e.intervalMs / 1000);
      this.checks.runs(this); // a channel stuck through the look-back leaves at its first sample
      return null;
    }
    if (!this.armed) {
      this.intervalS = e.intervalMs > 0 ? e.intervalMs / 1000 : 0.2;
      if (this.base.fallback || !this.base.arm(tracker, this.profile, this.names, this.reportFn)) {
        // No background and no look-back: the first second of the occupancy stands in.
        this.profile.append(counts);
        if (!this.base.fallbackSample(counts, this.intervalS)) return null;
        this.finishArming();
        return this.retest();
      }
      this.finishArming();
    }
    this.checks.runs(this);
    this.profile.append(counts);
    const i = this.profile.n - 1;
    if (this.level.inside(i))
      this.level.addSample(this.profile, i, this.expectedGroup(this.profile.sumGroup));
    return this.testAt(i);
  }

  /** The speed is known (or changed): new matched widths, the cargo interior, a re-test. */
  speed(speedKph: number): GammaHit | null {
    this.speedMps = speedKph / 3.6;
    if (!this.armed) return null;
    this.level.setInterior(this.speedMps, this.intervalS, null);
    this.rebuildLevel(this.profile.n);
    this.buildTests();
    return this.retest();
  }

  /**
   * Occupancy end: the vehicle's level is re-estimated from its own samples only (the last
   * `holdin` samples are the empty lane again), and the local tests re-run over the whole
   * profile with it, including the windows whose right flank the end cut short; then the
   * interior's own tests (gamma-end.ts).
   */
  finish(holdin: number): GammaHit | null {
    if (!this.armed) return null;
    const n = this.profile.n;
    // The vehicle's own samples (the hold-in is the empty lane again, even behind a short car).
    const end = n - holdin > this.profile.first + 3 ? n - holdin : n;
    if (this.base.deferred) this.settleRise(holdin);
    if (this.level.known) this.level.setInterior(this.speedMps, this.intervalS, end);
    this.rebuildLevel(end);
    if (extendInterior(this)) this.rebuildLevel(end);
    this.refreshScreens();
    return endTests(this, this.tests, this.screens.lv, this.kvMinStream, this.distances);
  }

  /**
   * The look-back said the background rose since the reports (or a source approached): the
   * second half of the hold-in, the empty lane after the vehicle, decides. A confirmed rise
   * raises the baseline and every test is run again against it; decisions were held meanwhile.
   */
  private settleRise(holdin: number): void {
    const n = this.profile.n;
    const h = Math.floor(holdin / 2);
    const ok = h >= 2 && n - h > this.profile.first + 5;
    const hold = this.holdCounts;
    for (let c = 0; c < this.channels; c++) hold[c] = ok ? this.profile.window(c, n - h - 1, n - 1) : 0;
    if (!this.base.confirmRise(this.profile, hold, ok ? h * this.intervalS : 0)) return;
    this.refreshGroups();
    this.updateThreshold();
    this.forgetBest();
    this.rebuildLevel(n);
    this.refreshScreens();
    this.retest();
  }

  /** No test has found anything yet (a new occupancy, or the tests re-run on a new baseline). */
  private forgetBest(): void {
    this.maxSigma = 0;
    this.maxRaw = 0;
    this.best = null;
    this.bestSample = -1;
    this.bestCentre = -1;
    this.bestLevel = 1;
    this.kvMinStream = 1;
  }

  /** The shadowed level re-measured from the interior's samples before `end` (gamma-level.ts). */
  private rebuildLevel(end: number): void {
    this.level.measure(this.profile, this.expectedGroup(this.profile.sumGroup), end);
  }

  private retest(): GammaHit | null {
    let hit: GammaHit | null = null;
    for (let i = this.profile.first; i < this.profile.n; i++) hit ??= this.testAt(i);
    return hit;
  }

  private finishArming(): void {
    this.armed = true;
    for (let c = 0; c < this.channels; c++) {
      if (this.profile.usable(c) && !(this.base.bg[c]! > 0)) this.profile.disable(c);
    }
    if (this.profile.usableCount() === 0) {
      this.report('no-usable-channel', null, 'no usable gamma channel: gamma cannot be assessed');
    }
    this.refreshGroups();
    this.level.setInterior(this.speedMps, this.intervalS, null);
    this.rebuildLevel(this.profile.n);
    this.buildTests();
  }

  private buildTests(): void {
    this.tests = this.windowLists.get(this.intervalS, this.speedMps);
    this.updateThreshold();
    this.refreshScreens();
  }

  private updateThreshold(): void {
    const t = testThreshold(
      this.nSigma,
      this.budget,
      this.tests.length,
      this.profile.usableCount(),
      this.profile.n,
    );
    this.thresholdRaw = t.threshold;
    this.budgetN = t.validUntil;
  }

  /** Expected counts and their relative error per group, after arming or a channel leaving. */
  private refreshGroups(): void {
    let sum = 0;
    for (let c = 0; c < this.channels; c++) {
      this.expG[c] = this.base.bg[c]! * this.intervalS;
      if (this.profile.usable(c)) sum += this.expG[c]!;
    }
    if (this.profile.groups > this.channels) this.expG[this.profile.sumGroup] = sum;
    for (let g = 0; g < this.profile.groups; g++) this.epsG[g] = this.base.groupEpsilon(this.profile, g);
  }

  /**
   * The Gaussian pre-filter's bar: a window whose Gaussian z (an upper bound of its deviance z)
   * is below it can neither decide nor raise the reported maximum. Below 3σ the maximum is not
   * tracked exactly (it is only shown as "no alarm, peak …σ"), which keeps most windows at a few
   * arithmetic operations.
   */
  get bar(): number {
    return Math.min(Math.max(this.maxRaw, 3), this.thresholdRaw);
  }

  groupUsable(g: number): boolean {
    if (g < this.channels) return this.profile.usable(g);
    return this.profile.usableCount() > 1;
  }

  /** Sample i's tests (gamma-sample.ts), once the threshold, the screens and the level are current. */
  private testAt(i: number): GammaHit | null {
    if (this.profile.n > this.budgetN) this.updateThreshold();
    if (this.screens.stale(this.bar, this.level.kv)) this.refreshScreens();
    if (this.level.kv < this.kvMinStream) this.kvMinStream = this.level.kv;
    return sampleTests(this, this.tests, this.screens, this.expG, this.epsG, i);
  }

  /** Screens for the tests in force at the current bar and level (gamma-screens.ts). */
  private refreshScreens(): void {
    this.screens.refresh(this, this.tests, this.expG, this.epsG, this.bar, this.level.kv);
  }

  /** Record a test's z (maximum, best test) and return a hit when it reaches the threshold. */
  consider(
    z: number,
    g: number,
    t: WindowTest,
    baseline: 'background' | 'local',
    i: number,
    centre: number,
    level: number,
  ): GammaHit | null {
    if (!(z > 0)) return null;
    if (z > this.maxRaw) this.maxRaw = z;
    const group = g < this.channels && this.channels > 1 ? this.names[g]! : 'sum';
    if (z > this.maxSigma) {
      this.maxSigma = z;
      this.best = { group, windowS: round3(t.w * this.intervalS), baseline };
      this.bestSample = i;
      this.bestCentre = centre;
      this.bestLevel = level;
    }
    if (z < this.thresholdRaw || this.base.deferred) return null;
    return { sigma: z, test: { group, windowS: round3(t.w * this.intervalS), baseline }, sample: i };
  }

  disableChannel(c: number): void {
    if (!this.profile.usable(c)) return;
    this.profile.disable(c);
    this.refreshGroups();
    this.updateThreshold();
    this.refreshScreens();
    if (this.armed) this.rebuildLevel(this.profile.n);
  }

  report(code: HealthCode, c: number | null, message: string): void {
    const key = `${code}:${c ?? '-'}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.out.push(finding(code, 'gamma', c, message));
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
