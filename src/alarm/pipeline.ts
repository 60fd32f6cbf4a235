/**
 * The alarm pipeline of one lane (SPEC §3 steps 1–4): lane events in, decisions, assessments and
 * health findings out. Pure and synchronous — no I/O, no timers, no clock — so live lanes,
 * replay and tests feed it event by event; it does not know which driver fed it.
 *
 * - `handle(event)` returns at most one output: a `decision` on the sample that makes an
 *   occupancy alarm (one per radiation per occupancy, never retracted), the `assessment` on the
 *   occupancy's end, or `health` for a background fault while the lane is empty. A decision
 *   first reached at the end (the flanks of the last windows, a late speed, a look-back above
 *   the background reports that the hold-in had to settle) is carried by the assessment
 *   (`gamma.alarm`, with `decisions` listing only those returned earlier).
 * - Background lines update the estimate only while the lane is empty; inside an occupancy they
 *   are ignored (the estimate is frozen).
 * - Bad input never throws: a sample before any start opens a partial occupancy; a start while
 *   one is open closes the open one (its assessment is returned); speeds out of 0.7–110 km/h
 *   are ignored with a finding; counts out of range leave their channel out; an occupancy with
 *   no sample, an untrusted baseline or counts beyond the detector range is INVESTIGATEd.
 *
 * Memory is bounded per lane: the profile ring (maxSamples) is allocated once.
 */
import type { LaneDescriptor, LaneEvent, OccupancyEndEvent, SampleEvent } from '../domain/lane-events.js';
import { CARGO_NOTICE_SIGMA, MEDICAL_NOTICE_SIGMA } from './adjudicate-quiet.js';
import { adjudicate, type AdjudicationOptions } from './adjudicate.js';
import { BackgroundTracker, finding } from './background.js';
import { channelRoles, extractFeatures } from './features.js';
import { GammaDetector, type GammaHit, type GammaOptions } from './gamma.js';
import { NeutronDetector, type NeutronHit, type NeutronOptions } from './neutron.js';
import type { AlarmDecision, AlarmOutput, HealthFinding, OccupancyAssessment } from './types.js';

export interface AlarmPipelineOptions
  extends Omit<GammaOptions, 'nSigma'>, Omit<AdjudicationOptions, 'nSigma'> {
  /** Gamma family-wise N-sigma. Default 6. */
  readonly nSigma?: number;
  /** Neutron false-alarm probability per test. Default 1e-5. */
  readonly neutronFalseAlarmProbability?: number;
  readonly neutron?: Omit<NeutronOptions, 'falseAlarmProbability'>;
  /** Samples held after the vehicle clears, until a setup dump says otherwise. Default 10. */
  readonly holdinSamples?: number;
}

export interface AlarmPipeline {
  readonly descriptor: LaneDescriptor;
  handle(event: LaneEvent): AlarmOutput | null;
  /** The lane is inside an occupancy. */
  readonly occupied: boolean;
}

const MIN_KPH = 0.7;
const MAX_KPH = 110;

export function createAlarmPipeline(
  descriptor: LaneDescriptor,
  options: AlarmPipelineOptions = {},
): AlarmPipeline {
  return new Pipeline(descriptor, options);
}

class Pipeline implements AlarmPipeline {
  private readonly gammaBg: BackgroundTracker;
  private readonly neutronBg: BackgroundTracker;
  private readonly gamma: GammaDetector;
  private readonly neutron: NeutronDetector;
  private readonly roles: ReturnType<typeof channelRoles>;
  private readonly nSigma: number;
  private holdin: number;
  private deviceNeutronCps: number | null = null;
  // per occupancy
  private seq: number | null = null;
  private speedKph: number | null = null;
  private findings: HealthFinding[] = [];
  private decisions: AlarmDecision[] = [];
  private gammaDecided = false;
  private neutronDecided = false;
  private gammaSamples = 0;
  private neutronSamples = 0;
  private speedReported = false;

  constructor(
    readonly descriptor: LaneDescriptor,
    private readonly o: AlarmPipelineOptions,
  ) {
    const g = Math.max(1, descriptor.channels.gamma);
    const n = Math.max(1, descriptor.channels.neutron);
    this.nSigma = o.nSigma ?? 6;
    this.holdin = o.holdinSamples ?? 10;
    this.gammaBg = new BackgroundTracker('gamma', g);
    this.neutronBg = new BackgroundTracker('neutron', n);
    this.gamma = new GammaDetector(descriptor.gammaChannelNames, g, { ...o, nSigma: this.nSigma });
    this.neutron = new NeutronDetector(n, {
      ...o.neutron,
      ...(o.neutronFalseAlarmProbability === undefined
        ? {}
        : { falseAlarmProbability: o.neutronFalseAlarmProbability }),
    });
    this.roles = channelRoles(descriptor.gammaChannelNames);
  }

