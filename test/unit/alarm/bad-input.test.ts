import { describe, expect, it } from 'vitest';
import { createAlarmPipeline } from '../../../src/alarm/pipeline.js';
import type { HealthFinding, OccupancyAssessment } from '../../../src/alarm/types.js';
import type { LaneEvent } from '../../../src/domain/lane-events.js';
import { LaneBuilder, VM250, assessments, peak, run } from './lane-builder.js';

const BG = [300, 310, 290, 305];
const NB = [3, 3, 3, 3];
const V = 8 / 3.6;
const bgAt = (c: number): number => BG[c]! / 5;
const codes = (a: OccupancyAssessment): HealthFinding['code'][] => a.health.map((h) => h.code);

function one(events: readonly LaneEvent[], options = {}): OccupancyAssessment {
  const a = assessments(run(createAlarmPipeline(VM250, options), events));
  expect(a).toHaveLength(1);
  return a[0]!;
}

describe('alarm pipeline: bad input never crashes, always says so, and stays conservative', () => {
  it('a stuck channel (one value repeated) is a health finding, not an alarm', () => {
    const lane = new LaneBuilder('stuck').background(BG, NB).occupancy({
      seq: 1,
      samples: 40,
      gamma: (_i, c) => bgAt(c),
    });
    // Channel 3 repeats 61 in every scan sample.
    const events = lane.events.map((e) =>
      e.kind === 'sample' && e.radiation === 'gamma' && !e.preTrigger
        ? { ...e, counts: e.counts.map((x, c) => (c === 2 ? 61 : x)) }
        : e,
    );
    const a = one(events);
    expect(codes(a)).toContain('stuck-channel');
    expect(a.gamma.alarm).toBe(false);
    expect(a.assessment.disposition).toBe('RELEASE');
  });

  it('a dead channel (zeros while the others count) is a health finding, not an alarm', () => {
    const lane = new LaneBuilder('dead').background(BG, NB).occupancy({
      seq: 1,
      samples: 40,
      gamma: (_i, c) => (c === 3 ? 0 : bgAt(c)),
    });
    const a = one(lane.events);
    expect(codes(a)).toContain('dead-channel');
    expect(a.gamma.alarm).toBe(false);
  });

  it('background faults, dead and stuck background channels come out as health, never as decisions', () => {
    const b = new LaneBuilder('bg-faults');
    const t = 1_700_000_000_000;
    const gb = (cps: number[], fault: 'none' | 'high' | 'low' = 'none', k = 0): LaneEvent => ({
      kind: 'background',
      lane: 'lane-1',
      time: t + k,
      radiation: 'gamma',
      cps,
      fault,
    });
    const events: LaneEvent[] = [
      gb(BG),
      gb([300, 7000, 290, 305], 'high', 1),
      gb([300, 310, 0, 305], 'none', 2),
    ];
    for (let k = 0; k < 8; k++) events.push(gb([300 + k, 310 - k, 290 + k, 777], 'none', 3 + k));
    events.push(gb([-4, 310, 290, 305], 'none', 20), gb([300, 310, 290], 'none', 21));
    const outs = run(createAlarmPipeline(VM250), events);
    expect(outs.every((o) => o.kind === 'health')).toBe(true);
    const found = outs.flatMap((o) => (o.kind === 'health' ? o.findings : []));
    expect(found.map((f) => f.code)).toEqual(
      expect.arrayContaining([
        'background-fault-high',
        'dead-channel',
        'stuck-channel',
        'absurd-background',
        'channel-count-mismatch',
      ]),
    );
    expect(found.find((f) => f.code === 'background-fault-high')?.channel).toBe(1);
    expect(b.events).toHaveLength(0);
  });

  it('negative counts leave their channel out with a finding', () => {
    const lane = new LaneBuilder('negative')
      .background(BG, NB)
      .occupancy({ seq: 1, samples: 30, gamma: (_i, c) => bgAt(c) });
    let done = false;
    const events = lane.events.map((e) => {
      if (!done && e.kind === 'sample' && e.radiation === 'gamma' && !e.preTrigger) {
        done = true;
        return { ...e, counts: [-5, Number.NaN, e.counts[2]!, e.counts[3]!] };
      }
      return e;
    });
    const a = one(events);
    expect(codes(a)).toContain('negative-counts');
    expect(a.gamma.alarm).toBe(false);
  });

  it('counts beyond the detector range are investigated', () => {
    const lane = new LaneBuilder('absurd')
      .background(BG, NB)
      .occupancy({ seq: 1, samples: 30, gamma: (_i, c) => bgAt(c) });
    const events = lane.events.map((e) =>
      e.kind === 'sample' && e.radiation === 'gamma' && !e.preTrigger
        ? { ...e, counts: [1e9, ...e.counts.slice(1)] }
        : e,
    );
    const a = one(events);
    expect(codes(a)).toContain('absurd-counts');
    expect(a.assessment.disposition).toBe('INVESTIGATE');
  });

  it('no background yet: the look-back stands in, with a finding', () => {
    const lane = new LaneBuilder('no-bg').occupancy({ seq: 1, samples: 40, gamma: (_i, c) => bgAt(c) });
    const a = one(lane.events);
    expect(codes(a)).toContain('no-background');
    expect(a.gamma.backgroundCps).toBeGreaterThan(1000);
    expect(a.gamma.alarm).toBe(false);
    expect(a.neutron.backgroundSource).toBe('fallback');
  });

  it('no background and no look-back: the occupancy itself is the baseline, and any alarm is investigated', () => {
    const lane = new LaneBuilder('nothing').occupancy({
      seq: 1,
      samples: 46,
      preTrigger: false,
      gamma: (i, c) => bgAt(c) + peak(i, (4 + 0.5) / V, 900, 1.5, V),
    });
    const a = one(lane.events);
    expect(codes(a)).toContain('no-background');
    expect(a.assessment.disposition).toBe('INVESTIGATE');
    expect(a.assessment.reasons.join(' ')).toMatch(/baseline is the occupancy itself/);
  });

  it.each([0, -3, 500, Number.NaN])('a speed of %s km/h is ignored with a finding', (kph) => {
    const lane = new LaneBuilder(`speed-${kph}`).background(BG, NB).occupancy({
      seq: 1,
      samples: 46,
      speedKph: kph,
      gamma: (i, c) => bgAt(c) + peak(i, 9.5 / V, 900, 1.5, V),
    });
    const a = one(lane.events);
    expect(codes(a)).toContain('speed-absurd');
    expect(a.speedKph).toBeNull();
    expect(a.gamma.alarm).toBe(true);
    expect(a.assessment.disposition).toBe('INVESTIGATE'); // cannot place or size the excess
  });

  it('a missing speed is a finding', () => {
    const lane = new LaneBuilder('no-speed')
      .background(BG, NB)
      .occupancy({ seq: 1, samples: 30, speedKph: null, gamma: (_i, c) => bgAt(c) });
    expect(codes(one(lane.events))).toContain('speed-missing');
  });

  it('an occupancy with no samples is investigated', () => {
    const events: LaneEvent[] = [
      { kind: 'occupancy-start', lane: 'lane-1', time: 1, seq: 1, continuation: false, partial: false },
      {
        kind: 'occupancy-end',
        lane: 'lane-1',
        time: 2,
        seq: 1,
        reason: 'device-end',
        endedAbnormally: false,
        deviceIndex: 1,
        deviceNeutronBackgroundCps: null,
        deviceGammaAlarm: false,
        deviceNeutronAlarm: false,
      },
    ];
    const a = one(events);
    expect(codes(a)).toContain('no-samples');
    expect(a.assessment.disposition).toBe('INVESTIGATE');
  });

  it('an end with no start, and a start while one is open, are both reported', () => {
    const end: LaneEvent = {
      kind: 'occupancy-end',
      lane: 'lane-1',
      time: 5,
      seq: 4,
      reason: 'link-lost',
      endedAbnormally: true,
      deviceIndex: null,
      deviceNeutronBackgroundCps: null,
      deviceGammaAlarm: false,
      deviceNeutronAlarm: false,
    };
    const start = (seq: number): LaneEvent => ({
      kind: 'occupancy-start',
      lane: 'lane-1',
      time: seq,
      seq,
      continuation: false,
      partial: false,
    });
    const outs = run(createAlarmPipeline(VM250), [end, start(5), start(6)]);
    expect(assessments(outs).map((a) => a.seq)).toEqual([4, 5]);
  });

  it('an occupancy that never ends keeps bounded memory and is truncated for adjudication', () => {
    const p = createAlarmPipeline(VM250, { maxSamples: 200 });
    const lane = new LaneBuilder('endless').background(BG, NB);
    run(p, lane.events);
    const counts = [60, 62, 58, 61];
    p.handle({
      kind: 'occupancy-start',
      lane: 'lane-1',
      time: 0,
      seq: 1,
      continuation: false,
      partial: false,
    });
    for (let i = 0; i < 20_000; i++) {
      const c = counts.map((x, k) => x + ((i * (k + 3)) % 7) - 3);
      p.handle({
        kind: 'sample',
        lane: 'lane-1',
        time: i * 200,
        seq: 1,
        radiation: 'gamma',
        counts: c,
        intervalMs: 200,
        deviceAlarm: false,
        preTrigger: false,
      });
    }
    const a = p.handle({
      kind: 'occupancy-end',
      lane: 'lane-1',
      time: 4e6,
      seq: 1,
      reason: 'background-resumed',
      endedAbnormally: true,
      deviceIndex: null,
      deviceNeutronBackgroundCps: null,
      deviceGammaAlarm: false,
      deviceNeutronAlarm: false,
    });
    expect(a?.kind).toBe('assessment');
    expect(codes(a as OccupancyAssessment)).toContain('profile-truncated');
    expect((a as OccupancyAssessment).samples.gamma).toBe(20_000);
  });

  it('a sample before any start opens a partial occupancy', () => {
    const lane = new LaneBuilder('partial')
      .background(BG, NB)
      .occupancy({ seq: 3, samples: 20, gamma: (_i, c) => bgAt(c) });
    const events = lane.events.filter((e) => e.kind !== 'occupancy-start');
    expect(one(events).seq).toBe(3);
  });

  it('background lines inside an occupancy do not move the frozen estimate', () => {
    const lane = new LaneBuilder('frozen')
      .background(BG, NB)
      .occupancy({ seq: 1, samples: 30, gamma: (_i, c) => bgAt(c) });
    const at = lane.events.findIndex((e) => e.kind === 'sample' && !e.preTrigger);
    const ref = one(lane.events).gamma.backgroundCps;
    const events = [...lane.events];
    for (let k = 0; k < 10; k++) {
      events.splice(at, 0, {
        kind: 'background',
        lane: 'lane-1',
        time: 0,
        radiation: 'gamma',
        cps: [9000, 9000, 9000, 9000],
        fault: 'high',
      });
    }
    expect(one(events).gamma.backgroundCps).toBe(ref);
  });
});
