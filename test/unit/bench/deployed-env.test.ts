import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEPLOYED_ENV } from '../../../bench/gateway-bench.js';

/**
 * The `ENV` settings of the Dockerfile's runtime stage (`ENV NAME=value NAME="a value" ...` lines;
 * a value with spaces is double-quoted).
 */
function runtimeEnv(dockerfile: string): Record<string, string> {
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const line of runtime.split('\n').filter((l) => l.startsWith('ENV ')))
    for (const [, name, quoted, bare] of line.slice(4).matchAll(/(\w+)=(?:"([^"]*)"|(\S*))/g))
      env[name!] = quoted ?? bare ?? '';
  return env;
}

describe('the memory bench measures the gateway as the image deploys it', () => {
  it("the Dockerfile's runtime environment is the bench's DEPLOYED_ENV", () => {
    const dockerfile = readFileSync(new URL('../../../Dockerfile', import.meta.url), 'utf8');
    expect(runtimeEnv(dockerfile)).toEqual(DEPLOYED_ENV);
    expect(DEPLOYED_ENV.NODE_OPTIONS).toContain('--max-old-space-size=');
  });
});
