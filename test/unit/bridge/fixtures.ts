/** A captured occupancy built by hand: what a VM-250 lane's events look like around one vehicle. */
import type { LaneEvent } from '../../../src/domain/lane-events.js';

export const T0 = Date.parse('2024-05-01T10:00:00.000Z');

/** Background, an occupancy with `gammaSamples` samples (alarm from sample `alarmFrom`), speed, GX. */
export function occupancyEvents(
  lane = 'lane-1',
  seq = 7,
  options: { gammaSamples?: number; alarmFrom?: number | null; neutronAlarm?: boolean } = {},
): LaneEvent[] {
  const n = options.gammaSamples ?? 10;
  const alarmFrom = options.alarmFrom === undefined ? null : options.alarmFrom;
  const events: LaneEvent[] = [
    { kind: 'connection', lane, time: T0 - 10_000, state: 'connected' },
    { kind: 'background', lane, time: T0 - 5000, radiation: 'neutron', cps: [1, 2, 1, 2], fault: 'none' },
    {
      kind: 'background',
      lane,
      time: T0 - 5000,
      radiation: 'gamma',
      cps: [800, 810, 790, 805],
      fault: 'none',
    },
    { kind: 'occupancy-start', lane, time: T0, seq, continuation: false, partial: false },
    { kind: 'speed', lane, time: T0 + 10, seq, speedKph: 8.1 },
  ];
  for (let i = 0; i < n; i++) {
    const alarm = alarmFrom !== null && i >= alarmFrom;
    events.push({
      kind: 'sample',
      lane,
      time: T0 + 200 * (i + 1),
      seq,
      radiation: 'gamma',
      counts: alarm ? [400, 380, 170, 160] : [160, 162, 158, 161],
      intervalMs: 200,
      deviceAlarm: alarm,
      preTrigger: i < 5,
    });
    if (i % 5 === 4) {
      events.push({
        kind: 'sample',
        lane,
        time: T0 + 200 * (i + 1),
        seq,
        radiation: 'neutron',
        counts: options.neutronAlarm ? [9, 8, 7, 9] : [1, 0, 2, 1],
        intervalMs: 1000,
        deviceAlarm: options.neutronAlarm ?? false,
        preTrigger: false,
      });
    }
  }
  events.push({
    kind: 'occupancy-end',
    lane,
    time: T0 + 200 * n + 100,
    seq,
    reason: 'device-end',
    endedAbnormally: false,
    deviceIndex: 123,
    deviceNeutronBackgroundCps: 4.1,
    deviceGammaAlarm: alarmFrom !== null,
    deviceNeutronAlarm: options.neutronAlarm ?? false,
  });
  return events;
}
