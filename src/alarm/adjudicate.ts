/**
 * Adjudication of an occupancy from its gross-count profile (SPEC §3 step 4): a category with
 * probabilities, reasons an operator can act on, and a disposition.
 *
 * The model is a transparent sum of log-likelihood-style terms per category (weights below,
 * each with the feature it reads), turned into probabilities by a softmax. No term can lower
 * the disposition below the safety rules, which are applied after the scores:
 * 1. a neutron alarm → INVESTIGATE (the ship-effect burst check only adds a reason);
 * 2. a localized excess in the cargo — a point-like excess behind the cab of a truck, or a
 *    localized peak on top of a plateau — → INVESTIGATE;
 * 3. in doubt → INVESTIGATE: RELEASE needs category NORM (or medical in the cab, when medical
 *    release is enabled) with probability ≥ `releaseProbability`, a measured speed, a real
 *    background and every count in range. A gamma alarm put down to background is investigated.
 */
import { quietAssessment } from './adjudicate-quiet.js';
import {
  clamp,
  describePosition,
  driverShare,
  fmt,
  placeExcess,
  round,
  towardDriver,
} from './adjudicate-place.js';
import type { ProfileFeatures } from './features.js';
import type { Assessment, AssessmentCategory, GammaSummary, NeutronSummary } from './types.js';

export type CategoryProbabilities = Readonly<Record<AssessmentCategory, number>>;

/**
 * An optional trained classifier that refines the rules' category probabilities (SPEC §3 step 4).
 * Called synchronously for every alarming occupancy with features; the safety rules (neutron →
 * INVESTIGATE, localized excess in cargo → INVESTIGATE, in doubt → INVESTIGATE) are applied
 * after it, on whatever it returns. Invalid output (not finite, negative, all zero) or a throw
 * leaves the rules' probabilities in force.
 */
export interface CategoryRefiner {
  refine(features: ProfileFeatures, probabilities: CategoryProbabilities): CategoryProbabilities;
}

export interface AdjudicationOptions {
  /** Refines the category probabilities before the disposition; the safety rules hold over it. */
  readonly refiner?: CategoryRefiner;
  /** Family-wise NSigma of the gamma decision. Default 6. */
  readonly nSigma?: number;
  /** Which pillar stands on the driver's side. Default 'master'. */
  readonly driverSide?: 'master' | 'slave';
  /** An excess this far behind the vehicle's front (m) is in the cab. Default 2.6. */
  readonly cabLengthM?: number;
  /**
   * A point-like excess within this of the cab's end (m) may be the first metre of cargo: the
   * position scatters by ~0.4–0.5 m there (the speed changes over the pass, peaks are placed on
   * 200 ms samples), so it is investigated, not released as in the cab. Default 0.3.
   */
  readonly cabMarginM?: number;
  /**
   * Share of a medical excess the driver's pillar must see beyond an even split, as
   * (driver − other)/(sum): the patient sits 0.35–0.95 m off the centre line (SPEC §2), which
   * splits a cab source ≥ 60/40; a threat released as medical was seen evenly or from the
   * passenger's side. Not applied without two pillars. Default 0.15.
   */
  readonly medicalSideMin?: number;
  /** Vehicles shorter than this (m) are cars: no cargo section. Default 8. */
  readonly carLengthM?: number;
  /** Smallest category probability that may RELEASE. Default 0.8. */
  readonly releaseProbability?: number;
  /** May a confident medical finding in the cab RELEASE? Default true. */
  readonly releaseMedical?: boolean;
  /**
   * Below the alarm: an occupancy whose best test reaches this (family-wise sigma) is placed, and
   * a point-like excess in the cab on the driver's side is categorized `medical` (still RELEASE,
   * no alarm) — most patients are too weak to alarm (SPEC §2). Default 4.5.
   */
  readonly medicalNoticeSigma?: number;
  /**
   * Below the alarm: a localized excess in a truck's cargo whose best test reaches this
   * (family-wise sigma) is INVESTIGATE, without an alarm — in doubt, investigate. Default 5.4
   * (chosen on the tuning seeds: threats ≥ 8σ investigated 99.2 → 99.7 % without faults, false
   * alarms 0.25 → 0.30 per 1,000; docs/alarm-quality.md). Infinity turns it off.
   */
  readonly cargoNoticeSigma?: number;
  /** Family-wise sigma of a localized peak on a plateau that counts as a hidden source. Default 4. */
  readonly bumpSigma?: number;
  /** Smallest share of the vehicle a NORM excess must cover to be released. Default 0.5. */
  readonly normMinCoverage?: number;
  /**
   * Largest pillar asymmetry, (master − slave)/(sum) of the excess, a NORM finding may have to
   * be released. Bulk NORM spreads across the cargo's width and is seen about evenly by both
   * pillars (SPEC §2); 0.6 is 80 % on one side, more than a load centred up to ~1 m off the
   * centre line gives. Not applied without two pillars. Default 0.6.
   */
  readonly normMaxAsymmetry?: number;
}

