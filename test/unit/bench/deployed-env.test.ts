import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEPLOYED_ENV } from '../../../bench/gateway-bench.js';

/** The `ENV` settings of the Dockerfile's runtime stage (one `ENV NAME=value ...` line). */
function runtimeEnv(dockerfile: string): Record<string, string> {
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const line of runtime.split('\n').filter((l) => l.startsWith('ENV ')))
    for (const pair of line.slice(4).trim().split(/\s+/)) {
      const eq = pair.indexOf('=');
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  return env;
}

describe('the memory bench measures the gateway as the image deploys it', () => {
  it("the Dockerfile's runtime environment is the bench's DEPLOYED_ENV", () => {
    const dockerfile = readFileSync(new URL('../../../Dockerfile', import.meta.url), 'utf8');
    expect(runtimeEnv(dockerfile)).toEqual(DEPLOYED_ENV);
  });
});
