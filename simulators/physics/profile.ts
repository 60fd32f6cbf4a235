/**
 * Expected counts per channel over a time interval while a vehicle passes (SPEC §2): background
 * (with shadowing while the vehicle is between the pillars) plus every source.
 *
 * Point source at perpendicular distance d: rate `S/d² · (1 + u²)^(-3/2)`, u = x/d, x = P(t) − ξ.
 * Integrated over an interval at the interval's mean speed v̄ this is exact in closed form:
 *   counts = S/(d·v̄) · [F(u)] with F(u) = u/√(1+u²),
 * so narrow peaks (fast vehicles, d ≈ 1 m) are never under-sampled. A line source from ξ=a to b
 * integrates once more: counts = σ/v̄ · ([G(w_a)] − [G(w_b)]), G(w) = √(1+w²), w = (P − ξ)/d.
 * Peak FWHM is 2·√(2^(2/3) − 1)·d/v ≈ 1.533·d/v; total counts of a pass 2S/(d·v).
 */
import type { DetectorElement, PortalGeometry } from './portal.js';
import type { Radiation, Source } from './sources.js';
import { frontPosition, type Motion, type Vehicle } from './vehicle.js';

/** Everything that shapes one occupancy's count profile. */
export interface Scene {
  readonly portal: PortalGeometry;
  readonly vehicle: Vehicle;
  readonly motion: Motion;
  readonly sources: readonly Source[];
  /** Fractional background drop while cargo is between the pillars (0–0.3). */
  readonly shadowing: number;
  /** Fractional background drop while the cab (or a car) is between the pillars. */
  readonly cabShadowing: number;
  /** Background per channel (cps), unshadowed. */
  readonly gammaBackgroundCps: readonly number[];
  readonly neutronBackgroundCps: readonly number[];
}

export interface ExpectedCounts {
  /** Expected background counts per channel (shadowing applied). */
  readonly background: number[];
  /** Expected source counts per channel. */
  readonly source: number[];
}

/** Closest a source may be to a panel face (m): vehicles never touch the pillars. */
const MIN_DISTANCE_M = 0.3;
const SHADOW_SUBSTEPS = 8;

function distance(e: DetectorElement, lateralM: number, heightM: number): number {
  return Math.max(MIN_DISTANCE_M, Math.hypot(e.lateralM - lateralM, e.heightM - heightM));
}

function F(u: number): number {
  return u / Math.sqrt(1 + u * u);
}

function G(w: number): number {
  return Math.sqrt(1 + w * w);
}

/** Source counts one element sees between front positions p1 < p2 travelled in `dt` seconds. */
function sourceCounts(e: DetectorElement, s: Source, p1: number, p2: number, dt: number): number {
  const vMean = (p2 - p1) / dt;
  if (!(vMean > 0)) return 0;
  if (s.shape === 'point') {
    const d = distance(e, s.lateralM, s.heightM);
    return (s.strength / (d * vMean)) * (F((p2 - s.alongM) / d) - F((p1 - s.alongM) / d));
  }
  // Line source: a 3 × 2 grid of sub-lines across its cross-section, the strength split evenly.
  let total = 0;
  const k = s.strengthPerM / 6 / vMean;
  for (let iy = -1; iy <= 1; iy++) {
    for (let iz = -1; iz <= 1; iz += 2) {
      const d = distance(e, s.lateralM + (iy * s.widthM) / 3, s.heightM + (iz * s.heightSpanM) / 4);
      const front = G((p2 - s.fromM) / d) - G((p1 - s.fromM) / d);
      const rear = G((p2 - s.toM) / d) - G((p1 - s.toM) / d);
      total += k * (front - rear);
    }
  }
  return total;
}

/** Mean background factor over [t1, t2]: 1 − shadowing while the vehicle is in the detector plane. */
export function backgroundFactor(scene: Scene, t1: number, t2: number): number {
  let sum = 0;
  const { vehicle, motion } = scene;
  for (let k = 0; k < SHADOW_SUBSTEPS; k++) {
    const xi = frontPosition(motion, t1 + ((k + 0.5) / SHADOW_SUBSTEPS) * (t2 - t1)); // ξ at the plane
    if (xi < 0 || xi > vehicle.lengthM) sum += 1;
    else if (xi <= vehicle.cabLengthM) sum += 1 - scene.cabShadowing;
    else sum += 1 - scene.shadowing;
  }
  return sum / SHADOW_SUBSTEPS;
}

