import { describe, expect, it } from 'vitest';
import { formatTimeOfDay, parseLineTime, parseTimeFields } from '../../../src/drivers/vm250/line-time.js';

const tod = (h: number, m: number, s: number, ms: number) => ({
  kind: 'time-of-day',
  msOfDay: ((h * 60 + m) * 60 + s) * 1000 + ms,
});

describe('daily-file time fields', () => {
  it('reads HH-MM-SS.sss and HH:MM:SS.sss', () => {
    expect(parseLineTime('00-00-04.919')).toEqual(tod(0, 0, 4, 919));
    expect(parseLineTime('23:59:59.999')).toEqual(tod(23, 59, 59, 999));
    expect(parseLineTime('13-45-00')).toEqual(tod(13, 45, 0, 0));
  });

  it('reads the unpadded logger: the fraction is whole milliseconds', () => {
    expect(parseLineTime('9-5-3.7')).toEqual(tod(9, 5, 3, 7));
    expect(parseLineTime('9-5-3.70')).toEqual(tod(9, 5, 3, 70));
    expect(parseLineTime('09-05-03.007')).toEqual(tod(9, 5, 3, 7));
  });

  it('reads a longer fraction as a decimal fraction of a second', () => {
    expect(parseLineTime('09:05:03.123456')).toEqual(tod(9, 5, 3, 123));
  });

  it('reads full date-times with a zone', () => {
    expect(parseLineTime('2016-06-01 15:03:44.163 -07')).toEqual({
      kind: 'absolute',
      epochMs: Date.UTC(2016, 5, 1, 22, 3, 44, 163),
    });
    expect(parseLineTime('2016-06-01T15:03:44.163Z')).toEqual({
      kind: 'absolute',
      epochMs: Date.UTC(2016, 5, 1, 15, 3, 44, 163),
    });
    expect(parseLineTime('2016-06-01 15:03:44.163 +05:30')).toEqual({
      kind: 'absolute',
      epochMs: Date.UTC(2016, 5, 1, 9, 33, 44, 163),
    });
    expect(parseLineTime('2016-06-01 15:03:44')).toEqual({
      kind: 'absolute',
      epochMs: Date.UTC(2016, 5, 1, 15, 3, 44),
    });
  });

  it('returns null for what it cannot read, never throws', () => {
    for (const bad of [
      '',
      '***',
      '25-00-00.000',
      '12-60-00.0',
      '12-00',
      'abc',
      '000822',
      '2016-13-01 00:00:00',
      '1-2-3.x',
    ]) {
      expect(parseLineTime(bad)).toBeNull();
    }
  });

  it('takes the first readable of two time fields (local and UTC)', () => {
    expect(parseTimeFields('08-00-00.000,15-00-00.000', 0)).toEqual(tod(8, 0, 0, 0));
    expect(parseTimeFields('??,15-00-00.000', 0)).toEqual(tod(15, 0, 0, 0));
    expect(parseTimeFields('', 0)).toBeNull();
  });

  it('formats a time of day like the logger', () => {
    expect(formatTimeOfDay(4919)).toBe('00-00-04.919');
    expect(parseLineTime(formatTimeOfDay(86_399_999))).toEqual(tod(23, 59, 59, 999));
  });
});
