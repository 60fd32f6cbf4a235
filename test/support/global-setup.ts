import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

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
  // Some suites run the built command line (the `rpm-gateway` bin, replay's decode worker):
  // build it from the current sources so they never test a stale dist/. Type errors are the
  // typecheck step's business (tsc emits regardless); only a build that emits nothing stops here.
  try {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
      stdio: 'ignore',
    });
  } catch {
    if (!existsSync('dist/src/cli/main.js'))
      throw new Error('the build (tsc -p tsconfig.build.json) emitted nothing');
  }
  // The rest of `npm run build`: the bin made executable, as `npx rpm-gateway` needs it.
  execFileSync(process.execPath, ['scripts/bin-executable.mjs'], { stdio: 'inherit' });
}