  get occupied(): boolean {
    return this.seq !== null;
  }

  handle(e: LaneEvent): AlarmOutput | null {
    switch (e.kind) {
      case 'background': {
        if (this.seq !== null) return null; // frozen during an occupancy
        const f = (e.radiation === 'gamma' ? this.gammaBg : this.neutronBg).update(e);
        return f.length === 0
          ? null
          : { kind: 'health', lane: this.descriptor.id, time: e.time, findings: f };
      }
      case 'occupancy-start': {
        // An open occupancy without its end (lost GX): closed here, its assessment returned.
        const open = this.seq !== null ? this.finish(e.time, null) : null;
        this.begin(e.seq);
        return open;
      }
      case 'sample':
        return this.sample(e);
      case 'speed':
        return this.speed(e.seq, e.speedKph, e.time);
      case 'occupancy-end': {
        const out = this.seq === null ? this.emptyOccupancy(e) : this.finish(e.time, e);
        if (e.deviceNeutronBackgroundCps !== null && e.deviceNeutronBackgroundCps > 0) {
          this.deviceNeutronCps = e.deviceNeutronBackgroundCps;
        }
        return out;
      }
      case 'device-config': {
        const h = e.values['occupancyHoldin'];
        if (e.section === 'SG1' && typeof h === 'number' && h >= 0 && h <= 200) this.holdin = h;
        // The device's averaging time: how long its background reports lag a level change.
        const bt = e.values['backgroundTime'];
        if (typeof bt === 'number' && e.section === 'SG3') this.gammaBg.setAveragingTime(bt);
        if (typeof bt === 'number' && e.section === 'SN1') {
          this.neutronBg.setAveragingTime(bt);
          this.neutron.setAveragingTime(bt);
        }
        return null;
      }
      case 'connection':
      case 'fault':
      case 'tamper':
      case 'unknown-record':
      case 'bad-input':
        return null;
    }
  }

  private begin(seq: number): void {
    this.seq = seq;
    this.findings = [];
    this.decisions = [];
    this.gammaDecided = false;
    this.neutronDecided = false;
    this.gammaSamples = 0;
    this.neutronSamples = 0;
    this.speedReported = false;
    this.speedKph = null;
    this.gamma.begin(null);
    this.neutron.begin(this.deviceNeutronCps, this.neutronBg, this.findings);
  }

  private sample(e: SampleEvent): AlarmOutput | null {
    if (this.seq === null) this.begin(e.seq); // no start seen: a partial occupancy
    if (e.radiation === 'gamma') {
      if (!e.preTrigger) this.gammaSamples++;
      return this.gammaDecision(this.gamma.sample(e, this.gammaBg, this.findings), e.time);
    }
    this.neutronSamples++;
    return this.neutronDecision(this.neutron.sample(e, this.findings), e.time);
  }

  private speed(seq: number, kph: number, time: number): AlarmOutput | null {
    if (this.seq === null) this.begin(seq);
    if (!(Number.isFinite(kph) && kph >= MIN_KPH && kph <= MAX_KPH)) {
      if (!this.speedReported) {
        this.speedReported = true;
        this.findings.push(
          finding(
            'speed-absurd',
            null,
            null,
            `speed ${String(kph)} km/h is outside ${MIN_KPH}–${MAX_KPH} km/h: ignored, nominal widths used`,
          ),
        );
      }
      return null;
    }
    this.speedKph = kph;
    return this.gammaDecision(this.gamma.speed(kph), time);
  }

  private gammaDecision(hit: GammaHit | null, time: number): AlarmDecision | null {
    if (hit === null || this.gammaDecided || this.seq === null) return null;
    this.gammaDecided = true;
    const d: AlarmDecision = {
      kind: 'decision',
      lane: this.descriptor.id,
      seq: this.seq,
      time,
      radiation: 'gamma',
      sigma: round(hit.sigma, 2),
      test: hit.test,
      counts: null,
      pValue: null,
    };
    this.decisions.push(d);
    return d;
  }

