/**
 * The gateway's first, simple radiation decision (SPEC §1.1 "usual description", §3 steps 1–3
 * in their simplest form). The full pipeline replaces it later; replay uses it today.
 *
 * Gamma: BG = sum over channels of the latest clean gamma background (cps), frozen when an
 * occupancy starts. Over every sliding window of `windowSamples` gamma samples (5 × 200 ms = 1 s)
 * the expected count is E = BG · window seconds; the window alarms when its 4-channel sum
 * exceeds E + nSigma·√E. maxSigma = max (sum − E)/√E over the occupancy's windows.
 * Pre-trigger samples are excluded from the windows (simulators repeat the first sample there)
 * but give the background when no background line was seen before the occupancy.
 *
 * Neutron: background λ (cps, summed over tubes) = the device's own estimate from the last GX
 * (f2/1000) when there is one — NB lines carry truncated integers, often all zero — else the NB
 * sum, never below `neutronFloorCps`. A neutron sample alarms when P(X ≥ counts | λ·interval)
 * < `neutronFalseAlarmP` (exact Poisson tail). The threshold count is computed once per
 * occupancy, so each sample costs O(1).
 *
 * Pure: fed lane events, no I/O, no clock.
 */
import type { LaneEvent, SampleEvent } from '../domain/lane-events.js';

export interface SimpleNSigmaOptions {
  /** Gamma N-sigma. Default 6 (the VM-250's default NSigma). */
  nSigma?: number;
  /** Gamma window in samples. Default 5 (VM-250 `Intervals`: 1 s). */
  windowSamples?: number;
  /** Neutron false-alarm probability per sample. Default 1e-6. */
  neutronFalseAlarmP?: number;
  /** Lowest neutron background used, cps summed over tubes. Default 0.5. */
  neutronFloorCps?: number;
}

/** The decision for the current (or just ended) occupancy. */
export interface NSigmaVerdict {
  readonly gammaAlarm: boolean;
  /** Highest window significance, in sigma; 0 when there was no complete window. */
  readonly maxSigma: number;
  /** The background used, cps summed over channels; null when none was known. */
  readonly gammaBackgroundCps: number | null;
  /** Sum of the most significant window (counts), and its expected value. */
  readonly gammaMaxWindowCounts: number;
  readonly gammaWindowSeconds: number;
  readonly neutronAlarm: boolean;
  /** Highest neutron sample, counts summed over tubes. */
  readonly neutronMaxCounts: number;
  readonly neutronBackgroundCps: number;
  /** Lowest count per neutron sample that alarms. */
  readonly neutronThreshold: number;
}

export interface SimpleNSigma {
  /** Feed every lane event of the lane, in order. */
  handle(e: LaneEvent): void;
  /** Same as `handle` for a sample event (a monomorphic entry for hot callers). */
  sample(e: SampleEvent): void;
  /** The verdict of the occupancy in progress or the last one (read at its occupancy-end). */
  verdict(): NSigmaVerdict;
}

export function createSimpleNSigma(options: SimpleNSigmaOptions = {}): SimpleNSigma {
  return new Decision(options);
}

class Decision implements SimpleNSigma {
  private readonly nSigma: number;
  private readonly window: number;
  private readonly pFalse: number;
  private readonly floor: number;
  // background between occupancies
  private gammaBg: number | null = null;
  private neutronNb: number | null = null;
  private neutronDevice: number | null = null;
  // per occupancy
  private bg: number | null = null;
  private preSum = 0;
  private preSeconds = 0;
  private readonly ring: number[];
  private ringAt = 0;
  private filled = 0;
  private windowSum = 0;
  private windowSeconds = 1;
  private expectedFor = -1;
  private expected = 0;
  private sqrtExpected = 1;
  private maxSigma = 0;
  private maxWindow = 0;
  private gammaAlarm = false;
  private nBg = 0;
  private nThreshold = Infinity;
  private nThresholdFor = -1;
  private nMax = 0;
  private neutronAlarm = false;

  constructor(o: SimpleNSigmaOptions) {
    this.nSigma = o.nSigma ?? 6;
    this.window = Math.max(1, Math.floor(o.windowSamples ?? 5));
    this.pFalse = o.neutronFalseAlarmP ?? 1e-6;
    this.floor = o.neutronFloorCps ?? 0.5;
    this.ring = new Array<number>(this.window).fill(0);
  }

  sample(e: SampleEvent): void {
    if (e.radiation === 'gamma') this.gamma(e);
    else this.neutron(e);
  }

  handle(e: LaneEvent): void {
    switch (e.kind) {
      case 'sample':
        this.sample(e);
        return;
      case 'background':
        if (e.radiation === 'gamma') {
          if (e.fault === 'none' || this.gammaBg === null) this.gammaBg = sum(e.cps);
        } else {
          this.neutronNb = sum(e.cps);
        }
        return;
      case 'occupancy-start':
        this.begin();
        return;
      case 'occupancy-end':
        if (e.deviceNeutronBackgroundCps !== null) this.neutronDevice = e.deviceNeutronBackgroundCps;
        return;
      case 'connection':
      case 'speed':
      case 'fault':
      case 'tamper':
      case 'device-config':
      case 'unknown-record':
      case 'bad-input':
        return;
    }
  }

