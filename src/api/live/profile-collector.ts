/**
 * Collects each lane's count profile occupancy by occupancy from its lane events, for the
 * console's occupancy view (SPEC §6: "the 4-channel count profile plotted against threshold and
 * background"). The background is the lane's last background report before the occupancy
 * (frozen at its start, as the decision does, SPEC §3 step 1).
 *
 * Bounded: at most `maxSamples` samples per radiation per occupancy (default 3,000 — ten minutes
 * of 200 ms gamma samples); a longer occupancy keeps its first samples.
 */
import type { LaneEvent, Radiation } from '../../domain/lane-events.js';
import type { OccupancyProfile, ProfileSeries } from '../../storage/occupancy-store.js';

interface SeriesBuilder {
  channels: number;
  intervalMs: number;
  times: number[];
  counts: number[][];
  deviceAlarm: boolean[];
  preTrigger: boolean[];
  background: readonly number[] | null;
}

interface LaneProfiles {
  readonly gammaChannelNames: readonly string[];
  readonly channels: { gamma: number; neutron: number };
  lastBackground: Record<Radiation, readonly number[] | null>;
  seq: number | null;
  nSigma: number;
  gamma: SeriesBuilder;
  neutron: SeriesBuilder;
}

export interface ProfileCollectorLane {
  readonly id: string;
  readonly channels: { readonly gamma: number; readonly neutron: number };
  readonly gammaChannelNames: readonly string[];
}

export class ProfileCollector {
  private readonly lanes = new Map<string, LaneProfiles>();

  constructor(
    lanes: readonly ProfileCollectorLane[],
    /** The gamma N-sigma a lane decides with now (read at each occupancy start). */
    private readonly nSigmaOf: (lane: string) => number,
    private readonly maxSamples = 3_000,
  ) {
    for (const lane of lanes) {
      this.lanes.set(lane.id, {
        gammaChannelNames: lane.gammaChannelNames,
        channels: { ...lane.channels },
        lastBackground: { gamma: null, neutron: null },
        seq: null,
        nSigma: 6,
        gamma: empty(lane.channels.gamma, 200, null),
        neutron: empty(lane.channels.neutron, 1000, null),
      });
    }
  }

  handle(e: LaneEvent): void {
    const lane = this.lanes.get(e.lane);
    if (!lane) return;
    switch (e.kind) {
      case 'background':
        // A faulted background (GH/GL) is still the best picture of the lane when it is all there is.
        if (e.fault === 'none' || lane.lastBackground[e.radiation] === null)
          lane.lastBackground[e.radiation] = e.cps;
        return;
      case 'occupancy-start':
        lane.seq = e.seq;
        lane.nSigma = this.nSigmaOf(e.lane);
        lane.gamma = empty(lane.channels.gamma, 200, lane.lastBackground.gamma);
        lane.neutron = empty(lane.channels.neutron, 1000, lane.lastBackground.neutron);
        return;
      case 'sample': {
        if (lane.seq !== e.seq) {
          // A sample with no start seen (partial occupancy): open it here.
          lane.seq = e.seq;
          lane.nSigma = this.nSigmaOf(e.lane);
          lane.gamma = empty(lane.channels.gamma, 200, lane.lastBackground.gamma);
          lane.neutron = empty(lane.channels.neutron, 1000, lane.lastBackground.neutron);
        }
        const s = e.radiation === 'gamma' ? lane.gamma : lane.neutron;
        if (s.times.length >= this.maxSamples) return;
        s.intervalMs = e.intervalMs;
        s.times.push(e.time);
        s.counts.push([...e.counts]);
        s.deviceAlarm.push(e.deviceAlarm);
        s.preTrigger.push(e.preTrigger);
        return;
      }
      default:
        return;
    }
  }

  /** The profile of `seq` on `lane` as collected so far; null when it was not seen. */
  take(lane: string, seq: number): OccupancyProfile | null {
    const p = this.lanes.get(lane);
    if (!p || p.seq !== seq) return null;
    const t0 = Math.min(p.gamma.times[0] ?? Infinity, p.neutron.times[0] ?? Infinity);
    const base = Number.isFinite(t0) ? t0 : 0;
    return {
      t0: base,
      nSigma: p.nSigma,
      gammaChannelNames: p.gammaChannelNames,
      gamma: finish(p.gamma, base),
      neutron: finish(p.neutron, base),
    };
  }

  /** The samples of the occupancy in progress (for a console that opens mid-occupancy). */
  current(lane: string): { seq: number; profile: OccupancyProfile } | null {
    const p = this.lanes.get(lane);
    if (!p || p.seq === null) return null;
    const profile = this.take(lane, p.seq);
    return profile === null ? null : { seq: p.seq, profile };
  }
}

function empty(channels: number, intervalMs: number, background: readonly number[] | null): SeriesBuilder {
  return { channels, intervalMs, times: [], counts: [], deviceAlarm: [], preTrigger: [], background };
}

function finish(s: SeriesBuilder, t0: number): ProfileSeries {
  return {
    channels: s.channels,
    intervalMs: s.intervalMs,
    offsetsMs: s.times.map((t) => t - t0),
    counts: s.counts,
    deviceAlarm: s.deviceAlarm,
    preTrigger: s.preTrigger,
    backgroundCps: s.background,
  };
}
