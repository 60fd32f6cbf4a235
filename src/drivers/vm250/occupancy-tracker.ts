/**
 * The VM-250 occupancy state machine (SPEC §1.1 "Occupancy rules"): decoded lines in, lane
 * events out. Pure — times come with each call, events leave through `emit`; no timers, no I/O —
 * so the live driver, replay and tests drive it line by line.
 *
 * Decisions where the SPEC is silent:
 * - Pre-trigger: the first 5 gamma samples (GS/GA) of an occupancy that arrive within 100 ms of
 *   its first gamma sample (the burst shares one time) are pre-trigger, timed trigger − 1.0 s …
 *   − 0.2 s, trigger = the burst's time. A partial occupancy that starts mid-run has no burst.
 * - Late samples: a GX carrying a daily-file time is held until the next line; sample lines
 *   (GS/GA/NS/NA) stamped with exactly the GX's time are emitted as samples of the ended
 *   occupancy, *before* its end event, so consumers see each occupancy complete.
 * - Abnormal ends (no GX) are timed at the last occupancy line, the best estimate of when the
 *   vehicle left; `reason` says why the gateway closed it.
 * - Gap: an occupancy line more than `gapFaultMs` after the previous one raises an
 *   `occupancy-gap` fault (cleared by the next occupancy line); `tick` raises it while the gap
 *   lasts. No gap fault once background lines have resumed: that is a missing GX, not a gap.
 * - `partial` start: the first line seen since creation or link loss is an occupancy line.
 * - A GX with no open occupancy only sets the continuation window; it is otherwise ignored.
 *
 * What each event carries, and the channel order, are in tracker-events.ts.
 */
import type { BackgroundFault, FaultCode, LaneEvent, Radiation } from '../../domain/lane-events.js';
import type { CountRecord, DecodeResult } from './records.js';
import {
  abnormalEndEvent,
  badInputEvent,
  deviceEndEvent,
  duplicateLineEvent,
  GAMMA_INTERVAL_MS,
  gapFaultEvent,
  mapCounts,
  normaliseOrder,
  occupancyStartEvent,
  sampleEvent,
  type AbnormalEndReason,
  type HeldEnd,
} from './tracker-events.js';

export interface Vm250TrackerOptions {
  lane: string;
  emit: (e: LaneEvent) => void;
  /** channelOrder[k]: the wire position of canonical channel k (tracker-events.ts). Default identity. */
  channelOrder?: readonly number[];
  firstSeq?: number;
  /** Close an occupancy without GX once background lines have resumed this long. Default 10000. */
  backgroundResumeCloseMs?: number;
  /** Silence inside an occupancy that raises an `occupancy-gap` fault. Default 3000. */
  gapFaultMs?: number;
}

export interface Vm250Tracker {
  /**
   * one decoded line with its time in epoch ms (receipt time live; resolved file time in replay) and the raw line (for duplicate detection / bad-input records).
   * `repeat` (optional): the caller already compared this line with the previous one byte for
   * byte (replay does, in its buffer, to avoid making a string per line). When given, `raw` is
   * not compared and is only used in bad-input events: it may then be '' for a count line that
   * is not a repeat.
   */
  line(result: DecodeResult, time: number, raw: string, repeat?: boolean): void;
  /** time passes with no line (live): lets the 10 s background-resumed rule fire */
  tick(time: number): void;
  linkLost(time: number): void;
  /** end of a replayed input: close any open occupancy as 'input-ended' */
  inputEnded(time: number): void;
  readonly occupied: boolean; // lets the driver choose its silence timeout (200 ms vs 5 s cadence)
  readonly nextSeq: number;
}

const PRE_TRIGGER_SAMPLES = 5;
const BURST_TOLERANCE_MS = 100;
const CONTINUATION_MS = 1000;

