/**
 * `npm run bench` (SPEC §7): every figure beside its floor, measured in the same run, printed
 * as a table and written to bench/results.json. Run it on a quiet machine; the ratios are what
 * count, since both sides of each pair see the same machine.
 *
 * `npm run bench -- replay alarm` runs only the named sections (replay, alarm, outbox, latency,
 * imaging, gateway), each in a fresh process; their rows replace the same sections' rows in
 * bench/results.json and the other sections' rows are kept.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDailyFile } from '../simulators/vm250/daily-file.js';
import { benchAlarmPath } from './alarm-bench.js';
import { benchAlarmLatency, benchDrain, benchOutboxCommit, withMosquitto } from './bridge-bench.js';
import { benchGatewayMemory, DEPLOYED_ENV } from './gateway-bench.js';
import { benchImaging } from './imaging-bench.js';
import { benchReplay } from './replay-bench.js';

interface Row {
  /** The bench section that measured it (rows written before this field existed lack it). */
  bench?: string;
  section: string;
  figure: string;
  value: string;
  floor: string;
  ratio: string;
  target: string;
  pass: boolean | null;
}

const REPLAY_OCCUPANCIES = Number(process.env.BENCH_OCCUPANCIES ?? 20_000);
const SECTIONS = ['replay', 'alarm', 'outbox', 'latency', 'imaging', 'gateway'] as const;

