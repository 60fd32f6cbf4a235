/**
 * The VM-250 line stream of a simulated lane (SPEC §1.1, §2): a lazy generator of timed items
 * — lines exactly as the RPM sends them, corrupt bytes, link drops, and the ground truth of
 * each occupancy as it completes. Times are milliseconds since the stream started; transports
 * pace by them (tcp-server, serial-sim) or stamp them (daily-file). Constant memory, endless
 * if the scenario is.
 *
 * Device behaviour:
 * - setup dump (SG1 SG2 SG3 SN1 SN2) at the start and after every restart (index back to 1);
 * - empty lane: NB then GB every 5 s (NH / GH / GL when a channel is beyond the setup limits);
 *   reported values are running means over `backgroundTime`; NB is truncated to whole cps;
 * - occupancy: SP first (usually; else after the sensors clear), the 5 pre-trigger GS in one
 *   burst at the trigger, then GS/GA every 200 ms, NS/NA every 1 s, GX at the end with the index
 *   (1, 2, …) and the neutron background ×1000 summed over tubes.
 *
 * This file: the device's behaviour — when it counts, reports and sends what. The channels'
 * counts (faults applied) are counts.ts; silences, link drops and lost lines are link.ts; the
 * setup, background means and alarm rules are device.ts.
 */
import { encodeLine } from '../../src/drivers/vm250/codec.js';
import type { CountTag, Vm250Record } from '../../src/drivers/vm250/records.js';
import { createRng, type Rng } from '../physics/rng.js';
import { meanSpeed } from '../physics/vehicle.js';
import {
  describePlan,
  generateScenario,
  type ChannelFault,
  type Disruption,
  type OccupancyPlan,
  type PlanTruth,
  type ScenarioOptions,
} from '../physics/scenario.js';
import { backgroundCounts, overrideCps, sampleCounts } from './counts.js';
import {
  BackgroundAverager,
  DEFAULT_VM250_SETUP,
  GammaAlarmRule,
  gammaBackgroundTag,
  NeutronAlarmRule,
  neutronBackgroundTag,
  setupRecords,
  type Vm250Setup,
} from './device.js';
import { garbageBytes, Vm250Link } from './link.js';

export interface Vm250StreamOptions extends ScenarioOptions {
  /** Device setup (SG1…SN2); defaults per SPEC §1.1. */
  readonly setup?: Partial<Vm250Setup>;
  /** Hand-made plans instead of the generated scenario (tests); the seed still drives the counts. */
  readonly plans?: Iterable<OccupancyPlan>;
  /** Probability that SP is the first line of an occupancy (else it follows the sensors clearing). */
  readonly speedFirstProbability?: number;
  /** Probability that NB/GB keep their 5 s cadence through an occupancy (seen in the field). */
  readonly backgroundInOccupancyProbability?: number;
  /** GA/NA run up to the GX once the alarm is on (default) or mark only the samples over threshold. */
  readonly alarmLatch?: boolean;
}

export interface Vm250OccupancyTruth extends PlanTruth {
  /** The GX index the device sent (or would have sent: see gxSent). */
  readonly index: number;
  readonly gxSent: boolean;
  /** A setup dump (device restart) preceded this occupancy. */
  readonly afterRestart: boolean;
  /** Followed the previous GX within 1 s (back-to-back vehicles). */
  readonly continuation: boolean;
  /** Stream times (ms since start) of the trigger (pre-trigger burst) and of the GX. */
  readonly triggerMs: number;
  readonly endMs: number;
  /** GS/GA lines after the pre-trigger burst. */
  readonly samples: number;
  readonly speedKph: number;
  readonly device: {
    readonly gammaAlarm: boolean;
    readonly neutronAlarm: boolean;
    /** Largest (1 s window − BG)/√BG the device saw. */
    readonly maxGammaSigma: number;
  };
  /** Lines of this occupancy lost to silence or a link drop. */
  readonly linesDropped: number;
}

