/**
 * The gamma decision of one lane (SPEC §3 step 2): N-sigma tests over sliding windows of the
 * gross-count samples, per channel and summed, at several widths, decided on the sample that
 * makes them decisive.
 *
 * Baseline. At the first scan sample the per-channel background (robust line estimate) is
 * frozen and checked against the pre-trigger look-back: a look-back consistent with it is
 * averaged in (inverse-variance), a look-back far *below* it means the background fell and is
 * used instead (a source cannot lower counts), one far above it is ignored (an approaching
 * source or a rise: kept conservative). A channel in a background fault whose look-back
 * disagrees takes its look-back (the device's running mean lags a fault). No lines: the
 * look-back; no look-back either: the first second of the occupancy (flagged: any alarm then
 * goes to INVESTIGATE).
 *
 * Windows. 1 s (5 samples, the device's `Intervals`) plus widths matched to a point source's
 * peak, 1.2 × FWHM with FWHM = 1.533·d/v for d = 1, 2.25 and 3.5 m from the panel at the
 * measured speed (without a usable speed: d = 2.25 m at 1, 2.5 and 4 m/s). When SP arrives the
 * widths change and the samples so far are re-tested once.
 *
 * Two tests per window and group (each channel, and the sum of the usable channels):
 * - `background`: counts against k·B·t (k: look-back correction). Shadowing only lowers counts,
 *   so this test never alarms on it — and a heavy load hides a source from it.
 * - `local` (the shadowing correction, decided once the right flank is in, a delay of ~2w):
 *   flanks of L = 2w samples (5–25) one window away on both sides. When both flanks sit at the
 *   vehicle's shadowed level — 1 − suppression, the median of the occupancy's 1 s block ratios
 *   (re-estimated at the end from the vehicle's samples only) — within 3σ and a quarter of the
 *   shadow depth plus a fifth of the window's own excess (a source's tail), the window is
 *   tested against that precise level. Otherwise (a flank on a step: the cab/cargo boundary,
 *   the vehicle's end) against the higher flank, capped at k·B. A step therefore never looks
 *   like a source, and a heavy load's shadowing cannot hide one.
 *
 * Significance: the signed root of the Poisson deviance (exact-tail accuracy at small counts),
 * deflated by the baseline's own uncertainty (background: √(1 + ε²μ), ε the relative error of
 * the background — spread of the reports and look-back, floor 0.5 %; shadowed level: its
 * median's standard error; higher flank: √(1 + w/L)). Reported sigmas are per test, in the
 * device's sense (threshold = NSigma per window). Multiple testing: per occupancy, m = 2·K·G
 * tests (K widths, G groups) at each of n positions (n ≥ 150); the threshold is the larger of
 * NSigma and the Bonferroni z for `falseAlarmBudget` over m·n tests (5.45σ at m = 40, n = 150
 * and 1e-4), so adding windows or channels can only raise it.
 */
import type { SampleEvent } from '../domain/lane-events.js';
import type { BackgroundTracker } from './background.js';
import { finding } from './background.js';
import { GammaProfile } from './gamma-profile.js';
import { medianInPlace, poissonSigma, sigmaOfLogP } from './stats.js';
import type { GammaTestId, HealthFinding } from './types.js';

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
}

interface Test {
  readonly w: number;
  readonly gap: number;
  readonly flank: number;
}

export interface GammaHit {
  readonly sigma: number;
  readonly test: GammaTestId;
  readonly sample: number;
}

const NOMINAL_SPEEDS_MPS = [1, 2.5, 4];

