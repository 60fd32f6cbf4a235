import { execFile } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../support/run-cli.js';

describe('rpm-gateway demo', () => {
  it('connects to all three simulated lanes and reports vehicles from each', async () => {
    const result = await runCli(['demo', '--json', '--speed', '5', '--duration', '16', '--seed', '3']);
    expect(result.code).toBe(0);
    const records = result.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { type: string; lane: string; endReason?: string });
    const completed = records.filter((r) => r.type === 'occupancy' && r.endReason !== 'link-lost');
    const lanes = new Set(completed.map((r) => r.lane));
    expect([...lanes].sort()).toEqual(['lane-1', 'lane-2', 'lane-3']);
    // Lane 1's simulated scanner: a scan per vehicle, analyzed and reported.
    const scans = records.filter((r) => r.type === 'imaging.scan.analyzed');
    expect(scans.length).toBeGreaterThan(0);
    expect(scans.every((r) => r.lane === 'lane-1')).toBe(true);
  }, 50_000);

  it('runs on a machine without socat, skipping only the serial lane', async () => {
    // A PATH that has node and nothing else: no socat for the serial lane's pty pair.
    const bin = mkdtempSync(join(tmpdir(), 'nosocat-'));
    symlinkSync(process.execPath, join(bin, 'node'));
    const { stdout, stderr } = await promisify(execFile)(
      join(bin, 'node'),
      ['dist/src/cli/main.js', 'demo', '--json', '--speed', '5', '--duration', '8', '--port', '0'],
      { env: { PATH: bin }, maxBuffer: 32 * 1024 * 1024 },
    );
    expect(stderr).toContain('lane-2 (VM-250 on serial) skipped: socat is not installed');
    const lanes = new Set(
      stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { type: string; lane: string })
        .filter((r) => r.type === 'occupancy')
        .map((r) => r.lane),
    );
    expect(lanes.has('lane-1')).toBe(true);
    expect(lanes.has('lane-2')).toBe(false);
  }, 50_000);
});
