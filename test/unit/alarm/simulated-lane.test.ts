import { describe, expect, it } from 'vitest';
import { vm250Stream, type Vm250OccupancyTruth } from '../../../simulators/vm250/stream.js';
import { decodeLine } from '../../../src/drivers/vm250/codec.js';
import { createVm250Tracker } from '../../../src/drivers/vm250/occupancy-tracker.js';
import { createAlarmPipeline } from '../../../src/alarm/pipeline.js';
import type { OccupancyAssessment } from '../../../src/alarm/types.js';
import { VM250 } from './lane-builder.js';

/** The simulated lane through the real codec and tracker into the pipeline, paired with its ground truth. */
function simulate(
  seed: string,
  occupancies: number,
): { truth: Vm250OccupancyTruth; a: OccupancyAssessment }[] {
  const pipeline = createAlarmPipeline(VM250);
  const out: OccupancyAssessment[] = [];
  const tracker = createVm250Tracker({
    lane: 'lane-1',
    emit: (e) => {
      const o = pipeline.handle(e);
      if (o?.kind === 'assessment') out.push(o);
    },
  });
  const truths: Vm250OccupancyTruth[] = [];
  let last = 0;
  for (const item of vm250Stream({ seed, occupancies })) {
    if (item.kind === 'line') {
      last = item.atMs;
      tracker.line(decodeLine(item.line), item.atMs, item.line);
    } else if (item.kind === 'occupancy') truths.push(item.truth);
  }
  tracker.inputEnded(last + 1);
  expect(out).toHaveLength(truths.length);
  return truths.map((truth, i) => ({ truth, a: out[i]! }));
}

describe('alarm pipeline on the simulated VM-250 lane (ground truth)', () => {
  const rows = simulate('alarm-unit-test', 300);

  it('releases background-only traffic', () => {
    const bg = rows.filter((r) => r.truth.kind === 'background');
    expect(bg.length).toBeGreaterThan(100);
    expect(bg.filter((r) => r.a.assessment.disposition === 'INVESTIGATE')).toHaveLength(0);
  });

  it('investigates strong threats and every neutron alarm', () => {
    const strong = rows.filter((r) => r.truth.kind === 'threat' && r.truth.expected.gamma.sigma >= 15);
    expect(strong.length).toBeGreaterThan(3);
    for (const r of strong) expect(r.a.assessment.disposition).toBe('INVESTIGATE');
    for (const r of rows.filter((x) => x.a.neutron.alarm))
      expect(r.a.assessment.disposition).toBe('INVESTIGATE');
  });

  it('fills every field of the replay record', () => {
    for (const { a } of rows) {
      expect(a.gamma.maxSigma).toBeGreaterThanOrEqual(0);
      expect(a.neutron.backgroundCps).toBeGreaterThan(0);
      const p = a.assessment.probabilities;
      expect(p.background + p.NORM + p.medical + p.threat).toBeCloseTo(1, 2);
      expect(a.assessment.reasons.length).toBeGreaterThan(0);
    }
  });
});
