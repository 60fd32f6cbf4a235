/**
 * Per-channel background from the lane's background reports (SPEC §3 step 1): VM-250 GB/GH/GL and
 * NB/NH lines, Modbus background registers. One tracker per radiation; the channel count comes
 * from the lane descriptor (4 + 4 on VM-250, 1 + 1 on Modbus — nothing here assumes four).
 *
 * Estimate: the median of the last `ringSize` accepted reports per channel, so one spike or one
 * glitched line never moves it. The pipeline snapshots it at occupancy start and does not feed
 * background lines seen inside an occupancy (the estimate is frozen while a vehicle is present).
 *
 * Faults become health findings, never alarms. Each finding is raised when its condition starts
 * (not on every line), and the state is kept per channel:
 * - fault high/low (GH/GL/NH): the channel(s) beyond 2× / below ½ of the line's median take the
 *   new level at once (their ring restarts: the detector really counts at that rate) and stay
 *   in the tests; with one channel, that channel.
 * - dead: a zero while the other channels count ≥ `deadFloorCps` (gamma only: a truncated NB is
 *   often 0 on healthy tubes). Excluded until it counts again.
 * - stuck: the same non-zero value `stuckRepeats` times in a row where the value is large enough
 *   that Poisson noise would move it (gamma ≥ 50 cps; NB lines repeat small integers
 *   legitimately). Excluded until the value changes.
 * - absurd: negative, not finite, or above `maxCps`: the value is ignored.
 *
 * Settling. A VM-250 report is the device's running mean over its `backgroundTime` (SG3 f3,
 * default 20 s = 4 reports), so after a channel's level changes — a fault starts or ends, a dead
 * or stuck channel recovers, or a report jumps away from the channel's own history (≥ 10 % and
 * ≥ 5σ: a fault the device has not flagged yet) — the next reports are a mix of the old and the
 * new level. Such a channel is *settling* for that many reports: its estimate is the latest
 * report (not the median of a lagging ring), and the gamma detector replaces it with the
 * occupancy's own look-back (or leaves the channel out without one). The neutron detector
 * leaves settling, faulted and anomalously high tubes out of its tests.
 */
import type { BackgroundEvent, Radiation } from '../domain/lane-events.js';
import type { HealthFinding } from './types.js';
import { medianInPlace } from './stats.js';

export interface BackgroundTrackerOptions {
  /** Reports kept per channel for the median. Default 9 (45 s of VM-250 reports). */
  readonly ringSize?: number;
  /** Identical values in a row that make a channel stuck. Default 8. */
  readonly stuckRepeats?: number;
  /** Above this a report is absurd. Default 200,000 cps gamma, 10,000 cps neutron. */
  readonly maxCps?: number;
  /** Others' median above which a zero channel is dead. Default 20 cps (gamma only). */
  readonly deadFloorCps?: number;
  /** Reports a channel settles after a level change (the running mean's length + 1). Default 5. */
  readonly settleReports?: number;
}

const NO_FINDINGS: readonly HealthFinding[] = Object.freeze([]);

interface ChannelState {
  readonly ring: Float64Array;
  count: number;
  at: number;
  last: number;
  repeats: number;
  fault: 'none' | 'high' | 'low';
  stuck: boolean;
  dead: boolean;
  absurd: boolean;
  /** Reports left until the channel's running mean has forgotten its previous level. */
  settle: number;
  /** A neutron tube far above the others in the latest report (a fault the device has not flagged). */
  anomalous: boolean;
  /** The latest report jumped away from the channel's history; a second one confirms the change. */
  pending: boolean;
  /** Median of the ring (valid unless `dirty`). */
  estimate: number;
  dirty: boolean;
}

export class BackgroundTracker {
  readonly channels: number;
  private readonly ringSize: number;
  private readonly stuckRepeats: number;
  private readonly maxCps: number;
  private readonly deadFloor: number;
  private readonly state: ChannelState[];
  private readonly sums: Float64Array;
  private sumCount = 0;
  private sumAt = 0;
  private readonly scratch: Float64Array;
  private mismatchReported = false;
  /** Every accepted report so far carried whole numbers (VM-250 NB truncation). */
  private integerOnly = true;
  private accepted = 0;
  private settleReports: number;
  /** Findings of the report being taken (none on most lines: no allocation then). */
  private found: HealthFinding[] | null = null;