  verdict(): NSigmaVerdict {
    return {
      gammaAlarm: this.gammaAlarm,
      maxSigma: this.maxSigma,
      gammaBackgroundCps: this.effectiveGammaBg(),
      gammaMaxWindowCounts: this.maxWindow,
      gammaWindowSeconds: this.windowSeconds,
      neutronAlarm: this.neutronAlarm,
      neutronMaxCounts: this.nMax,
      neutronBackgroundCps: this.nBg,
      neutronThreshold: this.nThreshold,
    };
  }

  private begin(): void {
    this.bg = this.gammaBg;
    this.preSum = 0;
    this.preSeconds = 0;
    this.ring.fill(0);
    this.ringAt = 0;
    this.filled = 0;
    this.windowSum = 0;
    this.expectedFor = -1;
    this.maxSigma = 0;
    this.maxWindow = 0;
    this.gammaAlarm = false;
    this.nBg = Math.max(this.floor, this.neutronDevice ?? this.neutronNb ?? 0);
    this.nThresholdFor = -1;
    this.nThreshold = Infinity;
    this.nMax = 0;
    this.neutronAlarm = false;
  }

  private effectiveGammaBg(): number | null {
    if (this.bg !== null && this.bg > 0) return this.bg;
    return this.preSeconds > 0 ? this.preSum / this.preSeconds : null;
  }

  private gamma(e: SampleEvent): void {
    const c = e.counts;
    let s = 0;
    for (let i = 0; i < c.length; i++) s += c[i]!;
    if (e.preTrigger) {
      this.preSum += s;
      this.preSeconds += e.intervalMs / 1000;
      return;
    }
    this.windowSum += s - this.ring[this.ringAt]!;
    this.ring[this.ringAt] = s;
    this.ringAt = this.ringAt + 1 === this.window ? 0 : this.ringAt + 1;
    if (this.filled < this.window) {
      this.filled++;
      if (this.filled < this.window) return;
    }
    if (this.expectedFor !== e.intervalMs) {
      // Background and interval are fixed for the occupancy: compute E and √E once.
      const bg = this.effectiveGammaBg();
      if (bg === null) return;
      this.expectedFor = e.intervalMs;
      this.windowSeconds = (this.window * e.intervalMs) / 1000;
      this.expected = bg * this.windowSeconds;
      this.sqrtExpected = Math.sqrt(this.expected);
    }
    const sigma = (this.windowSum - this.expected) / this.sqrtExpected;
    if (sigma > this.maxSigma) {
      this.maxSigma = sigma;
      this.maxWindow = this.windowSum;
    }
    if (sigma > this.nSigma) this.gammaAlarm = true;
  }

  private neutron(e: SampleEvent): void {
    const c = e.counts;
    let s = 0;
    for (let i = 0; i < c.length; i++) s += c[i]!;
    if (s > this.nMax) this.nMax = s;
    if (this.nThresholdFor !== e.intervalMs) {
      this.nThresholdFor = e.intervalMs;
      this.nThreshold = poissonThreshold((this.nBg * e.intervalMs) / 1000, this.pFalse);
    }
    if (s >= this.nThreshold) this.neutronAlarm = true;
  }
}

function sum(a: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

/** Smallest k with P(X ≥ k) < p for X ~ Poisson(mean). */
export function poissonThreshold(mean: number, p: number): number {
  if (mean <= 0) return 1;
  if (mean > 500) {
    // Normal approximation with continuity correction; exact terms underflow here.
    const z = normalQuantile(1 - p);
    return Math.ceil(mean + z * Math.sqrt(mean) + 0.5);
  }
  let pmf = Math.exp(-mean);
  let cdf = pmf; // P(X ≤ 0)
  let k = 0;
  while (1 - cdf >= p) {
    k++;
    pmf *= mean / k;
    cdf += pmf;
    if (k > 10_000) break;
  }
  return k + 1; // P(X ≥ k+1) = 1 − P(X ≤ k) < p
}

/** Acklam's rational approximation of the standard normal quantile (|error| < 1.2e-9). */
function normalQuantile(q: number): number {
  const a = [
    -39.6968302866538, 220.946098424521, -275.928510446969, 138.357751867269, -30.6647980661472,
    2.50662827745924,
  ];
  const b = [-54.4760987982241, 161.585836858041, -155.698979859887, 66.8013118877197, -13.2806815528857];
  const c = [
    -0.00778489400243029, -0.322396458041136, -2.40075827716184, -2.54973253934373, 4.37466414146497,
    2.93816398269878,
  ];
  const d = [0.00778469570904146, 0.32246712907004, 2.445134137143, 3.75440866190742];
  const lo = 0.02425;
  if (q < lo) {
    const t = Math.sqrt(-2 * Math.log(q));
    return (
      (((((c[0]! * t + c[1]!) * t + c[2]!) * t + c[3]!) * t + c[4]!) * t + c[5]!) /
      ((((d[0]! * t + d[1]!) * t + d[2]!) * t + d[3]!) * t + 1)
    );
  }
  if (q > 1 - lo) return -normalQuantile(1 - q);
  const u = q - 0.5;
  const r = u * u;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * u) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}
