import { describe, expect, it } from 'vitest';
import { BackgroundTracker } from '../../../src/alarm/background.js';
import type { BackgroundEvent } from '../../../src/domain/lane-events.js';

const line = (
  cps: number[],
  fault: BackgroundEvent['fault'] = 'none',
  radiation: 'gamma' | 'neutron' = 'gamma',
): BackgroundEvent => ({
  kind: 'background',
  lane: 'l',
  time: 0,
  radiation,
  cps,
  fault,
});

describe('background tracker', () => {
  it('takes the median of recent reports: one spike does not move it', () => {
    const t = new BackgroundTracker('gamma', 4);
    for (const v of [300, 302, 298, 5000, 301, 299]) t.update(line([v, v, v, v]));
    expect(t.cps(0)).toBeCloseTo(300.5, 5);
    expect(t.usable(0)).toBe(true);
  });

  it('a high-background fault names the channel, and that channel takes its new level at once', () => {
    const t = new BackgroundTracker('gamma', 4);
    for (let k = 0; k < 5; k++) t.update(line([300, 300, 300, 300]));
    const f = t.update(line([300, 6000, 300, 300], 'high'));
    expect(f.map((x) => [x.code, x.channel])).toEqual([['background-fault-high', 1]]);
    expect(t.cps(1)).toBe(6000);
    expect(t.faulted(1)).toBe(true);
    expect(t.update(line([300, 6100, 300, 300], 'high'))).toHaveLength(0); // raised once, not per line
  });

  it('a zero gamma channel is dead; truncated neutron zeros are not', () => {
    const g = new BackgroundTracker('gamma', 4);
    expect(g.update(line([300, 0, 300, 300])).map((x) => x.code)).toEqual(['dead-channel']);
    expect(g.usable(1)).toBe(false);
    const n = new BackgroundTracker('neutron', 4);
    expect(n.update(line([0, 0, 0, 0], 'none', 'neutron'))).toHaveLength(0);
    expect(n.truncated).toBe(true);
  });

  it('a stuck channel is found after repeated identical values', () => {
    const t = new BackgroundTracker('gamma', 4, { stuckRepeats: 4 });
    const found = [];
    for (let k = 0; k < 5; k++) found.push(...t.update(line([300 + k, 777, 300 - k, 301 + 2 * k])));
    expect(found.map((x) => [x.code, x.channel])).toEqual([['stuck-channel', 1]]);
    expect(t.usable(1)).toBe(false);
  });

  it('absurd values are ignored, and a single-channel lane works', () => {
    const t = new BackgroundTracker('gamma', 1);
    expect(t.update(line([-1])).map((x) => x.code)).toEqual(['absurd-background']);
    expect(t.known).toBe(false);
    t.update(line([1200]));
    expect(t.cps(0)).toBe(1200);
  });
});
