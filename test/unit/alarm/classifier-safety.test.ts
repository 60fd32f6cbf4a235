/**
 * The safety rules hold over any classifier (SPEC §3 step 4, issue 4): an adversarial refiner
 * that answers "NORM 0.99" for everything, applied to real pipeline assessments of simulated
 * occupancies, never releases a neutron alarm, a localized excess in the cargo, or anything
 * else the rules investigate.
 */
import { describe, expect, it } from 'vitest';
import { applyRefinement } from '../../../src/alarm/classifier/apply.js';
import { buildDataset } from '../../../src/alarm/classifier/dataset.js';
import type { CategoryProbabilities } from '../../../src/alarm/classifier/refiner.js';

const NORM_99: CategoryProbabilities = { background: 0.003, NORM: 0.99, medical: 0.003, threat: 0.004 };
const THREAT_99: CategoryProbabilities = { background: 0.003, NORM: 0.004, medical: 0.003, threat: 0.99 };

describe('a classifier cannot override the safety rules', () => {
  const { samples } = buildDataset({
    seeds: ['classifier-safety-1'],
    occupanciesPerSeed: 300,
    mix: { neutron: 0.4, threat: 0.2, 'threat-in-norm': 0.1, norm: 0.2, medical: 0.1 },
  });

  it('a classifier that says "NORM 0.99" cannot release a neutron alarm', () => {
    const neutron = samples.filter((s) => s.assessment.neutron.alarm);
    expect(neutron.length).toBeGreaterThan(30);
    for (const s of neutron) {
      const refined = applyRefinement(s.assessment, NORM_99, { modelId: 'adversary' });
      expect(refined.assessment.category).toBe('NORM'); // the model's view is shown …
      expect(refined.assessment.confidence).toBeCloseTo(0.99, 3);
      expect(refined.assessment.disposition).toBe('INVESTIGATE'); // … the rule decides
    }
  });

  it('… even if handed an assessment that (wrongly) released a neutron alarm', () => {
    const s = samples.find((x) => x.assessment.neutron.alarm)!;
    const tampered = {
      ...s.assessment,
      assessment: { ...s.assessment.assessment, disposition: 'RELEASE' as const },
    };
    const refined = applyRefinement(tampered, NORM_99);
    expect(refined.assessment.disposition).toBe('INVESTIGATE');
    expect(refined.assessment.reasons).toContain('INVESTIGATE: neutron alarms are always investigated');
  });

  it('cannot release a localized excess in the cargo, nor anything else the rules investigate', () => {
    const localized = samples.filter((s) =>
      s.assessment.assessment.reasons.some((r) =>
        r.includes('localized excess in the cargo is always investigated'),
      ),
    );
    expect(localized.length).toBeGreaterThan(5);
    const investigated = samples.filter((s) => s.assessment.assessment.disposition === 'INVESTIGATE');
    for (const s of investigated)
      expect(applyRefinement(s.assessment, NORM_99).assessment.disposition).toBe('INVESTIGATE');
  });

  it('can make a release more cautious, and says why', () => {
    const released = samples.filter((s) => s.assessment.assessment.disposition === 'RELEASE');
    expect(released.length).toBeGreaterThan(5);
    for (const s of released) {
      const refined = applyRefinement(s.assessment, THREAT_99, { modelId: 'adversary' });
      expect(refined.assessment.disposition).toBe('INVESTIGATE');
      expect(refined.assessment.reasons.slice(0, s.assessment.assessment.reasons.length)).toEqual(
        s.assessment.assessment.reasons,
      );
      expect(refined.assessment.reasons.some((r) => r.startsWith('classifier adversary: threat 99 %'))).toBe(
        true,
      );
    }
  });

  it('ignores a broken model output', () => {
    const s = samples[0]!;
    const broken = { background: Number.NaN, NORM: 1, medical: 0, threat: 0 };
    expect(applyRefinement(s.assessment, broken)).toBe(s.assessment);
  });
});
