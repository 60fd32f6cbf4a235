/**
 * The Modbus RPM simulator's device model (SPEC §2): a simulated lane — Poisson background,
 * vehicles passing with occupancy bits, object counter and speed, alarm bits when the counts
 * exceed background by N sigma, faults and tamper on request — exposed as a holding-register
 * bank encoded with the driver's own register map (one definition, STYLE §6).
 *
 * The model is deterministic: it moves only when `tick()` is called, and draws from a seeded
 * generator (simulators/physics). The TCP server and the RTU slave tick it on a real timer and
 * answer requests through {@link RpmRegisterModel.respond}, which also injects exceptions and
 * silence to test the driver's bad-input handling. How a requested vehicle becomes a scene (the
 * physics of what passes) is vehicles.ts; this file is the device.
 */
import {
  DEFAULT_MONITOR_BLOCK,
  DESCRIPTION_BLOCK,
  channelStatus,
  encodeDescriptionBlock,
  encodeMonitorBlock,
  inputSignals,
  outputSignals,
  type MonitorRecord,
} from '../../src/drivers/modbus-rpm/register-map.js';
import { expectedCounts, type Scene } from '../physics/profile.js';
import { createRng, type Rng, type Seed } from '../physics/rng.js';
import type { Source } from '../physics/sources.js';
import { meanSpeed, type VehicleType } from '../physics/vehicle.js';
import { drawScene, type VehicleRequest } from './vehicles.js';

export type { SourceKind, VehicleRequest } from './vehicles.js';

/** The simulator's description-block signature. The real value is not public (SPEC §1.2). */
export const SIMULATOR_SIGNATURE = 0x4153; // "AS"

export interface RpmModelOptions {
  readonly seed?: Seed;
  /** Counting interval of one tick (ms). Default 200. */
  readonly intervalMs?: number;
  /** Lane background, all four gamma panels summed (cps). Default 1200. */
  readonly gammaBackgroundCps?: number;
  /** All neutron tubes summed (cps). Default 8. */
  readonly neutronBackgroundCps?: number;
  /** Alarm1 when an interval exceeds the background by this many sigma; Alarm2 at twice it. Default 5. */
  readonly alarmSigma?: number;
  /** Intervals the occupancy bit stays set after the vehicle clears (OccupancyHoldin). Default 2. */
  readonly holdinIntervals?: number;
  /** Empty-lane time between queued vehicles (ms). Default 1500. */
  readonly gapMs?: number;
  /** Whether the count registers hold per-interval counts or running totals. Default per-interval. */
  readonly countMode?: 'per-interval' | 'cumulative';
  /** Where the monitor block lives; the description block points there. Default 100. */
  readonly monitorBase?: number;
  /** Serve zeros in the description block, as a device without one might. */
  readonly omitDescription?: boolean;
  /**
   * Endless traffic for the demo: occupancy plans (physics/scenario.ts `generateScenario`, best
   * with `portal: summedPortal()`), pulled whenever the lane is empty and the queue is too. Only
   * each plan's scene and gap are used; its faults and disruptions are left to the caller.
   */
  readonly scenario?: Iterator<ScenarioPlan>;
}

/** The part of a physics/scenario.ts OccupancyPlan the model uses. */
export interface ScenarioPlan {
  readonly gapBeforeS: number;
  readonly scene: Scene;
}

/** What the simulator placed where, for scoring the driver. */
export interface PassTruth {
  readonly objectCounter: number;
  readonly startMs: number;
  /** Model time the occupancy bit cleared; null while in progress. */
  endMs: number | null;
  readonly vehicleType: VehicleType;
  readonly speedMps: number;
  readonly sources: readonly Source[];
  gammaAlarm: boolean;
  neutronAlarm: boolean;
}

export type ChannelFaultBit = 'none' | 'low' | 'high' | 'overload';

