import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Vm250TcpServer } from '../../../simulators/vm250/tcp-server.js';
import { runCli } from '../../support/run-cli.js';

describe('rpm-gateway run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'run-'));
  const config = join(dir, 'gateway.yaml');
  const sim = new Vm250TcpServer({ seed: 'run-test', speed: 10, gapS: [1, 2] });

  beforeAll(async () => {
    const { port } = await sim.start();
    writeFileSync(
      config,
      [
        'site: test',
        'storage:',
        `  dir: ${join(dir, 'state')}`,
        'log:',
        '  level: warn',
        'lanes:',
        '  - id: lane-9',
        '    driver: vm250',
        `    address: tcp://127.0.0.1:${port}`,
        '',
      ].join('\n'),
    );
  });
  afterAll(() => sim.stop());

  const occupancySeqs = (stdout: string) =>
    stdout
      .split('\n')
      .filter((l) => l.includes('"type":"occupancy"'))
      .map((l) => JSON.parse(l) as { seq: number; lane: string; endReason: string })
      .filter((r) => r.endReason !== 'link-lost');

  it('prints occupancy records, and numbers them on from where the last run stopped', async () => {
    const first = await runCli(['run', '--config', config], { stopAfterMs: 8000 });
    expect(first.code).toBe(0);
    const firstSeqs = occupancySeqs(first.stdout);
    expect(firstSeqs.length).toBeGreaterThan(0);
    expect(firstSeqs.every((r) => r.lane === 'lane-9')).toBe(true);
    const second = await runCli(['run', '--config', config], { stopAfterMs: 6000 });
    const secondSeqs = occupancySeqs(second.stdout);
    expect(secondSeqs.length).toBeGreaterThan(0);
    expect(Math.min(...secondSeqs.map((r) => r.seq))).toBeGreaterThan(
      Math.max(...firstSeqs.map((r) => r.seq)),
    );
  }, 40_000);

  it('logs a device link that comes up and drops, and a clean stop as no fault', async () => {
    // A device that accepts the gateway, then hangs up after 300 ms, every time.
    const device = createServer((socket) => setTimeout(() => socket.destroy(), 300));
    await new Promise<void>((r) => device.listen(0, '127.0.0.1', r));
    const port = (device.address() as AddressInfo).port;
    const dropping = join(dir, 'dropping.yaml');
    writeFileSync(
      dropping,
      [
        'site: test',
        'storage:',
        `  dir: ${join(dir, 'state-dropping')}`,
        'log:',
        '  level: info',
        'lanes:',
        '  - id: lane-x',
        '    driver: vm250',
        `    address: tcp://127.0.0.1:${port}`,
        '',
      ].join('\n'),
    );
    try {
      const result = await runCli(['run', '--config', dropping], { stopAfterMs: 6000 }); // the first seconds are the gateway starting
      expect(result.code).toBe(0);
      const lines = result.stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: string; msg: string; lane?: string });
      const of = (msg: string) => lines.filter((l) => l.msg === msg && l.lane === 'lane-x');
      expect(of('device link up').length).toBeGreaterThan(0);
      expect(of('device link lost')[0]?.level).toBe('warn');
      expect(of('device link closed').every((l) => l.level === 'info')).toBe(true);
    } finally {
      device.close();
    }
  }, 25_000);

  it('runs with the alarm classifier a configuration names, and refuses to start without its file', async () => {
    const base = readFileSync(config, 'utf8');
    const withModel = join(dir, 'classifier.yaml');
    const model = join(process.cwd(), 'models/alarm-category-refiner.onnx');
    writeFileSync(withModel, `${base}classifier:\n  model: ${model}\n`);
    const running = await runCli(['run', '--config', withModel], { stopAfterMs: 6000 }); // the first seconds are the gateway starting
    expect(running.code).toBe(0);
    expect(occupancySeqs(running.stdout).length).toBeGreaterThan(0);
    const missing = join(dir, 'missing-classifier.yaml');
    writeFileSync(missing, `${base}classifier:\n  model: ${join(dir, 'nowhere.onnx')}\n`);
    const refused = await runCli(['run', '--config', missing]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('cannot read the classifier model');
    expect(refused.stderr).toContain('The gateway did not start');
  }, 25_000);
});
