import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SequenceStore } from '../../../src/storage/sequence-store.js';

describe('SequenceStore', () => {
  it('never hands out a number twice across restarts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seq-'));
    const first = new SequenceStore(dir);
    expect(first.firstSeq('lane-1')).toBe(1);
    first.used('lane-1', 1);
    first.used('lane-1', 2);
    first.used('lane-2', 7);
    const second = new SequenceStore(dir);
    expect(second.firstSeq('lane-1')).toBe(3);
    expect(second.firstSeq('lane-2')).toBe(8);
    expect(second.firstSeq('lane-3')).toBe(1);
  });

  it('ignores an out-of-order older number', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seq-'));
    const store = new SequenceStore(dir);
    store.used('a', 5);
    store.used('a', 3);
    expect(new SequenceStore(dir).firstSeq('a')).toBe(6);
  });

  it('drops nonsense values from a hand-edited file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seq-'));
    writeFileSync(join(dir, 'lane-sequences.json'), JSON.stringify({ a: -4, b: 'x', c: 12 }));
    const store = new SequenceStore(dir);
    expect([store.firstSeq('a'), store.firstSeq('b'), store.firstSeq('c')]).toEqual([1, 1, 12]);
  });
});

describe('SequenceStore with a corrupt file', () => {
  it('refuses to start rather than reuse numbers', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seq-'));
    writeFileSync(join(dir, 'lane-sequences.json'), '{"a": 4');
    expect(() => new SequenceStore(dir)).toThrow(/not valid JSON; fix or remove it/);
  });
});
