import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeLine } from '../../../src/drivers/vm250/codec.js';
import { parseStartTime, writeDailyFile, type DailyFileTruth } from '../../../simulators/vm250/daily-file.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vm250-daily-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readTruth(path: string): Promise<DailyFileTruth[]> {
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as DailyFileTruth);
}

describe('writeDailyFile', () => {
  it('writes CR LF lines with a time of day, and ground truth whose indices match the GX lines', async () => {
    const path = join(dir, 'lane1.txt');
    const result = await writeDailyFile({ path, seed: 'daily', occupancies: 300, startTime: '06:30:00' });
    expect(result.occupancies).toBe(300);
    expect(result.truthPath).toBe(`${path}.truth.ndjson`);
    const text = await readFile(path, 'latin1');
    expect(text.endsWith('\r\n')).toBe(true);
    const lines = text.slice(0, -2).split('\r\n');
    expect(lines).toHaveLength(result.lines);
    expect(lines[0]).toMatch(/^SG1,.*,06-30-00\.000$/);
    expect(lines[5]).toMatch(/^NB,\d{6},\d{6},\d{6},\d{6},\d\d-\d\d-\d\d\.\d{3}$/);

    const gx: number[] = [];
    const problems: string[] = [];
    let last = -1;
    for (const line of lines) {
      const r = decodeLine(line);
      if (r.type === 'malformed') {
        problems.push(`malformed: ${line}`);
        continue;
      }
      const ms = r.time?.kind === 'time-of-day' ? r.time.msOfDay : -1;
      if (ms < last) problems.push(`time goes back: ${line}`);
      last = ms;
      if (r.type === 'occupancy-end') gx.push(r.index);
    }
    expect(problems).toEqual([]);
    const truth = await readTruth(result.truthPath);
    expect(truth.map((t) => t.index)).toEqual(gx);
    expect(gx).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    // The truth's logged GX time is the GX line's own time.
    const gxLines = lines.filter((l) => l.startsWith('GX,'));
    truth.forEach((t, i) => expect(gxLines[i]!.endsWith(`,${t.endTime}`)).toBe(true));
    expect(truth[0]).toMatchObject({ ordinal: 1, gxSent: true });
    expect(typeof truth[0]!.expected.gamma.sigma).toBe('number');
  });

  it('wraps the time of day at midnight', async () => {
    const path = join(dir, 'midnight.txt');
    await writeDailyFile({ path, seed: 'wrap', occupancies: 20, startTime: '23:58:00' });
    const times = (await readFile(path, 'latin1'))
      .split('\r\n')
      .filter((l) => l !== '')
      .map((l) => l.slice(l.lastIndexOf(',') + 1));
    expect(times[0]).toBe('23-58-00.000');
    expect(times.some((t) => t.startsWith('00-0'))).toBe(true);
  });

  it('keeps garbage and lost GX in the file and says so in the truth', async () => {
    const path = join(dir, 'chaos.txt');
    const result = await writeDailyFile({
      path,
      seed: 'chaos',
      occupancies: 30,
      disruptions: { garbage: 0.3, 'truncated-line': 0.3, 'missing-end': 0.2 },
    });
    expect(result.corruptLines).toBeGreaterThan(0);
    const lines = (await readFile(path, 'latin1')).split('\r\n').filter((l) => l !== '');
    const malformed = lines.filter((l) => decodeLine(l).type === 'malformed');
    expect(malformed).toHaveLength(result.corruptLines);
    const truth = await readTruth(result.truthPath);
    const sent = truth.filter((t) => t.gxSent).map((t) => t.index);
    const gx = lines.map(decodeLine).flatMap((r) => (r.type === 'occupancy-end' ? [r.index] : []));
    expect(gx).toEqual(sent);
    expect(sent.length).toBeLessThan(30);
  });

  it('writes thousands of occupancies', async () => {
    const path = join(dir, 'big.txt');
    const result = await writeDailyFile({ path, seed: 'big', occupancies: 2000, startTime: 0 });
    expect(result.occupancies).toBe(2000);
    expect(result.lines).toBeGreaterThan(2000 * 50);
    expect((await readTruth(result.truthPath)).at(-1)!.index).toBe(2000);
  });

  it('reads start times as ms of day or HH:MM:SS[.sss]', () => {
    expect(parseStartTime(undefined)).toBe(0);
    expect(parseStartTime('01:02:03.4')).toBe(3_723_400);
    expect(parseStartTime('01-02-03')).toBe(3_723_000);
    expect(parseStartTime(86_400_000 + 5)).toBe(5);
    expect(() => parseStartTime('25:00:00')).toThrow(RangeError);
  });
});
