/**
 * The neutron decision of one lane (SPEC §3 step 3). A few counts per interval: the gross
 * N-sigma test is wrong here, so every test is the exact Poisson tail P(X ≥ n | λ·t) against a
 * configurable false-alarm probability α per test (default 1e-6).
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
import { finding } from './background.js';
import { logPoissonUpperTail, poissonThreshold, sigmaOfLogP } from './stats.js';
import type { HealthFinding, NeutronSummary } from './types.js';

export interface NeutronOptions {
  /** False-alarm probability per test. Default 1e-6. */
  readonly falseAlarmProbability?: number;
  /** Background per tube when nothing else is known (cps). Default 2.5. */
  readonly fallbackCpsPerTube?: number;
  /** Samples kept per occupancy. Default 600. */
  readonly maxSamples?: number;
  /** Counts per second and tube beyond any real detector. Default 10,000. */
  readonly maxCps?: number;
  /** Gamma suppression from which a single-interval burst is a ship-effect suspect. Default 0.08. */
  readonly shipEffectSuppression?: number;
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

  constructor(tubes: number, o: NeutronOptions = {}) {
    this.tubes = Math.max(1, tubes);
    this.alpha = o.falseAlarmProbability ?? 1e-6;
    this.fallback = o.fallbackCpsPerTube ?? 2.5;
    this.maxCps = o.maxCps ?? 10_000;
    this.shipSuppression = o.shipEffectSuppression ?? 0.08;
    this.cap = Math.max(16, o.maxSamples ?? 600);
    this.sums = new Float64Array(this.cap);
  }

  /**
   * Start an occupancy. `deviceCps`: the device's estimate (summed over tubes) or null;
   * `lineCps`: the line estimate summed over tubes (NaN when unknown) and whether it is truncated.
   */
  begin(deviceCps: number | null, lineCps: number, truncated: boolean, out: HealthFinding[]): void {
    this.reported.clear();
    const floor = 0.1 * this.tubes;
    if (deviceCps !== null && Number.isFinite(deviceCps) && deviceCps > 0 && deviceCps < this.maxCps) {
      this.lambda = deviceCps;
      this.source = 'device';
    } else if (Number.isFinite(lineCps) && lineCps >= 0) {
      this.lambda = truncated ? lineCps + 0.5 * this.tubes : lineCps;
      this.source = 'lines';
      if (truncated) {
        this.report(
          out,
          'neutron-background-coarse',
          null,
          `neutron background from truncated NB lines (${lineCps} cps summed): +0.5 cps per tube assumed`,
        );
      }
    } else {
      this.lambda = this.fallback * this.tubes;
      this.source = 'fallback';
      this.report(
        out,
        'no-background',
        null,
        `no neutron background known: ${this.lambda} cps assumed (${this.fallback} per tube)`,
      );
    }
    this.lambda = Math.max(floor, this.lambda);
    this.n = 0;
    this.total = 0;
    this.totalS = 0;
    this.maxCounts = 0;
    this.maxAt = -1;
    this.minLogP = 0;
    this.alarm = false;
    this.intervalS = 0;
    this.burstTubes = 0;
  }

  get backgroundCps(): number {
    return this.lambda;
  }

  sample(e: SampleEvent, out: HealthFinding[]): NeutronHit | null {
    const dt = e.intervalMs > 0 ? e.intervalMs / 1000 : 1;
    if (this.intervalS !== dt) this.setInterval(dt);
    let s = 0;
    let hitTubes = 0;
    for (let c = 0; c < this.tubes; c++) {
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
    return hit;
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
    const where = `${this.maxCounts} neutrons in one ${this.intervalS} s interval (${this.burstTubes} of ${this.tubes} tubes), neighbouring intervals at background`;
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

  get samples(): number {
    return this.n;
  }

  /** Counts of the occupancy so far over its expected background, and the tail's sigma. */
  get minSigma(): number {
    return sigmaOfLogP(this.minLogP);
  }

  private test(counts: number, mu: number, overThreshold: boolean | null): NeutronHit | null {
    if (!(counts > mu)) return null;
    const logP = logPoissonUpperTail(counts, mu);
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
    this.thresholds = this.widths.map((w) => poissonThreshold(this.lambda * w * dt, this.alpha));
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