export class GammaDetector {
  readonly profile: GammaProfile;
  private readonly nSigma: number;
  private readonly distances: readonly number[];
  private readonly maxWindowS: number;
  private readonly floor: number;
  private readonly maxCps: number;
  private readonly stuckSamples: number;
  private readonly names: readonly string[];
  // per occupancy
  private tests: Test[] = [];
  private readonly bg: Float64Array; // per channel cps (after look-back correction)
  private readonly pre: Float64Array; // per channel pre-trigger counts
  private preS = 0;
  private epsilon = 0;
  private intervalS = 0.2;
  private armed = false;
  private fallbackBaseline = false;
  private readonly first: Float64Array; // fallback: first second's counts per channel
  private firstN = 0;
  private readonly runValue: Float64Array;
  private readonly runLength: Uint16Array;
  private readonly scratch: Float64Array;
  /** Arming's per-channel look-back ratios (apart from `scratch`, which holds the sample). */
  private readonly ratios: Float64Array;
  private readonly reported = new Set<string>();
  private thresholdRaw = Infinity;
  /** Highest raw (per-test) z so far: the cheap Gaussian pre-filter's bar. */
  private maxRaw = 0;
  private groupsInUse = 1;
  private readonly budget: number;
  private budgetN = 0;
  private readonly sMax: number;
  /** 1 s block ratios of the summed counts to the unshadowed background, sorted. */
  private readonly blocks: Float64Array;
  private nBlocks = 0;
  /** Vehicle level relative to the unshadowed background (1 − suppression), and its error. */
  private kv = 1;
  private kvErr = 0;
  maxSigma = 0;
  best: GammaTestId | null = null;
  bestSample = -1;
  /** Centre (sample index) of the most significant window, and its baseline ÷ background. */
  bestCentre = -1;
  bestLevel = 1;
  /** A count beyond the detector's range was seen: the verdict must be INVESTIGATE. */
  absurdHigh = false;
  speedMps: number | null = null;

  constructor(channelNames: readonly string[], channels: number, o: GammaOptions = {}) {
    this.nSigma = o.nSigma ?? 6;
    this.distances = o.panelDistancesM ?? [1, 2.25, 3.5];
    this.maxWindowS = o.maxWindowS ?? 6;
    this.floor = o.uncertaintyFloor ?? 0.005;
    this.maxCps = o.maxCps ?? 200_000;
    this.stuckSamples = o.stuckSamples ?? 8;
    this.budget = o.falseAlarmBudget ?? 1e-4;
    this.sMax = o.maxSuppression ?? 0.3;
    this.profile = new GammaProfile(channels, o.maxSamples ?? 1500);
    this.blocks = new Float64Array(Math.ceil(this.profile.capacity / 5) + 2);
    const c = this.profile.channels;
    this.names = Array.from({ length: c }, (_, k) => channelNames[k] ?? `channel ${k + 1}`);
    this.bg = new Float64Array(c);
    this.pre = new Float64Array(c);
    this.first = new Float64Array(c);
    this.runValue = new Float64Array(c);
    this.runLength = new Uint16Array(c);
    this.scratch = new Float64Array(c);
    this.ratios = new Float64Array(c);
  }

  get channels(): number {
    return this.profile.channels;
  }

  /** Per-sample expected counts of channel c (background, look-back corrected). */
  expected(c: number): number {
    return this.bg[c]! * this.intervalS;
  }

  /** Per-sample expected counts of group g. */
  expectedGroup(g: number): number {
    if (g < this.channels) return this.expected(g);
    let s = 0;
    for (let c = 0; c < this.channels; c++) if (this.profile.usable(c)) s += this.expected(c);
    return s;
  }

  get sampleS(): number {
    return this.intervalS;
  }

  get usesFallbackBaseline(): boolean {
    return this.fallbackBaseline;
  }

  /** Background summed over usable channels (cps); null before the baseline is set. */
  backgroundCps(): number | null {
    if (!this.armed && this.firstN === 0) return null;
    let s = 0;
    for (let c = 0; c < this.channels; c++) if (this.profile.usable(c)) s += this.bg[c]!;
    return s;
  }

  begin(speedKph: number | null): void {
    this.profile.reset();
    this.pre.fill(0);
    this.preS = 0;
    this.armed = false;
    this.fallbackBaseline = false;
    this.firstN = 0;
    this.first.fill(0);
    this.runLength.fill(0);
    this.reported.clear();
    this.maxSigma = 0;
    this.maxRaw = 0;
    this.best = null;
    this.bestSample = -1;
    this.bestCentre = -1;
    this.bestLevel = 1;
    this.absurdHigh = false;
    this.nBlocks = 0;
    this.kv = 1;
    this.kvErr = 0;
    this.speedMps = speedKph === null ? null : speedKph / 3.6;
    this.tests = [];
  }

