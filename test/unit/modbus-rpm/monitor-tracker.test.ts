import { describe, expect, it } from 'vitest';
import type { LaneEvent } from '../../../src/domain/lane-events.js';
import {
  createMonitorTracker,
  type MonitorTrackerOptions,
} from '../../../src/drivers/modbus-rpm/monitor-tracker.js';
import {
  channelStatus,
  inputSignals,
  outputSignals,
  type MonitorRecord,
} from '../../../src/drivers/modbus-rpm/register-map.js';

interface Poll {
  occupied?: boolean;
  counter?: number;
  gamma?: number;
  neutron?: number;
  gammaAlarm?: boolean;
  neutronAlarm?: boolean;
  speed?: number;
  cabinetOpen?: boolean;
  powerFail?: boolean;
  lowBattery?: boolean;
  error?: boolean;
  gammaLow?: boolean;
  gammaHigh?: boolean;
  neutronOverload?: boolean;
  gammaBackground?: number;
}

function rec(p: Poll = {}): MonitorRecord {
  return {
    timeElapsed: 0,
    input: inputSignals({
      occupancy1: p.occupied ?? false,
      cabinetOpen: p.cabinetOpen ?? false,
      powerFail: p.powerFail ?? false,
      lowBattery: p.lowBattery ?? false,
      error: p.error ?? false,
    }),
    gamma: {
      status: channelStatus({
        alarm1: p.gammaAlarm ?? false,
        lowCount: p.gammaLow ?? false,
        highCount: p.gammaHigh ?? false,
        ready: true,
      }),
      count: p.gamma ?? 60,
      background: p.gammaBackground ?? 300,
      variance: 300,
    },
    neutron: {
      status: channelStatus({ alarm2: p.neutronAlarm ?? false, overload: p.neutronOverload ?? false }),
      count: p.neutron ?? 0,
      background: 2.5,
      variance: 2.5,
    },
    objectCounter: p.counter ?? 10,
    objectMark: 0,
    objectSpeed: p.speed ?? 0,
    output: outputSignals({}),
    extra: [],
  };
}

/** Feed polls 200 ms apart from t=1000; return all events. */
function run(polls: Poll[], options: Partial<MonitorTrackerOptions> = {}): LaneEvent[] {
  const tracker = createMonitorTracker({ lane: 'L1', ...options });
  return polls.flatMap((p, i) => tracker.record(1000 + i * 200, rec(p)));
}

const kinds = (events: readonly LaneEvent[]): string[] =>
  events.filter((e) => e.kind !== 'background').map((e) => e.kind);

