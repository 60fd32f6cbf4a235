/**
 * `rpm-gateway evaluate` (issue 4 "Quality", SPEC §3 "quality is measured, not assumed"): the
 * alarm pipeline scored on simulated VM-250 traffic with ground truth, per category, beside the
 * device's own N-sigma verdict (its GA/NA lines) as the baseline.
 *
 * Method: `streams` simulated lanes (each its own background level, seeds `<seed>-1…`), the
 * default traffic mix, the VM-250 stream simulator's lines through the real codec, the VM-250
 * occupancy tracker and the alarm pipeline — the same path as a live lane, minus the socket.
 * Each occupancy's assessment is paired with the simulator's ground truth (one each, in order).
 * With `faults`, detector faults (high/low background, dead and stuck channels, neutron high
 * background) start with probability `faultProbability` per occupancy and last 1–3 occupancies.
 */
import { createAlarmPipeline, type AlarmPipelineOptions } from '../alarm/pipeline.js';
import { logPoissonUpperTail, poissonThreshold } from '../alarm/stats.js';
import type { OccupancyAssessment } from '../alarm/types.js';
import type { LaneDescriptor } from '../domain/lane-events.js';
import { decodeLine } from '../drivers/vm250/codec.js';
import { createVm250Tracker } from '../drivers/vm250/occupancy-tracker.js';
import { vm250Stream, type Vm250OccupancyTruth } from '../../simulators/vm250/stream.js';

export interface EvaluateOptions {
  /** Occupancies in all. Default 4,200. */
  readonly occupancies?: number;
  /** Seed prefix; stream k uses `<seed>-k`. Default `quality`. */
  readonly seed?: string;
  /** Simulated detector faults on. Default false. */
  readonly faults?: boolean;
  /** Probability per occupancy that a fault starts, when `faults`. Default 0.05. */
  readonly faultProbability?: number;
  /** Simulated lanes. Default: one per 700 occupancies (at least 1). */
  readonly streams?: number;
  readonly pipeline?: AlarmPipelineOptions;
}

export interface Rate {
  readonly count: number;
  readonly total: number;
  /** Percent (or per 1,000 for the false-alarm row); null when the population is empty. */
  readonly value: number | null;
}

export interface QualityRow {
  readonly id: string;
  readonly label: string;
  readonly unit: '%' | 'per 1,000';
  /** The goal, e.g. `≤ 1` or `≥ 99`; null when the row is reported only. */
  readonly target: string | null;
  readonly gateway: Rate;
  /** The device's own verdict on the same population; null when it has no such verdict. */
  readonly device: Rate | null;
  /** Whether the gateway meets the target; null when there is no target or no population. */
  readonly pass: boolean | null;
  /**
   * What an ideal test could reach on this population (percent): the best 1 s window of the
   * simulator's own expected counts, with the background known exactly, at the pipeline's
   * threshold (gamma NSigma 6, neutron α = 1e-5 per test) — the physics limit, for reference.
   */
  readonly ideal: number | null;
}

export interface QualityReport {
  readonly occupancies: number;
  readonly seed: string;
  readonly streams: number;
  readonly faults: boolean;
  readonly faultProbability: number;
  readonly lines: number;
  readonly rows: readonly QualityRow[];
  /** Occupancies whose assessment and truth could not be paired (should be 0). */
  readonly unpaired: number;
  readonly durationMs: number;
}

/** An occupancy's ground truth and the gateway's assessment of it. */
export interface Pair {
  readonly truth: Vm250OccupancyTruth;
  readonly a: OccupancyAssessment;
}

const LANE: LaneDescriptor = {
  id: 'evaluate',
  driver: 'vm250',
  channels: { gamma: 4, neutron: 4 },
  gammaChannelNames: ['masterUpper', 'masterLower', 'slaveLower', 'slaveUpper'],
};

/** Run the evaluation (synchronous, CPU-bound: ≈ 10 s for 4,200 occupancies). */
export function evaluate(options: EvaluateOptions = {}): QualityReport {
  const started = performance.now();
  const total = Math.max(1, Math.floor(options.occupancies ?? 4200));
  const seed = options.seed ?? 'quality';
  const streams = Math.max(1, Math.min(total, options.streams ?? Math.ceil(total / 700)));
  const faultProbability = options.faults ? (options.faultProbability ?? 0.05) : 0;
  const pairs: Pair[] = [];
  let lines = 0;
  let unpaired = 0;
  for (let k = 0; k < streams; k++) {
    const n = Math.floor(total / streams) + (k < total % streams ? 1 : 0);
    const pipeline = createAlarmPipeline({ ...LANE, id: `${LANE.id}-${k + 1}` }, options.pipeline);
    const assessments: OccupancyAssessment[] = [];
    const tracker = createVm250Tracker({
      lane: `${LANE.id}-${k + 1}`,
      emit: (e) => {
        const out = pipeline.handle(e);
        if (out !== null && out.kind === 'assessment') assessments.push(out);
      },
    });
    const truths: Vm250OccupancyTruth[] = [];
    let last = 0;
    for (const item of vm250Stream({ seed: `${seed}-${k + 1}`, occupancies: n, faultProbability })) {
      if (item.kind === 'line') {
        lines++;
        last = item.atMs;
        tracker.line(decodeLine(item.line), item.atMs, item.line);
      } else if (item.kind === 'occupancy') {
        truths.push(item.truth);
      }
    }
    tracker.inputEnded(last + 1);
    const m = Math.min(truths.length, assessments.length);
    unpaired += Math.max(truths.length, assessments.length) - m;
    for (let i = 0; i < m; i++) pairs.push({ truth: truths[i]!, a: assessments[i]! });
  }
  return {
    occupancies: pairs.length,
    seed,
    streams,
    faults: faultProbability > 0,
    faultProbability,
    lines,
    rows: score(pairs),
    unpaired,
    durationMs: performance.now() - started,
  };
}

