/**
 * The counts a simulated VM-250's detector channels produce (SPEC §2), Poisson-drawn from the
 * lane's RNG, with the plan's channel faults (physics/faults.ts, driver-agnostic) applied the
 * VM-250 way: a dead channel counts 0, a stuck one its constant, a high- or low-background one
 * at its fault's level (a source still adds on top). Also the cps a faulted channel reports in
 * its background lines. Kept apart from the stream (stream.ts), which decides when the device
 * counts and what it sends; the draws are in the stream's order, so a seed still gives the same
 * lines.
 */
import type { Rng } from '../physics/rng.js';
import { expectedCounts } from '../physics/profile.js';
import type { ChannelFault, OccupancyPlan } from '../physics/scenario.js';
import type { Radiation } from '../physics/sources.js';

/** 5 s of background counts per channel, faults applied. */
export function backgroundCounts(rng: Rng, plan: OccupancyPlan, radiation: Radiation): number[] {
  const base = radiation === 'gamma' ? plan.scene.gammaBackgroundCps : plan.scene.neutronBackgroundCps;
  return base.map((cps, c) => {
    const f = faultOf(plan.faults, radiation, c);
    if (f?.type === 'dead') return 0;
    if (f?.type === 'stuck') return f.cps * 5;
    const level = f ? f.cps : cps;
    return rng.poisson(level * 5);
  });
}

/** One 200 ms (or 1 s) sample's counts per channel, Poisson-drawn, faults applied. */
export function sampleCounts(
  rng: Rng,
  plan: OccupancyPlan,
  radiation: Radiation,
  t1: number,
  t2: number,
): number[] {
  const e = expectedCounts(plan.scene, radiation, t1, t2);
  const base = radiation === 'gamma' ? plan.scene.gammaBackgroundCps : plan.scene.neutronBackgroundCps;
  return e.source.map((src, c) => {
    const f = faultOf(plan.faults, radiation, c);
    if (f?.type === 'dead') return 0;
    if (f?.type === 'stuck') return Math.round(f.cps * (t2 - t1));
    const bg = f ? (e.background[c]! * f.cps) / Math.max(1e-9, base[c] ?? 0) : e.background[c]!;
    return rng.poisson(bg + src);
  });
}

/** Reported cps of a channel: a stuck channel reports its constant, a dead one 0. */
export function overrideCps(
  faults: readonly ChannelFault[],
  radiation: Radiation,
  channel: number,
  cps: number,
): number {
  const f = faultOf(faults, radiation, channel);
  if (f?.type === 'dead') return 0;
  if (f?.type === 'stuck') return f.cps;
  return cps;
}

function faultOf(
  faults: readonly ChannelFault[],
  radiation: Radiation,
  channel: number,
): ChannelFault | undefined {
  return faults.find((f) => f.radiation === radiation && f.channel === channel);
}
