import { describe, expect, it } from 'vitest';
import { backoffDelay, createBackoff } from '../../../src/drivers/transport/backoff.js';

const noJitter = { random: () => 0 };
const fullJitterDraw = { random: () => 0.999999 };

describe('backoffDelay', () => {
  it('starts at 250 ms and doubles up to the 10 s cap', () => {
    const delays = Array.from({ length: 10 }, (_, attempt) => backoffDelay(attempt, noJitter));
    expect(delays).toEqual([250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000]);
  });

  it('never exceeds the cap or overflows on a long outage', () => {
    for (const attempt of [20, 100, 1_000, 1_000_000]) {
      const delay = backoffDelay(attempt, noJitter);
      expect(delay).toBe(10_000);
    }
  });

  it('jitter shortens the delay by at most the jitter fraction (default 20 %)', () => {
    expect(backoffDelay(0, fullJitterDraw)).toBe(200);
    expect(backoffDelay(3, fullJitterDraw)).toBe(1600);
    expect(backoffDelay(50, fullJitterDraw)).toBe(8000);
    for (let i = 0; i < 200; i++) {
      const delay = backoffDelay(2, {});
      expect(delay).toBeGreaterThanOrEqual(800);
      expect(delay).toBeLessThanOrEqual(1000);
    }
  });

  it('takes its parameters from options', () => {
    const options = { initialMs: 100, factor: 3, maxMs: 2000, jitter: 0.5, random: () => 0.5 };
    expect([0, 1, 2, 3, 4].map((n) => backoffDelay(n, options))).toEqual([75, 225, 675, 1500, 1500]);
    expect(backoffDelay(0, { jitter: 7, random: () => 0.5 })).toBe(125); // jitter clamped to 1
    expect(backoffDelay(-3, noJitter)).toBe(250);
  });
});

describe('createBackoff', () => {
  it('counts attempts and starts over after reset', () => {
    const backoff = createBackoff(noJitter);
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([250, 500, 1000]);
    expect(backoff.attempt).toBe(3);
    backoff.reset();
    expect(backoff.attempt).toBe(0);
    expect(backoff.next()).toBe(250);
  });
});