describe('monitor tracker: occupancy (SPEC §1.2)', () => {
  it('starts an occupancy when the counter changes with an occupancy bit, and ends it when no bit is set', () => {
    const events = run([
      {},
      { occupied: true, counter: 11, gamma: 80 },
      { occupied: true, counter: 11, gamma: 90 },
      { occupied: false, counter: 11 },
    ]);
    expect(kinds(events)).toEqual([
      'occupancy-start',
      'sample',
      'sample',
      'sample',
      'sample',
      'occupancy-end',
    ]);
    expect(events.find((e) => e.kind === 'occupancy-start')).toMatchObject({
      seq: 1,
      partial: false,
      continuation: false,
      time: 1200,
    });
    const gamma = events.filter((e) => e.kind === 'sample' && e.radiation === 'gamma');
    expect(gamma.map((e) => e.kind === 'sample' && e.counts)).toEqual([[80], [90]]);
    expect(gamma[0]).toMatchObject({ intervalMs: 200, deviceAlarm: false, preTrigger: false });
    expect(events.at(-1)).toMatchObject({
      kind: 'occupancy-end',
      seq: 1,
      reason: 'unoccupied',
      endedAbnormally: false,
      deviceIndex: 11,
      deviceNeutronBackgroundCps: 2.5,
      deviceGammaAlarm: false,
      deviceNeutronAlarm: false,
    });
  });

  it('reports an occupancy already in progress at the first poll as partial', () => {
    const events = run([{ occupied: true, counter: 42 }, { occupied: true, counter: 42 }, { counter: 42 }]);
    expect(events[0]).toMatchObject({ kind: 'occupancy-start', partial: true, seq: 1 });
    expect(events.find((e) => e.kind === 'occupancy-end')).toMatchObject({
      deviceIndex: 42,
      reason: 'unoccupied',
    });
  });

  it('splits back-to-back objects on a counter change while the bits stay set', () => {
    const events = run([
      {},
      { occupied: true, counter: 11 },
      { occupied: true, counter: 12 },
      { occupied: true, counter: 12 },
      {},
    ]);
    const boundaries = events.filter((e) => e.kind === 'occupancy-start' || e.kind === 'occupancy-end');
    expect(boundaries).toMatchObject([
      { kind: 'occupancy-start', seq: 1, continuation: false },
      { kind: 'occupancy-end', seq: 1, reason: 'device-end', deviceIndex: 11 },
      { kind: 'occupancy-start', seq: 2, continuation: true },
      { kind: 'occupancy-end', seq: 2, reason: 'unoccupied', deviceIndex: 12 },
    ]);
  });

  it('adopts a counter change that lags the occupancy bit instead of splitting', () => {
    const events = run([{}, { occupied: true, counter: 10 }, { occupied: true, counter: 11 }, {}]);
    const boundaries = events.filter((e) => e.kind === 'occupancy-start' || e.kind === 'occupancy-end');
    expect(boundaries).toHaveLength(2);
    expect(boundaries[1]).toMatchObject({ deviceIndex: 11 });
  });

  it('never starts an occupancy on a counter change without an occupancy bit', () => {
    expect(kinds(run([{}, { counter: 11 }, { counter: 12 }]))).toEqual([]);
  });

  it('numbers occupancies from firstSeq and never repeats', () => {
    const events = run(
      [{}, { occupied: true, counter: 1 }, {}, {}, {}, {}, {}, {}, { occupied: true, counter: 2 }, {}],
      {
        firstSeq: 500,
      },
    );
    const starts = events.filter((e) => e.kind === 'occupancy-start');
    expect(starts.map((e) => e.kind === 'occupancy-start' && e.seq)).toEqual([500, 501]);
    expect(starts[1]).toMatchObject({ continuation: false });
  });

  it('closes an open occupancy as link-lost, and a later poll that is still occupied starts a partial one', () => {
    const tracker = createMonitorTracker({ lane: 'L1' });
    tracker.record(0, rec());
    tracker.record(200, rec({ occupied: true, counter: 11 }));
    expect(tracker.linkLost(900)).toMatchObject([
      { kind: 'occupancy-end', seq: 1, reason: 'link-lost', endedAbnormally: true, deviceIndex: 11 },
    ]);
    expect(tracker.linkLost(950)).toEqual([]);
    const after = tracker.record(3000, rec({ occupied: true, counter: 11 }));
    expect(after[0]).toMatchObject({ kind: 'occupancy-start', seq: 2, partial: true });
  });
});

describe('monitor tracker: alarms and speed', () => {
  it('flags samples in alarm (Alarm1|Alarm2) and reports the alarms at the end', () => {
    const events = run([
      {},
      { occupied: true, counter: 11 },
      { occupied: true, counter: 11, gammaAlarm: true, gamma: 500 },
      { occupied: true, counter: 11, neutronAlarm: true },
      {},
    ]);
    const samples = events.filter((e) => e.kind === 'sample');
    expect(samples.map((e) => e.kind === 'sample' && `${e.radiation}:${e.deviceAlarm}`)).toEqual([
      'gamma:false',
      'neutron:false',
      'gamma:true',
      'neutron:false',
      'gamma:false',
      'neutron:true',
    ]);
    expect(events.at(-1)).toMatchObject({ deviceGammaAlarm: true, deviceNeutronAlarm: true });
  });

  it('reports speed in kph (default mm/s, configurable factor), once per change', () => {
    const events = run([
      {},
      { occupied: true, counter: 11, speed: 2500 },
      { occupied: true, counter: 11, speed: 2500 },
    ]);
    const speeds = events.filter((e) => e.kind === 'speed');
    expect(speeds).toHaveLength(1);
    expect(speeds[0]).toMatchObject({ seq: 1 });
    expect(speeds[0]!.kind === 'speed' && speeds[0]!.speedKph).toBeCloseTo(9);
    const cms = run([{}, { occupied: true, counter: 11, speed: 250 }], { speedUnitToMps: 0.01 });
    const s = cms.find((e) => e.kind === 'speed');
    expect(s?.kind === 'speed' && s.speedKph).toBeCloseTo(9);
  });
});

