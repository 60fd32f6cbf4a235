/**
 * The scanner PLC driver: polls the status block over a Modbus session (the same
 * modbus-client the Modbus RPM driver uses: one request at a time, timeouts, GatewayError codes)
 * and reports status changes; sends commands through an optional register writer. Reconnects
 * with capped back-off; a bad block is counted, reported when its reason changes, never a crash.
 *
 * The link's state is reported when it changes (`connection` events), not on every retry: a PLC
 * that stays unreachable is logged at its first failed poll, then again only for a new reason or
 * every 5 minutes with the attempts since ({@link LinkOutage}, as the lanes' drivers do).
 */
import type { Clock, TimerHandle } from '../../core/clock.js';
import type { Counters } from '../../core/counters.js';
import { GatewayError, describeError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { LinkOutage, retryingDetail } from '../transport/outage.js';
import { decodePlc, type PlcMap, type ScannerCommand, type ScannerStatus } from './plc-map.js';

/** What the driver needs of a Modbus link (ModbusSession satisfies the read side). */
export interface PlcLink {
  connect(): Promise<void>;
  readHoldingRegisters(unitId: number, address: number, length: number): Promise<number[]>;
  /** Function 0x06; optional — without it the driver is status-only. */
  writeRegister?(unitId: number, address: number, value: number): Promise<void>;
  close(): Promise<void>;
  readonly isOpen: boolean;
}

export type ScannerEvent =
  | {
      readonly kind: 'status';
      readonly time: number;
      readonly status: ScannerStatus;
      readonly previous: ScannerStatus | null;
    }
  | { readonly kind: 'scan-completed'; readonly time: number; readonly scanCounter: number }
  | {
      readonly kind: 'connection';
      readonly time: number;
      readonly state: 'connected' | 'disconnected';
      /** Why it is down ("connect ECONNREFUSED …; retrying in 1000 ms"), or the attempts it took to come up. */
      readonly detail: string;
    }
  | { readonly kind: 'bad-input'; readonly time: number; readonly detail: string };

export interface ScannerPlcDriverOptions {
  readonly link: PlcLink;
  readonly map: PlcMap;
  readonly unitId?: number;
  readonly pollMs?: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly counters: Counters;
  readonly onEvent: (event: ScannerEvent) => void;
  /** While the PLC stays unreachable for the same reason, it is logged again this often. Default 5 min. */
  readonly outageReminderMs?: number;
}

/** The link as last reported: `connecting` until the first poll succeeds or fails. */
export type PlcLinkState = 'connecting' | 'connected' | 'disconnected';

/** A scanner PLC as the API and the console show it ({@link ScannerPlcDriver.view}). */
export interface ScannerPlcView {
  readonly link: PlcLinkState;
  /** Why the link is down, or how it came up ("after 4 attempts"); null before the first poll. */
  readonly linkDetail: string | null;
  /**
   * Why the last block read could not be decoded (e.g. "signature 0x1234 is not 0x5343": the
   * site's register map does not match the PLC); null when it could.
   */
  readonly problem: string | null;
  /** The last status read; kept while the link is down (the PLC's last known state). */
  readonly status: ScannerStatus | null;
  /** ISO time of the last change of the link or the status (the driver's start before any). */
  readonly since: string;
}

export class ScannerPlcDriver {
  private timer: TimerHandle | null = null;
  private running = false;
  private last: ScannerStatus | null = null;
  private failures = 0;
  private linkState: PlcLinkState = 'connecting';
  private linkDetail: string | null = null;
  private problem: string | null = null;
  private changedAt: number;
  private readonly outage: LinkOutage;

  constructor(private readonly o: ScannerPlcDriverOptions) {
    this.outage = new LinkOutage(o.outageReminderMs);
    this.changedAt = o.clock.now();
  }

  view(): ScannerPlcView {
    return {
      link: this.linkState,
      linkDetail: this.linkDetail,
      problem: this.problem,
      status: this.last,
      since: new Date(this.changedAt).toISOString(),
    };
  }

  /** The last status read (kept while the link is down: the PLC's last known state). */
  get status(): ScannerStatus | null {
    return this.last;
  }

  get link(): PlcLinkState {
    return this.linkState;
  }

  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.running = true;
    this.schedule(0);
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    this.timer = null;
    await this.o.link.close();
  }

  /** Write a command to the PLC's command register. */
  async command(cmd: ScannerCommand): Promise<void> {
    const link = this.o.link;
    if (!link.writeRegister) {
      throw new GatewayError('MODBUS_EXCEPTION', 'this scanner link cannot write registers (status only)', {
        command: cmd,
      });
    }
    const address = this.o.map.base + this.o.map.offsets.command;
    await link.writeRegister(this.o.unitId ?? 1, address, this.o.map.commands[cmd]);
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timer = this.o.clock.setTimeout(() => void this.poll(), ms);
  }

  /** One poll: connect if needed, read, decode, report. Public for tests. */
  async poll(): Promise<void> {
    const { link, map, clock } = this.o;
    try {
      if (!link.isOpen) await link.connect();
      const regs = await link.readHoldingRegisters(this.o.unitId ?? 1, map.base, map.length);
      this.failures = 0;
      if (this.linkState !== 'connected') {
        const attempts = this.outage.up();
        this.linkState = 'connected';
        this.linkDetail = attempts > 1 ? `after ${attempts} attempts` : 'first attempt';
        this.changedAt = clock.now();
        this.o.onEvent({
          kind: 'connection',
          time: this.changedAt,
          state: 'connected',
          detail: this.linkDetail,
        });
      }
      const decoded = decodePlc(map, regs);
      if (!decoded.ok) {
        this.o.counters.increment('scanner.plc.bad-block');
        // Every poll of a PLC whose block is not understood (a site map that does not match) is
        // counted; it is news only when the reason changes.
        if (decoded.reason !== this.problem) {
          this.problem = decoded.reason;
          this.changedAt = clock.now();
          this.o.onEvent({ kind: 'bad-input', time: this.changedAt, detail: decoded.reason });
        }
      } else {
        const prev = this.last;
        const s = decoded.status;
        this.last = s;
        const cleared = this.problem !== null;
        this.problem = null;
        const changed =
          cleared ||
          !prev ||
          prev.state !== s.state ||
          prev.rawStatus !== s.rawStatus ||
          prev.faultCode !== s.faultCode ||
          prev.scanCounter !== s.scanCounter;
        if (changed) {
          this.changedAt = clock.now();
          this.o.onEvent({ kind: 'status', time: this.changedAt, status: s, previous: prev });
        }
        if (prev && s.scanCounter !== prev.scanCounter)
          this.o.onEvent({ kind: 'scan-completed', time: clock.now(), scanCounter: s.scanCounter });
      }
      this.schedule(this.o.pollMs ?? 500);
    } catch (error) {
      this.failures++;
      this.o.counters.increment('scanner.plc.errors');
      const cause = describeError(error);
      const retryInMs = Math.min(10_000, (this.o.pollMs ?? 500) * 2 ** Math.min(5, this.failures));
      const now = clock.now();
      const first = this.linkState !== 'disconnected';
      if (this.outage.failed(now, cause)) {
        this.o.logger.warn(first ? 'scanner PLC poll failed' : 'scanner PLC still failing', {
          error: cause,
          attempts: this.outage.attempts,
          retryInMs,
        });
      }
      if (link.isOpen && error instanceof GatewayError && error.code === 'TRANSPORT_CLOSED')
        await link.close();
      // Down from the first failed poll: a PLC that times out with its socket open is no better.
      if (first) {
        this.linkState = 'disconnected';
        this.linkDetail = retryingDetail(cause, retryInMs);
        this.changedAt = now;
        this.o.onEvent({ kind: 'connection', time: now, state: 'disconnected', detail: this.linkDetail });
      }
      this.schedule(retryInMs);
    }
  }
}