export type Vm250StreamItem =
  | { readonly kind: 'line'; readonly atMs: number; readonly line: string; readonly record: Vm250Record }
  /** Bytes that are not a valid line (noise, or a line cut short); transports add CR LF. */
  | {
      readonly kind: 'corrupt';
      readonly atMs: number;
      readonly bytes: Buffer;
      readonly reason: 'garbage' | 'truncated';
    }
  /** The link goes down for `durationMs` (TCP: clients are dropped and refused meanwhile). */
  | { readonly kind: 'link-drop'; readonly atMs: number; readonly durationMs: number }
  | { readonly kind: 'occupancy'; readonly atMs: number; readonly truth: Vm250OccupancyTruth };

const SAMPLE_MS = 200;
const TICK_MS = 5000;
const PRE_TRIGGER = 5;

type GapEvent = { atMs: number; order: number; run: () => Vm250StreamItem[] };

/** The lane's VM-250 stream. Lazy: pull items as fast or as slow as you like. */
export function* vm250Stream(options: Vm250StreamOptions): Generator<Vm250StreamItem, void, undefined> {
  yield* new Vm250Device(options).run();
}

class Vm250Device {
  private readonly setup: Vm250Setup;
  private readonly rng: Rng;
  private gammaAvg: BackgroundAverager | null = null;
  private neutronAvg: BackgroundAverager | null = null;
  /** Sum of the 4 channels of the latest gamma background line (cps) — the alarm's BG. */
  private gammaBgSum = 0;
  private lastGammaBg: number[] = [];
  private lastNeutronBg: number[] = [];
  private index = 0;
  private nextTickMs: number;
  private restarted = false;
  /** Silences and link drops: what the device sends reaches the stream only through it. */
  private readonly link = new Vm250Link();

  constructor(private readonly o: Vm250StreamOptions) {
    this.setup = { ...DEFAULT_VM250_SETUP, ...o.setup };
    this.rng = createRng(`${String(o.seed)}:vm250`);
    this.nextTickMs = 1000 + this.rng.int(0, 4000);
  }

  *run(): Generator<Vm250StreamItem, void, undefined> {
    yield* this.setupDump(0);
    let t = 0;
    let lastEnd = -Infinity;
    for (const plan of this.o.plans ?? generateScenario(this.o)) {
      if (this.gammaAvg === null) this.primeBackground(plan);
      const trigger = t + Math.max(SAMPLE_MS, Math.round(plan.gapBeforeS * 1000));
      yield* this.gap(plan, t, trigger);
      const end = yield* this.occupancy(plan, trigger, trigger - lastEnd < 1000);
      lastEnd = end;
      t = end;
    }
    // Close with one background report, as the lane empties.
    this.advanceTick(t);
    if (this.gammaAvg !== null) yield* this.backgroundTick(this.nextTickMs, []);
  }

  private *setupDump(atMs: number): Generator<Vm250StreamItem> {
    for (const r of setupRecords(this.setup)) {
      const item = this.link.line(atMs, r);
      if (item) yield item;
    }
  }

  /** The device has been running before the stream starts: its running means are warm. */
  private primeBackground(plan: OccupancyPlan): void {
    const ticks = (s: number): number => Math.max(1, Math.round(s / 5));
    this.gammaAvg = new BackgroundAverager(plan.scene.portal.gamma.length, ticks(this.setup.backgroundTime));
    this.neutronAvg = new BackgroundAverager(
      plan.scene.portal.neutron.length,
      ticks(this.setup.neutronBackgroundTime),
    );
    for (let k = 0; k < ticks(Math.max(this.setup.backgroundTime, this.setup.neutronBackgroundTime)); k++) {
      this.gammaAvg.push(backgroundCounts(this.rng, plan, 'gamma'));
      this.neutronAvg.push(backgroundCounts(this.rng, plan, 'neutron'));
    }
    this.lastGammaBg = this.gammaAvg.cps().map(Math.round);
    this.gammaBgSum = this.lastGammaBg.reduce((a, b) => a + b, 0);
    this.lastNeutronBg = this.neutronAvg.cps().map(Math.trunc);
  }

  private advanceTick(afterMs: number): void {
    if (this.nextTickMs <= afterMs)
      this.nextTickMs += Math.ceil((afterMs - this.nextTickMs + 1) / TICK_MS) * TICK_MS;
  }

