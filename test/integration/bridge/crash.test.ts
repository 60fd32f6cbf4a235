/**
 * SPEC §4 / §8, issue 5 "done when": the gateway is killed with SIGKILL mid-stream and
 * restarted — nothing committed is lost. The child prints each id once its commit is durable;
 * at the kill, committed rows are in flight or still queued; the restarted child sends them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../../src/bridge/envelope.js';
import { Mosquitto } from '../../support/mosquitto.js';
import { waitFor } from '../../support/wait-for.js';
import { subscriber } from './harness.js';

const ROOT = resolve(import.meta.dirname, '../../..');

function child(
  dir: string,
  url: string,
  count: number,
  intervalMs: number,
): { proc: ChildProcess; out: string[] } {
  const out: string[] = [];
  const proc = spawn(
    process.execPath,
    [
      '--import',
      './test/support/ts-loader.js',
      'test/integration/bridge/bridge-child.ts',
      dir,
      url,
      String(count),
      String(intervalMs),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let buffer = '';
  proc.stdout.on('data', (b: Buffer) => {
    buffer += b.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    out.push(...lines);
  });
  let err = '';
  proc.stderr.on('data', (b: Buffer) => (err += b.toString()));
  proc.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGKILL') out.push(`exit ${code} ${signal} ${err}`);
  });
  return { proc, out };
}

describe('bridge killed with SIGKILL mid-stream', () => {
  const broker = new Mosquitto();
  beforeAll(() => broker.start());
  afterAll(() => broker.dispose());

  it('loses nothing that was committed', async () => {
    const sub = await subscriber(broker.url, 'rpm/v1/port-alpha/+/events/#');
    const dir = mkdtempSync(join(tmpdir(), 'bridge-crash-'));
    const first = child(dir, broker.url, 100_000, 1);
    const committed = () => first.out.filter((l) => l.startsWith('committed ')).length;
    await waitFor(() => committed() >= 500, { timeoutMs: 30_000, what: '500 commits' });
    const status = await subscriber(broker.url, 'rpm/v1/port-alpha/gateway/gw-crash/status');
    first.proc.kill('SIGKILL');
    await new Promise((r) => first.proc.once('exit', r));
    // The last will: the broker says `offline` for the killed gateway.
    await waitFor(() => status.messages.some((m) => m.text.includes('"offline"')), { what: 'the last will' });
    await status.client.endAsync();
    const ids = first.out.filter((l) => l.startsWith('committed ')).map((l) => l.slice('committed '.length));
    expect(first.out.filter((l) => l.startsWith('exit'))).toEqual([]);

    const second = child(dir, broker.url, 50, 2); // restarted: drains the backlog, then sends more
    await waitFor(() => second.out.includes('delivered'), {
      timeoutMs: 60_000,
      what: 'the restarted gateway to drain',
    });
    await waitFor(
      () => {
        const got = new Set(sub.messages.map((m) => (JSON.parse(m.text) as CloudEvent).id));
        return ids.every((id) => got.has(id));
      },
      { timeoutMs: 30_000, what: 'every id committed before the kill at the subscriber' },
    );
    // Sequences continue across the crash: never repeated for a different event.
    const bySeq = new Map<string, string>();
    for (const m of sub.messages) {
      const e = JSON.parse(m.text) as CloudEvent;
      const key = `${e.source}#${e.sequence}`;
      expect(bySeq.get(key) ?? e.id).toBe(e.id);
      bySeq.set(key, e.id);
    }
    if (second.proc.exitCode === null) await new Promise((r) => second.proc.once('exit', r));
    await sub.client.endAsync();
  }, 120_000);
});
