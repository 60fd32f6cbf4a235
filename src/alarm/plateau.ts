/**
 * A localized excess on top of a NORM plateau (SPEC §3 step 4: "a localized excess on top of a
 * plateau — source hidden in NORM"), judged against a model of the plateau itself.
 *
 * Bulk NORM is a line source along the cargo: seen from a panel at distance d it gives
 * A·[F((t − ta)/τ) − F((t − tb)/τ)], F(u) = u/√(1 + u²), τ = d/v, ta and tb the times its ends
 * cross the detector plane (the same flat-panel response as a point source, integrated along the
 * line, SPEC §2). The cargo also shadows the background between ta and tb. The fit: a grid over
 * τ and the two ends (around the half-maximum edges), amplitude and shadow by linear least
 * squares, weights 1/counts. A short plateau is rounded on top — a window on its crown stands
 * above flanks half a window away, which is what made a flank test call every strong NORM
 * load a hidden source; the model has the crown, a point source (narrower than the plateau)
 * does not fit it.
 *
 * The residual is then scanned with windows of a point source's width; each window's excess is
 * scaled by the fit's robust residual spread (1.4826·MAD of the standardized residuals, at least
 * 1: a load that is not uniform is not a source) and made family-wise over the positions.
 * Runs once per alarming occupancy, O(grid × samples).
 */
import type { GammaProfile } from './gamma-profile.js';
import { familySigma, medianInPlace } from './stats.js';

export interface PlateauBump {
  /** Family-wise significance of the best window over the fitted plateau. */
  readonly sigma: number;
  /** Centre of that window (sample index, fractional). */
  readonly centre: number;
}

const TAUS_S = [0.3, 0.6, 1.0];
const EDGE_STEPS = [-1, 0, 1];

/**
 * `from`…`to` (exclusive): the samples to fit (the vehicle, a little beyond the plateau);
 * `left`…`right`: the plateau's half-maximum region; `baseline(i)`: the expected background
 * counts of sample i without the load; `w`: a point source's window (samples).
 */
export function plateauBump(
  p: GammaProfile,
  g: number,
  from: number,
  to: number,
  left: number,
  right: number,
  dt: number,
  baseline: (i: number) => number,
  w: number,
): PlateauBump | null {
  const n = to - from;
  if (n < 3 * w || right - left + 1 < w) return null;
  const y = new Float64Array(n);
  const b = new Float64Array(n);
  const wt = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    y[k] = p.at(g, from + k);
    b[k] = baseline(from + k);
    wt[k] = 1 / Math.max(1, y[k]!);
  }
  const model = new Float64Array(n);
  let bestChi = Infinity;
  for (const tau of TAUS_S) {
    for (const da of EDGE_STEPS) {
      for (const db of EDGE_STEPS) {
        const ta = left - from + da * 0.5;
        const tb = right + 1 - from + db * 0.5;
        if (tb - ta < 2) continue;
        // Linear least squares for y − b = A·k + C·box (box: the cargo's shadow); χ² from the sums.
        let skk = 0;
        let skb = 0;
        let sbb = 0;
        let sky = 0;
        let sby = 0;
        let syy = 0;
        for (let k = 0; k < n; k++) {
          const t = k + 0.5;
          const kk = f((t - ta) * (dt / tau)) - f((t - tb) * (dt / tau));
          const ww = wt[k]!;
          const r = y[k]! - b[k]!;
          syy += ww * r * r;
          skk += ww * kk * kk;
          sky += ww * kk * r;
          if (t >= ta && t <= tb) {
            skb += ww * kk;
            sbb += ww;
            sby += ww * r;
          }
        }
        const det = skk * sbb - skb * skb;
        if (!(Math.abs(det) > 1e-12)) continue;
        const A = (sky * sbb - sby * skb) / det;
        const C = (skk * sby - skb * sky) / det;
        const chi = syy - 2 * A * sky - 2 * C * sby + A * A * skk + 2 * A * C * skb + C * C * sbb;
        if (chi < bestChi) {
          bestChi = chi;
          for (let k = 0; k < n; k++) {
            const t = k + 0.5;
            const box = t >= ta && t <= tb ? 1 : 0;
            const kk = f((t - ta) * (dt / tau)) - f((t - tb) * (dt / tau));
            model[k] = Math.max(1e-9, b[k]! + A * kk + C * box);
          }
        }
      }
    }
  }
  if (!Number.isFinite(bestChi)) return null;
  // Robust spread of the standardized residuals: a lumpy load widens it, a single peak does not.
  const z = new Float64Array(n);
  for (let k = 0; k < n; k++) z[k] = Math.abs(y[k]! - model[k]!) / Math.sqrt(model[k]!);
  const scale = Math.max(1, 1.4826 * medianInPlace(z, n));
  let best = 0;
  let bestAt = -1;
  let positions = 0;
  let sy = 0;
  let sm = 0;
  const a = Math.max(0, left - from);
  const e = Math.min(n, right + 1 - from);
  for (let k = a; k < e; k++) {
    sy += y[k]!;
    sm += model[k]!;
    if (k - a >= w) {
      sy -= y[k - w]!;
      sm -= model[k - w]!;
    }
    if (k - a + 1 < w) continue;
    positions++;
    const s = (sy - sm) / Math.sqrt(sm) / scale;
    if (s > best) {
      best = s;
      bestAt = from + k - (w - 1) / 2;
    }
  }
  if (bestAt < 0) return null;
  return { sigma: familySigma(best, positions), centre: bestAt };
}

function f(u: number): number {
  return u / Math.sqrt(1 + u * u);
}
