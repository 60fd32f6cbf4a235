/**
 * The neutron decision of one lane (SPEC §3 step 3). A few counts per interval: the gross
 * N-sigma test is wrong here, so every test is the exact Poisson tail P(X ≥ n | λ·t) against a
 * configurable false-alarm probability α per test (default 1e-5).
 *
 * Tests, on the counts summed over tubes: windows of 1, 2 and 3 s of samples (a neutron source's
 * peak lasts ~1.5·d/v, 1–3 s) and the whole occupancy so far. Thresholds (smallest n with
 * P(X ≥ n) ≤ α) are computed once per occupancy and width, so a sample costs a few compares.
 *
 * Background λ (cps summed over tubes), first that applies: the device's own running estimate
 * (VM-250 GX f2 of the previous occupancy — it arrives at an occupancy's end, so it serves the
 * next one); the background lines (VM-250 NB carries truncated integers, often 000000: the
 * midpoint of each truncation interval, +0.5 cps per tube, is used and flagged coarse); else a
 * fallback of `fallbackCpsPerTube` per tube, flagged. λ never drops below 0.1 cps per tube.
 *
 * Ship effect: cosmic-ray spallation in dense cargo makes neutron bursts — many neutrons in one
 * interval, the neighbouring intervals at background — under heavy gamma shadowing. The burst
 * check flags such an alarm (`shipEffectSuspect`) and says so in the reasons; it never clears
 * it: SPEC §3 makes every neutron alarm INVESTIGATE, and a real source at speed can look alike.
 */
import type { SampleEvent } from '../domain/lane-events.js';
import { finding, type BackgroundTracker } from './background.js';
import { chooseNeutronBackground, fmtCps } from './neutron-background.js';
import { logNegBinomialUpperTail, negBinomialThreshold, sigmaOfLogP } from './stats.js';
import type { HealthFinding, NeutronSummary } from './types.js';

export interface NeutronOptions {
  /** False-alarm probability per test. Default 1e-5. */
  readonly falseAlarmProbability?: number;
  /** Background per tube when nothing else is known (cps). Default 2.5. */
  readonly fallbackCpsPerTube?: number;
  /** Samples kept per occupancy. Default 600. */
  readonly maxSamples?: number;
  /** Counts per second and tube beyond any real detector. Default 10,000. */
  readonly maxCps?: number;
  /** Gamma suppression from which a single-interval burst is a ship-effect suspect. Default 0.08. */
  readonly shipEffectSuppression?: number;
  /** Seconds of background behind the device's estimate (SN1 background time). Default 20. */
  readonly averagingS?: number;
}

export interface NeutronHit {
  readonly counts: number;
  readonly logP: number;
  readonly sigma: number;
}

const WINDOWS_S = [1, 2, 3];

export class NeutronDetector {
  private readonly alpha: number;
  private readonly fallback: number;
  private readonly maxCps: number;
  private readonly shipSuppression: number;
  private readonly sums: Float64Array; // running sums of per-sample totals (ring)
  private readonly cap: number;
  private readonly tubes: number;
  private widths: number[] = [];
  private thresholds: number[] = [];
  private lambda = 0;
  /** λ's precision as background-equivalent counts (λ²/var λ): the negative binomial's shape. */
  private shape = Infinity;
  private averagingS: number;
  private source: NeutronSummary['backgroundSource'] = 'fallback';
  private intervalS = 0;
  private n = 0;
  private total = 0;
  private totalS = 0;
  maxCounts = 0;
  private maxAt = -1;
  private minLogP = 0;
  alarm = false;
  private readonly reported = new Set<string>();
  private burstTubes = 0;
  /** 1: the tube is in the tests (0: faulted or settling, left out for this occupancy). */
  private readonly inUse: Uint8Array;
  /** Per-tube counts of each sample (ring, sample-major): a tube's fault is told from a source. */
  private readonly tubeCounts: Float64Array;
  /** A tube that alone carries an alarm: its decision waits for {@link settle} (−1: none). */
  private suspectTube = -1;
  private readonly cache = new Map<number, number>();

  constructor(tubes: number, o: NeutronOptions = {}) {
    this.tubes = Math.max(1, tubes);
    this.alpha = o.falseAlarmProbability ?? 1e-5;
    this.fallback = o.fallbackCpsPerTube ?? 2.5;
    this.maxCps = o.maxCps ?? 10_000;
    this.shipSuppression = o.shipEffectSuppression ?? 0.08;
    this.averagingS = o.averagingS ?? 20;
    this.cap = Math.max(16, o.maxSamples ?? 600);
    this.sums = new Float64Array(this.cap);
    this.inUse = new Uint8Array(this.tubes).fill(1);
    this.tubeCounts = new Float64Array(this.cap * this.tubes);
  }