interface OpenOccupancy {
  readonly seq: number;
  /** Already running when the gateway started listening: no pre-trigger burst to expect. */
  readonly partial: boolean;
  lastLineTime: number;
  gammaSamples: number;
  firstGammaTime: number;
  gammaAlarm: boolean;
  neutronAlarm: boolean;
  /** Time of the first background line after the last occupancy line, or -1. */
  backgroundSince: number;
  gapActive: boolean;
}

export function createVm250Tracker(o: Vm250TrackerOptions): Vm250Tracker {
  return new Tracker(o);
}

class Tracker implements Vm250Tracker {
  private readonly lane: string;
  private readonly emit: (e: LaneEvent) => void;
  private readonly order: readonly number[] | null;
  private readonly closeMs: number;
  private readonly gapMs: number;
  private seq: number;
  private occ: OpenOccupancy | null = null;
  private held: HeldEnd | null = null;
  private lastGxTime = -Infinity;
  private prevRaw: string | null = null;
  private prevTime = NaN;
  private sawAnyLine = false;
  private dataSinceSetup = false;
  private inRestartDump = false;
  private gammaFault: FaultCode | null = null;
  private neutronFault: FaultCode | null = null;

  constructor(o: Vm250TrackerOptions) {
    this.lane = o.lane;
    this.emit = o.emit;
    this.order = normaliseOrder(o.channelOrder);
    this.closeMs = o.backgroundResumeCloseMs ?? 10_000;
    this.gapMs = o.gapFaultMs ?? 3000;
    this.seq = o.firstSeq ?? 1;
  }

  get occupied(): boolean {
    return this.occ !== null;
  }

  get nextSeq(): number {
    return this.seq;
  }

  line(result: DecodeResult, time: number, raw: string, repeat?: boolean): void {
    let same: boolean;
    if (repeat === undefined) {
      // Byte-identical lines with a file time resolve to the same time: compare numbers first,
      // strings only then (the hot path must not compare every line's text).
      same = time === this.prevTime && raw === this.prevRaw;
      this.prevRaw = raw;
      this.prevTime = time;
    } else {
      same = repeat;
    }
    if (same && result.type !== 'malformed' && result.time !== null && !this.inBurst(result, time)) {
      this.emit(duplicateLineEvent(this.lane, time, raw));
      return;
    }
    if (this.held !== null) {
      if (
        result.type === 'count' &&
        result.time !== null &&
        time === this.held.time &&
        isSampleTag(result.tag)
      ) {
        this.lateSample(result, time);
        return;
      }
      this.releaseHeld();
    }
    const occ = this.occ;
    if (occ !== null && occ.backgroundSince >= 0 && time - occ.backgroundSince >= this.closeMs) {
      this.close('background-resumed');
    }
    switch (result.type) {
      case 'count':
        this.count(result, time);
        break;
      case 'speed': {
        const seq = this.occupancyLine(time).seq;
        this.emit({ kind: 'speed', lane: this.lane, time, seq, speedKph: result.kph });
        break;
      }
      case 'occupancy-end':
        this.sawAnyLine = true;
        this.gx(time, result.index, result.neutronBackgroundX1000 / 1000, result.time !== null);
        break;
      case 'tamper':
        this.emit({ kind: 'tamper', lane: this.lane, time, active: result.active });
        break;
      case 'setup':
        this.setup(result.tag, result.values, time);
        return; // a setup line is not "data" for restart detection
      case 'unknown':
        this.emit({ kind: 'unknown-record', lane: this.lane, time, tag: result.tag, fields: result.fields });
        break;
      case 'malformed':
        this.emit(badInputEvent(this.lane, time, 'malformed-line', result.reason, raw));
        break;
    }
    this.dataSinceSetup = true;
    this.inRestartDump = false;
  }

