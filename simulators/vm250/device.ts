/**
 * What a VM-250-style RPM decides on its own (SPEC §1.1): its setup, its background reports
 * (running means, fault tags) and its alarm verdicts (GA/NA). The real algorithm is not public;
 * this is the usual description: threshold = BG + NSigma·√BG on the 4-channel sum over the last
 * `Intervals` samples, and neutron alarms after `sequentialIntervals` intervals above background.
 */
import type { SetupRecord } from '../../src/drivers/vm250/records.js';

/** The device's configuration, as its SG1…SN2 setup dump reports it. */
export interface Vm250Setup {
  readonly highBackgroundFaultCps: number;
  readonly lowBackgroundFaultCps: number;
  readonly intervals: number;
  /** Extra 200 ms samples the occupancy is held after the sensors clear. */
  readonly occupancyHoldin: number;
  readonly nSigma: number;
  readonly detectorsOnline: string;
  readonly masterLld: number;
  readonly masterUld: number;
  readonly relay: number;
  readonly algorithm: string;
  readonly versionSuffix: string;
  readonly slaveLld: number;
  readonly slaveUld: number;
  /** Seconds of background averaged into each GB/NB report. */
  readonly backgroundTime: number;
  readonly backgroundSigma: number;
  readonly firmwareVersion: string;
  /** Per tube (cps). */
  readonly neutronHighBackgroundFaultCps: number;
  readonly neutronMaxIntervals: number;
  readonly neutronAlpha: number;
  /** Sigma above the neutron background for an interval to count as "above". */
  readonly neutronZmax: number;
  readonly neutronSequentialIntervals: number;
  readonly neutronBackgroundTime: number;
  readonly neutronMasterLld: number;
  readonly neutronMasterUld: number;
  readonly neutronSlaveLld: number;
  readonly neutronSlaveUld: number;
}

/** SPEC §1.1 defaults (Intervals 5, OccupancyHoldin 10, NSigma 6); the rest plausible values. */
export const DEFAULT_VM250_SETUP: Vm250Setup = {
  highBackgroundFaultCps: 4000,
  lowBackgroundFaultCps: 100,
  intervals: 5,
  occupancyHoldin: 10,
  nSigma: 6,
  detectorsOnline: '1111',
  masterLld: 70,
  masterUld: 2800,
  relay: 3,
  algorithm: '1010',
  versionSuffix: 'A',
  slaveLld: 70,
  slaveUld: 2800,
  backgroundTime: 20,
  backgroundSigma: 6,
  firmwareVersion: '1.10.1',
  neutronHighBackgroundFaultCps: 20,
  neutronMaxIntervals: 5,
  neutronAlpha: 0.1,
  neutronZmax: 3,
  neutronSequentialIntervals: 2,
  neutronBackgroundTime: 20,
  neutronMasterLld: 500,
  neutronMasterUld: 3000,
  neutronSlaveLld: 500,
  neutronSlaveUld: 3000,
};

function setupRecord(tag: SetupRecord['tag'], values: Record<string, number | string>): SetupRecord {
  // Empty `fields`: the codec encodes from the named values (one definition of the message).
  return { type: 'setup', tag, values, fields: [], time: null };
}

/** The setup dump SG1, SG2, SG3, SN1, SN2 the device sends at start-up. */
export function setupRecords(s: Vm250Setup): SetupRecord[] {
  return [
    setupRecord('SG1', {
      highBackgroundFaultCps: s.highBackgroundFaultCps,
      lowBackgroundFaultCps: s.lowBackgroundFaultCps,
      intervals: s.intervals,
      occupancyHoldin: s.occupancyHoldin,
      nSigma: s.nSigma,
    }),
    setupRecord('SG2', {
      detectorsOnline: s.detectorsOnline,
      masterLld: s.masterLld,
      masterUld: s.masterUld,
      relay: s.relay,
      algorithm: s.algorithm,
      versionSuffix: s.versionSuffix,
    }),
    setupRecord('SG3', {
      slaveLld: s.slaveLld,
      slaveUld: s.slaveUld,
      backgroundTime: s.backgroundTime,
      backgroundSigma: s.backgroundSigma,
      firmwareVersion: s.firmwareVersion,
    }),
    setupRecord('SN1', {
      highBackgroundFaultCps: s.neutronHighBackgroundFaultCps,
      maxIntervals: s.neutronMaxIntervals,
      alpha: s.neutronAlpha,
      zmax: s.neutronZmax,
      sequentialIntervals: s.neutronSequentialIntervals,
      backgroundTime: s.neutronBackgroundTime,
    }),
    setupRecord('SN2', {
      masterLld: s.neutronMasterLld,
      masterUld: s.neutronMasterUld,
      slaveLld: s.neutronSlaveLld,
      slaveUld: s.neutronSlaveUld,
    }),
  ];
}

