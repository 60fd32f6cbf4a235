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
      });
    }
    this.sums = new Float64Array(this.ringSize);
    this.scratch = new Float64Array(Math.max(this.ringSize, this.channels));
  }

  /** Take one background report. Returns the findings that started with it (usually none). */
  update(e: BackgroundEvent): readonly HealthFinding[] {
    let findings: HealthFinding[] | null = null;
    const add = (f: HealthFinding): void => {
      (findings ??= []).push(f);
    };
    const cps = e.cps;
    if (cps.length !== this.channels && !this.mismatchReported) {
      this.mismatchReported = true;
      add(
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
          add(finding('absurd-background', this.radiation, c, `${this.name(c)} reported ${v} cps: ignored`));
        s.absurd = true;
        sumOk = false;
        continue;
      }
      s.absurd = false;
      if (v !== Math.floor(v)) this.integerOnly = false;
      const othersCount = this.radiation === 'gamma' && this.channels > 1 && lineMedian >= this.deadFloor;
      if (v === 0 && (othersCount || (this.radiation === 'gamma' && this.channels === 1))) {
        if (!s.dead)
          add(
            finding('dead-channel', this.radiation, c, `${this.name(c)} reads 0 cps while the lane counts`),
          );
        s.dead = true;
        sumOk = false;
        continue;
      }
      if (s.dead) {
        s.dead = false;
        s.count = 0; // counting again: start afresh
      }
      s.repeats = v === s.last && v > 0 ? s.repeats + 1 : 0;
      s.last = v;
      const canStick = this.radiation === 'gamma' && v >= 50;
      if (canStick && s.repeats + 1 >= this.stuckRepeats) {
        if (!s.stuck)
          add(
            finding(
              'stuck-channel',
              this.radiation,
              c,
              `${this.name(c)} repeated ${v} cps ${s.repeats + 1} times`,
            ),
          );
        s.stuck = true;
      } else if (s.repeats === 0) {
        s.stuck = false;
      }
      const fault = e.fault === 'none' ? 'none' : this.faultOf(e.fault, v, lineMedian);
      if (fault !== s.fault) {
        if (fault !== 'none') {
          add(
            finding(
              fault === 'high' ? 'background-fault-high' : 'background-fault-low',
              this.radiation,
              c,
              `${this.name(c)} background ${fault} fault at ${v} cps`,
            ),
          );
        }
        s.fault = fault;
        s.count = 0; // the channel's level changed: adopt the new one at once
      }
      push(s, v, this.ringSize);
      sum += v;
    }
    if (sumOk) {
      this.sums[this.sumAt] = sum;
      this.sumAt = (this.sumAt + 1) % this.ringSize;
      this.sumCount = Math.min(this.ringSize, this.sumCount + 1);
    }
    this.accepted++;
    return findings ?? NO_FINDINGS;
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
    if (!s || s.count === 0) return NaN;
    for (let i = 0; i < s.count; i++) this.scratch[i] = s.ring[i]!;
    return medianInPlace(this.scratch, s.count);
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
