/**
 * Detector faults become health findings, never alarms (SPEC §3 step 1; issue 4 phase 2): the
 * device's background reports are running means that lag a level change, so a fault starting
 * or ending must not leave a channel tested against a stale level.
 */
import { describe, expect, it } from 'vitest';
import { vm250Stream, type Vm250OccupancyTruth } from '../../../simulators/vm250/stream.js';
import { BackgroundTracker } from '../../../src/alarm/background.js';
import { createAlarmPipeline } from '../../../src/alarm/pipeline.js';
import {
  logNegBinomialUpperTail,
  logPoissonUpperTail,
  negBinomialThreshold,
} from '../../../src/alarm/stats.js';
import type { OccupancyAssessment } from '../../../src/alarm/types.js';
import type { BackgroundEvent, LaneEvent } from '../../../src/domain/lane-events.js';
import { decodeLine } from '../../../src/drivers/vm250/codec.js';
import { createVm250Tracker } from '../../../src/drivers/vm250/occupancy-tracker.js';
import { assessments, LaneBuilder, run, VM250 } from './lane-builder.js';

function line(
  cps: number[],
  fault: BackgroundEvent['fault'] = 'none',
  radiation: 'gamma' | 'neutron' = 'gamma',
): BackgroundEvent {
  return { kind: 'background', lane: 'l', time: 0, radiation, cps, fault };
}

describe('background settling after a level change', () => {
  it('a jump confirmed by a second report makes the channel settle on its latest report', () => {
    const t = new BackgroundTracker('gamma', 4);
    for (let k = 0; k < 6; k++) t.update(line([1000, 1000, 1000, 1000]));
    t.update(line([1000, 2000, 1000, 1000])); // the running mean starts mixing in a new level
    expect(t.settling(1)).toBe(true);
    t.update(line([1000, 3000, 1000, 1000]));
    expect(t.settling(1)).toBe(true);
    expect(t.cps(1)).toBe(3000); // the latest report, not a lagging median
    for (let k = 0; k < 5; k++) t.update(line([1000, 5000, 1000, 1000]));
    expect(t.settling(1)).toBe(false);
    expect(t.cps(1)).toBe(5000);
    expect(t.settling(0)).toBe(false);
  });

  it('one spiking report is suspect for one report only and never moves the estimate', () => {
    const t = new BackgroundTracker('gamma', 4);
    for (let k = 0; k < 6; k++) t.update(line([1000, 1000, 1000, 1000]));
    t.update(line([1000, 4000, 1000, 1000]));
    expect(t.settling(1)).toBe(true);
    t.update(line([1000, 1001, 1000, 1000]));
    expect(t.settling(1)).toBe(false);
    expect(t.cps(1)).toBe(1000);
  });

  it('a recovered dead channel settles (its running mean still holds the zeros)', () => {
    const t = new BackgroundTracker('gamma', 4);
    for (let k = 0; k < 4; k++) t.update(line([1000, 0, 1000, 1000]));
    t.update(line([1000, 250, 1000, 1000]));
    expect(t.usable(1)).toBe(true);
    expect(t.settling(1)).toBe(true);
  });

  it('a neutron tube far above the others is suspect before the device flags it', () => {
    const t = new BackgroundTracker('neutron', 4);
    for (let k = 0; k < 4; k++) t.update(line([3, 3, 4, 3], 'none', 'neutron'));
    t.update(line([3, 12, 4, 3], 'none', 'neutron'));
    expect(t.suspect(1)).toBe(true);
    expect(t.suspect(0)).toBe(false);
  });
});

