/**
 * Counting statistics for the alarm pipeline (SPEC §3 steps 2–3). Pure numeric helpers, no
 * allocation on the hot path.
 *
 * - {@link poissonUpperTail}: the exact P(X ≥ n) for X ~ Poisson(μ), evaluated in log space so
 *   tails down to 1e-300 keep full relative precision (a gross N-sigma test is wrong at the few
 *   counts a neutron tube sees: P(X ≥ 7 | 1) is 8e-5, not the 1e-9 "6σ" would claim).
 * - {@link poissonSigma}: the signed square root of the Poisson likelihood-ratio (deviance)
 *   statistic, √(2(n ln(n/μ) − (n − μ))). It tracks the exact Poisson tail to a few hundredths of
 *   a sigma from μ ≈ 10 up, where (n − μ)/√μ overstates the significance of small windows.
 * - {@link familySigma}: the Bonferroni correction for m simultaneous tests, written in sigma:
 *   m·Q(z) = Q(z′) gives z′² ≈ z² − 2 ln m in the Gaussian tail (the error is below 0.02σ for
 *   z ≥ 5). So "6σ" keeps meaning the false-alarm rate of one 6σ test however many windows and
 *   channels are looked at.
 */

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const HALF_LOG_2PI = 0.9189385332046727;

/** ln Γ(x) for x > 0 (Lanczos, g = 7; relative error ~1e-15). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (z + i);
  return HALF_LOG_2PI + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** ln P(X = n) for X ~ Poisson(mu), mu > 0, n ≥ 0 integer. */
export function logPoissonPmf(n: number, mu: number): number {
  return -mu + n * Math.log(mu) - logGamma(n + 1);
}

/**
 * ln P(X ≥ n), X ~ Poisson(mu). Exact: above the mean, pmf(n)·Σ_j μ^j·n!/(n+j)! (a series whose
 * ratio is below μ/(n+1) < 1); at or below it, 1 − the lower sum summed downwards from n − 1.
 */
