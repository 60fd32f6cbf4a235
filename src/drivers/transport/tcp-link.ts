/**
 * TCP client link (SPEC §1.1: the RPM is the TCP server, the gateway the one client). Connects,
 * and after any error, close or connect timeout reconnects with capped exponential back-off
 * (SPEC §8) until stopped.
 */
import net from 'node:net';
import type { Clock } from '../../core/clock.js';
import { describeError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { BackoffOptions } from './backoff.js';
import type { ByteLink } from './byte-link.js';
import { ReconnectingLink } from './reconnecting-link.js';

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

class TcpLink extends ReconnectingLink<net.Socket> {
  private readonly connectTimeoutMs: number;
  private readonly keepAliveMs: number;

  constructor(private readonly options: TcpLinkOptions) {
    const description = `tcp://${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
    super({
      description,
      logName: description,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
      stableAfterMs: options.stableAfterMs ?? 5000,
      maxWriteBufferBytes: options.maxWriteBufferBytes ?? 64 * 1024,
    });
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    this.keepAliveMs = options.keepAliveMs ?? 5000;
  }

  protected attempt(retry: number): void {
    this.connecting(`connecting to ${this.description}${retry > 0 ? ` (retry ${retry})` : ''}`);
    const socket = net.createConnection({ host: this.options.host, port: this.options.port });
    this.own(socket);
    socket.setKeepAlive(true, this.keepAliveMs);
    this.deadline(this.connectTimeoutMs, () =>
      socket.destroy(new Error(`no connection within ${this.connectTimeoutMs} ms`)),
    );
    let lastError: unknown = null;
    socket.once('connect', () => this.up(`connected to ${this.description}`));
    socket.on('data', (chunk: Buffer) => this.received(socket, chunk));
    socket.on('error', (error) => {
      lastError = error;
    });
    socket.once('close', () => {
      if (!this.isCurrent(socket)) return;
      const reason =
        lastError !== null
          ? describeError(lastError)
          : this.wasUp
            ? 'the device closed the connection'
            : 'the connection closed before it was established';
      this.down(socket, reason);
    });
  }

  protected close(socket: net.Socket): void {
    socket.destroy();
  }

  protected buffered(socket: net.Socket): number {
    return socket.writableLength;
  }

  protected override writable(socket: net.Socket): boolean {
    return socket.writable;
  }

  protected send(socket: net.Socket, data: Buffer | string): void {
    socket.write(data);
  }
}