describe('the pipeline under a fault the reports have not caught up with', () => {
  it('a gamma channel whose level quadrupled since its reports uses its look-back: no alarm', () => {
    const b = new LaneBuilder('fault-lag');
    b.background([1000, 1000, 1000, 1000], [3, 3, 3, 3], 6);
    // The fault began after the last report: the look-back and the scan show 4,000 cps on channel 1.
    const level = (c: number): number => (c === 1 ? 4000 : 1000) * 0.2;
    b.occupancy({ seq: 1, samples: 40, gamma: (_i, c) => level(c), speedKph: 9 });
    const [a] = assessments(run(createAlarmPipeline(VM250), b.events));
    expect(a!.gamma.alarm).toBe(false);
    expect(a!.assessment.disposition).toBe('RELEASE');
    expect(a!.health.map((h) => h.code)).toContain('pre-trigger-mismatch');
  });

  it('a neutron tube in a high-background fault is left out: a health finding, no neutron alarm', () => {
    const b = new LaneBuilder('neutron-fault');
    const events: LaneEvent[] = [];
    b.background([1000, 1000, 1000, 1000], [3, 3, 3, 3], 6);
    for (let k = 0; k < 3; k++)
      b.push({ ...line([3, 60, 3, 3], 'high', 'neutron'), lane: 'lane-1', time: 1_700_000_100_000 + k });
    b.occupancy({
      seq: 1,
      samples: 40,
      gamma: () => 200,
      neutron: (_s, c) => (c === 1 ? 60 : 3),
      speedKph: 9,
    });
    events.push(...b.events);
    const [a] = assessments(run(createAlarmPipeline(VM250), events));
    expect(a!.neutron.alarm).toBe(false);
    expect(a!.health.some((h) => h.code === 'background-settling' && h.radiation === 'neutron')).toBe(true);
  });
});

describe('simulated lane with detector faults', () => {
  it('background-only traffic through faults raises no more than a stray alarm', () => {
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
    for (const item of vm250Stream({
      seed: 'faults-unit',
      occupancies: 600,
      faultProbability: 0.15,
      mix: { background: 1 },
    })) {
      if (item.kind === 'line') {
        last = item.atMs;
        tracker.line(decodeLine(item.line), item.atMs, item.line);
      } else if (item.kind === 'occupancy') truths.push(item.truth);
    }
    tracker.inputEnded(last + 1);
    expect(out).toHaveLength(truths.length);
    expect(truths.filter((t) => t.faults.length > 0).length).toBeGreaterThan(100);
    const alarms = out.filter((a) => a.gamma.alarm || a.neutron.alarm).length;
    expect(alarms).toBeLessThanOrEqual(2);
  });
});

describe('negative binomial tail (a rate known from a finite background)', () => {
  it('matches a brute-force sum and tends to the Poisson tail for a precise rate', () => {
    const brute = (n: number, mu: number, r: number): number => {
      const p = r / (r + mu);
      let s = 0;
      let pmf = Math.pow(p, r);
      for (let k = 0; k < n; k++) {
        s += pmf;
        pmf *= ((k + r) / (k + 1)) * (1 - p);
      }
      return 1 - s;
    };
    for (const [n, mu, r] of [
      [36, 16, 320],
      [5, 1, 20],
      [20, 12, 40],
    ] as const) {
      expect(Math.exp(logNegBinomialUpperTail(n, mu, r))).toBeCloseTo(brute(n, mu, r), 10);
    }
    expect(logNegBinomialUpperTail(36, 16, 1e9)).toBeCloseTo(logPoissonUpperTail(36, 16), 6);
    expect(Math.exp(logNegBinomialUpperTail(224, 160, 320))).toBeGreaterThan(
      10 * Math.exp(logPoissonUpperTail(224, 160)),
    );
  });

  it('the threshold is the smallest count whose tail is within alpha', () => {
    for (const [mu, r] of [
      [16, 320],
      [0.4, 8],
      [160, 320],
    ] as const) {
      const n = negBinomialThreshold(mu, r, 1e-5);
      expect(logNegBinomialUpperTail(n, mu, r)).toBeLessThanOrEqual(Math.log(1e-5));
      expect(logNegBinomialUpperTail(n - 1, mu, r)).toBeGreaterThan(Math.log(1e-5));
    }
  });
});
