/**
 * Vehicles and their motion through the portal (SPEC §2): cars 4–5 m, trucks 12–20 m with a
 * 2.5–3 m cab, 1–4 m/s with up to ±20 % speed change over the pass.
 *
 * Frame: x runs along the lane in the direction of travel, 0 at the detector plane. A vehicle's
 * own coordinate ξ runs from its front (0) to its rear (L); a point at ξ is at x = P(t) − ξ,
 * where P(t) is the front's position. The occupancy sensors sit `sensorOffsetM` before and after
 * the plane, so the occupancy covers L + 2·offset (≈ L + 1 m) of travel.
 */
import type { Rng } from './rng.js';

export type VehicleType = 'car' | 'truck';

export interface Vehicle {
  readonly type: VehicleType;
  readonly lengthM: number;
  /** The cab (driver compartment): ξ ∈ [0, cabLengthM]. Cars are all cab. */
  readonly cabLengthM: number;
  /** The cargo section: ξ ∈ [cargoStartM, cargoEndM]; empty (start = end) for cars. */
  readonly cargoStartM: number;
  readonly cargoEndM: number;
  readonly widthM: number;
  /** Top of the cargo above the road (m), for source heights. */
  readonly cargoTopM: number;
}

/** Front position P(t): constant speed before the trigger and after the rear clears, uniform acceleration between. */
export interface Motion {
  /** Speed at the trigger (m/s). */
  readonly entrySpeedMps: number;
  /** Speed when the rear clears the exit sensor (m/s). */
  readonly exitSpeedMps: number;
  /** Uniform acceleration between trigger and clear (m/s², negative = braking). */
  readonly accelerationMps2: number;
  /** Front position at the trigger (= −sensor offset). */
  readonly frontAtTriggerM: number;
  /** Seconds from the trigger until the rear clears the exit sensor. */
  readonly clearS: number;
}

export interface VehicleRanges {
  readonly carLengthM: readonly [number, number];
  readonly truckLengthM: readonly [number, number];
  readonly cabLengthM: readonly [number, number];
  readonly speedMps: readonly [number, number];
  /** Maximum relative speed change over the pass (0.2 = ±20 %). */
  readonly speedChange: number;
}

export const DEFAULT_VEHICLE_RANGES: VehicleRanges = {
  carLengthM: [4, 5],
  truckLengthM: [12, 20],
  cabLengthM: [2.5, 3],
  speedMps: [1, 4],
  speedChange: 0.2,
};

/** Draw a vehicle of the given type. */
export function drawVehicle(
  rng: Rng,
  type: VehicleType,
  ranges: VehicleRanges = DEFAULT_VEHICLE_RANGES,
): Vehicle {
  if (type === 'car') {
    const lengthM = rng.uniform(...ranges.carLengthM);
    return {
      type,
      lengthM,
      cabLengthM: lengthM,
      cargoStartM: lengthM,
      cargoEndM: lengthM,
      widthM: rng.uniform(1.7, 1.9),
      cargoTopM: 1.4,
    };
  }
  const lengthM = rng.uniform(...ranges.truckLengthM);
  const cabLengthM = rng.uniform(...ranges.cabLengthM);
  return {
    type,
    lengthM,
    cabLengthM,
    // A short gap between cab and box/container, a little overhang at the rear.
    cargoStartM: cabLengthM + rng.uniform(0.3, 0.8),
    cargoEndM: lengthM - rng.uniform(0.1, 0.4),
    widthM: 2.5,
    cargoTopM: rng.uniform(2.6, 4),
  };
}

/** Draw how the vehicle moves through a portal whose sensors sit `sensorOffsetM` either side. */
export function drawMotion(
  rng: Rng,
  vehicle: Vehicle,
  sensorOffsetM = 0.5,
  ranges: VehicleRanges = DEFAULT_VEHICLE_RANGES,
): Motion {
  const v0 = rng.uniform(...ranges.speedMps);
  const v1 = v0 * (1 + rng.uniform(-ranges.speedChange, ranges.speedChange));
  return makeMotion(vehicle.lengthM, v0, v1, sensorOffsetM);
}

/** The motion with the given entry/exit speeds (both > 0). */
export function makeMotion(
  lengthM: number,
  entrySpeedMps: number,
  exitSpeedMps: number,
  sensorOffsetM = 0.5,
): Motion {
  const distance = lengthM + 2 * sensorOffsetM;
  // v1² = v0² + 2aD and t = 2D / (v0 + v1) for uniform acceleration.
  const clearS = (2 * distance) / (entrySpeedMps + exitSpeedMps);
  return {
    entrySpeedMps,
    exitSpeedMps,
    accelerationMps2: (exitSpeedMps - entrySpeedMps) / clearS,
    frontAtTriggerM: -sensorOffsetM,
    clearS,
  };
}

/** Front position P(t) (m), t in seconds from the trigger (negative = before it). */
export function frontPosition(m: Motion, t: number): number {
  if (t <= 0) return m.frontAtTriggerM + m.entrySpeedMps * t;
  if (t <= m.clearS) return m.frontAtTriggerM + m.entrySpeedMps * t + 0.5 * m.accelerationMps2 * t * t;
  const atClear =
    m.frontAtTriggerM + m.entrySpeedMps * m.clearS + 0.5 * m.accelerationMps2 * m.clearS * m.clearS;
  return atClear + m.exitSpeedMps * (t - m.clearS);
}

/** Speed at time t (m/s). */
export function speedAt(m: Motion, t: number): number {
  if (t <= 0) return m.entrySpeedMps;
  if (t >= m.clearS) return m.exitSpeedMps;
  return m.entrySpeedMps + m.accelerationMps2 * t;
}

/** Mean speed over the occupancy (what an RPM's speed line reports). */
export function meanSpeed(m: Motion, vehicle: Vehicle): number {
  return (vehicle.lengthM - 2 * m.frontAtTriggerM) / m.clearS;
}

/** Time (s from the trigger) when the front reaches position `x` (m); P(t) is increasing. */
export function timeWhenFrontAt(m: Motion, x: number): number {
  let lo = -1;
  while (frontPosition(m, lo) > x) lo *= 2;
  let hi = 1;
  while (frontPosition(m, hi) < x) hi *= 2;
  for (let i = 0; i < 60 && hi - lo > 1e-6; i++) {
    const mid = (lo + hi) / 2;
    if (frontPosition(m, mid) < x) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
