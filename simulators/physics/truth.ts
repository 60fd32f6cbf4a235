/**
 * The driver-agnostic ground truth of an occupancy plan (SPEC §2: "the simulator writes ground
 * truth — what it placed where — beside what it emits"): plain JSON, numbers rounded.
 */
import type { ChannelFault, Disruption } from './faults.js';
import type { Significance } from './profile.js';
import type { OccupancyKind, OccupancyPlan } from './scenario.js';
import type { Source } from './sources.js';
import { meanSpeed, type Vehicle } from './vehicle.js';

/** Round to `digits` significant digits (compact ground truth). */
function sig(x: number, digits = 4): number {
  return x === 0 || !Number.isFinite(x) ? x : Number(x.toPrecision(digits));
}

/** A copy of a flat object with its numbers rounded to 4 significant digits. */
function rounded<T extends object>(obj: T): T {
  return Object.fromEntries(
    Object.entries(obj).map(([k, v]) => [k, typeof v === 'number' ? sig(v) : v]),
  ) as T;
}

/** What a plan placed where: the driver-agnostic part of an occupancy's ground truth (plain JSON). */
export interface PlanTruth {
  readonly ordinal: number;
  readonly kind: OccupancyKind;
  readonly vehicle: Vehicle & {
    readonly entrySpeedMps: number;
    readonly exitSpeedMps: number;
    readonly meanSpeedMps: number;
    readonly accelerationMps2: number;
    /** Seconds from the trigger until the rear clears the exit sensor. */
    readonly clearS: number;
  };
  readonly shadowing: number;
  readonly gammaBackgroundCps: readonly number[];
  readonly neutronBackgroundCps: readonly number[];
  /** The sources, each with the time (s from the trigger) it crosses the detector plane. */
  readonly sources: ReadonlyArray<Source & { readonly passS: number }>;
  /** Best 1 s window significance of the source excess, all channels summed. */
  readonly expected: { readonly gamma: Significance; readonly neutron: Significance };
  readonly faults: readonly ChannelFault[];
  readonly disruptions: readonly Disruption[];
}

/** The ground truth of a plan, numbers rounded to 4 significant digits for compact files. */
export function describePlan(plan: OccupancyPlan): PlanTruth {
  const { vehicle, motion } = plan.scene;
  return {
    ordinal: plan.ordinal,
    kind: plan.kind,
    vehicle: rounded({
      ...vehicle,
      entrySpeedMps: motion.entrySpeedMps,
      exitSpeedMps: motion.exitSpeedMps,
      meanSpeedMps: meanSpeed(motion, vehicle),
      accelerationMps2: motion.accelerationMps2,
      clearS: motion.clearS,
    }),
    shadowing: sig(plan.scene.shadowing),
    gammaBackgroundCps: plan.scene.gammaBackgroundCps.map((v) => sig(v)),
    neutronBackgroundCps: plan.scene.neutronBackgroundCps.map((v) => sig(v)),
    sources: plan.scene.sources.map((s, i) => rounded({ ...s, passS: plan.sourcePassS[i] ?? NaN })),
    expected: { gamma: rounded(plan.expected.gamma), neutron: rounded(plan.expected.neutron) },
    faults: plan.faults.map(rounded),
    disruptions: plan.disruptions.map(rounded),
  };
}