describe('monitor tracker: cumulative count mode', () => {
  it('differences a cumulative gamma count', () => {
    const events = run(
      [
        { gamma: 1000 },
        { occupied: true, counter: 11, gamma: 1060 },
        { occupied: true, counter: 11, gamma: 1200 },
      ],
      { gammaCountMode: 'cumulative' },
    );
    const gamma = events.filter((e) => e.kind === 'sample' && e.radiation === 'gamma');
    expect(gamma).toMatchObject([
      { counts: [60], intervalMs: 200 },
      { counts: [140], intervalMs: 200 },
    ]);
  });

  it('counts forward across an int32 wrap', () => {
    const events = run([{ gamma: 2147483600 }, { occupied: true, counter: 11, gamma: -2147483600 }], {
      gammaCountMode: 'cumulative',
    });
    expect(events.find((e) => e.kind === 'sample' && e.radiation === 'gamma')).toMatchObject({
      counts: [96],
    });
  });

  it('treats a drop as a counter reset: the count since the reset', () => {
    const events = run([{ gamma: 50_000 }, { occupied: true, counter: 11, gamma: 70 }], {
      gammaCountMode: 'cumulative',
    });
    expect(events.find((e) => e.kind === 'sample' && e.radiation === 'gamma')).toMatchObject({
      counts: [70],
    });
  });

  it('has nothing to difference at the first poll, so the partial occupancy starts without a gamma sample', () => {
    const events = run(
      [
        { occupied: true, counter: 11, gamma: 1000 },
        { occupied: true, counter: 11, gamma: 1050 },
      ],
      {
        gammaCountMode: 'cumulative',
      },
    );
    const gamma = events.filter((e) => e.kind === 'sample' && e.radiation === 'gamma');
    expect(gamma).toMatchObject([{ counts: [50], time: 1200 }]);
  });
});

describe('monitor tracker: health (faults, tamper, background)', () => {
  it('reports tamper (cabinet open) on transitions only', () => {
    const events = run([{}, { cabinetOpen: true }, { cabinetOpen: true }, {}, {}]);
    expect(events.filter((e) => e.kind === 'tamper')).toMatchObject([
      { active: true, time: 1200 },
      { active: false, time: 1600 },
    ]);
  });

  it('reports LowCount/HighCount/Overload and power fail / low battery / error as fault transitions', () => {
    const events = run([
      {},
      { gammaLow: true, powerFail: true },
      { gammaLow: true, lowBattery: true, error: true, neutronOverload: true },
      { gammaHigh: true },
    ]);
    const faults = events.filter((e) => e.kind === 'fault');
    expect(faults.map((e) => e.kind === 'fault' && `${e.time}:${e.code}:${e.active}`)).toEqual([
      '1200:gamma-low-background:true',
      '1200:power-fail:true',
      '1400:neutron-overload:true',
      '1400:power-fail:false',
      '1400:low-battery:true',
      '1400:device-error:true',
      '1600:gamma-low-background:false',
      '1600:gamma-high-background:true',
      '1600:neutron-overload:false',
      '1600:low-battery:false',
      '1600:device-error:false',
    ]);
  });

  it('reports a fault already active at the first poll', () => {
    const events = run([{ gammaHigh: true }]);
    expect(events).toContainEqual(
      expect.objectContaining({ kind: 'fault', code: 'gamma-high-background', active: true }),
    );
  });

  it('reports the background registers while the lane is empty, at most every 5 s', () => {
    const events = run(Array.from({ length: 30 }, () => ({ gammaLow: true })));
    const bg = events.filter((e) => e.kind === 'background');
    expect(bg).toMatchObject([
      { radiation: 'gamma', cps: [300], fault: 'low', time: 1000 },
      { radiation: 'neutron', cps: [2.5], fault: 'none', time: 1000 },
      { radiation: 'gamma', time: 6000 },
      { radiation: 'neutron', time: 6000 },
    ]);
  });

  it('does not report background inside an occupancy, and flags a non-finite background register', () => {
    expect(run([{ occupied: true }]).filter((e) => e.kind === 'background')).toEqual([]);
    const events = run([{ gammaBackground: NaN }]);
    expect(events).toContainEqual(
      expect.objectContaining({ kind: 'bad-input', reason: 'modbus-invalid-block' }),
    );
    expect(events).toContainEqual(expect.objectContaining({ kind: 'background', radiation: 'neutron' }));
  });
});