/** What a request gets: registers, a Modbus exception, or nothing at all. */
export type ModbusReply =
  | { readonly kind: 'registers'; readonly values: number[] }
  | { readonly kind: 'exception'; readonly code: number }
  | { readonly kind: 'silent' };

interface ActivePass {
  readonly truth: PassTruth;
  readonly scene: Scene;
  /** Seconds from the trigger until the vehicle clears plus the hold-in. */
  readonly occupiedS: number;
  elapsedS: number;
}

export class RpmRegisterModel {
  readonly intervalMs: number;
  readonly passes: PassTruth[] = [];
  private readonly rng: Rng;
  private readonly o: Required<Omit<RpmModelOptions, 'seed' | 'scenario'>>;
  private readonly scenario: Iterator<ScenarioPlan> | undefined;
  private lastClearMs = 0;
  private nowMs = 0;
  private counter = 0;
  private queue: VehicleRequest[] = [];
  private active: ActivePass | null = null;
  private idleUntilMs = 0;
  private gammaCount = 0;
  private neutronCount = 0;
  private gammaTotal = 0;
  private neutronTotal = 0;
  private gammaBgEstimate: number;
  private neutronBgEstimate: number;
  private gammaAlarmBits = 0;
  private neutronAlarmBits = 0;
  private speedReg = 0;
  private markReg = 0;
  private gammaFault: ChannelFaultBit = 'none';
  private neutronFault: ChannelFaultBit = 'none';
  private inputExtra = { powerFail: false, lowBattery: false, error: false, cabinetOpen: false };
  private exceptionsLeft = 0;
  private exceptionCode = 2;
  private silentUntilMs = -1;
  private silentRequestsLeft = 0;

  constructor(options: RpmModelOptions = {}) {
    this.o = {
      intervalMs: options.intervalMs ?? 200,
      gammaBackgroundCps: options.gammaBackgroundCps ?? 1200,
      neutronBackgroundCps: options.neutronBackgroundCps ?? 8,
      alarmSigma: options.alarmSigma ?? 5,
      holdinIntervals: options.holdinIntervals ?? 2,
      gapMs: options.gapMs ?? 1500,
      countMode: options.countMode ?? 'per-interval',
      monitorBase: options.monitorBase ?? DEFAULT_MONITOR_BLOCK.base,
      omitDescription: options.omitDescription ?? false,
    };
    this.intervalMs = this.o.intervalMs;
    this.scenario = options.scenario;
    this.rng = createRng(options.seed ?? 'modbus-rpm');
    this.gammaBgEstimate = this.o.gammaBackgroundCps;
    this.neutronBgEstimate = this.o.neutronBackgroundCps;
  }

  /** Model time (ms since the model was made). */
  get timeMs(): number {
    return this.nowMs;
  }

  get occupied(): boolean {
    return this.active !== null;
  }

  /** Queue a vehicle; it triggers as soon as the lane is free (after the configured gap). */
  passVehicle(request: VehicleRequest = {}): void {
    this.queue.push(request);
  }

  setChannelFault(radiation: 'gamma' | 'neutron', fault: ChannelFaultBit): void {
    if (radiation === 'gamma') this.gammaFault = fault;
    else this.neutronFault = fault;
  }

  /** Cabinet open = tamper (SPEC §1.2). */
  setTamper(open: boolean): void {
    this.inputExtra.cabinetOpen = open;
  }

  setInputFaults(faults: Partial<{ powerFail: boolean; lowBattery: boolean; error: boolean }>): void {
    Object.assign(this.inputExtra, faults);
  }

  /** Answer the next `count` requests with Modbus exception `code` (default 2, illegal data address). */
  injectExceptions(count: number, code = 2): void {
    this.exceptionsLeft = count;
    this.exceptionCode = code;
  }

  /** Answer nothing for `ms` of model time (a silent device). */
  silenceFor(ms: number): void {
    this.silentUntilMs = this.nowMs + ms;
  }

  /** Answer nothing to the next `count` requests. */
  silenceRequests(count: number): void {
    this.silentRequestsLeft = count;
  }

