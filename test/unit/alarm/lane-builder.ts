/**
 * Hand-built lane-event sequences for the alarm tests: background lines, an occupancy of 200 ms
 * gamma and 1 s neutron samples drawn (seeded Poisson) from an expected-count function.
 */
import { createRng, type Rng } from '../../../simulators/physics/rng.js';
import type { LaneDescriptor, LaneEvent } from '../../../src/domain/lane-events.js';
import type { AlarmOutput, OccupancyAssessment } from '../../../src/alarm/types.js';
import type { AlarmPipeline } from '../../../src/alarm/pipeline.js';

export const VM250: LaneDescriptor = {
  id: 'lane-1',
  driver: 'vm250',
  channels: { gamma: 4, neutron: 4 },
  gammaChannelNames: ['masterUpper', 'masterLower', 'slaveLower', 'slaveUpper'],
};

export const MODBUS: LaneDescriptor = {
  id: 'lane-m',
  driver: 'modbus-rpm',
  channels: { gamma: 1, neutron: 1 },
  gammaChannelNames: ['sum'],
};

export interface OccupancySpec {
  readonly seq: number;
  readonly samples: number;
  /** Expected gamma counts per 200 ms sample of channel c at sample i (i < 0: pre-trigger). */
  readonly gamma: (i: number, c: number) => number;
  /** Expected neutron counts per 1 s sample (all tubes of channel c). */
  readonly neutron?: (s: number, c: number) => number;
  readonly speedKph?: number | null;
  readonly preTrigger?: boolean;
  readonly channels?: { gamma: number; neutron: number };
}

export class LaneBuilder {
  private t = 1_700_000_000_000;
  readonly rng: Rng;
  readonly events: LaneEvent[] = [];

  constructor(
    seed: string,
    readonly lane = 'lane-1',
  ) {
    this.rng = createRng(seed);
  }

  background(gammaCps: readonly number[], neutronCps: readonly number[], times = 6): this {
    for (let k = 0; k < times; k++) {
      this.t += 5000;
      this.events.push({
        kind: 'background',
        lane: this.lane,
        time: this.t,
        radiation: 'neutron',
        cps: neutronCps,
        fault: 'none',
      });
      this.events.push({
        kind: 'background',
        lane: this.lane,
        time: this.t,
        radiation: 'gamma',
        cps: gammaCps,
        fault: 'none',
      });
    }
    return this;
  }

  push(e: LaneEvent): this {
    this.events.push(e);
    return this;
  }

  occupancy(o: OccupancySpec, endNeutronCps: number | null = 12): this {
    const ch = o.channels ?? { gamma: 4, neutron: 4 };
    this.t += 10_000;
    const lane = this.lane;
    this.events.push({
      kind: 'occupancy-start',
      lane,
      time: this.t,
      seq: o.seq,
      continuation: false,
      partial: false,
    });
    if (o.speedKph !== null)
      this.events.push({ kind: 'speed', lane, time: this.t, seq: o.seq, speedKph: o.speedKph ?? 8 });
    if (o.preTrigger ?? true) {
      for (let i = -5; i < 0; i++) {
        this.events.push(this.sample(o.seq, 'gamma', ch.gamma, (c) => o.gamma(i, c), true));
      }
    }
    for (let i = 0; i < o.samples; i++) {
      this.t += 200;
      this.events.push(this.sample(o.seq, 'gamma', ch.gamma, (c) => o.gamma(i, c), false));
      if ((i + 1) % 5 === 0) {
        const s = (i + 1) / 5 - 1;
        this.events.push(
          this.sample(o.seq, 'neutron', ch.neutron, (c) => (o.neutron ? o.neutron(s, c) : 3), false),
        );
      }
    }
    this.events.push({
      kind: 'occupancy-end',
      lane,
      time: this.t,
      seq: o.seq,
      reason: 'device-end',
      endedAbnormally: false,
      deviceIndex: o.seq,
      deviceNeutronBackgroundCps: endNeutronCps,
      deviceGammaAlarm: false,
      deviceNeutronAlarm: false,
    });
    return this;
  }

  private sample(
    seq: number,
    radiation: 'gamma' | 'neutron',
    n: number,
    mu: (c: number) => number,
    pre: boolean,
  ): LaneEvent {
    const counts: number[] = [];
    for (let c = 0; c < n; c++) counts.push(this.rng.poisson(Math.max(0, mu(c))));
    return {
      kind: 'sample',
      lane: this.lane,
      time: this.t,
      seq,
      radiation,
      counts,
      intervalMs: radiation === 'gamma' ? 200 : 1000,
      deviceAlarm: false,
      preTrigger: pre,
    };
  }
}

/** Feed every event; collect the outputs. */
export function run(p: AlarmPipeline, events: readonly LaneEvent[]): AlarmOutput[] {
  const out: AlarmOutput[] = [];
  for (const e of events) {
    const o = p.handle(e);
    if (o) out.push(o);
  }
  return out;
}

export function assessments(outs: readonly AlarmOutput[]): OccupancyAssessment[] {
  return outs.filter((o): o is OccupancyAssessment => o.kind === 'assessment');
}

/** A point source's peak (SPEC §2): λpeak·(1 + u²)^−3/2, u = v(t − t0)/d, integrated per 200 ms sample (midpoint). */
export function peak(i: number, t0S: number, peakCps: number, dM: number, vMps: number): number {
  const t = (i + 0.5) * 0.2;
  const u = (vMps * (t - t0S)) / dM;
  return peakCps * 0.2 * Math.pow(1 + u * u, -1.5);
}