export interface AdjudicationInput {
  readonly gamma: GammaSummary;
  readonly neutron: NeutronSummary;
  readonly features: ProfileFeatures | null;
  readonly shipEffectReason: string | null;
  readonly speedKph: number | null;
  /** Reasons to distrust the gamma verdict (fallback baseline, counts out of range, no channel). */
  readonly doubts: readonly string[];
  readonly deviceAlarm: boolean;
}

/** Weights of the scoring model (log-odds units). Exported so the README can print them. */
export const WEIGHTS = {
  /** background: +1.5 at NSigma, −1 per sigma above. */
  backgroundAtThreshold: 1.5,
  backgroundPerSigma: -1,
  /** log2(width / point width), pivot 0.9 (1.9×), clamped ±1.5: NORM +3, medical −3, threat −2 per unit. */
  widthPivot: 0.9,
  widthNorm: 3,
  widthMedical: -3,
  widthThreat: -2,
  /** coverage of the vehicle, pivot 0.35, ±0.15 per unit, clamped ±1: NORM +2. */
  coverageNorm: 2,
  /** position: cab → medical +2.5, threat −1.5, NORM −1.5; cargo → medical −3, threat +1.5, NORM +1; car → medical +1.5, NORM −2. */
  cab: { medical: 2.5, threat: -1.5, NORM: -1.5 },
  cargo: { medical: -3, threat: 1.5, NORM: 1 },
  car: { medical: 1.5, threat: -0.5, NORM: -2 },
  /** driver-side asymmetry per 0.15, clamped ±2, scaled by its significance (|z|/2 ≤ 1): medical. */
  driverSide: 1,
  /** |asymmetry| below 0.1 → NORM +1, above 0.3 → NORM −1 (linear between). */
  symmetryNorm: 1,
  /** lower panels dominant (upper fraction 0.35 → +1, 0.65 → −1): medical. */
  lowMedical: 1,
  /** localized peak on a plateau: threat +3, NORM −1. */
  bump: { threat: 3, NORM: -1 },
  /** neutron alarm: threat +4, NORM −2, medical −3, background −4; ship-effect suspect: threat −1.5. */
  neutron: { threat: 4, NORM: -2, medical: -3, background: -4 },
  shipEffectThreat: -1.5,
} as const;

const CATEGORIES: readonly AssessmentCategory[] = ['background', 'NORM', 'medical', 'threat'];

