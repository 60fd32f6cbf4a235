import { describe, expect, it } from 'vitest';
import { createRng } from '../../../simulators/physics/rng.js';
import { twoPillarPortal, type PortalGeometry } from '../../../simulators/physics/portal.js';
import { backgroundFactor, expectedCounts, type Scene } from '../../../simulators/physics/profile.js';
import { drawMedical, drawNorm, type PointSource } from '../../../simulators/physics/sources.js';
import { drawVehicle, frontPosition, makeMotion, type Vehicle } from '../../../simulators/physics/vehicle.js';
import { describePlan, generateScenario, type OccupancyKind } from '../../../simulators/physics/scenario.js';

/** One panel at lateral −2 m, 1 m high. */
const onePanel: PortalGeometry = {
  laneWidthM: 4,
  sensorOffsetM: 0.5,
  driverSide: 'master',
  gamma: [{ name: 'p', elements: [{ lateralM: -2, heightM: 1, weight: 1 }] }],
  neutron: [],
};

const truck: Vehicle = {
  type: 'truck',
  lengthM: 16,
  cabLengthM: 2.8,
  cargoStartM: 3.4,
  cargoEndM: 15.8,
  widthM: 2.5,
  cargoTopM: 3,
};

function point(alongM: number, lateralM: number, heightM: number, strength: number): PointSource {
  return {
    shape: 'point',
    role: 'threat',
    radiation: 'gamma',
    alongM,
    lateralM,
    heightM,
    strength,
    transmission: 1,
  };
}

function scene(partial: Partial<Scene>): Scene {
  const vehicle = partial.vehicle ?? truck;
  return {
    portal: onePanel,
    vehicle,
    motion: makeMotion(vehicle.lengthM, 2, 2),
    sources: [],
    shadowing: 0,
    cabShadowing: 0,
    gammaBackgroundCps: [0],
    neutronBackgroundCps: [],
    ...partial,
  };
}

/** Sampled source rate (summed over channels) on a fine grid. */
function rateProfile(
  s: Scene,
  from: number,
  to: number,
  dt: number,
  channel?: number,
): { t: number; rate: number }[] {
  const out: { t: number; rate: number }[] = [];
  for (let t = from; t < to; t += dt) {
    const e = expectedCounts(s, 'gamma', t, t + dt);
    const counts = channel === undefined ? e.source.reduce((a, b) => a + b, 0) : e.source[channel]!;
    out.push({ t: t + dt / 2, rate: counts / dt });
  }
  return out;
}

function fwhm(profile: { t: number; rate: number }[]): number {
  const max = Math.max(...profile.map((p) => p.rate));
  const above = profile.filter((p) => p.rate >= max / 2);
  return above[above.length - 1]!.t - above[0]!.t;
}

describe('point source profile', () => {
  it.each([
    [1.5, 2],
    [1, 4],
    [3, 1],
  ])('has FWHM ≈ 1.53·d/v (d = %f m, v = %f m/s) and total 2S/(d·v)', (d, v) => {
    const s = scene({ motion: makeMotion(truck.lengthM, v, v), sources: [point(8, -2 + d, 1, 1000)] });
    const profile = rateProfile(s, -5, 20, 0.002);
    expect(fwhm(profile)).toBeCloseTo((1.533 * d) / v, 1);
    expect(Math.abs(fwhm(profile) / ((1.533 * d) / v) - 1)).toBeLessThan(0.02);
    const total = expectedCounts(s, 'gamma', -200, 200).source[0]!;
    expect(total).toBeCloseTo((2 * 1000) / (d * v), 0);
    // Peak rate S/d² when the source crosses the plane.
    expect(Math.max(...profile.map((p) => p.rate))).toBeCloseTo(1000 / (d * d), -1);
  });

  it('peaks when the source crosses the detector plane, even while accelerating', () => {
    const motion = makeMotion(truck.lengthM, 1.5, 1.8);
    const s = scene({ motion, sources: [point(6, -1, 1, 500)] });
    const profile = rateProfile(s, -2, 15, 0.01);
    const peak = profile.reduce((a, b) => (b.rate > a.rate ? b : a));
    expect(Math.abs(frontPosition(motion, peak.t) - 6)).toBeLessThan(0.05);
  });

  it('gives four different channels: near pillar over far pillar, the nearer height higher', () => {
    const portal = twoPillarPortal({ laneWidthM: 4.5 });
    // Source on the master side (lateral −0.8 m), low (1.0 m): masterLower sees most.
    const s = scene({ portal, gammaBackgroundCps: [0, 0, 0, 0], sources: [point(8, -0.8, 1.0, 1000)] });
    const [mu, ml, sl, su] = expectedCounts(s, 'gamma', -100, 100).source as [number, number, number, number];
    expect(ml).toBeGreaterThan(mu);
    expect(mu).toBeGreaterThan(sl);
    expect(sl).toBeGreaterThan(su);
  });
});