  constructor(
    readonly radiation: Radiation,
    channels: number,
    options: BackgroundTrackerOptions = {},
  ) {
    this.channels = Math.max(1, Math.floor(channels));
    this.ringSize = Math.max(1, options.ringSize ?? 9);
    this.stuckRepeats = Math.max(2, options.stuckRepeats ?? 8);
    this.maxCps = options.maxCps ?? (radiation === 'gamma' ? 200_000 : 10_000);
    this.deadFloor = options.deadFloorCps ?? 20;
    this.settleReports = Math.max(0, Math.round(options.settleReports ?? 5));
    this.state = [];
    for (let c = 0; c < this.channels; c++) {
      this.state.push({
        ring: new Float64Array(this.ringSize),
        count: 0,
        at: 0,
        last: NaN,
        repeats: 0,
        fault: 'none',
        stuck: false,
        dead: false,
        absurd: false,
        settle: 0,
        anomalous: false,
        pending: false,
        estimate: NaN,
        dirty: false,
      });
    }
    this.sums = new Float64Array(this.ringSize);
    this.scratch = new Float64Array(Math.max(this.ringSize, this.channels));
  }

  /** Take one background report. Returns the findings that started with it (usually none). */
  update(e: BackgroundEvent): readonly HealthFinding[] {
    this.found = null;
    const cps = e.cps;
    if (cps.length !== this.channels && !this.mismatchReported) {
      this.mismatchReported = true;
      this.add(
        finding(
          'channel-count-mismatch',
          this.radiation,
          null,
          `${this.radiation} background report has ${cps.length} channels, the lane has ${this.channels}`,
        ),
      );
    }
    const lineMedian = this.lineMedian(cps);
    let sum = 0;
    let sumOk = true;
    for (let c = 0; c < this.channels; c++) {
      const s = this.state[c]!;
      const v = c < cps.length ? cps[c]! : NaN;
      if (!Number.isFinite(v) || v < 0 || v > this.maxCps) {
        if (!s.absurd)
          this.add(
            finding('absurd-background', this.radiation, c, `${this.name(c)} reported ${v} cps: ignored`),
          );
        s.absurd = true;
        sumOk = false;
        continue;
      }
      s.absurd = false;
      if (v !== Math.floor(v)) this.integerOnly = false;
      const othersCount = this.radiation === 'gamma' && this.channels > 1 && lineMedian >= this.deadFloor;
      if (v === 0 && (othersCount || (this.radiation === 'gamma' && this.channels === 1))) {
        if (!s.dead)
          this.add(
            finding('dead-channel', this.radiation, c, `${this.name(c)} reads 0 cps while the lane counts`),
          );
        s.dead = true;
        sumOk = false;
        continue;
      }
      if (s.dead) {
        s.dead = false;
        this.restart(s); // counting again: start afresh, the running mean still holds the zeros
      }
      const previous = s.last;
      s.repeats = v === s.last && v > 0 ? s.repeats + 1 : 0;
      s.last = v;
      const canStick = this.radiation === 'gamma' && v >= 50;
      if (canStick && s.repeats + 1 >= this.stuckRepeats) {
        if (!s.stuck)
          this.add(
            finding(
              'stuck-channel',
              this.radiation,
              c,
              `${this.name(c)} repeated ${v} cps ${s.repeats + 1} times`,
            ),
          );
        s.stuck = true;
      } else if (s.repeats === 0 && s.stuck) {
        s.stuck = false;
        this.restart(s);
      }
      const fault = e.fault === 'none' ? 'none' : this.faultOf(e.fault, v, lineMedian);
      if (fault !== s.fault) {
        if (fault !== 'none') {
          this.add(
            finding(
              fault === 'high' ? 'background-fault-high' : 'background-fault-low',
              this.radiation,
              c,
              `${this.name(c)} background ${fault} fault at ${v} cps`,
            ),
          );
        }
        s.fault = fault;
        this.restart(s); // the channel's level changed: adopt the new one at once
      } else if (this.jumped(s, v, previous)) {
        // A level change the device has not flagged (yet): suspect at once (the next occupancy
        // leans on its look-back), confirmed by a second report (one spike stays a spike).
        if (s.pending) this.restart(s);
        else s.pending = true;
      } else {
        s.pending = false;
      }
      if (this.radiation === 'neutron') {
        s.anomalous = this.channels > 2 && v > Math.max(2 * lineMedian, lineMedian + 5);
      }
      if (s.settle > 0) {
        // The running mean is still mixing levels: keep only the latest report.
        s.settle--;
        s.count = 0;
      }
      push(s, v, this.ringSize);
      s.dirty = true;
      sum += v;
    }
    if (sumOk) {
      this.sums[this.sumAt] = sum;
      this.sumAt = (this.sumAt + 1) % this.ringSize;
      this.sumCount = Math.min(this.ringSize, this.sumCount + 1);
    }
    this.accepted++;
    const out = this.found ?? NO_FINDINGS;
    this.found = null;
    return out;
  }

  private add(f: HealthFinding): void {
    (this.found ??= []).push(f);
  }

