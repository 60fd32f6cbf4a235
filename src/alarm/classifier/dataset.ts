/**
 * Labelled training data for the classifier, made by the project itself (issue 4: no
 * downloads): the simulated VM-250 lane (simulators/physics/scenario.ts →
 * simulators/vm250/stream.ts) through the real codec and occupancy tracker into the real alarm
 * pipeline, paired with the simulator's ground truth.
 *
 * Build-time only: this is the one module of src/alarm/classifier that imports the simulators
 * and a driver; the runtime refiners never import it.
 *
 * One row per occupancy the pipeline alarmed on (the refiner only ever sees those), with the
 * rule-based probabilities it printed and the profile features adjudication used. The features
 * come from a gamma detector fed exactly as the pipeline feeds its own (same classes, same
 * calls, same options) — a tap, until the pipeline hands its features to a refiner hook.
 */
import { vm250Stream } from '../../../simulators/vm250/stream.js';
import type { OccupancyKind } from '../../../simulators/physics/scenario.js';
import type { LaneDescriptor, LaneEvent } from '../../domain/lane-events.js';
import { decodeLine } from '../../drivers/vm250/codec.js';
import { createVm250Tracker } from '../../drivers/vm250/occupancy-tracker.js';
import { BackgroundTracker } from '../background.js';
import { channelRoles, extractFeatures, type ProfileFeatures } from '../features.js';
import { GammaDetector } from '../gamma.js';
import { adjudicate } from '../adjudicate.js';
import { createAlarmPipeline } from '../pipeline.js';
import type { AssessmentCategory, OccupancyAssessment } from '../types.js';
import { CATEGORIES, featureVector } from './feature-vector.js';
import type { CategoryProbabilities } from './refiner.js';

export const TRAINING_LANE: LaneDescriptor = {
  id: 'train',
  driver: 'vm250',
  channels: { gamma: 4, neutron: 4 },
  gammaChannelNames: ['masterUpper', 'masterLower', 'slaveLower', 'slaveUpper'],
};

/** Ground-truth kind → category: neutron sources and threats hidden in NORM are threats. */
export const LABEL_OF: Readonly<Record<OccupancyKind, AssessmentCategory>> = {
  background: 'background',
  norm: 'NORM',
  medical: 'medical',
  threat: 'threat',
  'threat-in-norm': 'threat',
  neutron: 'threat',
};

export interface DatasetSpec {
  readonly seeds: readonly string[];
  readonly occupanciesPerSeed: number;
  /** Scenario mix (weights per kind); default the simulator's. */
  readonly mix?: Readonly<Partial<Record<OccupancyKind, number>>>;
}

export interface Sample {
  readonly x: Float32Array;
  /** Index into CATEGORIES. */
  readonly label: number;
  readonly kind: OccupancyKind;
  readonly seed: string;
  readonly ruleProbabilities: Readonly<Record<AssessmentCategory, number>>;
  readonly features: ProfileFeatures;
  readonly assessment: OccupancyAssessment;
}

export interface Dataset {
  readonly samples: Sample[];
  /**
   * Alarming occupancies whose tapped features do not reproduce the pipeline's probabilities
   * through `adjudicate` (0 while the tap mirrors the pipeline; tested), and seeds dropped because
   * occupancies and truths did not pair up.
   */
  readonly tapMismatches: number;
  readonly seedsDropped: number;
}

export function buildDataset(spec: DatasetSpec): Dataset {
  const samples: Sample[] = [];
  const stats = { tapMismatches: 0, seedsDropped: 0 };
  for (const seed of spec.seeds) samples.push(...simulateSeed(seed, spec, stats));
  return { samples, ...stats };
}