  /**
   * One gamma sample. Returns the first hit over NSigma (the caller decides whether it is the
   * occupancy's first decision) or null; findings go to `out`.
   */
  sample(e: SampleEvent, tracker: BackgroundTracker, out: HealthFinding[]): GammaHit | null {
    const counts = this.validate(e, out);
    if (e.preTrigger && !this.armed) {
      for (let c = 0; c < this.channels; c++) this.pre[c]! += counts[c]!;
      this.preS += e.intervalMs / 1000;
      return null;
    }
    if (!this.armed) {
      this.intervalS = e.intervalMs > 0 ? e.intervalMs / 1000 : 0.2;
      if (!this.arm(tracker, out)) {
        // No background and no look-back: the first second of the occupancy stands in.
        for (let c = 0; c < this.channels; c++) this.first[c]! += counts[c]!;
        this.firstN++;
        this.profile.append(counts);
        if (this.firstN * this.intervalS < 1 - 1e-9) return null;
        for (let c = 0; c < this.channels; c++) this.bg[c] = this.first[c]! / (this.firstN * this.intervalS);
        this.epsilon = 1 / Math.sqrt(Math.max(1, sum(this.first)));
        this.finishArming(out);
        return this.retest();
      }
    }
    this.checkStuckDead(counts, out);
    this.profile.append(counts);
    if (this.profile.n % 5 === 0) this.addBlock(this.profile.n - 1);
    return this.testAt(this.profile.n - 1);
  }

  /** The speed is known (or changed): new matched widths, and the samples so far re-tested. */
  speed(speedKph: number): GammaHit | null {
    const v = speedKph / 3.6;
    this.speedMps = v;
    if (!this.armed) return null;
    this.buildTests();
    return this.retest();
  }

  /**
   * Occupancy end: the vehicle's level is re-estimated from its own samples only (the last
   * `holdin` samples are the empty lane again), and the local tests re-run over the whole
   * profile with it, including the windows whose right flank the end cut short.
   */
  finish(holdin: number): GammaHit | null {
    if (!this.armed) return null;
    const n = this.profile.n;
    const end = n - holdin >= this.profile.first + 15 ? n - holdin : n;
    this.rebuildBlocks(end);
    let hit: GammaHit | null = null;
    for (const t of this.tests) {
      for (let j = this.profile.first + t.w - 1; j < n; j++) hit ??= this.localTest(t, j, n - 1);
    }
    return hit;
  }

  /** Estimated background suppression by the vehicle (0 … maxSuppression). */
  get suppression(): number {
    return 1 - this.kv;
  }

  private addBlock(last: number): void {
    const g = this.profile.sumGroup;
    const mu = this.expectedGroup(g) * 5;
    if (!(mu > 0) || this.nBlocks >= this.blocks.length || last - 5 < this.profile.first - 1) return;
    const r = this.profile.window(g, last - 5, last) / mu;
    let i = this.nBlocks++;
    while (i > 0 && this.blocks[i - 1]! > r) {
      this.blocks[i] = this.blocks[i - 1]!;
      i--;
    }
    this.blocks[i] = r;
    this.updateLevel();
  }

  private rebuildBlocks(end: number): void {
    this.nBlocks = 0;
    this.kv = 1;
    this.kvErr = 0;
    for (let last = this.profile.first + 4; last < end; last += 5) this.addBlock(last);
  }

  private updateLevel(): void {
    if (this.nBlocks < 3) return;
    const h = this.nBlocks >> 1;
    const med = this.nBlocks % 2 === 1 ? this.blocks[h]! : 0.5 * (this.blocks[h - 1]! + this.blocks[h]!);
    this.kv = Math.min(1, Math.max(1 - this.sMax, med));
    // Standard error of a median: 1.25 σ/√n, σ the relative Poisson spread of one block.
    this.kvErr =
      1.25 / Math.sqrt(this.nBlocks * 5 * Math.max(1e-9, this.expectedGroup(this.profile.sumGroup)));
  }

  private retest(): GammaHit | null {
    let hit: GammaHit | null = null;
    for (let i = this.profile.first; i < this.profile.n; i++) hit ??= this.testAt(i);
    return hit;
  }

  private arm(tracker: BackgroundTracker, out: HealthFinding[]): boolean {
    const known = tracker.known;
    const preT = this.preS;
    if (!known && preT <= 0) {
      this.report(
        out,
        'no-background',
        null,
        'no gamma background and no look-back: the first second of the occupancy is the baseline',
      );
      this.fallbackBaseline = true;
      return false;
    }
    if (!known) {
      this.report(
        out,
        'no-background',
        null,
        'no gamma background line yet: the pre-trigger look-back is the baseline',
      );
      for (let c = 0; c < this.channels; c++) this.bg[c] = this.pre[c]! / preT;
      this.epsilon = 1 / Math.sqrt(Math.max(1, sum(this.pre)));
    } else {
      this.fromLines(tracker, preT, out);
    }
    this.finishArming(out);
    return true;
  }