  /** Advance one counting interval. */
  tick(): void {
    const dtS = this.o.intervalMs / 1000;
    this.nowMs += this.o.intervalMs;
    if (this.active === null && this.queue.length === 0 && this.scenario !== undefined) {
      const next = this.scenario.next();
      if (next.done !== true) {
        this.queue.push({ scene: next.value.scene });
        this.idleUntilMs = this.lastClearMs + next.value.gapBeforeS * 1000;
      }
    }
    if (this.active === null && this.queue.length > 0 && this.nowMs >= this.idleUntilMs) this.trigger();
    const pass = this.active;
    let gammaMean = this.o.gammaBackgroundCps * dtS;
    let neutronMean = this.o.neutronBackgroundCps * dtS;
    if (pass !== null) {
      const t1 = pass.elapsedS;
      const t2 = t1 + dtS;
      const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
      // The scene's portal may have four channels (VM-250 style): the Aspect sums them to one.
      const g = expectedCounts(pass.scene, 'gamma', t1, t2);
      const n = expectedCounts(pass.scene, 'neutron', t1, t2);
      gammaMean = sum(g.background) + sum(g.source);
      neutronMean = sum(n.background) + sum(n.source);
      pass.elapsedS = t2;
    }
    this.gammaCount = this.rng.poisson(gammaMean);
    this.neutronCount = this.rng.poisson(neutronMean);
    this.gammaTotal = (this.gammaTotal + this.gammaCount) | 0;
    this.neutronTotal = (this.neutronTotal + this.neutronCount) | 0;
    if (pass !== null) {
      this.gammaAlarmBits |= this.alarmBits(this.gammaCount, this.gammaBgEstimate * dtS);
      this.neutronAlarmBits |= this.alarmBits(this.neutronCount, this.neutronBgEstimate * dtS);
      pass.truth.gammaAlarm ||= this.gammaAlarmBits !== 0;
      pass.truth.neutronAlarm ||= this.neutronAlarmBits !== 0;
      if (pass.elapsedS >= pass.occupiedS) this.clear(pass);
    } else {
      // The device's running background estimate, updated only while the lane is empty.
      const a = 0.05;
      this.gammaBgEstimate += a * (this.gammaCount / dtS - this.gammaBgEstimate);
      this.neutronBgEstimate += a * (this.neutronCount / dtS - this.neutronBgEstimate);
    }
  }

  /** Alarm1 above N sigma, Alarm2 above 2N sigma (the simulator's choice; the device's rule is not public). */
  private alarmBits(count: number, mean: number): number {
    const sigma = Math.sqrt(Math.max(mean, 1));
    let bits = 0;
    if (count > mean + this.o.alarmSigma * sigma) bits |= 0x1;
    if (count > mean + 2 * this.o.alarmSigma * sigma) bits |= 0x2;
    return bits;
  }

  private trigger(): void {
    const request = this.queue.shift()!;
    const scene =
      request.scene ?? drawScene(this.rng, request, this.o.gammaBackgroundCps, this.o.neutronBackgroundCps);
    this.counter = (this.counter + 1) & 0xffff;
    const speed = meanSpeed(scene.motion, scene.vehicle);
    const truth: PassTruth = {
      objectCounter: this.counter,
      startMs: this.nowMs,
      endMs: null,
      vehicleType: scene.vehicle.type,
      speedMps: speed,
      sources: scene.sources,
      gammaAlarm: false,
      neutronAlarm: false,
    };
    this.passes.push(truth);
    this.active = {
      truth,
      scene,
      occupiedS: scene.motion.clearS + (this.o.holdinIntervals * this.o.intervalMs) / 1000,
      elapsedS: 0,
    };
    this.gammaAlarmBits = 0;
    this.neutronAlarmBits = 0;
    this.speedReg = Math.min(0xffff, Math.round(speed * 1000)); // mm/s
    this.markReg = scene.vehicle.type === 'truck' ? 10 : 4;
  }

