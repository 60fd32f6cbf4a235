/**
 * Radioactive sources carried by a vehicle (SPEC §2) and how each occupancy kind places them.
 *
 * Strength units: a point source's `strength` is the count rate (cps) it would give a
 * unit-weight panel at 1 m, face on; its rate at perpendicular distance d is then
 * `strength / d² · (1 + u²)^(-3/2)`. A line source's `strengthPerM` is the same per metre of
 * length. Shielding is folded in (`strength = bare · transmission`); the bare value is kept for
 * ground truth.
 */
import type { Rng } from './rng.js';
import type { Vehicle } from './vehicle.js';
import { driverSideLateral, type PortalGeometry } from './portal.js';

export type Radiation = 'gamma' | 'neutron';
export type SourceRole = 'norm' | 'medical' | 'threat' | 'neutron';

export interface PointSource {
  readonly shape: 'point';
  readonly role: SourceRole;
  readonly radiation: Radiation;
  /** Distance behind the vehicle's front (m). */
  readonly alongM: number;
  readonly lateralM: number;
  readonly heightM: number;
  /** Effective strength after shielding (cps at 1 m). */
  readonly strength: number;
  /** Fraction of the radiation that gets through the shielding (1 = bare). */
  readonly transmission: number;
}

/**
 * A source spread evenly along [fromM, toM] of the vehicle and across a cross-section
 * (`widthM` × `heightSpanM` around `lateralM`, `heightM`): bulk NORM cargo.
 */
export interface LineSource {
  readonly shape: 'line';
  readonly role: SourceRole;
  readonly radiation: Radiation;
  readonly fromM: number;
  readonly toM: number;
  readonly lateralM: number;
  readonly widthM: number;
  readonly heightM: number;
  readonly heightSpanM: number;
  /** cps at 1 m per metre of length, whole cross-section. */
  readonly strengthPerM: number;
}

export type Source = PointSource | LineSource;

/** Strength ranges (log-uniform draws) per source role. */
export interface SourceRanges {
  /** Medical isotope in the cab (cps at 1 m). */
  readonly medical: readonly [number, number];
  /** Threat point source before shielding (cps at 1 m). */
  readonly threat: readonly [number, number];
  /** Probability that a threat is shielded, and the transmission range when it is. */
  readonly threatShieldedProbability: number;
  readonly threatTransmission: readonly [number, number];
  /** NORM bulk cargo (cps at 1 m per metre). */
  readonly normPerM: readonly [number, number];
  /** Neutron emitter per tube (cps at 1 m), and its companion gamma (same units). */
  readonly neutron: readonly [number, number];
  readonly neutronGamma: readonly [number, number];
}

export const DEFAULT_SOURCE_RANGES: SourceRanges = {
  medical: [250, 20_000],
  threat: [80, 8_000],
  threatShieldedProbability: 0.5,
  threatTransmission: [0.05, 0.6],
  normPerM: [25, 700],
  neutron: [8, 250],
  neutronGamma: [5, 300],
};

/** A medical isotope carried by the driver: first ~15 % of a truck, the driver's seat of a car (SPEC §2). */
export function drawMedical(
  rng: Rng,
  vehicle: Vehicle,
  portal: PortalGeometry,
  ranges = DEFAULT_SOURCE_RANGES,
): PointSource {
  const alongM =
    vehicle.type === 'truck'
      ? rng.uniform(0.05, 0.15) * vehicle.lengthM
      : rng.uniform(0.3, 0.45) * vehicle.lengthM;
  const side = Math.sign(driverSideLateral(portal));
  return {
    shape: 'point',
    role: 'medical',
    radiation: 'gamma',
    alongM,
    lateralM: side * (vehicle.widthM / 2 - rng.uniform(0.3, 0.5)),
    heightM: rng.uniform(1.2, 1.5),
    strength: rng.logUniform(...ranges.medical),
    transmission: 1,
  };
}

/** A random spot inside the cargo section. */
function cargoSpot(rng: Rng, vehicle: Vehicle): { alongM: number; lateralM: number; heightM: number } {
  return {
    alongM: rng.uniform(vehicle.cargoStartM, vehicle.cargoEndM),
    lateralM: rng.uniform(-1, 1) * (vehicle.widthM / 2 - 0.2),
    heightM: rng.uniform(0.8, Math.max(0.9, vehicle.cargoTopM - 0.3)),
  };
}

/** A threat point source in the cargo, shielded with the configured probability. */
export function drawThreat(rng: Rng, vehicle: Vehicle, ranges = DEFAULT_SOURCE_RANGES): PointSource {
  const bare = rng.logUniform(...ranges.threat);
  const transmission = rng.chance(ranges.threatShieldedProbability)
    ? rng.logUniform(...ranges.threatTransmission)
    : 1;
  return {
    shape: 'point',
    role: 'threat',
    radiation: 'gamma',
    ...cargoSpot(rng, vehicle),
    strength: bare * transmission,
    transmission,
  };
}

/** NORM bulk cargo: the whole cargo section, most of its width (SPEC §2). */
export function drawNorm(rng: Rng, vehicle: Vehicle, ranges = DEFAULT_SOURCE_RANGES): LineSource {
  const top = Math.max(1.2, vehicle.cargoTopM * rng.uniform(0.5, 0.9));
  return {
    shape: 'line',
    role: 'norm',
    radiation: 'gamma',
    fromM: vehicle.cargoStartM,
    toM: vehicle.cargoEndM,
    lateralM: 0,
    widthM: vehicle.widthM * rng.uniform(0.7, 0.95),
    heightM: (1.0 + top) / 2,
    heightSpanM: Math.max(0.2, top - 1.0),
    strengthPerM: rng.logUniform(...ranges.normPerM),
  };
}

/** A neutron emitter in the cargo, plus the weak gamma it comes with (both at the same spot). */
export function drawNeutron(rng: Rng, vehicle: Vehicle, ranges = DEFAULT_SOURCE_RANGES): PointSource[] {
  const spot = cargoSpot(rng, vehicle);
  return [
    {
      shape: 'point',
      role: 'neutron',
      radiation: 'neutron',
      ...spot,
      strength: rng.logUniform(...ranges.neutron),
      transmission: 1,
    },
    {
      shape: 'point',
      role: 'neutron',
      radiation: 'gamma',
      ...spot,
      strength: rng.logUniform(...ranges.neutronGamma),
      transmission: 1,
    },
  ];
}
