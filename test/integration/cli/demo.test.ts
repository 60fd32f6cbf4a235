import { describe, expect, it } from 'vitest';
import { runCli } from '../../support/run-cli.js';

describe('rpm-gateway demo', () => {
  it('connects to all three simulated lanes and reports vehicles from each', async () => {
    const result = await runCli(['demo', '--json', '--speed', '5', '--duration', '12', '--seed', '3']);
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
  }, 40_000);
});