  private clear(pass: ActivePass): void {
    pass.truth.endMs = this.nowMs;
    this.lastClearMs = this.nowMs;
    this.active = null;
    this.idleUntilMs = this.nowMs + this.o.gapMs;
    this.gammaAlarmBits = 0;
    this.neutronAlarmBits = 0;
    this.speedReg = 0;
    this.markReg = 0;
  }

  /** The monitor block as the driver will decode it. */
  record(): MonitorRecord {
    const statusOf = (alarm: number, fault: ChannelFaultBit) =>
      channelStatus({
        alarm1: (alarm & 0x1) !== 0,
        alarm2: (alarm & 0x2) !== 0,
        lowCount: fault === 'low',
        highCount: fault === 'high',
        overload: fault === 'overload',
        ready: true,
      });
    const occupied = this.active !== null;
    const cumulative = this.o.countMode === 'cumulative';
    const anyAlarm = this.gammaAlarmBits !== 0 || this.neutronAlarmBits !== 0;
    return {
      timeElapsed: this.nowMs,
      input: inputSignals({
        occupancy1: occupied,
        occupancy2: occupied,
        directionA: occupied,
        ...this.inputExtra,
      }),
      gamma: {
        status: statusOf(this.gammaAlarmBits, this.gammaFault),
        count: cumulative ? this.gammaTotal : this.gammaCount,
        background: this.gammaBgEstimate,
        variance: this.gammaBgEstimate,
      },
      neutron: {
        status: statusOf(this.neutronAlarmBits, this.neutronFault),
        count: cumulative ? this.neutronTotal : this.neutronCount,
        background: this.neutronBgEstimate,
        variance: this.neutronBgEstimate,
      },
      objectCounter: this.counter,
      objectMark: this.markReg,
      objectSpeed: this.speedReg,
      output: outputSignals({ alarm: anyAlarm, busy: occupied, entryGreen: !occupied, yellowLed: anyAlarm }),
      extra: [],
    };
  }

  /** The whole register bank: description block at 0–7, monitor block at its base. */
  readRegisters(address: number, length: number): number[] | null {
    const desc = this.o.omitDescription
      ? new Array<number>(DESCRIPTION_BLOCK.length).fill(0)
      : encodeDescriptionBlock({
          signature: SIMULATOR_SIGNATURE,
          registerCount: DESCRIPTION_BLOCK.length + DEFAULT_MONITOR_BLOCK.length,
          monitorBlockId: 1,
          monitorBase: this.o.monitorBase,
          monitorLength: DEFAULT_MONITOR_BLOCK.length,
          reserved: [0, 0, 0],
        });
    const monitor = encodeMonitorBlock(this.record());
    const out: number[] = [];
    for (let a = address; a < address + length; a++) {
      if (a >= 0 && a < desc.length) out.push(desc[a]!);
      else if (a >= this.o.monitorBase && a < this.o.monitorBase + monitor.length)
        out.push(monitor[a - this.o.monitorBase]!);
      else return null;
    }
    return out;
  }

  /** How the device answers a read of holding registers (after injected faults). */
  respond(address: number, length: number): ModbusReply {
    if (this.nowMs < this.silentUntilMs) return { kind: 'silent' };
    if (this.silentRequestsLeft > 0) {
      this.silentRequestsLeft--;
      return { kind: 'silent' };
    }
    if (this.exceptionsLeft > 0) {
      this.exceptionsLeft--;
      return { kind: 'exception', code: this.exceptionCode };
    }
    const values = this.readRegisters(address, length);
    return values === null ? { kind: 'exception', code: 2 } : { kind: 'registers', values };
  }
}

/** Tick a model on a real timer (servers and the standalone simulator). Returns a stop function. */
export function runModel(model: RpmRegisterModel): () => void {
  const handle = setInterval(() => model.tick(), model.intervalMs);
  handle.unref();
  return () => clearInterval(handle);
}
