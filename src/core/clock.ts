/**
 * Time, injected. Decisions never read the system clock themselves (STYLE.md §5): runners
 * hand them times taken from a Clock, and tests hand them a ManualClock.
 */
export interface Clock {
  /** Wall-clock time in epoch milliseconds, derived from a monotonic source (never steps back). */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export interface TimerHandle {
  readonly id: unknown;
}

/**
 * Wall time anchored once at start-up and advanced by `performance.now()`, so an NTP step or
 * a manual clock change cannot reorder received lines (SPEC §1.1: "monotonic-clock-based time").
 */
export class SystemClock implements Clock {
  private readonly anchorWall = Date.now();
  private readonly anchorMono = performance.now();

  now(): number {
    return this.anchorWall + (performance.now() - this.anchorMono);
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = setTimeout(callback, ms);
    id.unref?.();
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    clearTimeout(handle.id as NodeJS.Timeout);
  }
}

/** A clock that moves only when told to; timers fire in order as time is advanced. */
export class ManualClock implements Clock {
  private time: number;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; callback: () => void }>();

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), callback });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle.id as number);
  }

  /** Advance time by `ms`, firing every timer that falls due, earliest first. */
  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      let dueId = -1;
      let dueAt = Infinity;
      for (const [id, timer] of this.timers) {
        if (timer.at <= target && timer.at < dueAt) {
          dueAt = timer.at;
          dueId = id;
        }
      }
      if (dueId < 0) break;
      const timer = this.timers.get(dueId)!;
      this.timers.delete(dueId);
      this.time = Math.max(this.time, timer.at);
      timer.callback();
    }
    this.time = target;
  }
}