  private neutronDecision(hit: NeutronHit | null, time: number): AlarmDecision | null {
    if (hit === null || this.neutronDecided || this.seq === null) return null;
    this.neutronDecided = true;
    const d: AlarmDecision = {
      kind: 'decision',
      lane: this.descriptor.id,
      seq: this.seq,
      time,
      radiation: 'neutron',
      sigma: round(hit.sigma, 2),
      test: null,
      counts: hit.counts,
      pValue: Math.exp(hit.logP),
    };
    this.decisions.push(d);
    return d;
  }

  private finish(time: number, end: OccupancyEndEvent | null): OccupancyAssessment {
    const seq = this.seq ?? end?.seq ?? -1;
    this.gamma.finish(this.holdin);
    const doubts: string[] = [];
    if (this.gammaSamples === 0) {
      this.findings.push(finding('no-samples', 'gamma', null, 'the occupancy carried no gamma sample'));
      doubts.push('no gamma sample: the vehicle was not measured');
    }
    if (this.gamma.absurdHigh)
      doubts.push('counts beyond the detector range: saturation or an electronics fault');
    if (this.gamma.usesFallbackBaseline)
      doubts.push('no background and no look-back: the baseline is the occupancy itself');
    if (this.gammaSamples > 0 && this.gamma.profile.usableCount() === 0)
      doubts.push('no working gamma channel');
    if (this.gamma.profile.truncated) {
      this.findings.push(
        finding(
          'profile-truncated',
          'gamma',
          null,
          `occupancy longer than ${this.gamma.profile.capacity} samples: only the newest were kept for adjudication`,
        ),
      );
    }
    if (this.gammaSamples > 0 && this.speedKph === null && !this.speedReported) {
      this.findings.push(finding('speed-missing', null, null, 'no speed reported: nominal peak widths used'));
    }
    const gammaAlarm = this.gamma.maxSigma >= this.gamma.threshold;
    this.neutron.settle(this.findings);
    const anyAlarm = gammaAlarm || this.neutron.alarm;
    if (anyAlarm && this.gamma.profile.truncated)
      doubts.push('the profile was truncated: the excess cannot be placed');
    const features = anyAlarm
      ? extractFeatures(this.gamma, this.roles, this.speedKph, { holdinSamples: this.holdin })
      : null;
    // Below the alarm, a weak excess is placed too: a patient in the cab is named, a localized
    // excess in the cargo close to the alarm is investigated (adjudicate-quiet.ts).
    const quietFeatures =
      !anyAlarm &&
      doubts.length === 0 &&
      this.gamma.maxSigma >=
        Math.min(
          this.o.medicalNoticeSigma ?? MEDICAL_NOTICE_SIGMA,
          this.o.cargoNoticeSigma ?? CARGO_NOTICE_SIGMA,
        )
        ? extractFeatures(this.gamma, this.roles, this.speedKph, { holdinSamples: this.holdin })
        : null;
    const ship = this.neutron.shipEffect(features?.suppression ?? 0);
    const bg = this.gamma.backgroundCps();
    const gammaSummary = {
      alarm: gammaAlarm,
      maxSigma: round(this.gamma.maxSigma, 2),
      backgroundCps: bg === null ? null : round(bg, 1),
      suppression: round(features?.suppression ?? 0, 3),
      bestTest: this.gamma.best,
    };
    const neutronSummary = this.neutron.summary(ship.suspect);
    const assessment = adjudicate(
      {
        gamma: gammaSummary,
        neutron: neutronSummary,
        features: features ?? quietFeatures,
        shipEffectReason: ship.reason,
        speedKph: this.speedKph,
        doubts,
        deviceAlarm: end !== null && (end.deviceGammaAlarm || end.deviceNeutronAlarm),
      },
      { ...this.o, nSigma: this.nSigma },
    );
    const out: OccupancyAssessment = {
      kind: 'assessment',
      lane: this.descriptor.id,
      seq,
      time,
      gamma: gammaSummary,
      neutron: { ...neutronSummary, backgroundCps: round(neutronSummary.backgroundCps, 3) },
      assessment,
      health: this.findings,
      decisions: this.decisions,
      samples: { gamma: this.gammaSamples, neutron: this.neutronSamples },
      speedKph: this.speedKph,
    };
    this.seq = null;
    return out;
  }

  /** An end with no open occupancy (its start and samples were lost): reported, investigated. */
  private emptyOccupancy(e: OccupancyEndEvent): OccupancyAssessment {
    this.begin(e.seq);
    return this.finish(e.time, e);
  }
}

function round(x: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(x * k) / k;
}
