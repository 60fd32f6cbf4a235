/**
 * N42.42 download (SPEC §4, §6) for a stored occupancy: the occupancy record and its stored count
 * profile are turned back into the captured occupancy the bridge's document builder takes, so
 * the console's download and the bridge's export are one document format.
 */
import { randomUUID } from 'node:crypto';
import { n42Document } from '../bridge/n42/n42-document.js';
import type { CapturedOccupancy } from '../bridge/occupancy-capture.js';
import type { OccupancyEndReason, Radiation, SampleEvent } from '../domain/lane-events.js';
import type { OccupancyStore, ProfileSeries } from '../storage/occupancy-store.js';
import type { N42Builder } from './ports.js';

interface RecordFields {
  readonly lane: string;
  readonly seq: number;
  readonly index: number | null;
  readonly start: string;
  readonly end: string;
  readonly endReason?: OccupancyEndReason;
  readonly endedAbnormally: boolean;
  readonly continuation: boolean;
  readonly partial?: boolean;
  readonly speedKph: number | null;
  readonly device: { readonly gammaAlarm: boolean; readonly neutronAlarm: boolean };
  readonly gamma: { readonly alarm: boolean; readonly maxSigma: number };
  readonly neutron: { readonly alarm: boolean; readonly backgroundCps: number };
  readonly assessment: { readonly category: string; readonly disposition: string };
}

export function n42FromStore(
  occupancies: OccupancyStore,
  options: { site: string; gatewayVersion: string; now: () => number },
): N42Builder {
  return (lane, seq) => {
    const r = occupancies.get<RecordFields>(lane, seq);
    if (r === null) return null;
    const profile = occupancies.profile(lane, seq);
    const startMs = Date.parse(r.start);
    const endMs = Date.parse(r.end);
    const samples = (radiation: Radiation, s: ProfileSeries | undefined): SampleEvent[] =>
      s === undefined
        ? []
        : s.offsetsMs.map((offset, i) => ({
            kind: 'sample',
            lane,
            time: (profile?.t0 ?? startMs) + offset,
            seq,
            radiation,
            counts: s.counts[i] ?? [],
            intervalMs: s.intervalMs,
            deviceAlarm: s.deviceAlarm[i] ?? false,
            preTrigger: s.preTrigger[i] ?? false,
          }));
    const background = (radiation: Radiation, s: ProfileSeries | undefined) =>
      s?.backgroundCps
        ? {
            kind: 'background' as const,
            lane,
            time: startMs,
            radiation,
            cps: s.backgroundCps,
            fault: 'none' as const,
          }
        : null;
    const captured: CapturedOccupancy = {
      lane,
      seq,
      start: {
        kind: 'occupancy-start',
        lane,
        time: startMs,
        seq,
        continuation: r.continuation,
        partial: r.partial ?? false,
      },
      end: {
        kind: 'occupancy-end',
        lane,
        time: endMs,
        seq,
        reason: r.endReason ?? 'device-end',
        endedAbnormally: r.endedAbnormally,
        deviceIndex: r.index,
        deviceNeutronBackgroundCps: r.neutron.backgroundCps,
        deviceGammaAlarm: r.device.gammaAlarm,
        deviceNeutronAlarm: r.device.neutronAlarm,
      },
      gamma: samples('gamma', profile?.gamma),
      neutron: samples('neutron', profile?.neutron),
      speedKph: r.speedKph,
      background: {
        gamma: background('gamma', profile?.gamma),
        neutron: background('neutron', profile?.neutron),
      },
      truncated: 0,
    };
    return n42Document(captured, {
      site: options.site,
      ...(profile ? { gammaChannelNames: profile.gammaChannelNames } : {}),
      gatewayVersion: options.gatewayVersion,
      gateway: {
        gammaAlarm: r.gamma.alarm,
        neutronAlarm: r.neutron.alarm,
        maxSigma: r.gamma.maxSigma,
        description: `${r.assessment.category} → ${r.assessment.disposition}`,
      },
      uuid: randomUUID(),
      createdMs: options.now(),
    });
  };
}
