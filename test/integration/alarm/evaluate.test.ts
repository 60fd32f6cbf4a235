/**
 * `rpm-gateway evaluate` (issue 4 "Quality"): the documented evaluation runs end to end on a
 * small simulated population and prints the quality table beside the device's verdict. The
 * full-size figures are in docs/alarm-quality.md; here only the structure and loose bounds.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluate, type QualityReport } from '../../../src/app/evaluate.js';
import { qualityTable } from '../../../src/app/evaluate-report.js';
import { runCli } from '../../support/run-cli.js';

const ROWS = [
  'false-alarms',
  'threats-8sigma',
  'threats-all',
  'threats-in-norm',
  'neutron-7sigma',
  'neutron-5sigma',
  'neutron-all',
  'norm-released',
  'medical-categorized',
  'medical-alarmed',
  'not-medical-called-medical',
];

describe('evaluate', () => {
  const report = evaluate({ occupancies: 500, seed: 'ci-evaluate' });

  it('scores every row of the issue against the device baseline', () => {
    expect(report.occupancies).toBe(500);
    expect(report.unpaired).toBe(0);
    expect(report.rows.map((r) => r.id)).toEqual(ROWS);
    for (const r of report.rows) {
      expect(r.gateway.total).toBeGreaterThan(0);
      expect(r.gateway.count).toBeLessThanOrEqual(r.gateway.total);
    }
    expect(report.rows.find((r) => r.id === 'medical-categorized')!.device).toBeNull();
    expect(report.rows.find((r) => r.id === 'norm-released')!.device!.count).toBe(0);
  });

  it('stays within loose bounds on a small population', () => {
    const row = (id: string) => report.rows.find((r) => r.id === id)!;
    expect(row('false-alarms').gateway.value!).toBeLessThanOrEqual(10); // per 1,000
    expect(row('threats-8sigma').gateway.value!).toBeGreaterThanOrEqual(80);
    expect(row('norm-released').gateway.value!).toBeGreaterThanOrEqual(60);
    expect(row('medical-categorized').gateway.value!).toBeGreaterThanOrEqual(60);
    // Patients loud enough to alarm the device are the ones an operator sees: nearly all medical.
    expect(row('medical-alarmed').gateway.value!).toBeGreaterThanOrEqual(
      row('medical-categorized').gateway.value!,
    );
    // Naming patients below the alarm must not turn other vehicles into patients: here 3 of 447,
    // two of them alarms (investigated) before that rule existed.
    expect(row('not-medical-called-medical').gateway.value!).toBeLessThanOrEqual(10); // per 1,000
  });

  it('prints the table with a gateway and a device column', () => {
    const table = qualityTable(report);
    expect(table.split('\n')[0]).toMatch(/gateway.*device N-sigma.*ideal 1 s test.*target/);
    expect(table.split('\n')).toHaveLength(2 + ROWS.length);
  });
});

describe('rpm-gateway evaluate', () => {
  it('--json gives the report; --doc writes both fault settings and the method', async () => {
    const json = await runCli(['evaluate', '--occupancies', '120', '--seed', 'ci-cli', '--faults', '--json']);
    expect(json.code).toBe(0);
    const r = JSON.parse(json.stdout) as QualityReport;
    expect(r.faults).toBe(true);
    expect(r.rows).toHaveLength(ROWS.length);

    const doc = join(mkdtempSync(join(tmpdir(), 'rpm-eval-')), 'alarm-quality.md');
    const run = await runCli(['evaluate', '--occupancies', '120', '--seed', 'ci-cli', '--doc', doc]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('detector faults off');
    expect(run.stdout).toContain('detector faults on');
    const text = readFileSync(doc, 'utf8');
    expect(text).toContain('## Detector faults off');
    expect(text).toContain('## Detector faults on');
    expect(text).toContain('## Method');
  });

  it('refuses a bad --occupancies', async () => {
    const r = await runCli(['evaluate', '--occupancies', 'many']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--occupancies');
  });
});