  tick(time: number): void {
    this.releaseHeld();
    const occ = this.occ;
    if (occ === null) return;
    if (occ.backgroundSince >= 0 && time - occ.backgroundSince >= this.closeMs) {
      this.close('background-resumed');
    } else if (!occ.gapActive && occ.backgroundSince < 0 && time - occ.lastLineTime > this.gapMs) {
      occ.gapActive = true;
      this.emit(gapFaultEvent(this.lane, time, true, time - occ.lastLineTime));
    }
  }

  linkLost(_time: number): void {
    this.releaseHeld();
    if (this.occ !== null) this.close('link-lost');
    this.prevRaw = null;
    this.sawAnyLine = false;
    this.dataSinceSetup = false;
    this.lastGxTime = -Infinity;
  }

  inputEnded(_time: number): void {
    this.releaseHeld();
    if (this.occ !== null) this.close('input-ended');
  }

  // ---- line kinds ---------------------------------------------------------------------------

  private count(r: CountRecord, time: number): void {
    const tag = r.tag;
    switch (tag) {
      case 'GS':
      case 'GA':
        this.gammaSample(r, time, tag === 'GA');
        return;
      case 'NS':
      case 'NA': {
        const occ = this.occupancyLine(time);
        if (tag === 'NA') occ.neutronAlarm = true;
        const counts = mapCounts(this.order, r.counts);
        this.emit(sampleEvent(this.lane, time, occ.seq, 'neutron', counts, tag === 'NA', false));
        return;
      }
      case 'GB':
        return this.background(r, time, 'gamma', 'none');
      case 'GH':
        return this.background(r, time, 'gamma', 'high');
      case 'GL':
        return this.background(r, time, 'gamma', 'low');
      case 'NB':
        return this.background(r, time, 'neutron', 'none');
      case 'NH':
        return this.background(r, time, 'neutron', 'high');
    }
  }

  private gammaSample(r: CountRecord, time: number, alarm: boolean): void {
    const occ = this.occupancyLine(time);
    if (occ.gammaSamples === 0) occ.firstGammaTime = time;
    const k = occ.gammaSamples++;
    const pre = !occ.partial && k < PRE_TRIGGER_SAMPLES && time - occ.firstGammaTime < BURST_TOLERANCE_MS;
    if (alarm) occ.gammaAlarm = true;
    const at = pre ? occ.firstGammaTime - (PRE_TRIGGER_SAMPLES - k) * GAMMA_INTERVAL_MS : time;
    this.emit(sampleEvent(this.lane, at, occ.seq, 'gamma', mapCounts(this.order, r.counts), alarm, pre));
  }

  /** A sample stamped with the time of the GX just before it: it belongs to that occupancy. */
  private lateSample(r: CountRecord, time: number): void {
    const held = this.held!;
    const gamma = r.tag === 'GS' || r.tag === 'GA';
    const alarm = r.tag === 'GA' || r.tag === 'NA';
    if (alarm && gamma) held.gammaAlarm = true;
    if (alarm && !gamma) held.neutronAlarm = true;
    const counts = mapCounts(this.order, r.counts);
    this.emit(sampleEvent(this.lane, time, held.seq, gamma ? 'gamma' : 'neutron', counts, alarm, false));
  }

  private background(r: CountRecord, time: number, radiation: Radiation, fault: BackgroundFault): void {
    this.sawAnyLine = true;
    const occ = this.occ;
    if (occ !== null && occ.backgroundSince < 0) occ.backgroundSince = time;
    const code: FaultCode | null =
      fault === 'none' ? null : (`${radiation}-${fault}-background` as FaultCode);
    const active = radiation === 'gamma' ? this.gammaFault : this.neutronFault;
    if (active !== code) {
      if (active !== null) this.fault(time, active, false, 'background back within limits');
      if (code !== null) this.fault(time, code, true, `${tagOf(r)} ${r.counts.join(' ')} cps`);
      if (radiation === 'gamma') this.gammaFault = code;
      else this.neutronFault = code;
    }
    const cps = mapCounts(this.order, r.counts);
    this.emit({ kind: 'background', lane: this.lane, time, radiation, cps, fault });
  }

