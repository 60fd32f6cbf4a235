import { mkdtempSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeLine } from '../../../src/drivers/vm250/codec.js';
import { runCli } from '../../support/run-cli.js';
import { waitFor } from '../../support/wait-for.js';

describe('rpm-gateway simulate', () => {
  it('writes a VM-250 daily file with its ground truth', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sim-')), 'lane.txt');
    const result = await runCli([
      'simulate',
      'vm250',
      '--daily-file',
      file,
      '--occupancies',
      '25',
      '--seed',
      '9',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/wrote .*lane\.txt: \d+ lines, 25 occupancies/);
    const lines = readFileSync(file, 'latin1').split('\r\n').filter(Boolean);
    expect(lines.filter((l) => l.startsWith('GX,')).length).toBe(25);
    expect(lines.every((l) => decodeLine(l).type !== 'malformed')).toBe(true);
    expect(readFileSync(`${file}.truth.ndjson`, 'utf8').trim().split('\n').length).toBe(25);
  });

  it('serves the VM-250 stream over TCP until its occupancies have passed', async () => {
    let announced = '';
    const running = runCli(['simulate', 'vm250', '--tcp', '0', '--occupancies', '2', '--speed', '20'], {
      onStderr: (text) => (announced = text),
    });
    const port = await waitFor(() => /tcp:\/\/127\.0\.0\.1:(\d+)/.exec(announced)?.[1], { what: 'the port' });
    let received = '';
    const socket = createConnection({ host: '127.0.0.1', port: Number(port) });
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    const result = await running;
    socket.destroy();
    expect(result.code).toBe(0);
    const lines = received.split('\r\n').filter(Boolean);
    expect(lines.filter((l) => l.startsWith('GX,')).length).toBeGreaterThanOrEqual(1);
    expect(lines.every((l) => decodeLine(l).type !== 'malformed')).toBe(true);
  }, 60_000);

  it('rejects a missing transport and an unknown device with usage', async () => {
    const noTransport = await runCli(['simulate', 'vm250']);
    expect(noTransport.code).toBe(2);
    expect(noTransport.stderr).toContain('vm250 needs exactly one of --tcp <port>, --serial');
    const unknown = await runCli(['simulate', 'toaster', '--tcp', '0']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown device 'toaster'");
    const badMix = await runCli(['simulate', 'vm250', '--daily-file', '/tmp/x', '--mix', 'uranium=1']);
    expect(badMix.stderr).toContain("--mix: unknown kind 'uranium'");
    const polled = await runCli(['simulate', 'modbus-rpm', '--tcp', '0', '--speed', '4']);
    expect(polled.code).toBe(2);
    expect(polled.stderr).toContain('--speed is for the vm250 simulator');
  });
});
