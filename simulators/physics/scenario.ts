/**
 * The scenario generator (SPEC §2): a seeded, lazy sequence of occupancy plans — what vehicle
 * passes when, carrying which sources, with which detector faults and link disruptions — plus
 * the ground truth each plan implies. Driver-agnostic: the channel counts come from the portal
 * geometry; a VM-250 or Modbus simulator turns plans into its own wire messages.
 */
import { createRng, type Rng, type Seed } from './rng.js';
import { twoPillarPortal, type PortalGeometry } from './portal.js';
import { windowSignificance, type Scene, type Significance } from './profile.js';
import {
  DEFAULT_SOURCE_RANGES,
  drawMedical,
  drawNeutron,
  drawNorm,
  drawThreat,
  type Source,
  type SourceRanges,
} from './sources.js';
import {
  DEFAULT_VEHICLE_RANGES,
  drawMotion,
  drawVehicle,
  timeWhenFrontAt,
  type VehicleRanges,
  type VehicleType,
} from './vehicle.js';
import {
  DEFAULT_FAULT_LEVELS,
  drawDisruptions,
  drawFault,
  type ChannelFault,
  type Disruption,
  type DisruptionType,
  type FaultLevels,
} from './faults.js';

// Re-exported so callers find the scenario's vocabulary in one place.
export * from './faults.js';
export * from './truth.js';

export const OCCUPANCY_KINDS = [
  'background',
  'norm',
  'medical',
  'threat',
  'threat-in-norm',
  'neutron',
] as const;
export type OccupancyKind = (typeof OCCUPANCY_KINDS)[number];
export type KindWeights = Readonly<Partial<Record<OccupancyKind, number>>>;

/** Default mix: mostly clean traffic, a realistic share of innocent alarms, some threats. */
export const DEFAULT_MIX: Readonly<Record<OccupancyKind, number>> = {
  background: 0.6,
  norm: 0.14,
  medical: 0.08,
  threat: 0.08,
  'threat-in-norm': 0.05,
  neutron: 0.05,
};

export interface OccupancyPlan {
  /** 1, 2, 3, … in scenario order (not the device's index: restarts reset that). */
  readonly ordinal: number;
  readonly kind: OccupancyKind;
  /** Empty-lane time before this vehicle triggers (s). Under 1 s: back-to-back vehicles. */
  readonly gapBeforeS: number;
  readonly scene: Scene;
  readonly faults: readonly ChannelFault[];
  readonly disruptions: readonly Disruption[];
  /** Seconds from the trigger when each source (same order as scene.sources) crosses the detector plane. */
  readonly sourcePassS: readonly number[];
  readonly expected: { readonly gamma: Significance; readonly neutron: Significance };
}

export interface ScenarioOptions {
  readonly seed: Seed;
  /** Number of occupancies; omitted = endless. */
  readonly occupancies?: number;
  readonly mix?: KindWeights;
  readonly portal?: PortalGeometry;
  /** Empty-lane time between vehicles (s). */
  readonly gapS?: readonly [number, number];
  /** Probability that a vehicle follows the previous one within a second. */
  readonly backToBackProbability?: number;
  /** Range of the lane's background level per gamma channel (cps) and per neutron channel. */
  readonly gammaBackgroundCps?: readonly [number, number];
  readonly neutronBackgroundCps?: readonly [number, number];
  /** Slow background drift between occupancies (log-normal step, mean-reverting). */
  readonly backgroundDrift?: number;
  /** Share of trucks among background-only and medical occupancies (the others need cargo). */
  readonly truckShare?: number;
  readonly vehicleRanges?: VehicleRanges;
  readonly sourceRanges?: SourceRanges;
  /** Probability per occupancy that a detector fault starts (lasting 1–3 occupancies). */
  readonly faultProbability?: number;
  readonly faultLevels?: FaultLevels;
  /** Probability per occupancy of each disruption. Default: none. */
  readonly disruptions?: Readonly<Partial<Record<DisruptionType, number>>>;
}

interface LaneState {
  readonly gammaBase: number[];
  readonly neutronBase: number[];
  gammaDrift: number;
  neutronDrift: number;
  fault: { fault: ChannelFault; remaining: number } | null;
}

/** Draw the lane's background level once, per channel a little different (panels differ). */
function initLane(rng: Rng, portal: PortalGeometry, o: ScenarioOptions): LaneState {
  const [gMin, gMax] = o.gammaBackgroundCps ?? [150, 2_500];
  const [nMin, nMax] = o.neutronBackgroundCps ?? [1, 5];
  const level = rng.logUniform(gMin, gMax);
  const nLevel = rng.uniform(nMin, nMax);
  return {
    gammaBase: portal.gamma.map(() => clamp(level * rng.uniform(0.88, 1.12), gMin, gMax)),
    neutronBase: portal.neutron.map(() => clamp(nLevel * rng.uniform(0.8, 1.2), nMin, nMax)),
    gammaDrift: 0,
    neutronDrift: 0,
    fault: null,
  };
}

