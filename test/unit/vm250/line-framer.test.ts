import { describe, expect, it } from 'vitest';
import { LineFramer, type LineDiscard } from '../../../src/drivers/transport/line-framer.js';

function frame(chunks: Array<string | Buffer>, maxLength?: number) {
  const lines: string[] = [];
  const discards: LineDiscard[] = [];
  const f = new LineFramer({ onLine: (l) => lines.push(l), onDiscard: (d) => discards.push(d), maxLength });
  for (const c of chunks) f.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c);
  const flushed = f.flush();
  return { lines, discards, flushed };
}

const GB = 'GB,000822,000750,000770,000757';
const GS = 'GS,000900,000850,000870,000857';

describe('LineFramer', () => {
  it('splits CR LF, LF and lone CR', () => {
    expect(frame([`${GB}\r\n${GS}\n${GB}\r${GS}\r\n`]).lines).toEqual([GB, GS, GB, GS]);
  });

  it('handles every split point of a CR LF stream', () => {
    const text = `${GB}\r\n${GS}\r\nNB,000001,000002,000003,000004\r\n`;
    for (let cut = 0; cut <= text.length; cut++) {
      const r = frame([text.slice(0, cut), text.slice(cut)]);
      expect(r.lines).toEqual([GB, GS, 'NB,000001,000002,000003,000004']);
      expect(r.discards).toEqual([]);
    }
  });

  it('treats a CR at the end of a chunk followed by a new line as a lone CR', () => {
    expect(frame([`${GB}\r`, `${GS}\r\n`]).lines).toEqual([GB, GS]);
    expect(frame([`${GB}\r`, `\n${GS}\r\n`]).lines).toEqual([GB, GS]);
  });

  it('delivers a line one byte at a time', () => {
    const text = `${GB}\r\n${GS}\r\n`;
    expect(frame([...text]).lines).toEqual([GB, GS]);
  });

  it('skips empty lines silently', () => {
    expect(frame([`\r\n\r\n${GB}\n\n`])).toMatchObject({ lines: [GB], discards: [] });
  });

  it('discards over-long lines whole and resynchronises', () => {
    const long = `RW,${'1'.repeat(200)}`;
    const r = frame([`${GB}\r\n${long}\r\n${GS}\r\n`]);
    expect(r.lines).toEqual([GB, GS]);
    expect(r.discards).toEqual([{ reason: 'line-too-long', length: 203, prefix: long.slice(0, 32) }]);
  });

  it('discards over-long lines that span chunks without buffering them', () => {
    const long = `RW,${'1'.repeat(500)}`;
    const chunks = [`${GB}\r\n${long.slice(0, 100)}`, long.slice(100, 300), long.slice(300), `\r\n${GS}\r\n`];
    const r = frame(chunks);
    expect(r.lines).toEqual([GB, GS]);
    expect(r.discards).toEqual([{ reason: 'line-too-long', length: 503, prefix: long.slice(0, 32) }]);
  });

  it('accepts a line of exactly maxLength', () => {
    const line = `RW,${'2'.repeat(125)}`;
    expect(frame([`${line}\r\n`]).lines).toEqual([line]);
  });

  it('reports lines with garbage bytes and keeps the next lines', () => {
    const garbage = Buffer.concat([
      Buffer.from('GB,0008'),
      Buffer.from([0x00, 0xff, 0x1b]),
      Buffer.from('22\r\n'),
    ]);
    const r = frame([garbage, `${GS}\r\n`]);
    expect(r.lines).toEqual([GS]);
    expect(r.discards).toEqual([{ reason: 'garbage', length: 12, prefix: 'GB,0008\\x00\\xff\\x1b22' }]);
  });

  it('allows TAB inside a line', () => {
    expect(frame(['RW,1\t2\n']).lines).toEqual(['RW,1\t2']);
  });

  it('reports garbage in a line split across chunks', () => {
    const r = frame([Buffer.from([0x47, 0x42, 0x80]), `,1,2,3,4\n${GB}\n`]);
    expect(r.lines).toEqual([GB]);
    expect(r.discards.map((d) => d.reason)).toEqual(['garbage']);
  });

  it('flushes a truncated last line', () => {
    const r = frame([`${GB}\r\nGS,000900,00`]);
    expect(r.lines).toEqual([GB, 'GS,000900,00']);
    expect(r.flushed).toBe(true);
    expect(frame([`${GB}\r\n`]).flushed).toBe(false);
  });

  it('reset drops a partial line', () => {
    const lines: string[] = [];
    const f = new LineFramer({ onLine: (l) => lines.push(l) });
    f.push(Buffer.from('GB,0008'));
    expect(f.buffered).toBe(7);
    f.reset();
    f.push(Buffer.from(`${GS}\n`));
    expect(lines).toEqual([GS]);
  });
});

describe('LineFramer byte consumers', () => {
  function frameBytes(chunks: Array<string | Buffer>) {
    const lines: string[] = [];
    const discards: string[] = [];
    const f = new LineFramer({
      onLine: () => {
        throw new Error('onLineBytes takes every line');
      },
      onLineBytes: (b, s, e) => lines.push(b.toString('latin1', s, e)),
      onDiscard: (d) => discards.push(d.reason),
    });
    for (const c of chunks) f.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c);
    f.flush();
    return { lines, discards };
  }

  it('delivers the same lines as the text path, at every split point', () => {
    const text = `${GB}\r\n${GS}\n${GB}\r${GS}\r\nRW,${'1'.repeat(200)}\r\n${GB}\r\nGS,0009`;
    const expected = frame([text]);
    for (let cut = 0; cut <= text.length; cut++) {
      const r = frameBytes([text.slice(0, cut), text.slice(cut)]);
      expect(r.lines).toEqual(expected.lines);
      expect(r.discards).toEqual(expected.discards.map((d) => d.reason));
    }
  });
});
