import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../support/run-cli.js';

describe('rpm-gateway check-config', () => {
  it('accepts the example configuration and lists its lanes', async () => {
    const result = await runCli(['check-config', 'config/gateway.example.yaml']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('valid — site port-alpha, 4 lanes (3 enabled)');
    expect(result.stdout).toContain('lane-4: modbus-rpm at modbus-rtu:///dev/ttyUSB0');
  });

  it('explains every problem with its line and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'site.yaml');
    writeFileSync(
      file,
      [
        'site: bench',
        'lanes:',
        '  - id: lane-1',
        '    driver: vm250',
        '    address: serial:///dev/ttyS0?baudRate=fast',
        '    nsigma: 5',
        '',
      ].join('\n'),
    );
    const result = await runCli(['check-config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file}:6: lanes[0].nsigma is not a setting the gateway knows`);
    expect(result.stderr).toMatch(new RegExp(`${file}:5: lanes\\[0\\]\\.address .*baudRate`));
    expect(result.stderr).toContain('2 problems found.');
  });

  it('prints its usage with --help', async () => {
    const result = await runCli(['check-config', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: rpm-gateway check-config <file>');
  });

  it('says when the file cannot be read', async () => {
    const result = await runCli(['check-config', '/nonexistent/gateway.yaml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('cannot read /nonexistent/gateway.yaml');
  });
});

describe('rpm-gateway (top level)', () => {
  it('lists the commands and rejects an unknown one', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const name of ['run', 'demo', 'simulate', 'replay', 'check-config'])
      expect(help.stdout).toContain(name);
    const unknown = await runCli(['fly']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'fly'");
  });

  it('refuses to run without a configuration, and with a broken one', async () => {
    expect((await runCli(['run'])).stderr).toContain('run needs --config <file>');
    const broken = await runCli(['run', '--config', 'README.md']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('The gateway did not start');
  });
});
