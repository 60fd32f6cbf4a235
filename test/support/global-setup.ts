import { execFileSync } from 'node:child_process';

/**
 * Integration suites drive real transports: socat makes the serial pty pairs. Fail early with
 * a message that says how to get it, rather than with forty confusing test failures.
 */
export default function setup(): void {
  const missing: string[] = [];
  for (const tool of ['socat']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      missing.push(tool);
    }
  }
  if (missing.length > 0) {
    throw new Error(
      `The tests need ${missing.join(', ')} on PATH. Install them with: sudo scripts/install-test-deps.sh`,
    );
  }
}
