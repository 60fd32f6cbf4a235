import { describe, expect, it } from 'vitest';
import { decodeLine } from '../../../src/drivers/vm250/codec.js';
import {
  baseDateFromFileName,
  createDailyFileTimeline,
  parseBaseDate,
} from '../../../src/drivers/vm250/daily-file-timeline.js';

const DAY = Date.UTC(2016, 5, 1);

function times(lines: string[], utcOffsetMinutes = 0): number[] {
  const t = createDailyFileTimeline({ baseDayMs: DAY, utcOffsetMinutes });
  return lines.map((l) => t.timeOf(decodeLine(l)) - DAY);
}

describe('daily-file timeline', () => {
  it('uses the line time on the base day', () => {
    expect(times(['GB,000822,000750,000770,000757,00-00-04.919'])).toEqual([4919]);
  });

  it('wraps at midnight', () => {
    const r = times([
      'GB,000822,000750,000770,000757,23-59-58.000',
      'NB,000001,000001,000001,000001,00-00-03.000',
      'GB,000822,000750,000770,000757,00-00-03.000',
    ]);
    expect(r).toEqual([86_398_000, 86_403_000, 86_403_000]);
  });

  it('puts a late line from before midnight on the previous day', () => {
    const r = times(['GB,1,2,3,4,00-00-01.000', 'GB,1,2,3,4,23-59-59.000', 'GB,1,2,3,4,23-59-59.000']);
    expect(r).toEqual([1000, -1000, -1000]);
    // …and one more than 12 h earlier after the wrap moves on
    expect(times(['GB,1,2,3,4,20-00-00.000', 'GB,1,2,3,4,02-00-00.000'])).toEqual([
      72_000_000,
      86_400_000 + 7_200_000,
    ]);
  });

  it('falls back to the previous time plus the cadence; the pre-trigger burst shares a time', () => {
    const r = times([
      'NB,000001,000001,000001,000001,12-00-00.000',
      'GB,000822,000750,000770,000757',
      'SP,0.2249,03.032,004.88,000000',
      'GS,1,1,1,1',
      'GS,1,1,1,1',
      'GS,1,1,1,1',
      'GS,1,1,1,1',
      'GS,1,1,1,1',
      'GS,2,2,2,2',
      'NS,0,0,0,0',
      'GX,000001,004100,000000,000000',
      'NB,000001,000001,000001,000001',
      'garbage line',
    ]);
    const t0 = 12 * 3_600_000;
    expect(r).toEqual([
      t0,
      t0,
      t0,
      t0 + 200,
      t0 + 200,
      t0 + 200,
      t0 + 200,
      t0 + 200,
      t0 + 400,
      t0 + 1400,
      t0 + 1600,
      t0 + 6600,
      t0 + 6600,
    ]);
  });

  it('applies the logger offset and absolute times', () => {
    expect(times(['GB,1,2,3,4,12-00-00.000'], -420)).toEqual([19 * 3_600_000]);
    expect(times(['GB,1,2,3,4,2016-06-02 00:00:01.000 +00', 'GB,1,2,3,4,00-00-02.000'])).toEqual([
      86_401_000, 86_402_000,
    ]);
  });

  it('starts at the base day when no time is known', () => {
    expect(times(['GB,1,2,3,4', 'NB,1,2,3,4'])).toEqual([0, 5000]);
  });

  it('finds the base date in file names', () => {
    expect(parseBaseDate('2016-06-01')).toBe(DAY);
    expect(parseBaseDate('20160601')).toBe(DAY);
    expect(parseBaseDate('2016-02-30')).toBeNull();
    expect(baseDateFromFileName('lane3_2016-06-01.txt')).toBe(DAY);
    expect(baseDateFromFileName('RPM-20160601-daily.log')).toBe(DAY);
    expect(baseDateFromFileName('lane1601.txt')).toBeNull();
  });
});
