/**
 * The evaluation's report in words (issue 4): the quality table, its caption, and
 * docs/alarm-quality.md with the method and what is left. The scoring is in evaluate.ts.
 */
import type { QualityReport, QualityRow, Rate } from './evaluate.js';

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
    '- Below the alarm, in the cargo: an occupancy whose best test reaches 5.4σ (the alarm is at',
    "  6σ) with a localized excess (under 2.5× a point source's width) in a truck's cargo is",
    '  INVESTIGATE with no alarm — in doubt, investigate (src/alarm/adjudicate-quiet.ts,',
    '  `cargoNoticeSigma`). 5.4σ was chosen on the tuning seeds (33,600 occupancies, 20,212',
    '  without a source): without faults it took threats ≥ 8σ from 1,045 to 1,051 of 1,054 and all',
    '  threats from 1,944 to 2,061 of 4,421, for one more false alarm (5 → 6) and 7 fewer NORM',
    '  releases (1,622 → 1,615 of 1,755); with faults 1,042 → 1,044, 1,954 → 2,079, false alarms',
    '  1 → 3. A false alarm here counts an INVESTIGATE like an alarm.',
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
    '- Threats ≥ 8σ missed (2 of 105 on the hold-out, faults off or on; 3 and 2 before the',
    '  cargo rule above) are sources whose peak and tails fill most of a shadowed cargo',
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
