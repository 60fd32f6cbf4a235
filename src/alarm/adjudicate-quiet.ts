/**
 * The adjudication of an occupancy that raised no alarm (SPEC §3 step 4): background / RELEASE,
 * unless the gamma verdict cannot be trusted (INVESTIGATE, with the doubts), a weak excess
 * below the alarm has a patient's signature, or a localized excess in the cargo comes close to
 * the alarm.
 *
 * A localized excess in the cargo is always investigated (issue 4), and in doubt, INVESTIGATE:
 * an occupancy whose best test reached `cargoNoticeSigma` (default 5.4, below the 6σ alarm) with
 * a localized excess in a truck's cargo is INVESTIGATE, still without an alarm. Those are the
 * sources a shadowed, short or slow truck leaves just under the threshold; background alone
 * gets there about once in 6,000 occupancies (tuning seeds).
 *
 * Most patients carrying a medical isotope are too weak to alarm (SPEC §2: a source in the cab,
 * 0.35–0.95 m off the centre line toward the driver). Central command counts them, and an
 * officer who sees the driver's paperwork wants the gateway's reading beside it. So an
 * occupancy whose best test reached `medicalNoticeSigma` is placed like an alarm; a point-like
 * excess in the cab (or a car) that the driver's pillar sees most of is categorized `medical`.
 * It stays RELEASE without an alarm: this only names what was seen, it never clears anything
 * that would have been investigated.
 */
import type { AdjudicationInput, AdjudicationOptions } from './adjudicate.js';
import { describePosition, driverShare, fmt, placeExcess, towardDriver } from './adjudicate-place.js';
import type { Assessment } from './types.js';

/** Default `medicalNoticeSigma`: the pipeline extracts features for quiet occupancies from here. */
export const MEDICAL_NOTICE_SIGMA = 4.5;

/** Default `cargoNoticeSigma`: below the alarm, a localized excess in the cargo from here is investigated. */
export const CARGO_NOTICE_SIGMA = 5.4;

/** Wider than this many point-source widths is spread, not a person in a seat. */
const POINT_LIKE_MAX_RATIO = 1.8;

/** Wider than this many point-source widths is a load (NORM-like), not a localized source. */
const LOCALIZED_MAX_RATIO = 2.5;

export function quietAssessment(
  input: AdjudicationInput,
  o: AdjudicationOptions,
  nSigma: number,
): Assessment {
  const reasons = [
    input.gamma.backgroundCps === null
      ? 'gamma not assessed: no background and no samples'
      : `no alarm: gamma peak ${fmt(input.gamma.maxSigma, 1)}σ (alarm at ${nSigma}σ), neutron peak ${input.neutron.maxCounts} counts`,
  ];
  const patient = input.doubts.length > 0 ? null : patientBelowAlarm(input, o);
  if (input.deviceAlarm)
    reasons.push(
      patient === null
        ? 'the RPM alarmed, the gateway did not: its simpler test likely saw background drift or shadowing'
        : `the RPM alarmed, the gateway did not: the excess is below the gateway's ${nSigma}σ`,
    );
  if (input.doubts.length > 0) {
    for (const d of input.doubts) reasons.push(`INVESTIGATE: ${d}`);
    return {
      category: 'background',
      disposition: 'INVESTIGATE',
      confidence: 0.5,
      probabilities: { background: 0.5, NORM: 0.1, medical: 0.1, threat: 0.3 },
      reasons,
    };
  }
  const cargo = patient === null ? cargoBelowAlarm(input, o) : null;
  if (cargo !== null) {
    reasons.push(
      cargo,
      'INVESTIGATE: a localized excess in the cargo, close to the alarm — in doubt, investigate',
    );
    return {
      category: 'threat',
      disposition: 'INVESTIGATE',
      confidence: 0.5,
      probabilities: { background: 0.4, NORM: 0.05, medical: 0.05, threat: 0.5 },
      reasons,
    };
  }
  if (patient !== null) {
    reasons.push(patient, 'RELEASE: consistent with a medical patient below the alarm level; no alarm');
    return {
      category: 'medical',
      disposition: 'RELEASE',
      confidence: 0.7,
      probabilities: { background: 0.25, NORM: 0.02, medical: 0.7, threat: 0.03 },
      reasons,
    };
  }
  return {
    category: 'background',
    disposition: 'RELEASE',
    confidence: 0.97,
    probabilities: { background: 0.97, NORM: 0.01, medical: 0.01, threat: 0.01 },
    reasons,
  };
}

/** The reason a weak excess looks like a patient, or null. */
function patientBelowAlarm(input: AdjudicationInput, o: AdjudicationOptions): string | null {
  const f = input.features;
  if (f === null || f.speedMps === null || f.widthRatio === null) return null;
  if (input.gamma.maxSigma < (o.medicalNoticeSigma ?? MEDICAL_NOTICE_SIGMA)) return null;
  if (f.widthRatio >= POINT_LIKE_MAX_RATIO) return null;
  const { isCar, inCab, nearCargo } = placeExcess(f, o);
  if (!isCar && !(inCab && !nearCargo)) return null;
  const toward = towardDriver(f, o.driverSide);
  if (toward !== null && toward < (o.medicalSideMin ?? 0.15)) return null;
  return (
    `below the alarm: a localized excess ${fmt(f.widthRatio, 1)}× the width of a point source, ` +
    describePosition(f, isCar, inCab) +
    (toward === null ? '' : `, ${driverShare(toward)} % on the driver's pillar`)
  );
}

/** The reason a weak excess in a truck's cargo is investigated, or null. */
function cargoBelowAlarm(input: AdjudicationInput, o: AdjudicationOptions): string | null {
  const f = input.features;
  if (f === null || input.gamma.maxSigma < (o.cargoNoticeSigma ?? CARGO_NOTICE_SIGMA)) return null;
  const { isCar, inCab } = placeExcess(f, o);
  if (isCar || inCab) return null;
  if (f.widthRatio !== null && f.widthRatio >= LOCALIZED_MAX_RATIO) return null;
  return (
    `below the alarm, but close to it: a localized excess (${fmt(input.gamma.maxSigma, 1)}σ` +
    (f.widthRatio === null ? '' : `, ${fmt(f.widthRatio, 1)}× the width of a point source`) +
    `) ${describePosition(f, false, false)}`
  );
}