/**
 * Expected counts per channel of `radiation` over [t1, t2] (seconds from the trigger).
 * Neutron background is not shadowed (the cosmic "ship effect" is left out).
 */
export function expectedCounts(scene: Scene, radiation: Radiation, t1: number, t2: number): ExpectedCounts {
  const channels = radiation === 'gamma' ? scene.portal.gamma : scene.portal.neutron;
  const bgCps = radiation === 'gamma' ? scene.gammaBackgroundCps : scene.neutronBackgroundCps;
  const dt = t2 - t1;
  const factor = radiation === 'gamma' ? backgroundFactor(scene, t1, t2) : 1;
  const p1 = frontPosition(scene.motion, t1);
  const p2 = frontPosition(scene.motion, t2);
  const background: number[] = [];
  const source: number[] = [];
  for (let c = 0; c < channels.length; c++) {
    background.push((bgCps[c] ?? 0) * dt * factor);
    let counts = 0;
    for (const s of scene.sources) {
      if (s.radiation !== radiation) continue;
      for (const e of channels[c]!.elements) counts += e.weight * sourceCounts(e, s, p1, p2, dt);
    }
    source.push(counts);
  }
  return { background, source };
}

export interface Significance {
  /** Source counts over the background expected in the best window, summed over channels: S/√B. */
  readonly sigma: number;
  /**
   * What a gross-count N-sigma test against the unshadowed background would see in expectation:
   * (S + B_shadowed − B_nominal)/√B_nominal, best window (can be negative with heavy shadowing).
   */
  readonly grossSigma: number;
  /** Start of the best (max sigma) window, seconds from the trigger. */
  readonly windowStartS: number;
  readonly sourceCounts: number;
  readonly backgroundCounts: number;
}

export interface SignificanceOptions {
  readonly fromS: number;
  readonly toS: number;
  /** Window length (s): 1 s = 5 gamma samples (SPEC §3), one neutron interval. */
  readonly windowS: number;
  readonly stepS: number;
}

/** The best sliding-window significance of the source excess, summed over all channels. */
export function windowSignificance(scene: Scene, radiation: Radiation, o: SignificanceOptions): Significance {
  const n = Math.max(1, Math.round(o.windowS / o.stepS));
  const bgCps = radiation === 'gamma' ? scene.gammaBackgroundCps : scene.neutronBackgroundCps;
  const nominal = bgCps.reduce((a, b) => a + b, 0) * n * o.stepS;
  const src: number[] = [];
  const bg: number[] = [];
  for (let t = o.fromS; t + o.stepS <= o.toS + 1e-9; t += o.stepS) {
    const e = expectedCounts(scene, radiation, t, t + o.stepS);
    src.push(e.source.reduce((a, b) => a + b, 0));
    bg.push(e.background.reduce((a, b) => a + b, 0));
  }
  let sigma = 0;
  let grossSigma = -Infinity;
  let bestEnd = Math.min(n, src.length) - 1;
  let sw = 0;
  let bw = 0;
  let bestS = 0;
  let bestB = 0;
  for (let i = 0; i < src.length; i++) {
    sw += src[i]!;
    bw += bg[i]!;
    if (i >= n) {
      sw -= src[i - n]!;
      bw -= bg[i - n]!;
    }
    if (i < n - 1 && i < src.length - 1) continue;
    const z = bw > 0 ? sw / Math.sqrt(bw) : 0;
    if (z > sigma || i === bestEnd) {
      if (z > sigma) sigma = z;
      bestEnd = i;
      bestS = sw;
      bestB = bw;
    }
    if (nominal > 0) grossSigma = Math.max(grossSigma, (sw + bw - nominal) / Math.sqrt(nominal));
  }
  return {
    sigma,
    grossSigma: Number.isFinite(grossSigma) ? grossSigma : 0,
    windowStartS: o.fromS + Math.max(0, bestEnd - n + 1) * o.stepS,
    sourceCounts: bestS,
    backgroundCounts: bestB,
  };
}
