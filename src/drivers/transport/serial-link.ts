/**
 * Serial link over `serialport` (SPEC §1.1: RS-232, settings from the device address). When
 * the port errors or disappears — a USB adapter pulled, a pty's socat gone — it reports
 * 'disconnected' and retries opening the same path with capped back-off until it is back.
 */
import { SerialPort } from 'serialport';
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
import { DEFAULT_SERIAL_SETTINGS, type SerialSettings } from './uri.js';

/** The part of a serialport stream the link uses; lets tests hand in a MockBinding port. */
export interface SerialPortLike {
  readonly isOpen: boolean;
  readonly writableLength: number;
  open(callback: (error: Error | null) => void): void;
  close(callback?: (error: Error | null) => void): void;
  write(data: Buffer | string): boolean;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  once(event: 'close', listener: (error?: Error | null) => void): unknown;
}

export interface SerialLinkOptions {
  readonly path: string;
  readonly serial?: SerialSettings;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly backoff?: BackoffOptions;
  /** A port open this long resets the back-off to its first step. Default 5000 ms. */
  readonly stableAfterMs?: number;
  /** Bound of the outgoing buffer; writes beyond it are dropped. Default 16 KiB. */
  readonly maxWriteBufferBytes?: number;
  /** Creates the (unopened) port; defaults to a real `SerialPort` with `autoOpen: false`. */
  readonly createPort?: (path: string, serial: SerialSettings) => SerialPortLike;
}

export function createSerialLink(options: SerialLinkOptions): ByteLink {
  return new SerialLink(options);
}

function openRealPort(path: string, s: SerialSettings): SerialPortLike {
  return new SerialPort({
    path,
    baudRate: s.baudRate,
    dataBits: s.dataBits,
    parity: s.parity,
    stopBits: s.stopBits,
    rtscts: s.rtscts,
    autoOpen: false,
  });
}

/** "9600 8N1", the way the settings are printed on a device's label. */
export function describeSerialSettings(s: SerialSettings): string {
  const flow = s.rtscts ? ' rtscts' : '';
  return `${s.baudRate} ${s.dataBits}${s.parity[0]!.toUpperCase()}${s.stopBits}${flow}`;
}

class SerialLink implements ByteLink {
  readonly description: string;
  private readonly listeners = new LinkListeners();
  private readonly serial: SerialSettings;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly backoff: Backoff;
  private readonly stableAfterMs: number;
  private readonly maxWriteBufferBytes: number;
  private readonly createPort: (path: string, serial: SerialSettings) => SerialPortLike;

  private current: LinkState = 'disconnected';
  private running = false;
  private port: SerialPortLike | null = null;
  private timer: TimerHandle | null = null;
  private openedAt: number | null = null;
  private closing: Promise<void> | null = null;
  /**
   * SystemClock timers are unref'd, so while the link waits to retry nothing would keep the
   * process alive: a gateway whose only device is down would exit. A started link holds the
   * event loop the way an open socket does.
   */
  private hold: NodeJS.Timeout | null = null;
  /** Resolves stop() once the port in hand (open or opening) is closed. */
  private onPortGone: (() => void) | null = null;

  constructor(private readonly options: SerialLinkOptions) {
    this.serial = options.serial ?? DEFAULT_SERIAL_SETTINGS;
    this.description = `serial://${options.path} (${describeSerialSettings(this.serial)})`;
    this.clock = options.clock ?? new SystemClock();
    this.logger = (options.logger ?? silentLogger).child({ link: `serial://${options.path}` });
    this.backoff = createBackoff(options.backoff);
    this.stableAfterMs = options.stableAfterMs ?? 5000;
    this.maxWriteBufferBytes = options.maxWriteBufferBytes ?? 16 * 1024;
    this.createPort = options.createPort ?? openRealPort;
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
    this.open();
  }

  stop(): Promise<void> {
    if (!this.running) return this.closing ?? Promise.resolve();
    this.running = false;
    this.cancelTimer();
    if (this.hold !== null) clearInterval(this.hold);
    this.hold = null;
    const port = this.port;
    this.closing = new Promise<void>((resolve) => {
      if (port === null) {
        resolve();
        return;
      }
      this.onPortGone = resolve;
      // An open in flight finishes first; its callback sees !running and closes the port.
      if (port.isOpen) port.close();
    }).then(() => {
      this.port = null;
      this.onPortGone = null;
      this.setState({ state: 'disconnected', detail: 'stopped', stopped: true });
    });
    return this.closing;
  }

  write(data: Buffer | string): boolean {
    const port = this.port;
    if (port === null || this.current !== 'connected') return false;
    const length = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    if (port.writableLength + length > this.maxWriteBufferBytes) {
      this.logger.warn('outgoing buffer full; write dropped', { bytes: length });
      return false;
    }
    port.write(data);
    return true;
  }

  private open(): void {
    this.timer = null;
    if (!this.running) return;
    const attempt = this.backoff.attempt;
    this.openedAt = null;
    this.setState({
      state: 'connecting',
      detail: `opening ${this.description}${attempt > 0 ? ` (retry ${attempt})` : ''}`,
    });
    let port: SerialPortLike;
    try {
      port = this.createPort(this.options.path, this.serial);
    } catch (error) {
      // serialport validates settings synchronously (e.g. a baud rate the platform refuses).
      this.retry(describeError(error));
      return;
    }
    this.port = port;
    let lastError: unknown = null;
    port.on('error', (error) => {
      lastError = error;
      this.logger.debug('serial port error', { error: describeError(error) });
    });
    // Chunks go straight to the listeners: the link buffers nothing itself (SPEC §8).
    port.on('data', (chunk) => {
      if (this.port === port) this.listeners.data(chunk);
    });
    port.open((error) => {
      if (error) {
        this.portGone(port, `cannot open: ${describeError(error)}`);
        return;
      }
      if (!this.running) {
        port.close();
        port.once('close', () => this.portGone(port, 'stopped'));
        return;
      }
      this.openedAt = this.clock.now();
      this.setState({ state: 'connected', detail: `opened ${this.description}` });
      port.once('close', (closeError) => {
        const cause = closeError ?? lastError;
        this.portGone(port, cause ? describeError(cause) : 'the port closed');
      });
    });
  }

  private portGone(port: SerialPortLike, reason: string): void {
    if (this.port !== port) return;
    this.port = null;
    if (!this.running) {
      this.onPortGone?.();
      return;
    }
    if (this.openedAt !== null && this.clock.now() - this.openedAt >= this.stableAfterMs)
      this.backoff.reset();
    this.retry(reason);
  }

  private retry(reason: string): void {
    const delay = this.backoff.next();
    this.setState({ state: 'disconnected', detail: `${reason}; retrying in ${delay} ms`, retryInMs: delay });
    this.timer = this.clock.setTimeout(() => this.open(), delay);
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
