import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { replay } from '../../../src/app/replay.js';
import { writeDailyFile } from '../../../simulators/vm250/daily-file.js';
import { runCli } from '../../support/run-cli.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'replay-'));
const file = join(dir, 'lane-2016-06-01.txt');
let truth: Array<{ index: number; gxSent: boolean }> = [];

interface OccupancyLine {
  type: string;
  seq: number;
  index: number | null;
  endedAbnormally: boolean;
  start: string;
}

function occupancies(ndjson: string): OccupancyLine[] {
  return ndjson
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as OccupancyLine)
    .filter((r) => r.type === 'occupancy');
}

beforeAll(async () => {
  const made = await writeDailyFile({ path: file, seed: 'replay-indices', occupancies: 1200 });
  truth = readFileSync(made.truthPath, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { index: number; gxSent: boolean });
}, 60_000);

describe('rpm-gateway replay of a simulated daily file', () => {
  it('reports exactly the simulator’s occupancy indices, numbered by the gateway', async () => {
    const result = await runCli(['replay', file, '--quiet']);
    expect(result.code).toBe(0);
    const records = occupancies(result.stdout);
    expect(truth.length).toBe(1200);
    expect(records.length).toBe(truth.length);
    expect(records.map((r) => r.index)).toEqual(truth.map((t) => (t.gxSent ? t.index : null)));
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));
    expect(records[0]!.start.startsWith('2016-06-01T')).toBe(true);
  }, 60_000);

  it('gives the same output through the installed command (decode worker) as in-process', async () => {
    const bin = await run(process.execPath, ['dist/src/cli/main.js', 'replay', file, '--quiet'], {
      maxBuffer: 64 * 1024 * 1024,
    });
    const sink = new PassThrough();
    let inProcess = '';
    sink.on('data', (chunk: Buffer) => (inProcess += chunk.toString()));
    await replay(file, sink, { worker: false });
    expect(bin.stdout.length).toBeGreaterThan(100_000);
    expect(bin.stdout).toBe(inProcess);
  }, 60_000);

  it('reads standard input and never stops on garbage', async () => {
    const text = readFileSync(file, 'latin1').split('\r\n').slice(0, 4000);
    const noisy = text.flatMap((line, i) =>
      i % 97 === 0 ? ['\u0001\u00ff garbage', 'GS,000***', line] : [line],
    );
    const result = await runCli(['replay', '-', '--date', '2016-06-01'], { stdin: noisy.join('\r\n') });
    expect(result.code).toBe(0);
    const summary = result.stdout
      .split('\n')
      .filter((l) => l.includes('"replay-summary"'))
      .map(
        (l) => JSON.parse(l) as { badInput: Record<string, number>; malformed: Record<string, number> },
      )[0]!;
    expect(summary.badInput.garbage).toBeGreaterThan(0);
    expect(Object.values(summary.malformed).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(occupancies(result.stdout).length).toBeGreaterThan(50);
    expect(result.stderr).toMatch(/^replay: \d+ lines, \d+ occupancies/);
  }, 60_000);
});

describe('rpm-gateway replay --config with the alarm classifier', () => {
  interface Assessed {
    type: string;
    gamma: { alarm: boolean };
    neutron: { alarm: boolean };
    assessment: { disposition: string; probabilities: Record<string, number> };
  }
  const config = (model: string | null): string => {
    const path = join(dir, `gateway-${model === null ? 'rules' : 'classifier'}-${Math.random()}.yaml`);
    writeFileSync(
      path,
      'site: test\nlanes:\n  - id: lane-1\n    driver: vm250\n    address: tcp://127.0.0.1:1601\n' +
        (model === null ? '' : `classifier:\n  model: ${model}\n`),
    );
    return path;
  };
  const assessed = (ndjson: string): Assessed[] =>
    ndjson
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Assessed)
      .filter((r) => r.type === 'occupancy');

  it('refines the alarms’ probabilities, and the safety rules still hold', async () => {
    const model = join(process.cwd(), 'models/alarm-category-refiner.onnx');
    const rules = assessed((await runCli(['replay', file, '--quiet', '--config', config(null)])).stdout);
    const refined = await runCli(['replay', file, '--quiet', '--config', config(model)]);
    expect(refined.code).toBe(0);
    const withModel = assessed(refined.stdout);
    expect(withModel).toHaveLength(rules.length);
    const alarms = withModel.filter((r) => r.gamma.alarm || r.neutron.alarm);
    expect(alarms.length).toBeGreaterThan(10);
    const changed = alarms.filter(
      (r) =>
        JSON.stringify(r.assessment.probabilities) !==
        JSON.stringify(rules[withModel.indexOf(r)]!.assessment.probabilities),
    );
    expect(changed.length).toBeGreaterThan(0);
    for (const r of withModel.filter((x) => x.neutron.alarm))
      expect(r.assessment.disposition).toBe('INVESTIGATE');
  }, 60_000);

  it('refuses a model its card does not vouch for', async () => {
    const copy = join(dir, 'tampered.onnx');
    copyFileSync(join(process.cwd(), 'models/alarm-category-refiner.onnx'), copy);
    writeFileSync(join(dir, 'tampered.json'), JSON.stringify({ sha256: '0'.repeat(64) }));
    const result = await runCli(['replay', file, '--quiet', '--config', config(copy)]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/tampered\.onnx has sha256 [0-9a-f]{64}, its card says 0{64}/);
  });
});
