/**
 * Collects one lane's occupancy from its lane events — the samples, speed and the background
 * seen before it — for the count profile of `rpm.occupancy.completed` and for the N42.42 export
 * (SPEC §4). Pure and bounded: at most `maxSamples` samples per radiation are kept (the rest are
 * counted as truncated), so a stuck occupancy cannot grow memory without limit.
 */
import type {
  BackgroundEvent,
  LaneEvent,
  OccupancyEndEvent,
  OccupancyStartEvent,
  SampleEvent,
} from '../domain/lane-events.js';

export interface CapturedOccupancy {
  readonly lane: string;
  readonly seq: number;
  /** The start event; null when samples arrived without one (a partial occupancy). */
  readonly start: OccupancyStartEvent | null;
  readonly end: OccupancyEndEvent;
  readonly gamma: readonly SampleEvent[];
  readonly neutron: readonly SampleEvent[];
  readonly speedKph: number | null;
  /** The last background reports before the occupancy started. */
  readonly background: { readonly gamma: BackgroundEvent | null; readonly neutron: BackgroundEvent | null };
  /** Samples not kept because the occupancy outgrew `maxSamples`. */
  readonly truncated: number;
}

export class OccupancyCapture {
  private seq: number | null = null;
  private start: OccupancyStartEvent | null = null;
  private gamma: SampleEvent[] = [];
  private neutron: SampleEvent[] = [];
  private speedKph: number | null = null;
  private truncated = 0;
  private background: { gamma: BackgroundEvent | null; neutron: BackgroundEvent | null } = {
    gamma: null,
    neutron: null,
  };
  private frozenBackground = this.background;

  constructor(
    private readonly lane: string,
    private readonly maxSamples = 3000,
  ) {}

  /** Feed every lane event; returns the captured occupancy at its end event, else null. */
  handle(e: LaneEvent): CapturedOccupancy | null {
    switch (e.kind) {
      case 'background':
        this.background = { ...this.background, [e.radiation]: e };
        return null;
      case 'occupancy-start':
        this.open(e.seq, e);
        return null;
      case 'sample': {
        if (this.seq !== e.seq) this.open(e.seq, null);
        const list = e.radiation === 'gamma' ? this.gamma : this.neutron;
        if (list.length < this.maxSamples) list.push(e);
        else this.truncated++;
        return null;
      }
      case 'speed':
        if (this.seq === e.seq) this.speedKph = e.speedKph;
        return null;
      case 'occupancy-end': {
        const captured: CapturedOccupancy = {
          lane: this.lane,
          seq: e.seq,
          start: this.seq === e.seq ? this.start : null,
          end: e,
          gamma: this.seq === e.seq ? this.gamma : [],
          neutron: this.seq === e.seq ? this.neutron : [],
          speedKph: this.seq === e.seq ? this.speedKph : null,
          background: this.frozenBackground,
          truncated: this.truncated,
        };
        this.seq = null;
        this.start = null;
        this.gamma = [];
        this.neutron = [];
        return captured;
      }
      default:
        return null;
    }
  }

  private open(seq: number, start: OccupancyStartEvent | null): void {
    this.seq = seq;
    this.start = start;
    this.gamma = [];
    this.neutron = [];
    this.speedKph = null;
    this.truncated = 0;
    this.frozenBackground = this.background;
  }
}

/** The compact count profile carried by `rpm.occupancy.completed`. */
export interface CountProfile {
  readonly intervalMs: number;
  /** Time of the first sample's end, epoch ms; sample i ends at `t0 + i·intervalMs` nominally. */
  readonly t0: number | null;
  /** Counts per sample, per channel (canonical channel order). */
  readonly counts: ReadonlyArray<readonly number[]>;
  /** Sample indices the device flagged in alarm (GA/NA). */
  readonly deviceAlarmSamples: readonly number[];
}

export function countProfile(samples: readonly SampleEvent[], defaultIntervalMs: number): CountProfile {
  const deviceAlarmSamples: number[] = [];
  samples.forEach((s, i) => {
    if (s.deviceAlarm) deviceAlarmSamples.push(i);
  });
  return {
    intervalMs: samples[0]?.intervalMs ?? defaultIntervalMs,
    t0: samples[0]?.time ?? null,
    counts: samples.map((s) => s.counts),
    deviceAlarmSamples,
  };
}