const n = (x: number, digits = 0): string =>
  x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function replaySection(rows: Row[]): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'rpm-bench-'));
  try {
    const file = join(dir, 'lane-2016-06-01.txt');
    const made = await writeDailyFile({ path: file, seed: 'bench', occupancies: REPLAY_OCCUPANCIES });
    process.stderr.write(`bench: replay of ${made.lines} lines, ${made.occupancies} occupancies\n`);
    const r = await benchReplay(file);
    rows.push({
      section: 'replay',
      figure: 'replay throughput: parse, segment, decide, NDJSON (lines/s)',
      value: n(r.replayLinesPerS),
      floor: `${n(r.floorLinesPerS)} (read + split)`,
      ratio: n(r.ratio, 2),
      target: '≥ 0.5 × floor, ≥ 1,000,000',
      pass: r.ratio >= 0.5 && r.replayLinesPerS >= 1_000_000,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function alarmSection(rows: Row[]): void {
  const a = benchAlarmPath();
  rows.push(
    {
      section: 'alarm',
      figure: 'pipeline CPU per sample (ns)',
      value: n(a.pipelineNsPerSample),
      floor: `${n(a.floorNsPerLine)} ns/line (codec + tracker)`,
      ratio: n(a.fullNsPerLine / a.floorNsPerLine, 2),
      target: 'reported',
      pass: null,
    },
    {
      section: 'alarm',
      figure: `line in → decision out, ${a.lanes} lanes, p50 / p99 (µs)`,
      value: `${n(a.latencyP50Us, 1)} / ${n(a.latencyP99Us, 1)}`,
      floor: '—',
      ratio: '—',
      target: 'p99 well under 1 ms',
      pass: a.latencyP99Us < 1000,
    },
  );
}

async function outboxSection(rows: Row[]): Promise<void> {
  const commit = await benchOutboxCommit();
  rows.push({
    section: 'bridge',
    figure: 'outbox: events committed durably (events/s)',
    value: n(commit.eventsPerS),
    floor: '—',
    ratio: '—',
    target: '≥ 5,000',
    pass: commit.eventsPerS >= 5000,
  });
  await withMosquitto(async (url) => {
    const drain = await benchDrain(url);
    rows.push({
      section: 'bridge',
      figure: 'outbox: drain after an outage (events/s)',
      value: n(drain.eventsPerS),
      floor: '—',
      ratio: '—',
      target: 'reported',
      pass: null,
    });
  });
}

async function latencySection(rows: Row[]): Promise<void> {
  await withMosquitto(async (url) => {
    for (const lanes of [1, 32]) {
      const l = await benchAlarmLatency(url, lanes);
      rows.push({
        section: 'bridge',
        figure: `alarm path: decisive line → PUBACK, ${lanes} lane${lanes === 1 ? '' : 's'}, p50 / p99 (ms)`,
        value: `${n(l.p50Ms, 2)} / ${n(l.p99Ms, 2)}`,
        floor: `${n(l.floorP50Ms, 2)} / ${n(l.floorP99Ms, 2)} (bare publish → PUBACK)`,
        ratio: n(l.p99Ms / l.floorP99Ms, 1),
        target: 'p99 ≤ 2 × floor + 2 ms',
        pass: l.pass,
      });
      if (lanes === 32) {
        rows.push({
          section: 'bridge',
          figure: 'RSS with 32 lanes running (MB)',
          value: n(l.rssMb),
          floor: '—',
          ratio: '—',
          target: '≤ 250',
          pass: l.rssMb <= 250,
        });
      }
    }
  });
}

async function imagingSection(rows: Row[]): Promise<void> {
  const i = await benchImaging();
  rows.push(
    {
      section: 'imaging',
      figure: `${i.width}×${i.height} 16-bit scan end to end, p50 (ms)`,
      value: n(i.endToEndP50Ms, 1),
      floor: `${n(i.sessionRunP50Ms, 1)} (bare session.run, ${i.floorKind}; batched ${n(i.sessionRunBatchedP50Ms, 1)}, per tile ${n(i.sessionRunPerTileP50Ms, 1)})`,
      ratio: n(i.ratio, 2),
      target: '≤ 1.5 × floor',
      pass: i.ratio <= 1.5,
    },
    {
      section: 'imaging',
      figure: 'longest event-loop stall while inference runs, as deployed (ms)',
      value: n(i.maxStallDuringInferenceMs, 1),
      floor: '—',
      ratio: '—',
      target: '< 20',
      pass: i.maxStallDuringInferenceMs < 20,
    },
    {
      section: 'imaging',
      // Imaging alone, for where the memory goes; the target is the whole gateway's (section
      // gateway), of which this is a lower bound.
      figure: 'peak RSS, imaging alone with its model loaded (MB)',
      value: n(i.peakRssMb),
      floor: '—',
      ratio: '—',
      target: 'reported (the gateway row has the target)',
      pass: null,
    },
  );
}

async function gatewaySection(rows: Row[]): Promise<void> {
  // As deployed (the Dockerfile's environment, DEPLOYED_ENV) —
  // the target — and with glibc's and V8's defaults, reported beside it.
  const g = await benchGatewayMemory({ environment: 'deployed' });
  const deployed = Object.entries(DEPLOYED_ENV)
    .map(([name, value]) => `${name}=${value}`)
    .join(', ');
  const what = `${g.lanes} VM-250 lanes, scanner + model, MQTT, console; ${g.scansAnalyzed} scans analyzed`;
  rows.push({
    section: 'gateway',
    figure: `peak RSS of the whole gateway as deployed (${deployed}): ${what} (MB)`,
    value: n(g.peakRssMb),
    floor: '—',
    ratio: '—',
    target: '≤ 250',
    pass: g.peakRssMb <= 250,
  });
  const d = await benchGatewayMemory({ environment: 'default' });
  rows.push({
    section: 'gateway',
    figure: `peak RSS of the whole gateway with glibc's and V8's defaults: ${what} (MB)`,
    value: n(d.peakRssMb),
    floor: '—',
    ratio: '—',
    target: 'reported',
    pass: null,
  });
}

/** One section in this process: its rows as JSON on stdout (the parent prints the table). */
async function runSection(name: (typeof SECTIONS)[number]): Promise<Row[]> {
  const rows: Row[] = [];
  if (name === 'replay') await replaySection(rows);
  if (name === 'alarm') alarmSection(rows);
  if (name === 'outbox') await outboxSection(rows);
  if (name === 'latency') await latencySection(rows);
  if (name === 'imaging') await imagingSection(rows);
  if (name === 'gateway') await gatewaySection(rows);
  return rows;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--section') {
    process.stdout.write(JSON.stringify(await runSection(args[1] as (typeof SECTIONS)[number])) + '\n');
    return;
  }
  const unknown = args.filter((name) => !(SECTIONS as readonly string[]).includes(name));
  if (unknown.length > 0)
    throw new Error(`unknown bench section ${unknown.join(', ')}; sections: ${SECTIONS.join(', ')}`);
  // Each section runs in a fresh process, so its memory figures are its own, not the sum of
  // whatever ran before it. Imaging runs in the environment the Dockerfile gives the service
  // (DEPLOYED_ENV: V8's heap limits decide how often the main thread stops for a collection,
  // which the stall target is about); the gateway section sets its own.
  const rows: Row[] = [];
  const run = SECTIONS.filter((s) => args.length === 0 || args.includes(s));
  for (const name of run) {
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--section', name], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: name === 'imaging' ? { ...process.env, ...DEPLOYED_ENV } : process.env,
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
    if (child.status !== 0) throw new Error(`bench section ${name} failed (exit ${child.status})`);
    const last = child.stdout.trim().split('\n').pop() ?? '[]';
    rows.push(...(JSON.parse(last) as Row[]).map((r) => ({ bench: name, ...r })));
  }

  const out = fileURLToPath(new URL('../../bench/results.json', import.meta.url));
  // A partial run keeps the rows of the sections it did not run, in section order.
  const ran = run as readonly string[];
  const origin = (r: Row): string => r.bench ?? r.section;
  const kept = args.length === 0 ? [] : (await previousRows(out)).filter((r) => !ran.includes(origin(r)));
  const order = (r: Row): number => {
    const i = (SECTIONS as readonly string[]).indexOf(origin(r));
    return i < 0 ? SECTIONS.length : i;
  };
  const all = [...kept, ...rows].sort((a, b) => order(a) - order(b));
  const results = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, rows: all };
  await writeFile(out, JSON.stringify(results, null, 2) + '\n');

  const header = ['section', 'figure', 'value', 'floor', 'ratio', 'target', ''];
  const table = [
    header,
    ...rows.map((r) => [
      r.section,
      r.figure,
      r.value,
      r.floor,
      r.ratio,
      r.target,
      r.pass === null ? '' : r.pass ? 'ok' : 'MISSED',
    ]),
  ];
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) {
    process.stdout.write(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd() + '\n',
    );
  }
  process.stdout.write(`\nwritten to ${out}\n`);
}

async function previousRows(path: string): Promise<Row[]> {
  try {
    return (JSON.parse(await readFile(path, 'utf8')) as { rows: Row[] }).rows;
  } catch {
    return [];
  }
}

await main();