export function logPoissonUpperTail(n: number, mu: number): number {
  const k = Math.ceil(n);
  if (k <= 0) return 0;
  if (!(mu > 0)) return -Infinity;
  if (k > mu) {
    let term = 1;
    let sum = 1;
    for (let j = 1; j < 100_000; j++) {
      term *= mu / (k + j);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return logPoissonPmf(k, mu) + Math.log(sum);
  }
  // P(X ≤ k−1) = pmf(k−1)·(1 + (k−1)/μ + (k−1)(k−2)/μ² + …), terms shrink since (k−1)/μ < 1.
  let term = 1;
  let sum = 1;
  for (let j = k - 1; j > 0; j--) {
    term *= j / mu;
    sum += term;
    if (term < sum * 1e-17) break;
  }
  const lower = Math.exp(logPoissonPmf(k - 1, mu)) * sum;
  return Math.log1p(-Math.min(lower, 1));
}

/** P(X ≥ n), X ~ Poisson(mu). */
export function poissonUpperTail(n: number, mu: number): number {
  return Math.exp(logPoissonUpperTail(n, mu));
}

/** Smallest n with P(X ≥ n) ≤ alpha for X ~ Poisson(mu). O(threshold) once per occupancy. */
export function poissonThreshold(mu: number, alpha: number): number {
  if (!(mu > 0)) return 1;
  const logAlpha = Math.log(alpha);
  // Start just above the mean and walk up; the tail is monotone in n.
  let n = Math.max(1, Math.floor(mu));
  while (logPoissonUpperTail(n, mu) > logAlpha) n++;
  return n;
}

/** Signed root of the Poisson deviance: the significance of n counts over mean mu, in sigma. */
export function poissonSigma(n: number, mu: number): number {
  if (!(mu > 0)) return n > 0 ? Infinity : 0;
  if (n <= 0) return -Math.sqrt(2 * mu);
  const d = 2 * (n * Math.log(n / mu) - (n - mu));
  const z = Math.sqrt(Math.max(0, d));
  return n >= mu ? z : -z;
}

/** The single-test sigma equivalent to the best of `m` tests at raw sigma z (Bonferroni). */
export function familySigma(z: number, m: number): number {
  if (!(z > 0) || m <= 1) return z;
  if (z === Infinity) return z;
  const z2 = z * z - 2 * Math.log(m);
  return z2 > 0 ? Math.sqrt(z2) : 0;
}

/** Raw sigma one of `m` tests must reach so that the family reaches `nSigma`. */
export function rawThreshold(nSigma: number, m: number): number {
  return m <= 1 ? nSigma : Math.sqrt(nSigma * nSigma + 2 * Math.log(m));
}

/** Upper-tail probability p → sigma (the z with Q(z) = p), for reporting Poisson p-values. */
export function sigmaOfLogP(logP: number): number {
  if (logP >= Math.log(0.5)) return 0;
  // Q(z) ≈ φ(z)/z·(1 − 1/z²): solve by Newton on ln Q, starting from the leading term.
  let z = Math.sqrt(-2 * logP);
  for (let i = 0; i < 8; i++) {
    const lq = logUpperNormal(z);
    const dl = -normalHazard(z); // d ln Q / dz
    const step = (lq - logP) / dl;
    z -= step;
    if (Math.abs(step) < 1e-9) break;
  }
  return Math.max(0, z);
}

/** ln Q(z), the standard normal upper tail, accurate over the whole range. */
export function logUpperNormal(z: number): number {
  if (z < 5) return Math.log(0.5 * erfc(z / Math.SQRT2));
  // Asymptotic series: Q(z) = φ(z)/z · (1 − 1/z² + 3/z⁴ − 15/z⁶ …).
  const z2 = z * z;
  const series = 1 - 1 / z2 + 3 / (z2 * z2) - 15 / (z2 * z2 * z2) + 105 / (z2 * z2 * z2 * z2);
  return -0.5 * z2 - HALF_LOG_2PI - Math.log(z) + Math.log(series);
}

function normalHazard(z: number): number {
  return Math.exp(-0.5 * z * z - HALF_LOG_2PI - logUpperNormal(z));
}

/** erfc with relative error < 1.2e-7 (Numerical Recipes' Chebyshev fit). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Median of the first `n` entries of `scratch` (reordered in place). */
export function medianInPlace(scratch: Float64Array | number[], n: number): number {
  if (n <= 0) return NaN;
  // Insertion sort: n is small (ring sizes, block counts).
  for (let i = 1; i < n; i++) {
    const v = scratch[i]!;
    let j = i - 1;
    while (j >= 0 && scratch[j]! > v) {
      scratch[j + 1] = scratch[j]!;
      j--;
    }
    scratch[j + 1] = v;
  }
  const h = n >> 1;
  return n % 2 === 1 ? scratch[h]! : 0.5 * (scratch[h - 1]! + scratch[h]!);
}

/**
 * ln P(X ≥ n) when the mean `mu` is itself uncertain: X Poisson given a rate known from `r`
 * background-equivalent counts (a Gamma posterior), i.e. the negative binomial with mean μ and
 * shape r (variance μ + μ²/r). r = ∞ is the Poisson tail. Used where μ is a device estimate from
 * 20 s of a few cps: over a long window that estimate's own error matters as much as the counts'.
 */
export function logNegBinomialUpperTail(n: number, mu: number, r: number): number {
  const k0 = Math.ceil(n);
  if (k0 <= 0) return 0;
  if (!(mu > 0)) return -Infinity;
  if (!(r > 0) || !Number.isFinite(r) || r > 1e7) return logPoissonUpperTail(n, mu);
  const lp = Math.log(r / (r + mu)); // ln p
  const lq = Math.log(mu / (r + mu)); // ln (1 − p)
  const logPmf = (k: number): number => logGamma(k + r) - logGamma(r) - logGamma(k + 1) + r * lp + k * lq;
  const q = Math.exp(lq);
  if (k0 > mu) {
    // Upper sum, terms relative to pmf(k0); the ratio (k + r)/(k + 1)·q falls below 1 past the mode.
    let term = 1;
    let sum = 1;
    for (let k = k0; k < k0 + 1_000_000; k++) {
      term *= ((k + r) / (k + 1)) * q;
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return logPmf(k0) + Math.log(sum);
  }
  // At or below the mean: 1 − the lower sum, summed downwards from k0 − 1.
  let term = 1;
  let sum = 1;
  for (let k = k0 - 1; k > 0; k--) {
    term *= k / ((k - 1 + r) * q);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  const lower = Math.exp(logPmf(k0 - 1)) * sum;
  return Math.log1p(-Math.min(lower, 1));
}

/** Smallest n with P(X ≥ n) ≤ alpha for the negative binomial of {@link logNegBinomialUpperTail}. */
export function negBinomialThreshold(mu: number, r: number, alpha: number): number {
  if (!(mu > 0)) return 1;
  if (!(r > 0) || !Number.isFinite(r) || r > 1e7) return poissonThreshold(mu, alpha);
  // Start a little below the normal approximation's answer (the true tail is heavier), take one
  // exact tail there, then walk the pmf recurrence: a handful of steps per threshold.
  const sd = Math.sqrt(mu + (mu * mu) / r);
  const z = sigmaOfLogP(Math.log(alpha));
  let n = Math.max(1, Math.floor(mu), Math.floor(mu + (z - 1.5) * sd));
  let tail = Math.exp(logNegBinomialUpperTail(n, mu, r));
  while (tail <= alpha && n > 1 && n > mu) {
    n--; // started above the threshold: step back down
    tail = Math.exp(logNegBinomialUpperTail(n, mu, r));
  }
  const q = mu / (r + mu);
  let pmf = Math.exp(
    logGamma(n + r) - logGamma(r) - logGamma(n + 1) + r * Math.log(r / (r + mu)) + n * Math.log(q),
  );
  while (tail > alpha && n < 10_000_000) {
    tail -= pmf;
    pmf *= ((n + r) / (n + 1)) * q;
    n++;
  }
  return n;
}
