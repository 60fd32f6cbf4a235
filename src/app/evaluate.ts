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

function cell(r: Rate | null, unit: QualityRow['unit']): string {
  if (r === null) return '—';
  if (r.value === null) return 'n/a (0)';
  const v = unit === '%' ? `${r.value.toFixed(1)} %` : r.value.toFixed(2);
  return `${v} (${r.count}/${r.total})`;
}

/** The quality table as Markdown (also readable as plain text). */
export function qualityTable(report: QualityReport): string {
  const head = ['', 'gateway', 'device N-sigma', 'ideal 1 s test', 'target', ''];
  const body = report.rows.map((r) => [
    `${r.label}${r.unit === 'per 1,000' ? ' (per 1,000)' : ''}`,
    cell(r.gateway, r.unit),
    cell(r.device, r.unit),
    r.ideal === null ? '—' : `${r.ideal.toFixed(1)} %`,
    r.target === null ? 'reported' : `${r.target}${r.unit === '%' ? ' %' : ''}`,
    r.pass === null ? '' : r.pass ? 'met' : 'MISSED',
  ]);
  const widths = head.map((_, i) => Math.max(head[i]!.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

/** One line saying what was evaluated. */
export function qualityCaption(report: QualityReport): string {
  return (
    `${report.occupancies} simulated occupancies (${report.lines} VM-250 lines, ${report.streams} lanes, ` +
    `seeds ${report.seed}-1…${report.streams}), detector faults ` +
    (report.faults ? `on (p = ${report.faultProbability} per occupancy)` : 'off') +
    (report.unpaired > 0 ? `, ${report.unpaired} unpaired` : '')
  );
}

/** The seeds the reports ran on, e.g. `holdout-1-1…6`. */
function seeds(reports: readonly QualityReport[]): string {
  const names = [...new Set(reports.map((r) => `\`${r.seed}-1…${r.streams}\``))];
  return names.length > 0 ? names.join(', ') : 'the seeds';
}

/** docs/alarm-quality.md: the tables and how they were measured. */
export function qualityDocument(reports: readonly QualityReport[], command: string): string {
  const parts = [
    '# Alarm quality',
    '',
    'Measured by `rpm-gateway evaluate` (src/app/evaluate.ts) on simulated VM-250 traffic with ground',
    "truth, beside the device's own N-sigma verdict (its GA/NA lines) on the same occupancies.",
    `Regenerate with \`${command}\`.`,
    '',
  ];
  for (const r of reports) {
    parts.push(
      `## Detector faults ${r.faults ? 'on' : 'off'}`,
      '',
      qualityCaption(r) + '.',
      '',
      qualityTable(r),
      '',
    );
  }
  parts.push(
    '## Method',
    '',
    '- Traffic: the VM-250 stream simulator (simulators/vm250/stream.ts) with its default mix — 60 %',
    '  background-only vehicles, 14 % NORM loads, 8 % medical patients, 8 % threats in cargo (half',
    '  shielded), 5 % threats hidden in NORM, 5 % neutron emitters — on lanes with 150–2,500 cps per',
    '  gamma panel and 1–5 cps per neutron tube. Each lane is a separate seed (its own background).',
    '- Path: every line through the real codec, the VM-250 occupancy tracker and the alarm pipeline,',
    '  exactly as a live lane (no socket). The device baseline is what the simulated RPM itself sent:',
    '  threshold BG + NSigma·√BG on the 4-channel 1 s sum (SPEC §1.1), neutron: 2 intervals above',
    '  background + 3σ.',
    '- False alarm: a background-only occupancy the gateway alarmed on or sent to INVESTIGATE (any',
    '  reason, health doubts included).',
    '- Threat population: true significance is the best 1 s window of the source over the',
    '  (shadowed) background, all channels summed, from the simulator\'s physics. "≥ 8σ" is the',
    "  issue's detectable population for a 6σ test. Threats hidden in NORM are reported only.",
    '- Neutron population: the simulator draws neutron emitters of 8–250 cps at 1 m per tube',
    '  (log-uniform) with 1–5 cps per tube of background. A ²⁵²Cf check source of the ANSI N42.35',
    '  kind gives roughly 20–40 cps at 1 m per tube on a portal of this geometry, so the lower half',
    '  of the range is weaker than portals are specified to detect: many passes leave fewer',
    '  neutrons than the background fluctuates. The target row therefore takes the sources a',
    '  neutron test can see with the same 2σ margin the threat row has over its 6σ test: true',
    '  neutron significance (best 1 s interval, source over background) ≥ 7σ. The ≥ 5σ and the',
    '  full populations are reported beside it.',
    '- Ideal 1 s test: the detection probability of one test on the best 1 s window of the',
    "  simulator's expected counts, with the background known exactly, at NSigma 6 (gamma) or",
    "  α = 1e-5 (neutron), averaged over the row's population — the physics limit of a single",
    "  window. The gateway can beat it (several windows, neutron sources' gamma companions); where",
    '  it falls short, see "What is left" below.',
    '- NORM release: NORM loads that made the device alarm, released by the gateway (the device',
    '  releases none: it has no adjudication).',
    '- Medical: every medical occupancy, alarming or not, categorized `medical` (the target row);',
    '  beside it, the patients the device alarmed on — the nuisance alarms an operator sees.',
    '  Below the alarm, an occupancy whose best test reaches 4.5σ is placed like an alarm, and a',
    "  point-like excess in the cab (or a car) on the driver's pillar is categorized `medical`,",
    '  still RELEASE with no alarm (src/alarm/adjudicate-quiet.ts; 4.5σ chosen on the tuning',
    '  seeds, where below the alarm 4σ named 6 vehicles without a patient in 12,600 and 4.5σ',
    '  one). The last row counts every vehicle without a patient categorized `medical`, alarmed',
    '  or not (an alarm categorized `medical` is still investigated unless it is in the cab).',
    '- Faults: with faults on, a detector fault (gamma high/low background, dead or stuck gamma',
    '  channel, neutron high background) starts with the given probability per occupancy and lasts',
    '  1–3 occupancies; the simulator has no default probability, 0.05 is used.',
    `- Seeds: ${seeds(reports)} are a hold-out, never used while tuning the pipeline (tuning ran on`,
    '  other seed prefixes).',
    '',
    '## What is left',
    '',
    '- Threats ≥ 8σ missed are sources whose peak and tails fill most of a shadowed cargo',
    '  interior (short or slow trucks, 5–20 % shadowing) or sit within ~1.3 m of the cab/cargo',
    '  boundary or the rear door. Their true significance is against the shadowed level known',
    '  exactly; the gateway has to measure that level from the same samples. On the 15 misses of',
    '  33,600 tuning occupancies (faults off) a least-squares fit of a flat level plus the',
    '  point-source peak over the interior reaches at most 6.0σ (the same fit with the level',
    '  known: up to 12σ), and one shadowing shared by the four panels did no better on the five',
    '  tried. Gross counts alone leave them at the threshold. Not done: fitting the empty lane',
    '  behind the rear (known background) with the interior found one of the 15 (a source 0.65 m',
    "  from the rear door); next to the cab the cab's own, lesser shadowing is not known.",
    '  The profile model assumes cabs of at most 3.5 m (SPEC §2: 2.5–3 m, plus the gap to the',
    '  cargo); `cabMaxM` is configurable.',
    '- Medical: the row counts every medical occupancy, detectable or not. The misses are patients',
    '  too weak to reach 4.5σ, or whose weak excess the profile placed behind the cab or on the',
    "  passenger's pillar (categorized `background`); the share of medical sources above 8σ varies",
    "  with the lanes' backgrounds (71 % on the hold-out lanes, 79–83 % on tuning lanes).",
    '- Threats hidden in NORM: the plateau model finds a point source standing out of a bulk load;',
    '  weak ones inside a strong load stay below it (reported, no target).',
    '',
  );
  return parts.join('\n');
}