/**
 * Running background per channel: the mean of the last `ticks` 5 s count totals, in cps.
 * A ring buffer, so memory stays constant over an endless stream.
 */
export class BackgroundAverager {
  private readonly ring: number[][];
  private next = 0;
  private filled = 0;

  constructor(
    readonly channels: number,
    private readonly ticks: number,
    private readonly tickS = 5,
  ) {
    this.ring = Array.from({ length: Math.max(1, ticks) }, () => new Array<number>(channels).fill(0));
  }

  push(counts: readonly number[]): void {
    const slot = this.ring[this.next]!;
    for (let c = 0; c < this.channels; c++) slot[c] = counts[c] ?? 0;
    this.next = (this.next + 1) % this.ring.length;
    this.filled = Math.min(this.filled + 1, this.ring.length);
  }

  /** Mean counts per second per channel (0 before the first push). */
  cps(): number[] {
    const out = new Array<number>(this.channels).fill(0);
    if (this.filled === 0) return out;
    for (let k = 0; k < this.filled; k++) {
      const slot = this.ring[k]!;
      for (let c = 0; c < this.channels; c++) out[c]! += slot[c]!;
    }
    return out.map((v) => v / (this.filled * this.tickS));
  }
}

/** GB, or GH/GL when any channel is beyond the setup's fault limits (high wins). */
export function gammaBackgroundTag(cps: readonly number[], s: Vm250Setup): 'GB' | 'GH' | 'GL' {
  if (cps.some((v) => v > s.highBackgroundFaultCps)) return 'GH';
  if (cps.some((v) => v < s.lowBackgroundFaultCps)) return 'GL';
  return 'GB';
}

/** NB, or NH when any tube is above the neutron high-background limit. */
export function neutronBackgroundTag(cps: readonly number[], s: Vm250Setup): 'NB' | 'NH' {
  return cps.some((v) => v > s.neutronHighBackgroundFaultCps) ? 'NH' : 'NB';
}

/**
 * The gamma verdict over one occupancy: the 4-channel sum over the last `intervals` samples
 * against BG + NSigma·√BG, BG = the latest GB sum scaled to the window. Latched: once in alarm,
 * every later sample is GA up to the GX (SPEC §1.1: "GA lines … run up to the GX").
 */
export class GammaAlarmRule {
  private readonly window: number[] = [];
  private sum = 0;
  private alarmed = false;
  private readonly threshold: number;
  readonly backgroundCounts: number;
  /** Largest (window − BG)/√BG seen, for ground truth. */
  maxSigma = -Infinity;

  constructor(
    backgroundSumCps: number,
    private readonly setup: Vm250Setup,
    private readonly sampleS = 0.2,
    private readonly latch = true,
  ) {
    this.backgroundCounts = backgroundSumCps * setup.intervals * sampleS;
    this.threshold = this.backgroundCounts + setup.nSigma * Math.sqrt(Math.max(1, this.backgroundCounts));
  }

  /** Feed a pre-trigger sample: it fills the window but is never judged. */
  prime(sampleSum: number): void {
    this.add(sampleSum);
  }

  /** Feed an occupancy sample; true when it is sent as GA. */
  judge(sampleSum: number): boolean {
    this.add(sampleSum);
    if (this.window.length < this.setup.intervals) return this.alarmed && this.latch;
    const bg = Math.max(1, this.backgroundCounts);
    this.maxSigma = Math.max(this.maxSigma, (this.sum - bg) / Math.sqrt(bg));
    const over = this.sum > this.threshold;
    if (over) this.alarmed = true;
    return over || (this.latch && this.alarmed);
  }

  private add(x: number): void {
    this.window.push(x);
    this.sum += x;
    if (this.window.length > this.setup.intervals) this.sum -= this.window.shift()!;
  }
}

/** The neutron verdict: `sequentialIntervals` 1 s intervals in a row above nBG + zmax·√nBG; latched. */
export class NeutronAlarmRule {
  private run = 0;
  private alarmed = false;
  private readonly threshold: number;

  constructor(
    backgroundSumCps: number,
    private readonly setup: Vm250Setup,
    private readonly latch = true,
  ) {
    const bg = Math.max(1, backgroundSumCps);
    this.threshold = bg + setup.neutronZmax * Math.sqrt(bg);
  }

  judge(intervalSum: number): boolean {
    this.run = intervalSum > this.threshold ? this.run + 1 : 0;
    const over = this.run >= this.setup.neutronSequentialIntervals;
    if (over) this.alarmed = true;
    return over || (this.latch && this.alarmed);
  }
}
