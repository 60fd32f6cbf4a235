import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';

describe('ManualClock', () => {
  it('fires timers in due order as time advances', () => {
    const clock = new ManualClock(1000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b'), 200);
    clock.setTimeout(() => fired.push('a'), 100);
    const c = clock.setTimeout(() => fired.push('c'), 150);
    clock.clearTimeout(c);
    clock.advance(150);
    expect(fired).toEqual(['a']);
    expect(clock.now()).toBe(1150);
    clock.advance(100);
    expect(fired).toEqual(['a', 'b']);
  });
});
