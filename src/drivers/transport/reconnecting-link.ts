/**
 * What every device link shares (SPEC §8): start, stop, a bounded write, link state reported to
 * listeners, and — after any failure to connect or any loss of the connection — a retry with
 * capped exponential back-off until stopped. A subclass supplies one transport's handle (a TCP
 * socket, a serial port): how to attempt it, how to close it, how to write to it.
 *
 * Protocol between the two halves: `attempt()` creates the handle, registers it with
 * {@link own}, and later reports {@link up} when it is usable and {@link down} when it is gone
 * (once, from whatever event ends it — including the close that `close()` starts on stop).
 */
import { SystemClock, type Clock, type TimerHandle } from '../../core/clock.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import { createBackoff, type Backoff, type BackoffOptions } from './backoff.js';
import { retryingDetail } from './outage.js';
import {
  LinkListeners,
  type ByteLink,
  type ByteLinkEvents,
  type LinkState,
  type LinkStateChange,
} from './byte-link.js';

export interface ReconnectingLinkOptions {
  /** How the link names itself in states and logs, e.g. `tcp://10.0.0.5:1600`. */
  readonly description: string;
  /** The `link` field of the link's log lines. */
  readonly logName: string;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly backoff?: BackoffOptions;
  /**
   * A connection must last this long before the back-off starts again from its first step; a
   * device that accepts and at once drops us (one-client-only RPMs) must not be hammered.
   */
  readonly stableAfterMs: number;
  /** Bound of the outgoing buffer; writes beyond it are dropped and reported. */
  readonly maxWriteBufferBytes: number;
}

export abstract class ReconnectingLink<H> implements ByteLink {
  readonly description: string;
  protected readonly clock: Clock;
  protected readonly logger: Logger;
  private readonly listeners = new LinkListeners();
  private readonly backoff: Backoff;
  private readonly stableAfterMs: number;
  private readonly maxWriteBufferBytes: number;

  private current: LinkState = 'disconnected';
  private running = false;
  private handle: H | null = null;
  private timer: TimerHandle | null = null;
  private upAt: number | null = null;
  private closing: Promise<void> | null = null;
  /** Resolves stop() once the handle in hand (open or opening) is gone. */
  private onGone: (() => void) | null = null;
  /**
   * SystemClock timers are unref'd, so while the link waits to retry nothing would keep the
   * process alive: a gateway whose only device is down would exit. A started link holds the
   * event loop the way an open socket does.
   */
  private hold: NodeJS.Timeout | null = null;

  protected constructor(o: ReconnectingLinkOptions) {
    this.description = o.description;
    this.clock = o.clock ?? new SystemClock();
    this.logger = (o.logger ?? silentLogger).child({ link: o.logName });
    this.backoff = createBackoff(o.backoff);
    this.stableAfterMs = o.stableAfterMs;
    this.maxWriteBufferBytes = o.maxWriteBufferBytes;
  }

  /** Start connecting (or opening); `retry` counts the attempts since the last stable connection. */
  protected abstract attempt(retry: number): void;
  /** Begin closing `handle` on stop; its end must still reach {@link down}. */
  protected abstract close(handle: H): void;
  /** Bytes queued on `handle` and not yet sent. */
  protected abstract buffered(handle: H): number;
  protected abstract send(handle: H, data: Buffer | string): void;
  /** The handle accepts writes now (beyond being connected). */
  protected writable(_handle: H): boolean {
    return true;
  }

  get state(): LinkState {
    return this.current;
  }

  /** The link is started (not stopped). */
  protected get started(): boolean {
    return this.running;
  }

  /** The current attempt reached the connected state. */
  protected get wasUp(): boolean {
    return this.upAt !== null;
  }

  on<E extends keyof ByteLinkEvents>(event: E, listener: ByteLinkEvents[E]): () => void {
    return this.listeners.on(event, listener);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.hold ??= setInterval(() => undefined, 2 ** 30);
    this.backoff.reset();
    this.attemptNow();
  }

  stop(): Promise<void> {
    if (!this.running) return this.closing ?? Promise.resolve();
    this.running = false;
    this.cancelTimer();
    if (this.hold !== null) clearInterval(this.hold);
    this.hold = null;
    const handle = this.handle;
    this.closing = new Promise<void>((resolve) => {
      if (handle === null) {
        resolve();
        return;
      }
      this.onGone = resolve;
      this.close(handle);
    }).then(() => {
      this.handle = null;
      this.onGone = null;
      this.setState({ state: 'disconnected', detail: 'stopped', stopped: true });
    });
    return this.closing;
  }

  write(data: Buffer | string): boolean {
    const handle = this.handle;
    if (handle === null || this.current !== 'connected' || !this.writable(handle)) return false;
    const length = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    if (this.buffered(handle) + length > this.maxWriteBufferBytes) {
      this.logger.warn('outgoing buffer full; write dropped', { bytes: length });
      return false;
    }
    this.send(handle, data);
    return true;
  }

  /** The handle of the attempt under way; chunks from any other are stale and dropped. */
  protected own(handle: H): void {
    this.handle = handle;
  }

  protected isCurrent(handle: H): boolean {
    return this.handle === handle;
  }

  protected connecting(detail: string): void {
    this.setState({ state: 'connecting', detail });
  }

  /** The attempt's handle is usable. */
  protected up(detail: string): void {
    this.cancelTimer();
    this.upAt = this.clock.now();
    this.setState({ state: 'connected', detail });
  }

  /** Chunks of the current handle go straight to the listeners: the link buffers nothing. */
  protected received(handle: H, chunk: Buffer): void {
    if (this.handle === handle) this.listeners.data(chunk);
  }

  /** The handle is gone (failed, closed, dropped): retry later, or finish a stop. */
  protected down(handle: H, reason: string): void {
    if (this.handle !== handle) return;
    this.handle = null;
    this.cancelTimer();
    if (!this.running) {
      this.onGone?.();
      return;
    }
    if (this.upAt !== null && this.clock.now() - this.upAt >= this.stableAfterMs) this.backoff.reset();
    this.retryLater(reason);
  }

  /** The attempt failed before it had a handle (e.g. settings refused synchronously). */
  protected retryLater(reason: string): void {
    const delay = this.backoff.next();
    this.setState({
      state: 'disconnected',
      detail: retryingDetail(reason, delay),
      retryInMs: delay,
      cause: reason,
    });
    this.timer = this.clock.setTimeout(() => this.attemptNow(), delay);
  }

  /** A deadline for the attempt under way (cleared by {@link up} and {@link down}). */
  protected deadline(ms: number, expired: () => void): void {
    this.cancelTimer();
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      expired();
    }, ms);
  }

  private attemptNow(): void {
    this.timer = null;
    if (!this.running) return;
    this.upAt = null;
    this.attempt(this.backoff.attempt);
  }

  private cancelTimer(): void {
    if (this.timer !== null) {
      this.clock.clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private setState(change: LinkStateChange): void {
    this.current = change.state;
    this.logger.debug('link state', { state: change.state, detail: change.detail });
    this.listeners.state(change);
  }
}
