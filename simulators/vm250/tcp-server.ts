/**
 * A VM-250 RPM on Ethernet (SPEC §1.1, §2): a TCP server pushing the simulated lane's lines in
 * real time. Every connected client receives the same lines (a device that pushes to every
 * client); a client that connects mid-occupancy gets only the rest of it. The stream runs from
 * start() whether or not anyone listens, like the device. A `link-drop` in the scenario closes
 * every client and refuses new ones until it is over.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { StreamPacer, type PacerOptions } from './pacer.js';
import {
  vm250Stream,
  type Vm250OccupancyTruth,
  type Vm250StreamItem,
  type Vm250StreamOptions,
} from './stream.js';

export interface Vm250TcpServerOptions extends Vm250StreamOptions, PacerOptions {
  /** 0 (default) picks a free port; read it from start()'s result or `port`. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** A client that lets this much output pile up unread is dropped (bounded memory). Default 1 MiB. */
  readonly maxBufferedBytes?: number;
}

export interface Vm250SimulatorEvents {
  /** The ground truth of each occupancy, when its GX time is reached. */
  occupancy: [truth: Vm250OccupancyTruth];
  /** Each line as it is sent (without CR LF). */
  line: [line: string];
  /** A finite scenario has played to its end. */
  done: [];
  error: [error: Error];
}

export class Vm250TcpServer extends EventEmitter<Vm250SimulatorEvents & { connection: [remote: string] }> {
  private server: Server | null = null;
  private pacer: StreamPacer<Vm250StreamItem> | null = null;
  private readonly sockets = new Set<Socket>();
  private linkDownUntil = -1;
  private starting: Promise<{ host: string; port: number }> | null = null;
  private stopping: Promise<void> | null = null;
  private boundPort = 0;

  constructor(private readonly options: Vm250TcpServerOptions) {
    super();
  }

  /** The listening port (0 before start()). */
  get port(): number {
    return this.boundPort;
  }

  get clientCount(): number {
    return this.sockets.size;
  }

  /** Listen and start the stream. Idempotent: a second call returns the same address. */
  start(): Promise<{ host: string; port: number }> {
    this.starting ??= new Promise((resolve, reject) => {
      const host = this.options.host ?? '127.0.0.1';
      const server = createServer((socket) => this.accept(socket));
      this.server = server;
      server.once('error', reject);
      server.listen(this.options.port ?? 0, host, () => {
        server.off('error', reject);
        server.on('error', (e) => {
          if (this.listenerCount('error') > 0) this.emit('error', e);
        });
        const address = server.address();
        this.boundPort = typeof address === 'object' && address !== null ? address.port : 0;
        this.pacer = new StreamPacer(
          vm250Stream(this.options),
          (item) => this.deliver(item),
          () => this.emit('done'),
          this.options,
        );
        this.pacer.start();
        resolve({ host, port: this.boundPort });
      });
    });
    return this.starting;
  }

  /** Stop the stream, close every client and the listener. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.starting) await this.starting.catch(() => undefined);
      this.pacer?.stop();
      for (const s of this.sockets) s.destroy();
      this.sockets.clear();
      const server = this.server;
      if (server?.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    })();
    return this.stopping;
  }

  private accept(socket: Socket): void {
    if (this.pacer === null || this.pacer.done || this.pacer.streamTimeMs() < this.linkDownUntil) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.on('error', () => socket.destroy()); // a client going away is not the device's problem
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('data', () => {}); // the device ignores what clients send
    this.emit('connection', `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`);
  }

  private deliver(item: Vm250StreamItem): void {
    switch (item.kind) {
      case 'line':
        this.broadcast(`${item.line}\r\n`);
        this.emit('line', item.line);
        break;
      case 'corrupt':
        this.broadcast(Buffer.concat([item.bytes, Buffer.from('\r\n')]));
        break;
      case 'link-drop':
        this.linkDownUntil = item.atMs + item.durationMs;
        for (const s of this.sockets) s.destroy();
        this.sockets.clear();
        break;
      case 'occupancy':
        this.emit('occupancy', item.truth);
        break;
    }
  }

  private broadcast(data: string | Buffer): void {
    const limit = this.options.maxBufferedBytes ?? 1 << 20;
    for (const s of this.sockets) {
      if (s.writableLength > limit) {
        s.destroy();
        this.sockets.delete(s);
        continue;
      }
      s.write(data);
    }
  }
}