function simulateSeed(
  seed: string,
  spec: DatasetSpec,
  stats: { tapMismatches: number; seedsDropped: number },
): Sample[] {
  const pipeline = createAlarmPipeline(TRAINING_LANE);
  const tap = new FeatureTap(TRAINING_LANE);
  const assessed: { a: OccupancyAssessment; f: ProfileFeatures | null }[] = [];
  const tracker = createVm250Tracker({
    lane: TRAINING_LANE.id,
    emit: (e) => {
      const f = tap.handle(e);
      const o = pipeline.handle(e);
      if (o?.kind === 'assessment') assessed.push({ a: o, f });
    },
  });
  const kinds: OccupancyKind[] = [];
  let last = 0;
  for (const item of vm250Stream({
    seed,
    occupancies: spec.occupanciesPerSeed,
    ...(spec.mix ? { mix: spec.mix } : {}),
  })) {
    if (item.kind === 'line') {
      last = item.atMs;
      tracker.line(decodeLine(item.line), item.atMs, item.line);
    } else if (item.kind === 'occupancy') kinds.push(item.truth.kind);
  }
  tracker.inputEnded(last + 1);
  const samples: Sample[] = [];
  // Occupancies pair with truths in order; a mismatch (a lost GX split or merged one) would
  // mislabel everything after it, so such a seed contributes nothing.
  if (assessed.length !== kinds.length) {
    stats.seedsDropped++;
    return samples;
  }
  assessed.forEach(({ a, f }, i) => {
    const kind = kinds[i]!;
    if (f === null || !(a.gamma.alarm || a.neutron.alarm)) return;
    const p = a.assessment.probabilities;
    if (!sameProbabilities(p, replayAdjudication(a, f))) stats.tapMismatches++;
    samples.push({
      x: featureVector(f, p),
      label: CATEGORIES.indexOf(LABEL_OF[kind]),
      kind,
      seed,
      ruleProbabilities: p,
      features: f,
      assessment: a,
    });
  });
  return samples;
}

/** What adjudication makes of the tapped features with the pipeline's own summaries. */
function replayAdjudication(a: OccupancyAssessment, f: ProfileFeatures): CategoryProbabilities {
  return adjudicate({
    gamma: a.gamma,
    neutron: a.neutron,
    features: f,
    shipEffectReason: null,
    speedKph: a.speedKph,
    doubts: [],
    deviceAlarm: false,
  }).probabilities;
}

function sameProbabilities(a: CategoryProbabilities, b: CategoryProbabilities): boolean {
  return CATEGORIES.every((c) => Math.abs(a[c] - b[c]) < 1e-9);
}

/** The pipeline's gamma path (background → detector → features), fed the same events. */
class FeatureTap {
  private readonly bg: BackgroundTracker;
  private readonly gamma: GammaDetector;
  private readonly roles: ReturnType<typeof channelRoles>;
  private open = false;
  private speedKph: number | null = null;
  private holdin = 10;

  constructor(d: LaneDescriptor) {
    const g = Math.max(1, d.channels.gamma);
    this.bg = new BackgroundTracker('gamma', g);
    this.gamma = new GammaDetector(d.gammaChannelNames, g, { nSigma: 6 });
    this.roles = channelRoles(d.gammaChannelNames);
  }

  /** The features of an occupancy that ends with this event, else null. */
  handle(e: LaneEvent): ProfileFeatures | null {
    switch (e.kind) {
      case 'background':
        if (!this.open && e.radiation === 'gamma') this.bg.update(e);
        return null;
      case 'occupancy-start': {
        const f = this.open ? this.finish() : null;
        this.begin();
        return f;
      }
      case 'sample':
        if (!this.open) this.begin();
        if (e.radiation === 'gamma') this.gamma.sample(e, this.bg, []);
        return null;
      case 'speed':
        if (!this.open) this.begin();
        if (Number.isFinite(e.speedKph) && e.speedKph >= 0.7 && e.speedKph <= 110) {
          this.speedKph = e.speedKph;
          this.gamma.speed(e.speedKph);
        }
        return null;
      case 'occupancy-end':
        if (!this.open) this.begin();
        return this.finish();
      case 'device-config': {
        const h = e.values['occupancyHoldin'];
        if (e.section === 'SG1' && typeof h === 'number' && h >= 0 && h <= 200) this.holdin = h;
        const bt = e.values['backgroundTime'];
        if (typeof bt === 'number' && e.section === 'SG3') this.bg.setAveragingTime(bt);
        return null;
      }
      default:
        return null;
    }
  }

  private begin(): void {
    this.open = true;
    this.speedKph = null;
    this.gamma.begin(null);
  }

  private finish(): ProfileFeatures | null {
    this.open = false;
    this.gamma.finish(this.holdin);
    return extractFeatures(this.gamma, this.roles, this.speedKph, { holdinSamples: this.holdin });
  }
}