  private gx(time: number, index: number, neutronCps: number, fromFile: boolean): void {
    this.lastGxTime = time;
    const occ = this.occ;
    if (occ === null) return;
    this.clearGap(occ, time);
    this.occ = null;
    const held: HeldEnd = {
      seq: occ.seq,
      time,
      index,
      neutronCps,
      gammaAlarm: occ.gammaAlarm,
      neutronAlarm: occ.neutronAlarm,
    };
    this.held = held;
    if (!fromFile) this.releaseHeld();
  }

  private setup(
    section: string,
    values: Readonly<Record<string, number | string | null>>,
    time: number,
  ): void {
    const restarted = this.dataSinceSetup || this.inRestartDump;
    if (this.dataSinceSetup) {
      this.inRestartDump = true;
      this.dataSinceSetup = false;
      if (this.occ !== null) this.close('device-restart');
    }
    this.emit({ kind: 'device-config', lane: this.lane, time, section, values, restarted });
  }

  // ---- occupancy bookkeeping ----------------------------------------------------------------

  /** An occupancy line (GS/GA/NS/NA/SP): start an occupancy if none is open. */
  private occupancyLine(time: number): OpenOccupancy {
    let occ = this.occ;
    if (occ === null) {
      occ = {
        seq: this.seq++,
        partial: !this.sawAnyLine,
        lastLineTime: time,
        gammaSamples: 0,
        firstGammaTime: time,
        gammaAlarm: false,
        neutronAlarm: false,
        backgroundSince: -1,
        gapActive: false,
      };
      this.occ = occ;
      const sinceGx = time - this.lastGxTime;
      const continuation = sinceGx >= 0 && sinceGx <= CONTINUATION_MS;
      this.emit(occupancyStartEvent(this.lane, time, occ.seq, continuation, occ.partial));
      this.sawAnyLine = true;
      return occ;
    }
    const silent = time - occ.lastLineTime;
    if (silent > this.gapMs && !occ.gapActive && occ.backgroundSince < 0) {
      occ.gapActive = true;
      this.emit(gapFaultEvent(this.lane, time, true, silent));
    }
    this.clearGap(occ, time);
    occ.lastLineTime = time;
    occ.backgroundSince = -1;
    return occ;
  }

  private clearGap(occ: OpenOccupancy, time: number): void {
    if (!occ.gapActive) return;
    occ.gapActive = false;
    this.emit(gapFaultEvent(this.lane, time, false, time - occ.lastLineTime));
  }

  private close(reason: AbnormalEndReason): void {
    const occ = this.occ!;
    const time = occ.lastLineTime;
    this.clearGap(occ, time);
    this.occ = null;
    this.emit(abnormalEndEvent(this.lane, time, occ.seq, reason, occ.gammaAlarm, occ.neutronAlarm));
  }

  private releaseHeld(): void {
    const h = this.held;
    if (h === null) return;
    this.held = null;
    this.emit(deviceEndEvent(this.lane, h));
  }

  /** Inside the pre-trigger burst, repeated identical lines are expected (simulators). */
  private inBurst(r: DecodeResult, time: number): boolean {
    const occ = this.occ;
    return (
      occ !== null &&
      r.type === 'count' &&
      (r.tag === 'GS' || r.tag === 'GA') &&
      occ.gammaSamples > 0 &&
      occ.gammaSamples < PRE_TRIGGER_SAMPLES &&
      time - occ.firstGammaTime < BURST_TOLERANCE_MS
    );
  }

  private fault(time: number, code: FaultCode, active: boolean, detail: string): void {
    this.emit({ kind: 'fault', lane: this.lane, time, code, active, detail });
  }
}

function isSampleTag(tag: string): boolean {
  return tag === 'GS' || tag === 'GA' || tag === 'NS' || tag === 'NA';
}

function tagOf(r: CountRecord): string {
  return r.tag;
}
