import { describe, expect, it } from 'vitest';
import { createAlarmPipeline } from '../../../src/alarm/pipeline.js';
import type { OccupancyAssessment } from '../../../src/alarm/types.js';
import { LaneBuilder, MODBUS, VM250, assessments, peak, run } from './lane-builder.js';

const BG = [300, 310, 290, 305];
const NB = [3, 3, 3, 3];
const V = 8 / 3.6; // 8 km/h
/** A 15 m truck at 8 km/h: 36 samples in the plane, then 10 hold-in samples. */
const TRUCK = 46;
function truckShadow(i: number, s: number): number {
  if (i < 1 || i >= 36) return 1; // before the front reaches the plane, hold-in
  return i < 7 ? 0.98 : 1 - s; // cab, cargo
}
const bgAt = (c: number): number => BG[c]! / 5;

function only(a: OccupancyAssessment[]): OccupancyAssessment {
  expect(a).toHaveLength(1);
  return a[0]!;
}

describe('alarm pipeline: verdicts', () => {
  it('releases a clean, shadowed truck without any alarm', () => {
    const lane = new LaneBuilder('clean').background(BG, NB).occupancy({
      seq: 1,
      samples: TRUCK,
      gamma: (i, c) => bgAt(c) * truckShadow(i, 0.2),
    });
    const out = run(createAlarmPipeline(VM250), lane.events);
    expect(out.filter((o) => o.kind === 'decision')).toHaveLength(0);
    const a = only(assessments(out));
    expect(a.gamma.alarm).toBe(false);
    expect(a.assessment).toMatchObject({ category: 'background', disposition: 'RELEASE' });
    expect(a.gamma.backgroundCps).toBeGreaterThan(1150);
    expect(a.samples).toEqual({ gamma: TRUCK, neutron: 9 });
  });

  it('decides on the decisive sample and investigates a point source in the cargo', () => {
    // Source 9 m behind the front, 1.5 m from the master pillar.
    const t0 = (9 + 0.5) / V;
    const lane = new LaneBuilder('threat').background(BG, NB).occupancy({
      seq: 2,
      samples: TRUCK,
      gamma: (i, c) => bgAt(c) * truckShadow(i, 0.1) + peak(i, t0, c < 2 ? 700 : 150, c < 2 ? 1.5 : 3, V),
    });
    const p = createAlarmPipeline(VM250);
    let decidedAt = -1;
    let assessment: OccupancyAssessment | null = null;
    lane.events.forEach((e, k) => {
      const o = p.handle(e);
      if (o?.kind === 'decision') decidedAt = k;
      if (o?.kind === 'assessment') assessment = o;
    });
    expect(decidedAt).toBeGreaterThan(0);
    expect(lane.events[decidedAt]!.kind).toBe('sample'); // not the end: the sample that decided
    const a = assessment as OccupancyAssessment | null;
    expect(a?.decisions[0]).toMatchObject({ radiation: 'gamma', seq: 2 });
    expect(a?.assessment.disposition).toBe('INVESTIGATE');
    expect(a?.assessment.category).toBe('threat');
    expect(a?.assessment.reasons.join(' ')).toMatch(/in the cargo/);
  });

  it('finds a source that heavy shadowing hides from the gross test', () => {
    const t0 = (9 + 0.5) / V;
    const lane = new LaneBuilder('hidden').background(BG, NB).occupancy({
      seq: 3,
      samples: TRUCK,
      gamma: (i, c) => bgAt(c) * truckShadow(i, 0.25) + peak(i, t0, 150, 2.25, V),
    });
    const a = only(assessments(run(createAlarmPipeline(VM250), lane.events)));
    expect(a.gamma.alarm).toBe(true);
    expect(a.gamma.bestTest?.baseline).toBe('local');
    expect(a.assessment.disposition).toBe('INVESTIGATE');
  });

  it('releases NORM cargo: a broad, symmetric plateau over the cargo', () => {
    const lane = new LaneBuilder('norm').background(BG, NB).occupancy({
      seq: 4,
      samples: TRUCK,
      gamma: (i, c) => {
        const edge = Math.min(1, Math.max(0, (i - 7) / 3), Math.max(0, (36 - i) / 3));
        return bgAt(c) * truckShadow(i, 0.2) + 0.45 * bgAt(c) * edge;
      },
    });
    const a = only(assessments(run(createAlarmPipeline(VM250), lane.events)));
    expect(a.gamma.alarm).toBe(true);
    expect(a.assessment.category).toBe('NORM');
    expect(a.assessment.disposition).toBe('RELEASE');
    expect(a.assessment.reasons.join(' ')).toMatch(/consistent with NORM/);
  });

  it('investigates a localized source hidden in NORM', () => {
    const t0 = (11 + 0.5) / V;
    const lane = new LaneBuilder('norm-threat').background(BG, NB).occupancy({
      seq: 5,
      samples: TRUCK,
      gamma: (i, c) => {
        const edge = Math.min(1, Math.max(0, (i - 7) / 3), Math.max(0, (36 - i) / 3));
        return bgAt(c) * truckShadow(i, 0.2) + 0.45 * bgAt(c) * edge + peak(i, t0, 500, 1.8, V);
      },
    });
    const a = only(assessments(run(createAlarmPipeline(VM250), lane.events)));
    expect(a.assessment.disposition).toBe('INVESTIGATE');
    expect(a.assessment.reasons.join(' ')).toMatch(/hidden in NORM|localized excess/);
  });

  it('categorizes a driver-side point source in a car as medical', () => {
    // 4.5 m car: 12 samples in the plane; source 1.6 m behind the front, driver (master) side.
    const t0 = (1.6 + 0.5) / V;
    const lane = new LaneBuilder('medical').background(BG, NB).occupancy({
      seq: 6,
      samples: 22,
      gamma: (i, c) => bgAt(c) + peak(i, t0, [900, 1500, 300, 200][c]!, c < 2 ? 1.6 : 2.9, V),
    });
    const a = only(assessments(run(createAlarmPipeline(VM250), lane.events)));
    expect(a.gamma.alarm).toBe(true);
    expect(a.assessment.category).toBe('medical');
    expect(a.assessment.reasons.join(' ')).toMatch(/driver's side/);
  });

  it("names a patient too weak to alarm: medical, released, no decision — not on the passenger's side", () => {
    // The car above with a source a fourteenth as strong: about 5σ, below the 6σ alarm. Mirrored,
    // the pillars swap (masterUpper ↔ slaveUpper, masterLower ↔ slaveLower); the slave panels'
    // lower background makes the same source about 1σ stronger there, hence 0.06.
    const t0 = (1.6 + 0.5) / V;
    const weak = (mirrored: boolean, k: number) =>
      new LaneBuilder('patient').background(BG, NB).occupancy({
        seq: 6,
        samples: 22,
        gamma: (i, c) => {
          const d = mirrored ? 3 - c : c;
          return bgAt(c) + peak(i, t0, k * [900, 1500, 300, 200][d]!, d < 2 ? 1.6 : 2.9, V);
        },
      }).events;
    const driver = run(createAlarmPipeline(VM250), weak(false, 0.07));
    expect(driver.filter((o) => o.kind === 'decision')).toHaveLength(0);
    const a = only(assessments(driver));
    expect(a.gamma.alarm).toBe(false);
    expect(a.assessment).toMatchObject({ category: 'medical', disposition: 'RELEASE' });
    expect(a.assessment.reasons.join(' ')).toMatch(/below the alarm: .*on the driver's pillar/);
    const passenger = only(assessments(run(createAlarmPipeline(VM250), weak(true, 0.06))));
    expect(passenger.gamma.alarm).toBe(false);
    expect(passenger.gamma.maxSigma).toBeGreaterThanOrEqual(4.5);
    expect(passenger.assessment).toMatchObject({ category: 'background', disposition: 'RELEASE' });
  });

  it('always investigates a neutron alarm, and decides it on its sample', () => {
    const lane = new LaneBuilder('neutron').background(BG, NB).occupancy({
      seq: 7,
      samples: TRUCK,
      gamma: (i, c) => bgAt(c) * truckShadow(i, 0.1),
      neutron: (s) => (s === 4 ? 9 : 3),
    });
    const outs = run(createAlarmPipeline(VM250), lane.events);
    expect(outs.find((o) => o.kind === 'decision')).toMatchObject({ radiation: 'neutron' });
    const a = only(assessments(outs));
    expect(a.neutron.alarm).toBe(true);
    expect(a.neutron.backgroundSource).toBe('lines');
    expect(a.assessment.disposition).toBe('INVESTIGATE');
  });

  it('flags a ship-effect burst under heavy shadowing, and still investigates', () => {
    // Second occupancy: the device estimate (12 cps over 4 tubes, from the first GX) is known now.
    const ship = new LaneBuilder('ship')
      .background(BG, NB)
      .occupancy({ seq: 8, samples: TRUCK, gamma: (i, c) => bgAt(c) }, 12);
    ship.occupancy({
      seq: 9,
      samples: TRUCK,
      gamma: (i, c) => bgAt(c) * truckShadow(i, 0.25),
      neutron: (s) => (s === 3 ? 10 : 3 * 0.3),
    });
    const a = assessments(run(createAlarmPipeline(VM250), ship.events));
    const last = a[a.length - 1]!;
    expect(last.neutron.alarm).toBe(true);
    expect(last.neutron.backgroundSource).toBe('device');
    expect(last.neutron.shipEffectSuspect).toBe(true);
    expect(last.assessment.disposition).toBe('INVESTIGATE');
    expect(last.assessment.reasons.join(' ')).toMatch(/ship effect/);
  });

  it('works on a 1 + 1 channel Modbus lane', () => {
    const one = [1200];
    const lane = new LaneBuilder('modbus', 'lane-m').background(one, [12]).occupancy({
      seq: 1,
      samples: TRUCK,
      channels: { gamma: 1, neutron: 1 },
      preTrigger: false,
      gamma: (i) => 240 * truckShadow(i, 0.1) + peak(i, 9.5 / V, 1200, 2, V),
    });
    const a = only(assessments(run(createAlarmPipeline(MODBUS), lane.events)));
    expect(a.gamma.alarm).toBe(true);
    expect(a.gamma.bestTest?.group).toBe('sum');
    expect(a.assessment.disposition).toBe('INVESTIGATE');
  });
});