  private fromLines(tracker: BackgroundTracker, preT: number, out: HealthFinding[]): void {
    let b = 0;
    let p = 0;
    let nr = 0;
    for (let c = 0; c < this.channels; c++) {
      const v = tracker.cps(c);
      this.bg[c] = Number.isFinite(v) ? v : 0;
      if (!tracker.usable(c) || !(v > 0)) this.profile.disable(c);
      else if (preT > 0 && this.pre[c] === 0 && v * preT >= 10) {
        // Silent through the whole look-back where ≥ 10 counts were due (P < 5e-5): dead.
        this.report(
          out,
          'dead-channel',
          c,
          `${this.names[c]!} counted 0 in the look-back, ${(v * preT).toFixed(0)} expected`,
        );
        this.profile.disable(c);
      } else if (preT > 0 && tracker.faulted(c)) {
        // A faulted channel's running mean lags: trust its own look-back when they disagree.
        const z = (this.pre[c]! - v * preT) / Math.sqrt(v * preT);
        if (Math.abs(z) > 5) this.bg[c] = this.pre[c]! / preT;
      }
      if (this.profile.usable(c)) {
        b += this.bg[c]! * preT;
        p += this.pre[c]!;
        this.ratios[nr++] = this.pre[c]! / (this.bg[c]! * preT);
      }
    }
    const eLines = Math.max(this.floor, tracker.relativeSpread());
    this.epsilon = eLines;
    if (!(preT > 0) || !(b > 0)) return;
    // Median of the channels' ratios with three or more (one odd panel cannot move it), else the sum's.
    const r = nr >= 3 ? medianInPlace(this.ratios, nr) : p / b;
    const ePre = 1 / Math.sqrt(b);
    const z = (r - 1) / Math.hypot(eLines, ePre);
    let k = 1;
    if (z < -4) {
      k = r; // background fell since the last report: a source cannot lower counts
      this.epsilon = Math.max(this.floor, ePre);
      if (r < 0.75)
        this.report(
          out,
          'pre-trigger-mismatch',
          null,
          `look-back ${pct(1 - r)} below the background reports: the background fell or a panel weakened`,
        );
    } else if (z <= 4) {
      const wl = 1 / (eLines * eLines);
      const wp = 1 / (ePre * ePre);
      k = (wl + r * wp) / (wl + wp);
      this.epsilon = Math.max(this.floor, 1 / Math.sqrt(wl + wp));
    }
    for (let c = 0; c < this.channels; c++) this.bg[c]! *= k;
  }

  private finishArming(out: HealthFinding[]): void {
    this.armed = true;
    for (let c = 0; c < this.channels; c++) {
      if (this.profile.usable(c) && !(this.bg[c]! > 0)) this.profile.disable(c);
    }
    if (this.profile.usableCount() === 0) {
      this.report(out, 'no-usable-channel', null, 'no usable gamma channel: gamma cannot be assessed');
    }
    this.buildTests();
  }

  private buildTests(): void {
    const dt = this.intervalS;
    const maxW = Math.max(1, Math.round(this.maxWindowS / dt));
    const widths = new Set<number>([Math.max(1, Math.round(1 / dt))]);
    const v = this.speedMps;
    if (v !== null && v > 0.2 && v < 30) {
      for (const d of this.distances) widths.add(clampInt((1.2 * 1.533 * d) / v / dt, 1, maxW));
    } else {
      for (const s of NOMINAL_SPEEDS_MPS) widths.add(clampInt((1.2 * 1.533 * 2.25) / s / dt, 1, maxW));
    }
    this.tests = [...widths]
      .sort((a, b) => a - b)
      .map((w) => ({ w, gap: w, flank: Math.min(25, Math.max(5, 2 * w)) }));
    this.updateThreshold();
  }