export function adjudicate(input: AdjudicationInput, o: AdjudicationOptions = {}): Assessment {
  const nSigma = o.nSigma ?? 6;
  const { gamma, neutron, features: f } = input;
  const reasons: string[] = [];
  if (!gamma.alarm && !neutron.alarm) return quietAssessment(input, o, nSigma);

  const ll: Record<AssessmentCategory, number> = { background: 0, NORM: 0, medical: 0, threat: 0 };
  const add = (w: Partial<Record<AssessmentCategory, number>>, scale = 1): void => {
    for (const c of CATEGORIES) ll[c] += (w[c] ?? 0) * scale;
  };
  if (neutron.alarm) {
    reasons.push(
      `neutron alarm: ${neutron.maxCounts} counts in one interval against ${fmt(neutron.backgroundCps, 1)} cps background ` +
        `(tail probability ${neutron.minPValue.toExponential(1)})`,
    );
    add(WEIGHTS.neutron);
    if (input.shipEffectReason !== null) reasons.push(input.shipEffectReason);
    if (neutron.shipEffectSuspect) add({ threat: WEIGHTS.shipEffectThreat });
  }
  let localizedInCargo = false;
  let inCab = false;
  let nearCargo = false;
  let isCar = false;
  if (gamma.alarm) {
    const t = gamma.bestTest;
    reasons.push(
      `gamma ${fmt(gamma.maxSigma, 1)}σ` +
        (t
          ? ` (${t.group}, ${fmt(t.windowS, 1)} s window, ${t.baseline === 'local' ? 'against the shadowed level around it' : 'against background'})`
          : '') +
        (gamma.backgroundCps !== null ? `, background ${Math.round(gamma.backgroundCps)} cps` : ''),
    );
    add({
      background: WEIGHTS.backgroundAtThreshold + WEIGHTS.backgroundPerSigma * (gamma.maxSigma - nSigma),
    });
  }
  if (gamma.alarm && f !== null) {
    if (f.suppression >= 0.05) {
      reasons.push(
        `the vehicle suppresses background by ${Math.round(f.suppression * 100)} %: the excess is measured against the shadowed level`,
      );
    }
    const speedText = f.speedMps === null ? 'unknown speed' : `${fmt(f.speedMps * 3.6, 1)} km/h`;
    const broadByWidth = f.widthRatio !== null ? f.widthRatio >= 1.8 : f.coverage >= 0.35;
    if (f.widthRatio !== null && f.pointWidthS !== null) {
      const x = clamp(Math.log2(f.widthRatio) - WEIGHTS.widthPivot, -1.5, 1.5);
      add({ NORM: WEIGHTS.widthNorm, medical: WEIGHTS.widthMedical, threat: WEIGHTS.widthThreat }, x);
    }
    add({ NORM: WEIGHTS.coverageNorm }, clamp((f.coverage - 0.35) / 0.15, -1, 1));
    ({ isCar, inCab, nearCargo } = placeExcess(f, o));
    const where = describePosition(f, isCar, inCab);
    if (broadByWidth) {
      reasons.push(
        `excess spread over ${fmt(f.widthS, 1)} s (${Math.round(f.coverage * 100)} % of the vehicle)` +
          (f.widthRatio !== null
            ? `, ${fmt(f.widthRatio, 1)}× the width of a point source at ${speedText}`
            : '') +
          `, centred ${where}: consistent with NORM cargo`,
      );
    } else {
      reasons.push(
        `localized excess ${fmt(f.widthS, 1)} s wide` +
          (f.widthRatio !== null
            ? `, ${fmt(f.widthRatio, 1)}× the width of a point source at ${speedText}`
            : '') +
          `, ${where}`,
      );
    }
    if (isCar) add(WEIGHTS.car);
    else if (f.alongM !== null && f.alongM <= (o.cabLengthM ?? 2.6) + 0.6) add(WEIGHTS.cab);
    else add(WEIGHTS.cargo);
    asymmetryTerms(f, o.driverSide ?? 'master', add, reasons);
    if (f.bump !== null && f.bump.sigma >= (o.bumpSigma ?? 4) && broadByWidth) {
      add(WEIGHTS.bump);
      localizedInCargo = true;
      reasons.push(
        `localized peak ${fmt(f.bump.widthS, 1)} s wide on top of the plateau at ${Math.round(clamp(f.bump.position, 0, 1) * 100)} % ` +
          `of the vehicle length (${fmt(f.bump.sigma, 1)}σ over the plateau): possible source hidden in NORM`,
      );
    }
    if (!broadByWidth && !isCar && !inCab) localizedInCargo = true;
    if (!broadByWidth && nearCargo) {
      localizedInCargo = true;
      reasons.push(
        `${fmt(f.alongM!, 1)} m behind the front is within ${fmt(o.cabMarginM ?? 0.3, 1)} m of the cab's end: it may be in the cargo`,
      );
    }
  }

  let probabilities = softmax(ll);
  if (o.refiner !== undefined && f !== null) probabilities = refined(o.refiner, f, probabilities, reasons);
  let category: AssessmentCategory = 'background';
  for (const c of CATEGORIES) if (probabilities[c] > probabilities[category]) category = c;
  const confidence = probabilities[category];
  const disposition = decide(input, o, {
    category,
    confidence,
    localizedInCargo,
    inCab: (inCab && !nearCargo) || isCar,
    reasons,
  });
  return {
    category,
    disposition,
    confidence: round(confidence, 3),
    probabilities: roundAll(probabilities),
    reasons,
  };
}