  /** At least one report has been taken for some channel. */
  get known(): boolean {
    return this.state.some((s) => s.count > 0);
  }

  /** Reports taken (absurd ones included). */
  get reports(): number {
    return this.accepted;
  }

  /** The reports were whole numbers throughout (VM-250 NB lines are truncated cps). */
  get truncated(): boolean {
    return this.integerOnly;
  }

  /** Robust estimate for channel c, cps; NaN when unknown. */
  cps(c: number): number {
    const s = this.state[c];
    return !s || s.count === 0 ? NaN : this.estimate(s);
  }

  /**
   * The channel's level changed within the device's averaging time: its reports still lag
   * (the estimate is the latest report; prefer the occupancy's own look-back).
   */
  settling(c: number): boolean {
    const s = this.state[c];
    return s !== undefined && (s.settle > 0 || s.pending);
  }

  /** A neutron tube far above the others in the latest report, or in a declared fault. */
  suspect(c: number): boolean {
    const s = this.state[c];
    return s !== undefined && (s.anomalous || s.fault !== 'none' || s.settle > 0 || s.pending);
  }

  /** The device's averaging time (SG3 f3 / SN1 f6, seconds): how long a level change lags. */
  setAveragingTime(seconds: number): void {
    if (Number.isFinite(seconds) && seconds > 0 && seconds <= 600) {
      this.settleReports = Math.ceil(seconds / 5) + 1; // + 1: a change inside a report's interval
    }
  }

  /** The channel is fit to test with: known, not dead, not stuck, not absurd. */
  usable(c: number): boolean {
    const s = this.state[c];
    return s !== undefined && s.count > 0 && !s.dead && !s.stuck && !s.absurd;
  }

  /** Channel c is in a high or low background fault. */
  faulted(c: number): boolean {
    return (this.state[c]?.fault ?? 'none') !== 'none';
  }

  /** Relative scatter of the summed reports (robust: 1.4826·MAD / median); 0 with < 3 reports. */
  relativeSpread(): number {
    const n = this.sumCount;
    if (n < 3) return 0;
    for (let i = 0; i < n; i++) this.scratch[i] = this.sums[i]!;
    const med = medianInPlace(this.scratch, n);
    if (!(med > 0)) return 0;
    for (let i = 0; i < n; i++) this.scratch[i] = Math.abs(this.sums[i]! - med);
    return (1.4826 * medianInPlace(this.scratch, n)) / med;
  }

  /** The ring's median, recomputed only after a push. */
  private estimate(s: ChannelState): number {
    if (s.dirty) {
      for (let i = 0; i < s.count; i++) this.scratch[i] = s.ring[i]!;
      s.estimate = medianInPlace(this.scratch, s.count);
      s.dirty = false;
    }
    return s.estimate;
  }

  private restart(s: ChannelState): void {
    s.count = 0;
    s.pending = false;
    s.settle = this.settleReports;
  }

  /** The report left the channel's history by ≥ 10 % and ≥ 5σ of a 5 s count (gamma). */
  private jumped(s: ChannelState, v: number, previous: number): boolean {
    if (this.radiation !== 'gamma' || s.count < 2) return false;
    // Within 5 % of the previous report (accepted without a jump) is no jump: skip the median.
    if (Math.abs(v - previous) <= 0.05 * previous) return false;
    const med = this.estimate(s);
    const d = Math.abs(v - med);
    return d > 0.1 * med && d > 5 * Math.sqrt(Math.max(1, med) / 5);
  }

  private faultOf(fault: 'high' | 'low', v: number, lineMedian: number): 'none' | 'high' | 'low' {
    if (this.channels === 1 || !(lineMedian > 0)) return fault;
    if (fault === 'high') return v > 2 * lineMedian ? 'high' : 'none';
    return v < 0.5 * lineMedian ? 'low' : 'none';
  }

  private lineMedian(cps: readonly number[]): number {
    let n = 0;
    for (let c = 0; c < Math.min(cps.length, this.channels); c++) {
      const v = cps[c]!;
      if (Number.isFinite(v) && v >= 0 && v <= this.maxCps) this.scratch[n++] = v;
    }
    return n === 0 ? NaN : medianInPlace(this.scratch, n);
  }

  private name(c: number): string {
    return `${this.radiation} channel ${c + 1}`;
  }
}

function push(s: ChannelState, v: number, size: number): void {
  if (s.count === 0) s.at = 0;
  s.ring[s.at] = v;
  s.at = (s.at + 1) % size;
  s.count = Math.min(size, s.count + 1);
}

export function finding(
  code: HealthFinding['code'],
  radiation: HealthFinding['radiation'],
  channel: number | null,
  message: string,
): HealthFinding {
  return { code, radiation, channel, message };
}
