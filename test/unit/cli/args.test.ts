import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseCommandArgs } from '../../../src/cli/args.js';
import type { CommandContext } from '../../../src/cli/context.js';

function context(): { ctx: CommandContext; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const ctx: CommandContext = {
    stdin: new PassThrough(),
    stdout,
    stderr,
    env: {},
    stopSignal: new AbortController().signal,
  };
  return { ctx, out: () => out, err: () => err };
}

const options = { lane: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;
const USAGE = 'Usage: rpm-gateway thing [--lane <id>]';

describe('parseCommandArgs', () => {
  it('returns the values of a good command line', () => {
    const { ctx } = context();
    const parsed = parseCommandArgs({ args: ['--lane', 'lane-1'], options }, USAGE, ctx);
    expect(typeof parsed).toBe('object');
    if (typeof parsed !== 'number') expect(parsed.values.lane).toBe('lane-1');
  });

  it('answers an unknown option with the reason and the usage on stderr, exit 2', async () => {
    const c = context();
    expect(parseCommandArgs({ args: ['--lame', 'x'], options }, USAGE, c.ctx, 'thing: ')).toBe(2);
    await new Promise((resolve) => setImmediate(resolve));
    expect(c.err()).toMatch(/^thing: .*--lame/);
    expect(c.err()).toContain(USAGE);
    expect(c.out()).toBe('');
  });

  it('answers --help with the usage on stdout, exit 0', async () => {
    const c = context();
    expect(parseCommandArgs({ args: ['-h'], options }, USAGE, c.ctx)).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(c.out()).toBe(USAGE + '\n');
    expect(c.err()).toBe('');
  });
});
