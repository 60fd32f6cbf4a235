import { describe, expect, it } from 'vitest';
import { runCli } from '../../support/run-cli.js';

describe('rpm-gateway demo opens onto the console', () => {
  it('prints the console URL with a one-time admin password', async () => {
    const result = await runCli(['demo', '--duration', '3', '--port', '0', '--speed', '5']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /Console: http:\/\/127\.0\.0\.1:\d+\/ {2}user admin, password [A-Za-z0-9_-]{16}\n/,
    );
  }, 30_000);
});
