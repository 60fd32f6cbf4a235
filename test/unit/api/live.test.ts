import { describe, expect, it } from 'vitest';
import { LaneStateTracker } from '../../../src/api/live/lane-state.js';
import { MetricsText } from '../../../src/api/metrics.js';
import { createLiveRecorder } from '../../../src/app/live-recorder.js';
import type { OutputRecord } from '../../../src/app/lane-recorder.js';
import type { LaneEvent } from '../../../src/domain/lane-events.js';

const lane = 'lane-1';
const descriptor = {
  id: lane,
  driver: 'vm250' as const,
  channels: { gamma: 4, neutron: 4 },
  gammaChannelNames: ['masterUpper', 'masterLower', 'slaveLower', 'slaveUpper'],
};

describe('LaneStateTracker', () => {
  it('follows SPEC §4 states with offline > fault > alarm > occupied > idle', () => {
    const t = new LaneStateTracker([{ descriptor, name: 'Lane one' }]);
    expect(t.snapshot(lane)!.state).toBe('offline');
    expect(t.handle({ kind: 'connection', lane, time: 1, state: 'connected' })).toBe('idle');
    expect(
      t.handle({ kind: 'occupancy-start', lane, time: 2, seq: 1, continuation: false, partial: false }),
    ).toBe('occupied');
    const sample = (deviceAlarm: boolean): LaneEvent => ({
      kind: 'sample',
      lane,
      time: 3,
      seq: 1,
      radiation: 'gamma',
      counts: [1, 2, 3, 4],
      intervalMs: 200,
      deviceAlarm,
      preTrigger: false,
    });
    expect(t.handle(sample(false))).toBeNull();
    expect(t.handle(sample(true))).toBe('alarm');
    expect(t.handle({ kind: 'tamper', lane, time: 4, active: true })).toBe('fault');
    expect(t.handle({ kind: 'tamper', lane, time: 5, active: false })).toBe('alarm');
    expect(t.handle({ kind: 'connection', lane, time: 6, state: 'disconnected' })).toBe('offline');
    expect(t.snapshot(lane)!.since).toBe(new Date(6).toISOString());
  });
});

describe('MetricsText', () => {
  it('writes the Prometheus text format with escaped labels', () => {
    const text = new MetricsText()
      .add('rpm_x', 'gauge', 'A gauge.', [{ labels: { lane: 'a"b\\c' }, value: 1.5 }, { value: Infinity }])
      .toString();
    expect(text).toBe(
      '# HELP rpm_x A gauge.\n# TYPE rpm_x gauge\nrpm_x{lane="a\\"b\\\\c"} 1.5\nrpm_x +Inf\n',
    );
  });
});

describe('createLiveRecorder', () => {
  it('applies a new threshold from the next occupancy, never in the middle of one', () => {
    const records: OutputRecord[] = [];
    const r = createLiveRecorder(lane, { nSigma: 50, neutronFalseAlarmProbability: 1e-6 }, (x) =>
      records.push(x),
    );
    const jitter = (i: number, c: number): number => ((i * 7 + c * 3) % 9) - 4;
    const occupancy = (seq: number, t0: number) => {
      const events: LaneEvent[] = [
        {
          kind: 'background',
          lane,
          time: t0 - 1000,
          radiation: 'gamma',
          cps: [300, 300, 300, 300],
          fault: 'none',
        },
        { kind: 'occupancy-start', lane, time: t0, seq, continuation: false, partial: false },
      ];
      for (let i = 0; i < 20; i++) {
        const extra = i >= 8 && i < 13 ? 40 : 0;
        events.push({
          kind: 'sample',
          lane,
          time: t0 + i * 200,
          seq,
          radiation: 'gamma',
          // Counts that vary like a real detector's (a channel repeating one value is stuck).
          counts: [
            60 + extra + jitter(i, 0),
            60 + extra + jitter(i, 1),
            60 + jitter(i, 2),
            60 + jitter(i, 3),
          ],
          intervalMs: 200,
          deviceAlarm: false,
          preTrigger: i < 5,
        });
      }
      events.push({
        kind: 'occupancy-end',
        lane,
        time: t0 + 4000,
        seq,
        reason: 'device-end',
        endedAbnormally: false,
        deviceIndex: seq,
        deviceNeutronBackgroundCps: 4,
        deviceGammaAlarm: false,
        deviceNeutronAlarm: false,
      });
      return events;
    };
    const [first, ...rest] = occupancy(1, 10_000);
    r.handle(first!);
    r.handle(rest[0]!); // the start: decided at 50σ
    r.reconfigure({ nSigma: 3, neutronFalseAlarmProbability: 1e-6 });
    for (const e of rest.slice(1)) r.handle(e);
    for (const e of occupancy(2, 20_000)) r.handle(e);
    const occ = records.filter((x) => x.type === 'occupancy') as Array<{
      seq: number;
      gamma: { alarm: boolean; maxSigma: number };
    }>;
    expect(occ.map((o) => o.seq)).toEqual([1, 2]);
    expect(occ[0]!.gamma.maxSigma).toBeGreaterThan(3);
    expect(occ[0]!.gamma.alarm).toBe(false);
    expect(occ[1]!.gamma.alarm).toBe(true);
    expect(r.alarm.nSigma).toBe(3);
  });
});
