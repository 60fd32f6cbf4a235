/**
 * Serial link over `serialport` (SPEC §1.1: RS-232, settings from the device address). When
 * the port errors or disappears — a USB adapter pulled, a pty's socat gone — it reports
 * 'disconnected' and retries opening the same path with capped back-off until it is back.
 */
import { SerialPort } from 'serialport';
import type { Clock } from '../../core/clock.js';
import { describeError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { BackoffOptions } from './backoff.js';
import type { ByteLink } from './byte-link.js';
import { ReconnectingLink } from './reconnecting-link.js';
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

class SerialLink extends ReconnectingLink<SerialPortLike> {
  private readonly serial: SerialSettings;
  private readonly createPort: (path: string, serial: SerialSettings) => SerialPortLike;

  constructor(private readonly options: SerialLinkOptions) {
    const serial = options.serial ?? DEFAULT_SERIAL_SETTINGS;
    super({
      description: `serial://${options.path} (${describeSerialSettings(serial)})`,
      logName: `serial://${options.path}`,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
      stableAfterMs: options.stableAfterMs ?? 5000,
      maxWriteBufferBytes: options.maxWriteBufferBytes ?? 16 * 1024,
    });
    this.serial = serial;
    this.createPort = options.createPort ?? openRealPort;
  }

  protected attempt(retry: number): void {
    this.connecting(`opening ${this.description}${retry > 0 ? ` (retry ${retry})` : ''}`);
    let port: SerialPortLike;
    try {
      port = this.createPort(this.options.path, this.serial);
    } catch (error) {
      // serialport validates settings synchronously (e.g. a baud rate the platform refuses).
      this.retryLater(describeError(error));
      return;
    }
    this.own(port);
    let lastError: unknown = null;
    port.on('error', (error) => {
      lastError = error;
      this.logger.debug('serial port error', { error: describeError(error) });
    });
    port.on('data', (chunk) => this.received(port, chunk));
    port.open((error) => {
      if (error) {
        this.down(port, `cannot open: ${describeError(error)}`);
        return;
      }
      if (!this.started) {
        // stop() came while the open was in flight: close what just opened.
        port.close();
        port.once('close', () => this.down(port, 'stopped'));
        return;
      }
      this.up(`opened ${this.description}`);
      port.once('close', (closeError) => {
        const cause = closeError ?? lastError;
        this.down(port, cause ? describeError(cause) : 'the port closed');
      });
    });
  }

  /** An open in flight finishes first; its callback sees the stop and closes the port. */
  protected close(port: SerialPortLike): void {
    if (port.isOpen) port.close();
  }

  protected buffered(port: SerialPortLike): number {
    return port.writableLength;
  }

  protected send(port: SerialPortLike, data: Buffer | string): void {
    port.write(data);
  }
}
