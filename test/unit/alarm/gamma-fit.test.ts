/**
 * The profile fit (src/alarm/gamma-fit.ts) reads its template from a table and the counts from
 * the profile's running sums: its z must equal the plain least-squares fit of a flat level plus
 * the flat-panel peak, computed here sample by sample, at every t0 of the half-sample grid.
 */
import { describe, expect, it } from 'vitest';
import { profileFitTest } from '../../../src/alarm/gamma-fit.js';
import type { LocalHost } from '../../../src/alarm/gamma-local.js';
import type { ShadowLevel } from '../../../src/alarm/gamma-level.js';
import { GammaProfile } from '../../../src/alarm/gamma-profile.js';

const DT = 0.2;
const V = 2.1; // m/s
const B = [350, 340, 370, 330]; // counts per sample and channel, unshadowed
const LO = 8;
const HI = 30;
const N = 43;

const shape = (u: number): number => u / Math.sqrt(1 + u * u);

/** A shadowed interior (0.88) with a point source at `t0` (sample units) and `d` from the panels. */
function profile(t0: number, d: number, peak: number): GammaProfile {
  const p = new GammaProfile(4, 1500);
  const s = (V * DT) / d;
  for (let i = 0; i < N; i++) {
    const f = shape((i + 1 - t0) * s) - shape((i - t0) * s);
    const k = i >= LO && i < HI ? 0.88 : 1;
    p.append(B.map((b) => Math.round(k * b + peak * f)));
  }
  return p;
}

interface Seen {
  z: number;
  g: number;
  centre: number;
}

function host(p: GammaProfile, seen: Seen[]): LocalHost {
  const level = { known: true, lo: LO, hi: HI } as unknown as ShadowLevel;
  const total = B.reduce((a, b) => a + b, 0);
  return {
    profile: p,
    level,
    bar: 0,
    expectedGroup: (g) => (g < 4 ? B[g]! : total),
    groupUsable: () => true,
    consider: (z, g, _t, _baseline, _i, centre) => {
      seen.push({ z, g, centre });
      return null;
    },
  };
}

/** The best z per group, sample by sample with the formula itself (the fit's definition). */
function reference(p: GammaProfile, distances: readonly number[]): number[] {
  const total = B.reduce((a, b) => a + b, 0);
  const best = new Array<number>(p.groups).fill(0);
  for (const d of distances) {
    const s = (V * DT) / d;
    const reach = Math.ceil(6 / s);
    const w = Math.max(1, Math.round((1.2 * 1.533) / s));
    const half = Math.ceil(w / 2);
    for (let c2 = 2 * (LO - half); c2 <= 2 * (HI + half); c2++) {
      const t0 = c2 / 2;
      const from = Math.max(LO, Math.floor(t0) - reach);
      const to = Math.min(HI, Math.ceil(t0) + reach);
      const n = to - from;
      if (n < 6) continue;
      for (let g = 0; g < p.groups; g++) {
        const cap = g < 4 ? B[g]! : total;
        let sf = 0;
        let sff = 0;
        let sy = 0;
        let sfy = 0;
        for (let i = from; i < to; i++) {
          const f = shape((i + 1 - t0) * s) - shape((i - t0) * s);
          const y = p.at(g, i);
          sf += f;
          sff += f * f;
          sy += y;
          sfy += f * y;
        }
        const sxx = sff - (sf * sf) / n;
        const sxy = sfy - (sf * sy) / n;
        if (!(sxx > 1e-12) || !(sxy > 0)) continue;
        const level = (sy - (sxy / sxx) * sf) / n;
        if (!(level >= 0.7 * cap) || level >= cap) continue;
        best[g] = Math.max(best[g]!, sxy / Math.sqrt(level * sxx));
      }
    }
  }
  return best;
}

describe('gamma profile fit', () => {
  for (const [t0, d] of [
    [19.5, 2.25],
    [9, 1],
    [28.5, 3.5],
  ] as const) {
    it(`equals the sample-by-sample fit (source at sample ${t0}, ${d} m)`, () => {
      const p = profile(t0, d, 900);
      const seen: Seen[] = [];
      const distances = [1, 2.25, 3.5];
      profileFitTest(host(p, seen), V, DT, distances, N - 1);
      const want = reference(p, distances);
      for (let g = 0; g < p.groups; g++) {
        const got = Math.max(0, ...seen.filter((x) => x.g === g).map((x) => x.z));
        expect(got).toBeCloseTo(want[g]!, 9);
      }
      // Mid-interior, the sum's best fit sits on the source.
      const top = seen.filter((x) => x.g === 4).sort((a, b) => b.z - a.z)[0]!;
      if (t0 > LO + 5 && t0 < HI - 5) expect(Math.abs(top.centre + 0.5 - t0)).toBeLessThanOrEqual(1.5);
    });
  }
});