  /**
   * Start an occupancy. `deviceCps`: the device's estimate (summed over tubes) or null; `lines`:
   * the tracker of the neutron background reports.
   *
   * A tube that is in a background fault, still settling after one, or far above the others in
   * the latest report (a fault the device has not flagged yet: its running mean lags) is left
   * out of the tests for this occupancy (a health finding, never an alarm), and λ covers the
   * remaining tubes. λ never falls below what the (truncated) reports of the tubes in use show:
   * a device estimate that predates a rise cannot make the background look low; one far above
   * them predates a fall (a tube's fault ended since) and gives way to the reports.
   */
  begin(deviceCps: number | null, lines: BackgroundTracker, out: HealthFinding[]): void {
    this.reported.clear();
    const bg = chooseNeutronBackground(
      deviceCps,
      lines,
      this.inUse,
      { fallbackCpsPerTube: this.fallback, maxCps: this.maxCps, averagingS: this.averagingS },
      (code, c, message) => this.report(out, code, c, message),
    );
    this.lambda = bg.lambda;
    this.shape = bg.shape;
    this.source = bg.source;
    this.resetTests();
    this.intervalS = 0;
    this.burstTubes = 0;
    this.suspectTube = -1;
  }

  /** Forget the occupancy's samples and test results (a new occupancy, or a re-run without a tube). */
  private resetTests(): void {
    this.n = 0;
    this.total = 0;
    this.totalS = 0;
    this.maxCounts = 0;
    this.maxAt = -1;
    this.minLogP = 0;
    this.alarm = false;
  }

  /** The device's neutron averaging time (SN1 f6), seconds. */
  setAveragingTime(seconds: number): void {
    if (Number.isFinite(seconds) && seconds > 0 && seconds <= 3600) this.averagingS = seconds;
  }

  get backgroundCps(): number {
    return this.lambda;
  }

  sample(e: SampleEvent, out: HealthFinding[]): NeutronHit | null {
    const dt = e.intervalMs > 0 ? e.intervalMs / 1000 : 1;
    if (this.intervalS !== dt) this.setInterval(dt);
    let s = 0;
    let hitTubes = 0;
    const row = (this.n % this.cap) * this.tubes;
    for (let c = 0; c < this.tubes; c++) {
      this.tubeCounts[row + c] = 0;
      if (this.inUse[c] === 0) continue;
      const x = c < e.counts.length ? e.counts[c]! : NaN;
      if (!(Number.isFinite(x) && x >= 0 && x <= this.maxCps * dt)) {
        const high = Number.isFinite(x) && x > this.maxCps * dt;
        this.report(
          out,
          high ? 'absurd-counts' : 'negative-counts',
          c,
          `neutron tube ${c + 1} sample count ${String(x)} ${high ? 'beyond the detector range' : 'is not a count'}: left out`,
        );
        continue;
      }
      s += x;
      this.tubeCounts[row + c] = x;
      if (x > 0) hitTubes++;
    }
    const i = this.n++;
    this.sums[i % this.cap] = (i === 0 ? 0 : this.cumAt(i - 1)) + s;
    this.total += s;
    this.totalS += dt;
    if (s > this.maxCounts) {
      this.maxCounts = s;
      this.maxAt = i;
      this.burstTubes = hitTubes;
    }
    let hit: NeutronHit | null = null;
    for (let k = 0; k < this.widths.length; k++) {
      const w = this.widths[k]!;
      if (i + 1 < w) continue;
      const counts = this.cumAt(i) - (i - w < 0 ? 0 : this.cumAt(i - w));
      hit ??= this.test(counts, this.lambda * w * dt, counts >= this.thresholds[k]!);
    }
    // Whole occupancy so far: its mean grows every sample, so the tail is evaluated directly.
    hit ??= this.test(this.total, this.lambda * this.totalS, null);
    if (hit !== null && (this.suspectTube >= 0 || this.oneTube(i) >= 0)) {
      if (this.suspectTube < 0) this.suspectTube = this.oneTube(i);
      return null; // held for settle(): one tube alone, perhaps in a fault
    }
    return hit;
  }

