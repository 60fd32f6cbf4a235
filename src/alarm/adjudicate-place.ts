/**
 * Where along the vehicle and on which side an excess is, as the adjudication reads it from the
 * profile's features (SPEC §2 geometry: a 2.5–3 m cab in front, cargo behind, cars short), with
 * the small number helpers the adjudication's reasons share.
 */
import type { AdjudicationOptions } from './adjudicate.js';
import type { ProfileFeatures } from './features.js';

export interface Placement {
  /** The vehicle is shorter than `carLengthM`: no cargo section. */
  readonly isCar: boolean;
  /** Within `cabLengthM` of a truck's front. */
  readonly inCab: boolean;
  /** In the cab, but within `cabMarginM` of its end: it may be the cargo's first metre. */
  readonly nearCargo: boolean;
}

export type PlacementOptions = Pick<AdjudicationOptions, 'carLengthM' | 'cabLengthM' | 'cabMarginM'>;

export function placeExcess(f: ProfileFeatures, o: PlacementOptions): Placement {
  const cab = o.cabLengthM ?? 2.6;
  const isCar = f.vehicleLengthM !== null && f.vehicleLengthM < (o.carLengthM ?? 8);
  const along = f.alongM;
  const inCab = !isCar && along !== null && along <= cab;
  const nearCargo = inCab && along > cab - (o.cabMarginM ?? 0.3);
  return { isCar, inCab, nearCargo };
}

/** (driver − other)/(sum) of the excess, or null without two pillars. */
export function towardDriver(f: ProfileFeatures, driverSide: 'master' | 'slave' = 'master'): number | null {
  if (f.asymmetry === null) return null;
  return driverSide === 'master' ? f.asymmetry : -f.asymmetry;
}

/** The excess's place in an operator's words. */
export function describePosition(f: ProfileFeatures, isCar: boolean, inCab: boolean): string {
  const pct = `${Math.round(clamp(f.position, 0, 1) * 100)} % of the vehicle length`;
  if (f.alongM === null) return `at ${pct} (by time; no speed)`;
  const m = `${fmt(Math.max(0, f.alongM), 1)} m behind the front`;
  if (isCar)
    return `at ${pct} (${m}) of a ${fmt(f.vehicleLengthM ?? 0, 1)} m car: in the passenger compartment`;
  return inCab ? `in the cab (${m})` : `at ${pct} (${m}): in the cargo`;
}

/** The driver's pillar's share of the excess, in percent, from `towardDriver`. */
export function driverShare(toward: number): number {
  return Math.round(((1 + toward) / 2) * 100);
}

export function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

export function round(x: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(x * k) / k;
}

export function fmt(x: number, digits: number): string {
  return x.toFixed(digits);
}
