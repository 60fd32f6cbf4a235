/**
 * Detector faults and link disruptions a scenario can inject (SPEC §2: high/low background, a
 * dead or stuck channel, tamper, a silent device, link drops, garbage bytes, truncated lines),
 * driver-agnostic: each simulator maps them onto its own wire behaviour.
 */
import type { Rng } from './rng.js';
import type { PortalGeometry } from './portal.js';
import type { Radiation } from './sources.js';

/** A detector condition, active from the start of a plan's gap to the end of its occupancy. */
export type ChannelFault =
  | {
      readonly type: 'high-background';
      readonly radiation: Radiation;
      readonly channel: number;
      readonly cps: number;
    }
  | {
      readonly type: 'low-background';
      readonly radiation: Radiation;
      readonly channel: number;
      readonly cps: number;
    }
  | { readonly type: 'dead'; readonly radiation: Radiation; readonly channel: number }
  | { readonly type: 'stuck'; readonly radiation: Radiation; readonly channel: number; readonly cps: number };

/**
 * A link or device event. `atS` is seconds from the start of the gap (phase `gap`) or from the
 * trigger (phase `occupancy`).
 */
export type Disruption =
  | { readonly type: 'tamper'; readonly phase: 'gap'; readonly atS: number; readonly durationS: number }
  | {
      readonly type: 'silence';
      readonly phase: 'gap' | 'occupancy';
      readonly atS: number;
      readonly durationS: number;
    }
  | {
      readonly type: 'link-drop';
      readonly phase: 'gap' | 'occupancy';
      readonly atS: number;
      readonly durationS: number;
    }
  | { readonly type: 'garbage'; readonly phase: 'gap'; readonly atS: number; readonly bytes: number }
  | { readonly type: 'truncated-line'; readonly phase: 'gap'; readonly atS: number }
  /** The device restarts in the gap: it dumps its setup and its occupancy index starts again. */
  | { readonly type: 'restart'; readonly phase: 'gap'; readonly atS: number }
  /** The end-of-occupancy message is lost: the occupancy must be closed as ended abnormally. */
  | { readonly type: 'missing-end'; readonly phase: 'occupancy'; readonly atS: number };

export type DisruptionType = Disruption['type'];

export interface FaultLevels {
  readonly gammaHighCps: readonly [number, number];
  readonly gammaLowCps: readonly [number, number];
  readonly neutronHighCps: readonly [number, number];
}

/** Fault levels beyond the VM-250 default setup's limits (high 4,000 cps, low 100 cps, neutron 20 cps). */
export const DEFAULT_FAULT_LEVELS: FaultLevels = {
  gammaHighCps: [5_000, 9_000],
  gammaLowCps: [10, 80],
  neutronHighCps: [30, 80],
};

export function drawFault(rng: Rng, portal: PortalGeometry, levels: FaultLevels): ChannelFault {
  const kind = rng.weighted({ high: 1, low: 1, dead: 1, stuck: 1, neutronHigh: 0.6 });
  const gammaChannel = rng.int(0, portal.gamma.length - 1);
  switch (kind) {
    case 'high':
      return {
        type: 'high-background',
        radiation: 'gamma',
        channel: gammaChannel,
        cps: rng.uniform(...levels.gammaHighCps),
      };
    case 'low':
      return {
        type: 'low-background',
        radiation: 'gamma',
        channel: gammaChannel,
        cps: rng.uniform(...levels.gammaLowCps),
      };
    case 'dead':
      return { type: 'dead', radiation: 'gamma', channel: gammaChannel };
    case 'stuck':
      return {
        type: 'stuck',
        radiation: 'gamma',
        channel: gammaChannel,
        cps: Math.round(rng.uniform(200, 2000)),
      };
    case 'neutronHigh':
      return {
        type: 'high-background',
        radiation: 'neutron',
        channel: rng.int(0, portal.neutron.length - 1),
        cps: rng.uniform(...levels.neutronHighCps),
      };
  }
}

export function drawDisruptions(
  rng: Rng,
  probabilities: Readonly<Partial<Record<DisruptionType, number>>>,
  gapS: number,
  clearS: number,
): { disruptions: Disruption[]; gapS: number } {
  const out: Disruption[] = [];
  const inGap = (): number => rng.uniform(0.2, Math.max(0.3, gapS - 1));
  let gap = gapS;
  for (const [type, p] of Object.entries(probabilities) as [DisruptionType, number][]) {
    if (!(p > 0) || !rng.chance(p)) continue;
    switch (type) {
      case 'tamper':
        out.push({ type, phase: 'gap', atS: inGap(), durationS: rng.uniform(1, Math.max(1.5, gapS / 2)) });
        break;
      case 'silence':
      case 'link-drop': {
        // Half of them inside the occupancy (a 16 s gap was seen in a real file), half while empty.
        const durationS = rng.uniform(4, 20);
        if (rng.chance(0.5)) out.push({ type, phase: 'occupancy', atS: rng.uniform(0, clearS), durationS });
        else {
          const atS = inGap();
          gap = Math.max(gap, atS + durationS + 6); // the lane resumes with background before the next vehicle
          out.push({ type, phase: 'gap', atS, durationS });
        }
        break;
      }
      case 'garbage':
        out.push({ type, phase: 'gap', atS: inGap(), bytes: rng.int(3, 200) });
        break;
      case 'truncated-line':
        out.push({ type, phase: 'gap', atS: inGap() });
        break;
      case 'restart':
        out.push({ type, phase: 'gap', atS: inGap() });
        break;
      case 'missing-end':
        out.push({ type, phase: 'occupancy', atS: clearS });
        break;
    }
  }
  return { disruptions: out, gapS: gap };
}