interface Verdict {
  readonly category: AssessmentCategory;
  readonly confidence: number;
  readonly localizedInCargo: boolean;
  readonly inCab: boolean;
  readonly reasons: string[];
}

function decide(input: AdjudicationInput, o: AdjudicationOptions, v: Verdict): Assessment['disposition'] {
  const r = v.reasons;
  for (const d of input.doubts) r.push(`INVESTIGATE: ${d}`);
  if (input.neutron.alarm) {
    r.push('INVESTIGATE: neutron alarms are always investigated');
    return 'INVESTIGATE';
  }
  if (v.localizedInCargo) {
    r.push('INVESTIGATE: a localized excess in the cargo is always investigated');
    return 'INVESTIGATE';
  }
  if (input.doubts.length > 0) return 'INVESTIGATE';
  if (input.features === null || input.features.speedMps === null) {
    r.push('INVESTIGATE: without a measured speed the excess cannot be placed or sized');
    return 'INVESTIGATE';
  }
  const p = o.releaseProbability ?? 0.8;
  const minCoverage = o.normMinCoverage ?? 0.5;
  if (v.category === 'NORM' && v.confidence >= p && input.features.coverage < minCoverage) {
    // Bulk NORM fills the cargo (SPEC §2); a central point source seen from both pillars can be
    // almost as wide as a short load, but it never covers half the vehicle.
    r.push(
      `INVESTIGATE: the excess covers ${Math.round(input.features.coverage * 100)} % of the vehicle — too little for a bulk load to be released as NORM`,
    );
    return 'INVESTIGATE';
  }
  const maxAsym = o.normMaxAsymmetry ?? 0.6;
  const asym = input.features.asymmetry;
  if (v.category === 'NORM' && v.confidence >= p && asym !== null && Math.abs(asym) >= maxAsym) {
    // A bulk load is seen from both pillars; one pillar seeing most of it is a source off-centre.
    r.push(
      `INVESTIGATE: ${Math.round(((1 + Math.abs(asym)) / 2) * 100)} % of the excess on one pillar — too one-sided for a bulk load to be released as NORM`,
    );
    return 'INVESTIGATE';
  }
  if (v.category === 'NORM' && v.confidence >= p) {
    r.push(`RELEASE: NORM (${Math.round(v.confidence * 100)} %), no localized excess`);
    return 'RELEASE';
  }
  const toward = towardDriver(input.features, o.driverSide);
  const sideMin = o.medicalSideMin ?? 0.15;
  if (v.category === 'medical' && v.confidence >= p && v.inCab && (o.releaseMedical ?? true)) {
    if (toward !== null && toward < sideMin) {
      r.push(
        `INVESTIGATE: medical in the cab, but ${driverShare(toward)} % of the excess on the driver's pillar — a patient sits on the driver's side`,
      );
      return 'INVESTIGATE';
    }
    r.push(
      `RELEASE: medical isotope in the cab (${Math.round(v.confidence * 100)} %): confirm with the driver's paperwork`,
    );
    return 'RELEASE';
  }
  r.push(
    `INVESTIGATE: ${v.category} at ${Math.round(v.confidence * 100)} % is not conclusive enough to release`,
  );
  return 'INVESTIGATE';
}

