/**
 * A VM-250 RPM on RS-232 (SPEC §1.1, §2): the simulated lane's lines, paced in real time,
 * written to one end of a socat pty pair through `serialport`; the driver opens the other end
 * (`path`). With `devicePath` it writes to an existing port instead (bench tests with a
 * null-modem cable to real equipment). A link drop has no meaning on a serial line: those
 * lines are simply missing, like a silent device.
 */
import { EventEmitter } from 'node:events';
import { SerialPort } from 'serialport';
import { createPtyPair, type PtyPair, type PtyPairOptions } from '../../src/drivers/transport/pty-pair.js';
import { StreamPacer, type PacerOptions } from './pacer.js';
import { vm250Stream, type Vm250StreamItem, type Vm250StreamOptions } from './stream.js';
import type { Vm250SimulatorEvents } from './tcp-server.js';

export interface Vm250SerialSimOptions extends Vm250StreamOptions, PacerOptions {
  /** Write to this existing port instead of creating a pty pair. */
  readonly devicePath?: string;
  /** Options for the pty pair (e.g. stable `linkA`/`linkB` names). */
  readonly pty?: PtyPairOptions;
  /** Default 9600 (SPEC §1.1 default; a pty ignores it). */
  readonly baudRate?: number;
  /** Output not taken by the other end beyond this is dropped (bounded memory). Default 64 KiB. */
  readonly maxBufferedBytes?: number;
}

export class Vm250SerialSim extends EventEmitter<Vm250SimulatorEvents> {
  private pair: PtyPair | null = null;
  private port: SerialPort | null = null;
  private pacer: StreamPacer<Vm250StreamItem> | null = null;
  private starting: Promise<{ path: string; devicePath: string }> | null = null;
  private stopping: Promise<void> | null = null;
  private clientPath = '';
  /** Lines not written because the other end was not reading. */
  droppedLines = 0;

  constructor(private readonly options: Vm250SerialSimOptions) {
    super();
  }

  /** The path the driver opens ('' before start()). */
  get path(): string {
    return this.clientPath;
  }

  /** Create the pty pair (unless devicePath), open our end and start the stream. Idempotent. */
  start(): Promise<{ path: string; devicePath: string }> {
    this.starting ??= (async () => {
      let devicePath = this.options.devicePath;
      if (devicePath === undefined) {
        this.pair = await createPtyPair(this.options.pty);
        devicePath = this.pair.a;
        this.clientPath = this.pair.b;
      } else {
        this.clientPath = devicePath;
      }
      const port = new SerialPort({
        path: devicePath,
        baudRate: this.options.baudRate ?? 9600,
        autoOpen: false,
      });
      await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
      port.on('error', (e) => {
        if (this.listenerCount('error') > 0) this.emit('error', e);
      });
      port.on('data', () => {}); // the device ignores what the driver sends
      this.port = port;
      this.pacer = new StreamPacer(
        vm250Stream(this.options),
        (item) => this.deliver(item),
        () => this.emit('done'),
        this.options,
      );
      this.pacer.start();
      return { path: this.clientPath, devicePath };
    })();
    return this.starting;
  }

  /** Stop the stream, close the port and the pty pair. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.starting) await this.starting.catch(() => undefined);
      this.pacer?.stop();
      const port = this.port;
      if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
      await this.pair?.close();
    })();
    return this.stopping;
  }

  private deliver(item: Vm250StreamItem): void {
    switch (item.kind) {
      case 'line':
        this.write(`${item.line}\r\n`);
        this.emit('line', item.line);
        break;
      case 'corrupt':
        this.write(Buffer.concat([item.bytes, Buffer.from('\r\n')]));
        break;
      case 'link-drop':
        break;
      case 'occupancy':
        this.emit('occupancy', item.truth);
        break;
    }
  }

  private write(data: string | Buffer): void {
    const port = this.port;
    if (!port?.isOpen) return;
    if (port.writableLength > (this.options.maxBufferedBytes ?? 64 * 1024)) {
      this.droppedLines++;
      return;
    }
    port.write(data);
  }
}
