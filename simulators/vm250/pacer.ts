/**
 * Plays a timed stream in real time (or `speed` times faster): each item is handed over when
 * the clock reaches its `atMs`. Shared by the TCP and the serial simulators. Items that fall due
 * together (the pre-trigger burst) go out together; a large backlog is delivered in slices so
 * sockets get to flush between them.
 */
import { SystemClock, type Clock, type TimerHandle } from '../../src/core/clock.js';

export interface PacerOptions {
  /** 1 = real time, 10 = ten times faster. Default 1. */
  readonly speed?: number;
  readonly clock?: Clock;
}

const SLICE = 500;

export class StreamPacer<T extends { readonly atMs: number }> {
  private readonly clock: Clock;
  private readonly speed: number;
  private timer: TimerHandle | null = null;
  private startedAt = 0;
  private pending: IteratorResult<T, unknown> | null = null;
  private running = false;
  private finished = false;

  constructor(
    private readonly items: Iterator<T, unknown>,
    private readonly deliver: (item: T) => void,
    private readonly onDone: () => void = () => {},
    options: PacerOptions = {},
  ) {
    this.clock = options.clock ?? new SystemClock();
    this.speed = options.speed ?? 1;
    if (!(this.speed > 0)) throw new RangeError('speed must be > 0');
  }

  /** Start playing from stream time 0. Idempotent. */
  start(): void {
    if (this.running || this.finished) return;
    this.running = true;
    this.startedAt = this.clock.now();
    this.tick();
  }

  /** Stop playing (cannot be resumed). Idempotent. */
  stop(): void {
    this.running = false;
    this.finished = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  get done(): boolean {
    return this.finished;
  }

  /** The stream time the clock has reached (ms). */
  streamTimeMs(): number {
    return this.running ? (this.clock.now() - this.startedAt) * this.speed : 0;
  }

  private tick(): void {
    this.timer = null;
    let delivered = 0;
    while (this.running) {
      this.pending ??= this.items.next();
      if (this.pending.done === true) {
        this.running = false;
        this.finished = true;
        this.onDone();
        return;
      }
      const item = this.pending.value;
      const waitMs = item.atMs / this.speed - (this.clock.now() - this.startedAt);
      if (waitMs > 0 || delivered >= SLICE) {
        this.timer = this.clock.setTimeout(() => this.tick(), Math.max(0, waitMs));
        return;
      }
      this.pending = null;
      delivered++;
      this.deliver(item);
    }
  }
}