  /** NB/NH then GB/GH/GL. Background fault channels (stuck, dead) report as such. */
  private *backgroundTick(atMs: number, faults: readonly ChannelFault[]): Generator<Vm250StreamItem> {
    const gamma = this.gammaAvg!.cps().map((v, c) => overrideCps(faults, 'gamma', c, v));
    const neutron = this.neutronAvg!.cps().map((v, c) => overrideCps(faults, 'neutron', c, v));
    const n = neutron.map(Math.trunc); // SPEC §1.1: NB carries truncated cps
    const g = gamma.map(Math.round);
    this.lastNeutronBg = n;
    this.lastGammaBg = g;
    this.gammaBgSum = g.reduce((a, b) => a + b, 0);
    const nb = this.link.line(atMs, count(neutronBackgroundTag(neutron, this.setup), n));
    if (nb) yield nb;
    const gb = this.link.line(atMs, count(gammaBackgroundTag(gamma, this.setup), g));
    if (gb) yield gb;
  }

  private *gap(plan: OccupancyPlan, from: number, trigger: number): Generator<Vm250StreamItem> {
    const events: GapEvent[] = [];
    this.advanceTick(from);
    for (let tick = this.nextTickMs; tick < trigger; tick += TICK_MS) {
      events.push({
        atMs: tick,
        order: 1,
        run: () => {
          this.gammaAvg!.push(backgroundCounts(this.rng, plan, 'gamma'));
          this.neutronAvg!.push(backgroundCounts(this.rng, plan, 'neutron'));
          return [...this.backgroundTick(tick, plan.faults)];
        },
      });
    }
    for (const d of plan.disruptions) {
      if (d.phase !== 'gap') continue;
      const at = Math.min(trigger - 100, from + Math.round(d.atS * 1000));
      events.push(...this.gapDisruption(d, at, trigger));
    }
    events.sort((a, b) => a.atMs - b.atMs || a.order - b.order);
    for (const e of events) yield* e.run();
    this.advanceTick(trigger);
  }

  private gapDisruption(d: Disruption, at: number, trigger: number): GapEvent[] {
    switch (d.type) {
      case 'tamper': {
        const end = Math.min(trigger - 50, at + Math.round(d.durationS * 1000));
        return [
          {
            atMs: at,
            order: 0,
            run: () => this.link.lines(at, [{ type: 'tamper', active: true, time: null }]),
          },
          {
            atMs: end,
            order: 0,
            run: () => this.link.lines(end, [{ type: 'tamper', active: false, time: null }]),
          },
        ];
      }
      case 'silence':
      case 'link-drop':
        return [{ atMs: at, order: 0, run: () => this.link.mute(d.type, at, d.durationS) }];
      case 'garbage':
        return [
          {
            atMs: at,
            order: 0,
            run: () => this.link.corrupt(at, garbageBytes(this.rng, d.bytes), 'garbage'),
          },
        ];
      case 'truncated-line': {
        // A background line cut inside its second field: it can never decode as a valid line.
        const line = encodeLine(count('GB', this.lastGammaBg));
        const cut = this.rng.int(3, line.indexOf(',', 3) + 3);
        return [
          {
            atMs: at,
            order: 0,
            run: () => this.link.corrupt(at, Buffer.from(line.slice(0, cut), 'latin1'), 'truncated'),
          },
        ];
      }
      case 'restart':
        return [
          {
            atMs: at,
            order: 0,
            run: () => {
              this.index = 0;
              this.restarted = true;
              return [...this.setupDump(at)];
            },
          },
        ];
      case 'missing-end':
        return [];
    }
  }