const investigate = (p: Pair): boolean => p.a.assessment.disposition === 'INVESTIGATE';
const gatewayAlarm = (p: Pair): boolean => p.a.gamma.alarm || p.a.neutron.alarm || investigate(p);
const deviceAlarm = (p: Pair): boolean => p.truth.device.gammaAlarm || p.truth.device.neutronAlarm;

function rate(pop: readonly Pair[], f: (p: Pair) => boolean, per = 100): Rate {
  let count = 0;
  for (const p of pop) if (f(p)) count++;
  return { count, total: pop.length, value: pop.length === 0 ? null : (per * count) / pop.length };
}

function row(
  id: string,
  label: string,
  target: { op: '≤' | '≥'; value: number } | null,
  gateway: Rate,
  device: Rate | null,
  unit: QualityRow['unit'] = '%',
  ideal: number | null = null,
): QualityRow {
  const pass =
    target === null || gateway.value === null
      ? null
      : target.op === '≤'
        ? gateway.value <= target.value
        : gateway.value >= target.value;
  return {
    id,
    label,
    unit,
    target: target === null ? null : `${target.op} ${target.value}`,
    gateway,
    device,
    pass,
    ideal,
  };
}

/** Mean detection probability of the ideal 1 s test over a population (percent). */
function idealRate(pop: readonly Pair[], radiation: 'gamma' | 'neutron'): number | null {
  if (pop.length === 0) return null;
  let sum = 0;
  for (const p of pop) {
    const e = p.truth.expected[radiation];
    const b = e.backgroundCounts;
    const mu = b + e.sourceCounts;
    if (!(b > 0)) continue;
    const threshold = radiation === 'gamma' ? Math.ceil(b + 6 * Math.sqrt(b)) : poissonThreshold(b, 1e-5);
    sum += Math.exp(logPoissonUpperTail(threshold, mu));
  }
  return (100 * sum) / pop.length;
}

/** The quality rows of issue 4, each against the device's verdict on the same occupancies. */
export function score(pairs: readonly Pair[]): QualityRow[] {
  const of = (kind: string): Pair[] => pairs.filter((p) => p.truth.kind === kind);
  const background = of('background');
  const threats = of('threat');
  const strong = threats.filter((p) => p.truth.expected.gamma.sigma >= 8);
  const allThreats = [...threats, ...of('threat-in-norm')];
  const hidden = of('threat-in-norm');
  const neutron = of('neutron');
  const neutronDetectable = neutron.filter((p) => p.truth.expected.neutron.sigma >= 5);
  const neutronClear = neutron.filter((p) => p.truth.expected.neutron.sigma >= 7);
  const normAlarmed = of('norm').filter((p) => p.truth.device.gammaAlarm);
  const medical = of('medical');
  const medicalAlarmed = medical.filter((p) => p.truth.device.gammaAlarm);
  return [
    row(
      'false-alarms',
      'false alarms on background-only occupancies',
      { op: '≤', value: 1 },
      rate(background, gatewayAlarm, 1000),
      rate(background, deviceAlarm, 1000),
      'per 1,000',
    ),
    row(
      'threats-8sigma',
      'threats ≥ 8σ (true significance) → INVESTIGATE',
      { op: '≥', value: 99 },
      rate(strong, investigate),
      rate(strong, deviceAlarm),
      '%',
      idealRate(strong, 'gamma'),
    ),
    row(
      'threats-all',
      'all threats, incl. hidden in NORM → INVESTIGATE',
      null,
      rate(allThreats, investigate),
      rate(allThreats, deviceAlarm),
    ),
    row(
      'threats-in-norm',
      'threats hidden in NORM → INVESTIGATE',
      null,
      rate(hidden, investigate),
      rate(hidden, deviceAlarm),
    ),
    row(
      'neutron-7sigma',
      'neutron sources ≥ 7σ (true neutron significance) → INVESTIGATE',
      { op: '≥', value: 99 },
      rate(neutronClear, investigate),
      rate(neutronClear, deviceAlarm),
      '%',
      idealRate(neutronClear, 'neutron'),
    ),
    row(
      'neutron-5sigma',
      'neutron sources ≥ 5σ → INVESTIGATE',
      null,
      rate(neutronDetectable, investigate),
      rate(neutronDetectable, deviceAlarm),
      '%',
      idealRate(neutronDetectable, 'neutron'),
    ),
    row(
      'neutron-all',
      'all neutron sources → INVESTIGATE',
      null,
      rate(neutron, investigate),
      rate(neutron, deviceAlarm),
      '%',
      idealRate(neutron, 'neutron'),
    ),
    row(
      'norm-released',
      'NORM the device alarmed on → RELEASE',
      { op: '≥', value: 80 },
      rate(normAlarmed, (p) => !investigate(p)),
      rate(normAlarmed, () => false),
    ),
    row(
      'medical-categorized',
      'medical sources → categorized medical',
      { op: '≥', value: 80 },
      rate(medical, (p) => p.a.assessment.category === 'medical'),
      null,
    ),
    row(
      'medical-alarmed',
      'medical sources the device alarmed on → categorized medical',
      null,
      rate(medicalAlarmed, (p) => p.a.assessment.category === 'medical'),
      null,
    ),
    row(
      'not-medical-called-medical',
      'vehicles without a patient categorized medical',
      null,
      rate(
        pairs.filter((p) => p.truth.kind !== 'medical'),
        (p) => p.a.assessment.category === 'medical',
        1000,
      ),
      null,
      'per 1,000',
    ),
  ];
}
