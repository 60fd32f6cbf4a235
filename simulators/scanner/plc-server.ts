/**
 * The scanner simulator (SPEC §2): a PLC register model served over Modbus TCP (modbus-serial's
 * ServerTCP, as the Modbus RPM simulator) and, on each scan, a synthetic radiograph dropped into
 * the inbox. Commands arrive on the command register (function 0x06): arm → ready, start →
 * scanning (interlock closed, radiation on) → the scan is written, the counter advances → ready.
 */
import modbusSerial from 'modbus-serial';
import type { IServiceVector } from 'modbus-serial/ServerTCP.js';
import {
  DEFAULT_PLC_MAP,
  decodeCommand,
  encodePlc,
  type PlcMap,
  type ScannerState,
} from '../../src/drivers/scanner/plc-map.js';
import { dropScan, type DropFormat } from './inbox-writer.js';
import { makePhantom, type PhantomOptions } from './phantom.js';

export interface ScannerModelOptions {
  readonly map?: PlcMap;
  readonly inbox?: string;
  readonly lane?: string;
  readonly seed?: string;
  readonly scanMs?: number;
  readonly format?: DropFormat;
  readonly phantom?: Omit<PhantomOptions, 'seed'>;
}

export class ScannerPlcModel {
  readonly map: PlcMap;
  state: ScannerState = 'idle';
  counter = 0;
  faultCode = 0;
  vehiclePresent = false;
  private pending: Promise<void> = Promise.resolve();

  constructor(private readonly o: ScannerModelOptions = {}) {
    this.map = o.map ?? DEFAULT_PLC_MAP;
  }

  registers(): number[] {
    return encodePlc(this.map, {
      state: this.state,
      interlockClosed: this.state === 'scanning' || this.state === 'ready',
      radiationOn: this.state === 'scanning',
      vehiclePresent: this.vehiclePresent,
      remoteEnabled: true,
      emergencyStop: false,
      scanCounter: this.counter,
      faultCode: this.faultCode,
      energyMode: this.o.phantom?.energies ?? 1,
    });
  }

  fault(code: number): void {
    this.state = 'fault';
    this.faultCode = code;
  }

  /** Apply a command register write. */
  write(value: number): void {
    switch (decodeCommand(this.map, value)) {
      case 'arm':
        if (this.state === 'idle') this.state = 'ready';
        break;
      case 'start':
        if (this.state === 'ready') this.startScan();
        break;
      case 'stop':
        if (this.state !== 'fault') this.state = 'idle';
        break;
      case 'reset':
        if (this.state === 'fault') {
          this.state = 'idle';
          this.faultCode = 0;
        }
        break;
      case null:
        break;
    }
  }

  /** Resolves when the scan in progress (if any) has been written. */
  settled(): Promise<void> {
    return this.pending;
  }

  private startScan(): void {
    this.state = 'scanning';
    this.vehiclePresent = true;
    const n = this.counter + 1;
    this.pending = (async () => {
      await new Promise((r) => setTimeout(r, this.o.scanMs ?? 200));
      if (this.o.inbox) {
        const p = makePhantom({
          seed: `${this.o.seed ?? 'scanner'}-${n}`,
          anomalies: n % 3,
          ...this.o.phantom,
        });
        await dropScan(this.o.inbox, p, {
          scanId: `SCAN-${String(n).padStart(6, '0')}`,
          ...(this.o.lane ? { lane: this.o.lane } : {}),
          ...(this.o.format ? { format: this.o.format } : {}),
        });
      }
      this.counter = n;
      this.vehiclePresent = false;
      if (this.state === 'scanning') this.state = 'ready';
    })().catch(() => {
      // The inbox could not be written (gone, full, no rights): a real scanner would report a
      // fault rather than crash, and so does this one.
      this.vehiclePresent = false;
      this.state = 'fault';
    });
  }
}

type Cb<T> = (err: { modbusErrorCode: number } | null, value: T) => void;

export interface ScannerPlcServer {
  readonly host: string;
  readonly port: number;
  readonly model: ScannerPlcModel;
  close(): Promise<void>;
}

/**
 * The model's registers as a modbus-serial service vector (TCP server and RTU slave alike): the
 * status block to read, the command register to write; anything else is exception 2.
 */
export function scannerServiceVector(model: ScannerPlcModel): IServiceVector {
  const base = model.map.base;
  const read = (addr: number, length: number, cb: Cb<number[]>): void => {
    const regs = model.registers();
    if (addr < base || addr + length > base + regs.length) return cb({ modbusErrorCode: 2 }, []);
    cb(null, regs.slice(addr - base, addr - base + length));
  };
  return {
    getMultipleHoldingRegisters: (addr: number, length: number, _unit: number, cb: Cb<number[]>) =>
      read(addr, length, cb),
    getHoldingRegister: (addr: number, _unit: number, cb: Cb<number>) =>
      read(addr, 1, (e, v) => cb(e, v[0] ?? 0)),
    setRegister: (addr: number, value: number, _unit: number, cb: Cb<void>) => {
      if (addr !== base + model.map.offsets.command) return cb({ modbusErrorCode: 2 }, undefined);
      model.write(value);
      cb(null, undefined);
    },
  } as IServiceVector;
}

/** Serve the model over Modbus TCP on `port` (0 = a free port). */
export async function startScannerPlcServer(
  options: ScannerModelOptions & { host?: string; port?: number } = {},
): Promise<ScannerPlcServer> {
  const host = options.host ?? '127.0.0.1';
  const model = new ScannerPlcModel(options);
  const vector = scannerServiceVector(model);
  const net = await import('node:net');
  const port =
    options.port && options.port !== 0
      ? options.port
      : await new Promise<number>((resolve, reject) => {
          const probe = net.createServer();
          probe.once('error', reject);
          probe.listen({ host, port: 0 }, () => {
            const a = probe.address();
            const p = typeof a === 'object' && a !== null ? a.port : 0;
            probe.close(() => resolve(p));
          });
        });
  const server = await new Promise<InstanceType<typeof modbusSerial.ServerTCP>>((resolve, reject) => {
    const s = new modbusSerial.ServerTCP(vector, { host, port, unitID: 255 });
    s.once('serverError', (e: Error | null) => reject(e ?? new Error('ServerTCP failed')));
    s.once('initialized', () => {
      s.on('socketError', () => undefined);
      s.on('serverError', () => undefined);
      resolve(s);
    });
  });
  let closing: Promise<void> | null = null;
  return {
    host,
    port,
    model,
    close() {
      // Let a scan in progress finish writing before the caller removes the inbox.
      closing ??= model.settled().then(() => new Promise<void>((resolve) => server.close(() => resolve())));
      return closing;
    },
  };
}