describe('NORM and medical profiles', () => {
  const portal = twoPillarPortal({ laneWidthM: 4.5 });
  const rng = createRng('norm');

  it('NORM gives a broad plateau over the cargo section, symmetric between pillars', () => {
    const norm = drawNorm(rng, truck);
    const s = scene({ portal, gammaBackgroundCps: [0, 0, 0, 0], sources: [norm] });
    const profile = rateProfile(s, -2, 12, 0.1);
    const max = Math.max(...profile.map((p) => p.rate));
    const plateau = profile.filter((p) => p.rate >= 0.8 * max);
    const plateauS = plateau[plateau.length - 1]!.t - plateau[0]!.t;
    const cargoS = (norm.toM - norm.fromM) / 2;
    expect(plateauS).toBeGreaterThan(0.7 * cargoS);
    // Flat: away from the cargo ends (edge effects reach ~d) the rate varies by under 15 %.
    const mid = profile.filter((p) => {
      const x = frontPosition(s.motion, p.t);
      return x > norm.fromM + 3 && x < norm.toM - 3;
    });
    const rates = mid.map((p) => p.rate);
    expect(Math.min(...rates) / Math.max(...rates)).toBeGreaterThan(0.85);
    // Lasts cargo-length / v, far wider than a point source (FWHM 1.53·d/v ≈ 1.7 s at d = 2.25 m).
    expect(Math.abs(fwhm(profile) / cargoS - 1)).toBeLessThan(0.1);
    expect(fwhm(profile)).toBeGreaterThan(3 * ((1.533 * 2.25) / 2));
    const [mu, ml, sl, su] = expectedCounts(s, 'gamma', -50, 50).source as [number, number, number, number];
    expect((mu + ml) / (sl + su)).toBeCloseTo(1, 2);
  });

  it('a medical source peaks early (cab) and on the driver-side pillar', () => {
    const medical = drawMedical(rng, truck, portal);
    expect(medical.alongM).toBeLessThanOrEqual(0.15 * truck.lengthM);
    expect(medical.heightM).toBeGreaterThanOrEqual(1.2);
    expect(medical.heightM).toBeLessThanOrEqual(1.5);
    const s = scene({ portal, gammaBackgroundCps: [0, 0, 0, 0], sources: [medical] });
    const profile = rateProfile(s, -2, 12, 0.05);
    const peak = profile.reduce((a, b) => (b.rate > a.rate ? b : a));
    const passAll = s.motion.clearS;
    expect(peak.t).toBeLessThan(0.25 * passAll);
    const [mu, ml, sl, su] = expectedCounts(s, 'gamma', -50, 50).source as [number, number, number, number];
    expect(mu + ml).toBeGreaterThan(1.5 * (sl + su)); // driver's side = master by default
  });

  it('shadows the background while the vehicle is between the pillars', () => {
    const s = scene({ gammaBackgroundCps: [1000], shadowing: 0.2, cabShadowing: 0.05 });
    expect(backgroundFactor(s, -3, -2)).toBe(1);
    const inCargo = (8 + 0.5) / 2; // front at 8 m: ξ = 8 (cargo) in the plane
    expect(backgroundFactor(s, inCargo, inCargo + 0.2)).toBeCloseTo(0.8, 6);
    expect(backgroundFactor(s, 0.4, 0.6)).toBeCloseTo(0.95, 6); // cab in the plane
    expect(expectedCounts(s, 'gamma', inCargo, inCargo + 0.2).background[0]).toBeCloseTo(160, 6);
  });
});

describe('vehicles and scenario', () => {
  it('occupancy lasts (L + 1 m)/v̄ and vehicles stay in their ranges', () => {
    const rng = createRng('vehicles');
    for (let i = 0; i < 200; i++) {
      const v = drawVehicle(rng, i % 2 ? 'car' : 'truck');
      if (v.type === 'car') expect(v.lengthM).toBeGreaterThanOrEqual(4);
      else expect(v.cabLengthM).toBeGreaterThanOrEqual(2.5);
      const m = makeMotion(v.lengthM, 2, 2.4);
      expect(m.clearS).toBeCloseTo((v.lengthM + 1) / 2.2, 9);
      expect(frontPosition(m, m.clearS)).toBeCloseTo(v.lengthM + 0.5, 9);
    }
  });

  it('is deterministic by seed and respects the mix', () => {
    const a = [...generateScenario({ seed: 11, occupancies: 30 })].map(describePlan);
    const b = [...generateScenario({ seed: 11, occupancies: 30 })].map(describePlan);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a)).not.toBe(
      JSON.stringify([...generateScenario({ seed: 12, occupancies: 30 })].map(describePlan)),
    );

    const kinds = new Map<OccupancyKind, number>();
    for (const p of generateScenario({ seed: 1, occupancies: 2000, mix: { background: 3, medical: 1 } })) {
      kinds.set(p.kind, (kinds.get(p.kind) ?? 0) + 1);
    }
    expect([...kinds.keys()].sort()).toEqual(['background', 'medical']);
    expect(kinds.get('background')! / 2000).toBeGreaterThan(0.71);
    expect(kinds.get('background')! / 2000).toBeLessThan(0.79);
  });

  it('computes the expected significance of each kind', () => {
    for (const p of generateScenario({ seed: 2, occupancies: 300 })) {
      const { gamma, neutron } = p.expected;
      if (p.kind === 'background') {
        expect(gamma.sigma).toBe(0);
        expect(gamma.backgroundCounts).toBeGreaterThan(0);
      } else if (p.kind === 'neutron') {
        expect(neutron.sigma).toBeGreaterThan(0);
      } else {
        expect(gamma.sigma).toBeGreaterThan(0);
        // σ = S/√B over the best 1 s window.
        expect(gamma.sigma).toBeCloseTo(gamma.sourceCounts / Math.sqrt(gamma.backgroundCounts), 6);
      }
      if (p.kind === 'medical' || p.kind === 'threat' || p.kind === 'threat-in-norm') {
        const src = p.scene.sources.find((s) => s.role !== 'norm')!;
        expect(src.shape).toBe('point');
      }
    }
  });

  it('is lazy: an endless scenario yields plans on demand', () => {
    let n = 0;
    for (const p of generateScenario({ seed: 'endless' })) {
      expect(p.ordinal).toBe(++n);
      if (n === 50) break;
    }
    expect(n).toBe(50);
  });
});
