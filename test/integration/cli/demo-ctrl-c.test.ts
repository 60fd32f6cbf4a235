import { spawn } from 'node:child_process';
import { describe, expect, it, onTestFinished } from 'vitest';

/**
 * Ctrl-C in a terminal signals the whole foreground process group: the demo and the socat that
 * makes its serial lane's pty pair. The demo stops its lanes first; socat must not die under the
 * serial lane before that, or a clean stop is logged as a lost device link.
 */
describe('rpm-gateway demo, stopped by Ctrl-C', () => {
  it('closes every lane cleanly: no link reported lost', async () => {
    // detached: the demo leads its own process group, as a shell's foreground job does.
    const child = spawn(
      process.execPath,
      ['dist/src/cli/main.js', 'demo', '--json', '--speed', '5', '--port', '0'],
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    });
    // Until a vehicle has passed on the serial lane (its occupancy record is on stdout).
    const deadline = Date.now() + 20_000;
    while (!stdout.includes('{"type":"occupancy","lane":"lane-2"')) {
      if (Date.now() > deadline) throw new Error(`lane-2 never connected; stderr: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    process.kill(-child.pid!, 'SIGINT'); // the whole group, as the terminal does
    expect(await exited).toBe(0);
    expect(stderr).not.toContain('device link lost');
  }, 40_000);
});