function vehicleTypeFor(rng: Rng, kind: OccupancyKind, truckShare: number): VehicleType {
  if (kind === 'background' || kind === 'medical') return rng.chance(truckShare) ? 'truck' : 'car';
  return 'truck';
}

function drawSources(
  rng: Rng,
  kind: OccupancyKind,
  scene: Omit<Scene, 'sources'>,
  ranges: SourceRanges,
): Source[] {
  const { vehicle, portal } = scene;
  switch (kind) {
    case 'background':
      return [];
    case 'norm':
      return [drawNorm(rng, vehicle, ranges)];
    case 'medical':
      return [drawMedical(rng, vehicle, portal, ranges)];
    case 'threat':
      return [drawThreat(rng, vehicle, ranges)];
    case 'threat-in-norm':
      return [drawNorm(rng, vehicle, ranges), drawThreat(rng, vehicle, ranges)];
    case 'neutron':
      return drawNeutron(rng, vehicle, ranges);
  }
}

/** The lazy scenario: one plan per occupancy, in order. Constant memory, endless if asked. */
export function* generateScenario(o: ScenarioOptions): Generator<OccupancyPlan, void, undefined> {
  const rng = createRng(o.seed);
  const portal = o.portal ?? twoPillarPortal();
  const lane = initLane(rng.fork('lane'), portal, o);
  const mix = o.mix ?? DEFAULT_MIX;
  const [gapMin, gapMax] = o.gapS ?? [8, 60];
  const drift = o.backgroundDrift ?? 0.02;
  const levels = o.faultLevels ?? DEFAULT_FAULT_LEVELS;
  for (let ordinal = 1; o.occupancies === undefined || ordinal <= o.occupancies; ordinal++) {
    // One forked generator per occupancy: a plan's draws never shift the next plan's.
    const r = rng.fork(`occupancy-${ordinal}`);
    const kind = r.weighted(mix);
    lane.gammaDrift = 0.9 * lane.gammaDrift + r.normal(0, drift);
    lane.neutronDrift = 0.9 * lane.neutronDrift + r.normal(0, drift);
    const vehicle = drawVehicle(
      r,
      vehicleTypeFor(r, kind, o.truckShare ?? 0.4),
      o.vehicleRanges ?? DEFAULT_VEHICLE_RANGES,
    );
    const motion = drawMotion(r, vehicle, portal.sensorOffsetM, o.vehicleRanges ?? DEFAULT_VEHICLE_RANGES);
    const dense = kind === 'norm' || kind === 'threat-in-norm';
    const shadowing =
      vehicle.type === 'car' ? r.uniform(0, 0.05) : dense ? r.uniform(0.1, 0.3) : r.uniform(0, 0.2);
    const base: Omit<Scene, 'sources'> = {
      portal,
      vehicle,
      motion,
      shadowing,
      cabShadowing: vehicle.type === 'car' ? shadowing : r.uniform(0, 0.05),
      gammaBackgroundCps: lane.gammaBase.map((b) => b * Math.exp(lane.gammaDrift)),
      neutronBackgroundCps: lane.neutronBase.map((b) => b * Math.exp(lane.neutronDrift)),
    };
    const scene: Scene = {
      ...base,
      sources: drawSources(r, kind, base, o.sourceRanges ?? DEFAULT_SOURCE_RANGES),
    };

    if (lane.fault === null && (o.faultProbability ?? 0) > 0 && r.chance(o.faultProbability ?? 0)) {
      lane.fault = { fault: drawFault(r, portal, levels), remaining: r.int(1, 3) };
    }
    const faults = lane.fault ? [lane.fault.fault] : [];
    if (lane.fault && --lane.fault.remaining <= 0) lane.fault = null;

    let gapBeforeS = r.chance(o.backToBackProbability ?? 0.03)
      ? r.uniform(0.2, 0.8)
      : r.uniform(gapMin, gapMax);
    const drawn = drawDisruptions(r, o.disruptions ?? {}, gapBeforeS, motion.clearS);
    gapBeforeS = drawn.gapS;

    yield {
      ordinal,
      kind,
      gapBeforeS,
      scene,
      faults,
      disruptions: drawn.disruptions,
      sourcePassS: scene.sources.map((s) =>
        timeWhenFrontAt(motion, s.shape === 'point' ? s.alongM : (s.fromM + s.toM) / 2),
      ),
      expected: {
        gamma: windowSignificance(scene, 'gamma', {
          fromS: -1,
          toS: motion.clearS + 1,
          windowS: 1,
          stepS: 0.2,
        }),
        neutron: windowSignificance(scene, 'neutron', {
          fromS: 0,
          toS: motion.clearS + 1,
          windowS: 1,
          stepS: 1,
        }),
      },
    };
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