  /** Emits the occupancy; returns the GX time. */
  private *occupancy(
    plan: OccupancyPlan,
    trigger: number,
    continuation: boolean,
  ): Generator<Vm250StreamItem, number> {
    const dropsBefore = this.link.dropped;
    const { motion } = plan.scene;
    for (const d of plan.disruptions) {
      if (d.phase === 'occupancy' && (d.type === 'silence' || d.type === 'link-drop')) {
        // Scheduled now, yielded when its time comes (below).
        this.link.schedule(d.type, trigger + Math.round(d.atS * 1000), d.durationS);
      }
    }
    const clearSamples = Math.max(1, Math.ceil(motion.clearS / 0.2 - 1e-9));
    const n = clearSamples + this.setup.occupancyHoldin;
    const latch = this.o.alarmLatch ?? true;
    const gammaRule = new GammaAlarmRule(this.gammaBgSum, this.setup, 0.2, latch);
    const nbgCps = this.neutronAvg!.cps().reduce((a, b) => a + b, 0);
    const neutronRule = new NeutronAlarmRule(nbgCps, this.setup, latch);
    const speed = meanSpeed(motion, plan.scene.vehicle);
    const sp: Vm250Record = {
      type: 'speed',
      secondsPerFoot: 1 / (speed * 3.28084),
      mph: speed * 2.236936,
      kph: speed * 3.6,
      carCounter: 0,
      time: null,
    };
    const speedFirst = this.rng.chance(this.o.speedFirstProbability ?? 0.8);
    const bgInside = this.rng.chance(this.o.backgroundInOccupancyProbability ?? 0.05);
    let gammaAlarm = false;
    let neutronAlarm = false;

    yield* this.link.flushMutes(trigger);
    if (speedFirst) yield* this.link.lines(trigger, [sp]);
    for (let k = PRE_TRIGGER; k >= 1; k--) {
      const counts = sampleCounts(this.rng, plan, 'gamma', -0.2 * k, -0.2 * (k - 1));
      gammaRule.prime(sum(counts));
      yield* this.link.lines(trigger, [count('GS', counts)]);
    }
    const end = trigger + n * SAMPLE_MS;
    for (let k = 1; k <= n; k++) {
      const at = trigger + k * SAMPLE_MS;
      yield* this.link.flushMutes(at);
      if (bgInside) {
        while (this.nextTickMs <= at && this.nextTickMs < end) {
          const tick = this.nextTickMs;
          this.nextTickMs += TICK_MS;
          yield* this.link.lines(tick, [count('NB', this.lastNeutronBg), count('GB', this.lastGammaBg)]);
        }
      }
      const counts = sampleCounts(this.rng, plan, 'gamma', 0.2 * (k - 1), 0.2 * k);
      const ga = gammaRule.judge(sum(counts));
      gammaAlarm ||= ga;
      yield* this.link.lines(at, [count(ga ? 'GA' : 'GS', counts)]);
      if (k % 5 === 0) {
        const m = k / 5;
        const ncounts = sampleCounts(this.rng, plan, 'neutron', m - 1, m);
        const na = neutronRule.judge(sum(ncounts));
        neutronAlarm ||= na;
        yield* this.link.lines(at, [count(na ? 'NA' : 'NS', ncounts)]);
      }
      if (!speedFirst && k === clearSamples) yield* this.link.lines(at, [sp]);
    }
    this.index++;
    const missingEnd = plan.disruptions.some((d) => d.type === 'missing-end');
    const gx: Vm250Record = {
      type: 'occupancy-end',
      index: this.index,
      neutronBackgroundX1000: Math.round(nbgCps * 1000),
      railCarIndex: 0,
      time: null,
    };
    const gxItem = missingEnd ? null : this.link.line(end, gx);
    if (gxItem) yield gxItem;
    const truth: Vm250OccupancyTruth = {
      ...describePlan(plan),
      index: this.index,
      gxSent: gxItem !== null,
      afterRestart: this.restarted,
      continuation,
      triggerMs: trigger,
      endMs: end,
      samples: n,
      speedKph: Number(sp.kph.toFixed(2)),
      device: {
        gammaAlarm,
        neutronAlarm,
        maxGammaSigma: Number.isFinite(gammaRule.maxSigma) ? Number(gammaRule.maxSigma.toFixed(2)) : 0,
      },
      linesDropped: this.link.dropped - dropsBefore,
    };
    this.restarted = false;
    yield { kind: 'occupancy', atMs: end, truth };
    this.advanceTick(end);
    return end;
  }
}

function count(tag: CountTag, counts: readonly number[]): Vm250Record {
  return { type: 'count', tag, counts, time: null };
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}
