/**
 * TCP client link (SPEC §1.1: the RPM is the TCP server, the gateway the one client). Connects,
 * and after any error, close or connect timeout reconnects with capped exponential back-off
 * (SPEC §8) until stopped.
 */
import net from 'node:net';
import { SystemClock, type Clock, type TimerHandle } from '../../core/clock.js';
import { describeError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import { createBackoff, type Backoff, type BackoffOptions } from './backoff.js';
import {
  LinkListeners,
  type ByteLink,
  type ByteLinkEvents,
  type LinkState,
  type LinkStateChange,
} from './byte-link.js';

export interface TcpLinkOptions {
  readonly host: string;
  readonly port: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly backoff?: BackoffOptions;
  /** Give up on a connect attempt after this long (a dead host drops SYNs silently). Default 5000 ms. */
  readonly connectTimeoutMs?: number;
  /** TCP keepalive idle time, so a dead peer behind a NAT or switch is noticed. Default 5000 ms. */
  readonly keepAliveMs?: number;
  /**
   * A connection must last this long before the back-off starts again from its first step;
   * a device that accepts and at once drops us (one-client-only RPMs) must not be hammered.
   * Default 5000 ms.
   */
  readonly stableAfterMs?: number;
  /** Bound of the outgoing buffer; writes beyond it are dropped and reported. Default 64 KiB. */
  readonly maxWriteBufferBytes?: number;
}

export function createTcpLink(options: TcpLinkOptions): ByteLink {
  return new TcpLink(options);
}

class TcpLink implements ByteLink {
  readonly description: string;
  private readonly listeners = new LinkListeners();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly backoff: Backoff;
  private readonly connectTimeoutMs: number;
  private readonly keepAliveMs: number;
  private readonly stableAfterMs: number;
  private readonly maxWriteBufferBytes: number;

  private current: LinkState = 'disconnected';
  private running = false;
  private socket: net.Socket | null = null;
  private timer: TimerHandle | null = null;
  private connectedAt: number | null = null;
  private lastError: unknown = null;
  private closing: Promise<void> | null = null;
  /**
   * SystemClock timers are unref'd, so while the link waits to retry nothing would keep the
   * process alive: a gateway whose only device is down would exit. A started link holds the
   * event loop the way an open socket does.
   */
  private hold: NodeJS.Timeout | null = null;

  constructor(private readonly options: TcpLinkOptions) {
    this.description = `tcp://${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
    this.clock = options.clock ?? new SystemClock();
    this.logger = (options.logger ?? silentLogger).child({ link: this.description });
    this.backoff = createBackoff(options.backoff);
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    this.keepAliveMs = options.keepAliveMs ?? 5000;
    this.stableAfterMs = options.stableAfterMs ?? 5000;
    this.maxWriteBufferBytes = options.maxWriteBufferBytes ?? 64 * 1024;
  }

  get state(): LinkState {
    return this.current;
  }

  on<E extends keyof ByteLinkEvents>(event: E, listener: ByteLinkEvents[E]): () => void {
    return this.listeners.on(event, listener);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.hold ??= setInterval(() => undefined, 2 ** 30);
    this.backoff.reset();
    this.connect();
  }

  stop(): Promise<void> {
    if (!this.running) return this.closing ?? Promise.resolve();
    this.running = false;
    this.cancelTimer();
    if (this.hold !== null) clearInterval(this.hold);
    this.hold = null;
    const socket = this.socket;
    this.closing = new Promise<void>((resolve) => {
      if (socket === null || socket.destroyed) {
        this.socket = null;
        resolve();
        return;
      }
      socket.once('close', () => resolve());
      socket.destroy();
    }).then(() => {
      this.socket = null;
      this.setState({ state: 'disconnected', detail: 'stopped', stopped: true });
    });
    return this.closing;
  }

  write(data: Buffer | string): boolean {
    const socket = this.socket;
    if (socket === null || this.current !== 'connected' || !socket.writable) return false;
    const length = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    if (socket.writableLength + length > this.maxWriteBufferBytes) {
      this.logger.warn('outgoing buffer full; write dropped', { bytes: length });
      return false;
    }
    socket.write(data);
    return true;
  }

  private connect(): void {
    this.timer = null;
    if (!this.running) return;
    const attempt = this.backoff.attempt;
    this.lastError = null;
    this.connectedAt = null;
    this.setState({
      state: 'connecting',
      detail: `connecting to ${this.description}${attempt > 0 ? ` (retry ${attempt})` : ''}`,
    });
    const socket = net.createConnection({ host: this.options.host, port: this.options.port });
    this.socket = socket;
    socket.setKeepAlive(true, this.keepAliveMs);
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      socket.destroy(new Error(`no connection within ${this.connectTimeoutMs} ms`));
    }, this.connectTimeoutMs);

    socket.once('connect', () => {
      this.cancelTimer();
      this.connectedAt = this.clock.now();
      this.setState({ state: 'connected', detail: `connected to ${this.description}` });
    });
    // Chunks go straight to the listeners: the link itself buffers nothing (SPEC §8).
    socket.on('data', (chunk: Buffer) => {
      if (this.socket === socket) this.listeners.data(chunk);
    });
    socket.on('error', (error) => {
      this.lastError = error;
    });
    socket.once('close', () => this.closed(socket));
  }

  private closed(socket: net.Socket): void {
    if (this.socket !== socket) return;
    this.socket = null;
    this.cancelTimer();
    if (!this.running) return; // stop() reports the final state
    const wasConnected = this.connectedAt !== null;
    if (wasConnected && this.clock.now() - this.connectedAt! >= this.stableAfterMs) this.backoff.reset();
    const reason =
      this.lastError !== null
        ? describeError(this.lastError)
        : wasConnected
          ? 'the device closed the connection'
          : 'the connection closed before it was established';
    const delay = this.backoff.next();
    this.setState({
      state: 'disconnected',
      detail: `${reason}; retrying in ${delay} ms`,
      retryInMs: delay,
    });
    this.timer = this.clock.setTimeout(() => this.connect(), delay);
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
