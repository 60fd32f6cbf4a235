/**
 * What the alarm pipeline (SPEC §3) says about a lane: an early `decision` on the decisive
 * sample, a full `assessment` at occupancy end (shaped so the SPEC §5 replay record is filled
 * from it field by field), and detector-health findings, which are never alarms.
 */
import type { Radiation } from '../domain/lane-events.js';

export type AssessmentCategory = 'background' | 'NORM' | 'medical' | 'threat';
export type Disposition = 'RELEASE' | 'INVESTIGATE';

export type HealthCode =
  /** The device reported a background beyond its high / low limit (GH/GL/NH, Modbus status). */
  | 'background-fault-high'
  | 'background-fault-low'
  /** A channel repeats one value (background lines or samples) where Poisson counts would vary. */
  | 'stuck-channel'
  /** A channel reads zero while the others count. */
  | 'dead-channel'
  /** A background report that no detector can produce (negative, not a number, beyond range). */
  | 'absurd-background'
  /** A sample count that is negative / not a number (dropped) or beyond the detector's range. */
  | 'negative-counts'
  | 'absurd-counts'
  /** A count array whose length is not the lane's channel count. */
  | 'channel-count-mismatch'
  /** No background line before the occupancy: the pre-trigger samples (or a fallback) were used. */
  | 'no-background'
  /**
   * A channel's background reports still lag a level change (the device's running mean): its
   * look-back is the baseline, or it is left out (a neutron tube in a fault is left out too).
   */
  | 'background-settling'
  /** The pre-trigger look-back disagrees with the background lines. */
  | 'pre-trigger-mismatch'
  | 'no-samples'
  /** The occupancy outgrew the stored profile: the oldest samples were dropped. */
  | 'profile-truncated'
  | 'speed-missing'
  | 'speed-absurd'
  /** No gamma (or neutron) channel left to decide with. */
  | 'no-usable-channel'
  /** The neutron background comes from truncated NB lines or a fallback, not the device estimate. */
  | 'neutron-background-coarse';

export interface HealthFinding {
  readonly code: HealthCode;
  readonly radiation: Radiation | null;
  /** Canonical channel index, when one channel is concerned. */
  readonly channel: number | null;
  readonly message: string;
}

/** Which test made a gamma decision. */
export interface GammaTestId {
  /** `sum` (all usable channels) or the channel's name. */
  readonly group: string;
  readonly windowS: number;
  /** `background`: against the (unshadowed) background; `local`: against the flanks of the window. */
  readonly baseline: 'background' | 'local';
}

/** The first decisive sample of an occupancy, per radiation (returned from the feed call). */
export interface AlarmDecision {
  readonly kind: 'decision';
  readonly lane: string;
  readonly seq: number;
  readonly time: number;
  readonly radiation: Radiation;
  /** Family-wise significance (multiple testing accounted for), comparable with NSigma. */
  readonly sigma: number;
  /** Gamma: which window fired; null for neutron. */
  readonly test: GammaTestId | null;
  /** Neutron: counts in the window and the Poisson tail probability; null for gamma. */
  readonly counts: number | null;
  readonly pValue: number | null;
}

export interface GammaSummary {
  readonly alarm: boolean;
  /** Highest family-wise significance of the occupancy (sigma). */
  readonly maxSigma: number;
  /** The unshadowed background the tests used, cps summed over usable channels; null if none. */
  readonly backgroundCps: number | null;
  /** Estimated background suppression by the vehicle (0–0.3). */
  readonly suppression: number;
  readonly bestTest: GammaTestId | null;
}

export interface NeutronSummary {
  readonly alarm: boolean;
  /** Highest single-interval count, summed over tubes. */
  readonly maxCounts: number;
  /** Background used, cps summed over tubes. */
  readonly backgroundCps: number;
  readonly backgroundSource: 'device' | 'lines' | 'fallback';
  /** Smallest Poisson tail probability of any window; 1 when no sample. */
  readonly minPValue: number;
  readonly shipEffectSuspect: boolean;
}

export interface Assessment {
  readonly category: AssessmentCategory;
  readonly disposition: Disposition;
  readonly confidence: number;
  readonly probabilities: Readonly<Record<AssessmentCategory, number>>;
  readonly reasons: readonly string[];
}

export interface OccupancyAssessment {
  readonly kind: 'assessment';
  readonly lane: string;
  readonly seq: number;
  readonly time: number;
  readonly gamma: GammaSummary;
  readonly neutron: NeutronSummary;
  readonly assessment: Assessment;
  /** Health findings raised during this occupancy (and by background lines before it). */
  readonly health: readonly HealthFinding[];
  /** The decisions already returned for this occupancy (none if it only alarmed at its end). */
  readonly decisions: readonly AlarmDecision[];
  readonly samples: { readonly gamma: number; readonly neutron: number };
  readonly speedKph: number | null;
}

/** A health finding outside an occupancy (background lines while the lane is empty). */
export interface HealthOutput {
  readonly kind: 'health';
  readonly lane: string;
  readonly time: number;
  readonly findings: readonly HealthFinding[];
}

export type AlarmOutput = AlarmDecision | OccupancyAssessment | HealthOutput;
