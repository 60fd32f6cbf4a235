import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * The README's quick start runs `npx rpm-gateway demo` straight after `npm ci`: npm runs the
 * package's own bin file directly, so the build must leave it executable (tsc writes it 0644).
 */
describe('the rpm-gateway bin, as the README runs it', () => {
  it('starts through npx', async () => {
    // As from a shell: without the npm_* variables of the `npm test` that runs this (under them,
    // npx takes another path that repairs the file's mode, and the test would pass regardless).
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
    const { stdout } = await promisify(execFile)('npx', ['--no-install', 'rpm-gateway', '--version'], {
      env: { ...env, npm_config_update_notifier: 'false' },
    });
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  }, 30_000);
});
