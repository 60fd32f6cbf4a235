/**
 * `npm run bench` (SPEC §7): every figure beside its floor, measured in the same run, printed
 * as a table and written to bench/results.json. Run on a quiet machine; the ratios are what
 * count, since both sides of each pair see the same machine.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDailyFile } from '../simulators/vm250/daily-file.js';
import { benchReplay } from './replay-bench.js';

interface Row {
  name: string;
  value: number;
  unit: string;
  floor: number | null;
  ratio: number | null;
  target: string;
  pass: boolean;
}

const REPLAY_OCCUPANCIES = Number(process.env.BENCH_OCCUPANCIES ?? 20_000);

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'rpm-bench-'));
  const rows: Row[] = [];
  try {
    const file = join(dir, 'lane-2016-06-01.txt');
    const made = await writeDailyFile({ path: file, seed: 'bench', occupancies: REPLAY_OCCUPANCIES });
    process.stderr.write(
      `bench: simulated daily file with ${made.lines} lines, ${made.occupancies} occupancies\n`,
    );
    const replay = await benchReplay(file);
    rows.push({
      name: 'replay throughput (parse, segment, decide, NDJSON)',
      value: replay.replayLinesPerS,
      unit: 'lines/s',
      floor: replay.floorLinesPerS,
      ratio: replay.ratio,
      target: '≥ 0.5 × floor and ≥ 1,000,000 lines/s',
      pass: replay.ratio >= 0.5 && replay.replayLinesPerS >= 1_000_000,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const results = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
    rows,
  };
  await writeFile(
    new URL('./results.json', import.meta.url.replace('/dist/bench/', '/bench/')),
    JSON.stringify(results, null, 2) + '\n',
  );
  const fmt = (n: number | null) =>
    n === null ? '—' : n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);
  const table = [
    ['figure', 'value', 'floor', 'ratio', 'target', ''],
    ...rows.map((r) => [
      r.name,
      `${fmt(r.value)} ${r.unit}`,
      fmt(r.floor),
      fmt(r.ratio),
      r.target,
      r.pass ? 'ok' : 'MISSED',
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table)
    process.stdout.write(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd() + '\n',
    );
}

await main();