  private updateThreshold(): void {
    const usable = this.profile.usableCount();
    this.groupsInUse = usable === 0 ? 0 : usable > 1 ? usable + 1 : 1;
    const m = Math.max(1, 2 * this.tests.length * this.groupsInUse);
    const positions = Math.max(150, this.profile.n);
    this.budgetN = 2 * positions;
    const zBudget = sigmaOfLogP(Math.log(this.budget) - Math.log(m * positions));
    this.thresholdRaw = Math.max(this.nSigma, zBudget);
  }

  /** The per-test threshold in force (NSigma, or higher when the false-alarm budget needs it). */
  get threshold(): number {
    return this.thresholdRaw;
  }

  private groupUsable(g: number): boolean {
    if (g < this.channels) return this.profile.usable(g);
    return this.profile.usableCount() > 1;
  }

  private testAt(i: number): GammaHit | null {
    if (this.profile.n > this.budgetN) this.updateThreshold();
    let hit: GammaHit | null = null;
    for (const t of this.tests) {
      if (i - t.w + 1 >= this.profile.first) hit ??= this.backgroundTest(t, i);
      const j = i - t.gap - t.flank;
      if (j - t.w + 1 >= this.profile.first) hit ??= this.localTest(t, j, i);
    }
    return hit;
  }

  private backgroundTest(t: Test, i: number): GammaHit | null {
    let hit: GammaHit | null = null;
    for (let g = 0; g < this.profile.groups; g++) {
      if (!this.groupUsable(g)) continue;
      const mu = this.expectedGroup(g) * t.w;
      const n = this.profile.window(g, i - t.w, i);
      const inflation = Math.sqrt(1 + this.epsilon * this.epsilon * mu);
      // The Gaussian z bounds the deviance z from above: most windows stop here.
      if ((n - mu) / (Math.sqrt(mu) * inflation) <= Math.min(this.maxRaw, this.thresholdRaw)) continue;
      hit ??= this.consider(poissonSigma(n, mu) / inflation, g, t, 'background', i, i - (t.w - 1) / 2, 1);
    }
    return hit;
  }

  /** Window (j−w, j], flanks L samples at `gap` either side, right flank ending at or before `last`. */
  private localTest(t: Test, j: number, last: number): GammaHit | null {
    const lo = j - t.w;
    const leftEnd = lo - t.gap;
    const leftStart = Math.max(this.profile.first - 1, leftEnd - t.flank);
    const rightStart = j + t.gap;
    const rightEnd = Math.min(last, rightStart + t.flank);
    const nl = leftEnd - leftStart;
    const nr = rightEnd - rightStart;
    // Both flanks, inside the stored profile: a missing flank may be the unshadowed lane (the
    // look-back before the vehicle, the hold-in after it), so one flank alone proves nothing.
    if (Math.min(nl, nr) < Math.min(5, t.flank)) return null;
    let hit: GammaHit | null = null;
    for (let g = 0; g < this.profile.groups; g++) {
      if (!this.groupUsable(g)) continue;
      const rl = this.profile.window(g, leftStart, leftEnd) / nl;
      const rr = this.profile.window(g, rightStart, rightEnd) / nr;
      const cap = this.expectedGroup(g);
      const level = this.kv * cap;
      let mu: number;
      let inflation: number;
      // A flank is at the level within 3σ and a quarter of the shadow's depth, plus a fifth of
      // the window's own excess (a source's tail; a point peak's flanks one window away carry
      // < 10 % of it): a flank on a step — the cab/cargo boundary, the vehicle's end — carries
      // as much as the window and never counts as shadowed.
      const n = this.profile.window(g, lo, j);
      const tail = 0.2 * Math.max(0, n / t.w - level);
      const depth = 0.25 * (cap - level);
      if (
        this.kv < 1 &&
        rl <= level + tail + Math.min(depth, 3 * Math.sqrt(level / nl)) &&
        rr <= level + tail + Math.min(depth, 3 * Math.sqrt(level / nr))
      ) {
        // Both flanks sit at the vehicle's shadowed level: measure against that precise level.
        mu = level * t.w;
        inflation = Math.sqrt(1 + this.kvErr * this.kvErr * mu);
      } else {
        // Otherwise the higher flank (an edge of the shadow, a source's tail): noisier, never low.
        const useRight = rr >= rl;
        const rate = useRight ? rr : rl;
        if (!(rate > 0) || rate >= cap) continue; // no suppression: the background test covers it
        mu = rate * t.w;
        inflation = Math.sqrt(1 + t.w / (useRight ? nr : nl));
      }
      if ((n - mu) / (Math.sqrt(mu) * inflation) <= Math.min(this.maxRaw, this.thresholdRaw)) continue;
      const centre = j - (t.w - 1) / 2;
      hit ??= this.consider(poissonSigma(n, mu) / inflation, g, t, 'local', last, centre, mu / (cap * t.w));
    }
    return hit;
  }