  /**
   * The tube that alone carries the excess so far (≥ 80 % of it, the others together within 3σ
   * of their background), or −1. A source near one pillar lights its two tubes (a third of the
   * near tube's rate reaches the other tube at a metre and a half), a tube's fault only itself.
   */
  private oneTube(i: number): number {
    const used = this.tubesInUse;
    if (used < 2) return -1;
    const from = Math.max(0, i - this.cap + 1);
    const m = (this.lambda / used) * this.intervalS * (i - from + 1); // per tube, at background
    let best = -1;
    let bestExcess = 0;
    let excess = 0;
    let all = 0;
    for (let c = 0; c < this.tubes; c++) {
      if (this.inUse[c] === 0) continue;
      let x = 0;
      for (let j = from; j <= i; j++) x += this.tubeCounts[(j % this.cap) * this.tubes + c]!;
      all += x;
      excess += x - m;
      if (x - m > bestExcess) {
        bestExcess = x - m;
        best = c;
      }
    }
    if (best < 0 || bestExcess < 0.8 * excess) return -1;
    let others = all;
    for (let j = from; j <= i; j++) others -= this.tubeCounts[(j % this.cap) * this.tubes + best]!;
    const mo = m * (used - 1);
    return (others - mo) / Math.sqrt(mo + 1) < 3 ? best : -1;
  }

  /**
   * Occupancy end, before the summary: a neutron alarm that one tube alone carried is a fault
   * when that tube counted high through the whole occupancy — its first interval, its last
   * (the empty lane after the vehicle) and every one between, with no peak above the Poisson
   * spread of its own mean: no source passes like that. The tube is then left out (a health
   * finding, as for a fault the reports show) and the tests re-run on the others; otherwise
   * the alarm stands (carried by the assessment).
   */
  settle(out: HealthFinding[]): void {
    const c = this.suspectTube;
    if (c < 0 || this.n < 3) return;
    this.suspectTube = -1;
    const from = Math.max(0, this.n - this.cap);
    const used = this.tubesInUse;
    const m1 = (this.lambda / Math.max(1, used)) * this.intervalS;
    const at = (j: number): number => this.tubeCounts[(j % this.cap) * this.tubes + c]!;
    let sum = 0;
    let max = 0;
    let min = Infinity;
    for (let j = from; j < this.n; j++) {
      const x = at(j);
      sum += x;
      max = Math.max(max, x);
      min = Math.min(min, x);
    }
    const mean = sum / (this.n - from);
    const high = (x: number): boolean => x >= m1 + 4 * Math.sqrt(m1) + 2;
    const flat = max <= mean + 5 * Math.sqrt(mean) + 2;
    if (!(high(at(from)) && high(at(this.n - 1)) && high(min) && flat)) return;
    this.inUse[c] = 0;
    this.report(
      out,
      'background-settling',
      c,
      `neutron tube ${c + 1} counted ${fmtCps(Math.round(mean / this.intervalS))} cps through the whole occupancy, the empty lane after it included, the other tubes at background: a detector fault, not a source — left out of the neutron tests`,
    );
    // The tests again, on the other tubes.
    this.lambda = Math.max(0.1 * (used - 1), (this.lambda * (used - 1)) / used);
    this.thresholds = this.widths.map((w) => this.threshold(this.lambda * w * this.intervalS));
    const samples = this.n;
    this.resetTests();
    for (let j = 0; j < samples; j++) {
      const row = (j % this.cap) * this.tubes;
      let s = 0;
      let hitTubes = 0;
      for (let t = 0; t < this.tubes; t++) {
        if (this.inUse[t] === 0) continue;
        s += this.tubeCounts[row + t]!;
        if (this.tubeCounts[row + t]! > 0) hitTubes++;
      }
      const i = this.n++;
      this.sums[i % this.cap] = (i === 0 ? 0 : this.cumAt(i - 1)) + s;
      this.total += s;
      this.totalS += this.intervalS;
      if (s > this.maxCounts) {
        this.maxCounts = s;
        this.maxAt = i;
        this.burstTubes = hitTubes;
      }
      for (let k = 0; k < this.widths.length; k++) {
        const w = this.widths[k]!;
        if (i + 1 < w) continue;
        const counts = this.cumAt(i) - (i - w < 0 ? 0 : this.cumAt(i - w));
        this.test(counts, this.lambda * w * this.intervalS, counts >= this.thresholds[k]!);
      }
      this.test(this.total, this.lambda * this.totalS, null);
    }
  }

