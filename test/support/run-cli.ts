import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the CLI in-process with captured streams; `stop` aborts it like Ctrl-C would. */
export async function runCli(
  argv: string[],
  options: {
    stdin?: string;
    env?: NodeJS.ProcessEnv;
    stopAfterMs?: number;
    /** Sees stderr as it is written (e.g. to learn a port the command announces). */
    onStderr?: (text: string) => void;
  } = {},
): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    options.onStderr?.(err);
  });
  stdin.end(options.stdin ?? '');
  const controller = new AbortController();
  const timer =
    options.stopAfterMs === undefined ? null : setTimeout(() => controller.abort(), options.stopAfterMs);
  try {
    const code = await main(argv, {
      stdin,
      stdout,
      stderr,
      env: options.env ?? {},
      stopSignal: controller.signal,
    });
    return { code, stdout: out, stderr: err };
  } finally {
    if (timer) clearTimeout(timer);
  }
}