  private consider(
    z: number,
    g: number,
    t: Test,
    baseline: 'background' | 'local',
    i: number,
    centre: number,
    level: number,
  ): GammaHit | null {
    if (!(z > 0)) return null;
    const sigma = z;
    if (z > this.maxRaw) this.maxRaw = z;
    if (sigma > this.maxSigma) {
      this.maxSigma = sigma;
      this.best = {
        group: g < this.channels && this.channels > 1 ? this.names[g]! : 'sum',
        windowS: round3(t.w * this.intervalS),
        baseline,
      };
      this.bestSample = i;
      this.bestCentre = centre;
      this.bestLevel = level;
    }
    if (z < this.thresholdRaw) return null;
    const group = g < this.channels && this.channels > 1 ? this.names[g]! : 'sum';
    return { sigma, test: { group, windowS: round3(t.w * this.intervalS), baseline }, sample: i };
  }

  /** Clean a sample's counts into `scratch`; bad values take the expected count and the channel leaves. */
  private validate(e: SampleEvent, out: HealthFinding[]): Float64Array {
    const counts = e.counts;
    const dt = e.intervalMs > 0 ? e.intervalMs / 1000 : this.intervalS;
    if (counts.length !== this.channels) {
      this.report(
        out,
        'channel-count-mismatch',
        null,
        `gamma sample has ${counts.length} channels, the lane has ${this.channels}`,
      );
    }
    for (let c = 0; c < this.channels; c++) {
      const x = c < counts.length ? counts[c]! : NaN;
      if (Number.isFinite(x) && x >= 0 && x <= this.maxCps * dt) {
        this.scratch[c] = x;
        continue;
      }
      const high = Number.isFinite(x) && x > this.maxCps * dt;
      if (high) this.absurdHigh = true;
      this.report(
        out,
        high ? 'absurd-counts' : 'negative-counts',
        c,
        `${this.names[c]!} sample count ${String(x)} ${high ? 'beyond the detector range' : 'is not a count'}: channel left out`,
      );
      this.scratch[c] = this.armed ? this.expected(c) : 0;
      this.disableChannel(c);
    }
    return this.scratch;
  }

  private checkStuckDead(counts: Float64Array, out: HealthFinding[]): void {
    for (let c = 0; c < this.channels; c++) {
      if (!this.profile.usable(c)) continue;
      const x = counts[c]!;
      const mu = this.expected(c);
      if (x === this.runValue[c] && this.runLength[c]! < 65535) this.runLength[c]!++;
      else {
        this.runValue[c] = x;
        this.runLength[c] = 1;
      }
      // Poisson: P(0) = e^−μ, P(same value) < 1/√(2πμ): runs this long are faults, not chance.
      if (x === 0 && mu >= 5 && this.runLength[c]! >= 4) {
        this.report(
          out,
          'dead-channel',
          c,
          `${this.names[c]!} counts 0 while ${mu.toFixed(0)} are expected per sample`,
        );
        this.disableChannel(c);
      } else if (x > 0 && mu >= 3 && this.runLength[c]! >= this.stuckSamples) {
        this.report(
          out,
          'stuck-channel',
          c,
          `${this.names[c]!} repeats ${x} counts in ${this.runLength[c]!} samples`,
        );
        this.disableChannel(c);
      }
    }
  }

  private disableChannel(c: number): void {
    if (!this.profile.usable(c)) return;
    this.profile.disable(c);
    this.updateThreshold();
    if (this.armed) this.rebuildBlocks(this.profile.n);
  }

  private report(out: HealthFinding[], code: HealthFinding['code'], c: number | null, message: string): void {
    const key = `${code}:${c ?? '-'}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    out.push(finding(code, 'gamma', c, message));
  }
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

function clampInt(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.round(x)));
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function pct(x: number): string {
  return `${Math.round(x * 100)} %`;
}