function asymmetryTerms(
  f: ProfileFeatures,
  driverSide: 'master' | 'slave',
  add: (w: Partial<Record<AssessmentCategory, number>>, scale?: number) => void,
  reasons: string[],
): void {
  if (f.asymmetry !== null && f.asymmetryError !== null) {
    const a = driverSide === 'master' ? f.asymmetry : -f.asymmetry;
    const weight = Math.min(1, Math.abs(f.asymmetry) / Math.max(1e-9, 2 * f.asymmetryError));
    add({ medical: WEIGHTS.driverSide }, clamp(a / 0.15, -2, 2) * weight);
    add({ NORM: WEIGHTS.symmetryNorm }, clamp(1 - (Math.abs(f.asymmetry) - 0.1) / 0.1, -1, 1));
    const share = Math.round(((1 + Math.abs(f.asymmetry)) / 2) * 100);
    if (Math.abs(f.asymmetry) < 0.1)
      reasons.push(
        `symmetric between the pillars (${share} % on one side): spread across the width or central`,
      );
    else {
      const pillar = f.asymmetry > 0 ? 'master' : 'slave';
      const drivers = pillar === driverSide ? "driver's side" : 'passenger side';
      reasons.push(`${share} % of the excess on the ${pillar} pillar: source on the ${drivers}`);
    }
  }
  if (f.upperFraction !== null) {
    add({ medical: WEIGHTS.lowMedical }, clamp((0.5 - f.upperFraction) / 0.15, -1, 1));
    reasons.push(
      f.upperFraction < 0.45
        ? `lower panels see ${Math.round((1 - f.upperFraction) * 100)} %: low in the vehicle`
        : f.upperFraction > 0.55
          ? `upper panels see ${Math.round(f.upperFraction * 100)} %: high in the vehicle`
          : 'upper and lower panels see it alike: mid height or spread in height',
    );
  }
}

function refined(
  refiner: CategoryRefiner,
  f: ProfileFeatures,
  p: Record<AssessmentCategory, number>,
  reasons: string[],
): Record<AssessmentCategory, number> {
  let out: CategoryProbabilities;
  try {
    out = refiner.refine(f, p);
  } catch {
    reasons.push('the classifier failed: the rules alone decide');
    return p;
  }
  let sum = 0;
  for (const c of CATEGORIES) {
    const v = out[c];
    if (!(Number.isFinite(v) && v >= 0)) {
      reasons.push('the classifier returned invalid probabilities: the rules alone decide');
      return p;
    }
    sum += v;
  }
  if (!(sum > 0)) return p;
  const r = { background: 0, NORM: 0, medical: 0, threat: 0 };
  for (const c of CATEGORIES) r[c] = out[c] / sum;
  return r;
}

function softmax(ll: Record<AssessmentCategory, number>): Record<AssessmentCategory, number> {
  let max = -Infinity;
  for (const c of CATEGORIES) max = Math.max(max, ll[c]);
  let z = 0;
  const out = { background: 0, NORM: 0, medical: 0, threat: 0 };
  for (const c of CATEGORIES) z += out[c] = Math.exp(ll[c] - max);
  for (const c of CATEGORIES) out[c] /= z;
  return out;
}

function roundAll(p: Record<AssessmentCategory, number>): Record<AssessmentCategory, number> {
  return {
    background: round(p.background, 3),
    NORM: round(p.NORM, 3),
    medical: round(p.medical, 3),
    threat: round(p.threat, 3),
  };
}