  /** Ship-effect burst check, for an occupancy with a neutron alarm. */
  shipEffect(gammaSuppression: number): { suspect: boolean; reason: string | null } {
    if (!this.alarm || this.maxAt < 0) return { suspect: false, reason: null };
    const mu1 = this.lambda * this.intervalS;
    const nb =
      (this.maxAt > 0 ? this.at(this.maxAt - 1) : mu1) +
      (this.maxAt + 1 < this.n ? this.at(this.maxAt + 1) : mu1);
    const neighboursQuiet = nb <= 2 * mu1 + 3 * Math.sqrt(2 * mu1) + 1;
    const excess = this.total - this.lambda * this.totalS;
    const concentrated = this.maxCounts - mu1 >= 0.6 * excess;
    const burst = neighboursQuiet && concentrated;
    const suspect = burst && gammaSuppression >= this.shipSuppression;
    if (!burst) return { suspect: false, reason: null };
    const where = `${this.maxCounts} neutrons in one ${this.intervalS} s interval (${this.burstTubes} of ${this.tubesInUse} tubes), neighbouring intervals at background`;
    return {
      suspect,
      reason: suspect
        ? `${where}, under ${Math.round(gammaSuppression * 100)} % gamma shadowing: consistent with the cosmic ship effect in dense cargo — still INVESTIGATE (neutron alarms are always investigated; a re-scan settles it)`
        : `${where}: a short burst without heavy shadowing — not the ship effect, treat as a neutron source`,
    };
  }

  summary(shipEffectSuspect: boolean): NeutronSummary {
    return {
      alarm: this.alarm,
      maxCounts: this.maxCounts,
      backgroundCps: this.lambda,
      backgroundSource: this.source,
      minPValue: Math.exp(this.minLogP),
      shipEffectSuspect,
    };
  }

  get tubesInUse(): number {
    let k = 0;
    for (let c = 0; c < this.tubes; c++) k += this.inUse[c]!;
    return k;
  }

  get samples(): number {
    return this.n;
  }

  /** Counts of the occupancy so far over its expected background, and the tail's sigma. */
  get minSigma(): number {
    return sigmaOfLogP(this.minLogP);
  }

  private test(counts: number, mu: number, overThreshold: boolean | null): NeutronHit | null {
    if (!(counts > mu)) return null;
    // Most windows sit near the mean: below 3σ (normal approximation of the negative binomial,
    // whose tail it overstates there) neither an alarm nor a notable minimum is possible, so the
    // exact tail — a series that converges slowly near the mean — is skipped.
    const z = (counts - mu) / Math.sqrt(mu + (mu * mu) / this.shape);
    if (z < 3 && overThreshold !== true) return null; // (the reported minimum starts at 3σ)
    // The rate is an estimate: its error widens the tail (var = μ + μ²/r, r = λ²/var λ).
    const logP = logNegBinomialUpperTail(counts, mu, this.shape);
    if (logP < this.minLogP) this.minLogP = logP;
    const alarms = overThreshold ?? logP <= Math.log(this.alpha);
    if (!alarms) return null;
    this.alarm = true;
    return { counts, logP, sigma: sigmaOfLogP(logP) };
  }

  private setInterval(dt: number): void {
    this.intervalS = dt;
    const set = new Set<number>();
    for (const t of WINDOWS_S) set.add(Math.max(1, Math.round(t / dt)));
    this.widths = [...set].sort((a, b) => a - b);
    this.thresholds = this.widths.map((w) => this.threshold(this.lambda * w * dt));
  }

  /**
   * The count threshold for a window of mean `mu`, cached: the mean is rounded *up* to 1 % (a
   * slightly higher threshold, never a lower one) so a day's occupancies share a few entries.
   */
  private threshold(mu: number): number {
    const key = Math.ceil(Math.log(Math.max(1e-6, mu)) * 100);
    const shapeKey = Math.round(Math.log(Math.max(1e-6, this.shape)) * 10);
    const k = key * 1000 + shapeKey;
    let n = this.cache.get(k);
    if (n === undefined) {
      if (this.cache.size > 4096) this.cache.clear();
      n = negBinomialThreshold(Math.exp(key / 100), this.shape, this.alpha);
      this.cache.set(k, n);
    }
    return n;
  }

  private cumAt(i: number): number {
    return this.sums[i % this.cap]!;
  }

  private at(i: number): number {
    return this.cumAt(i) - (i === 0 ? 0 : this.cumAt(i - 1));
  }

  private report(out: HealthFinding[], code: HealthFinding['code'], c: number | null, message: string): void {
    const key = `${code}:${c ?? '-'}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    out.push(finding(code, 'neutron', c, message));
  }
}
