import { describe, expect, it } from 'vitest';
import { decodeLine, decodeLineBytes, encodeLine } from '../../../src/drivers/vm250/codec.js';
import type { DecodeResult, Vm250Record } from '../../../src/drivers/vm250/records.js';

function reason(r: DecodeResult): string {
  if (r.type !== 'malformed') throw new Error(`expected malformed, got ${r.type}`);
  return r.reason;
}

describe('VM-250 codec: count lines', () => {
  it('decodes a daily-file background line with its time', () => {
    expect(decodeLine('GB,000822,000750,000770,000757,00-00-04.919')).toEqual({
      type: 'count',
      tag: 'GB',
      counts: [822, 750, 770, 757],
      time: { kind: 'time-of-day', msOfDay: 4919 },
    });
  });

  it('round-trips every count tag with six-digit padding', () => {
    for (const tag of ['GB', 'GH', 'GL', 'NB', 'NH', 'GS', 'GA', 'NS', 'NA'] as const) {
      const rec: Vm250Record = { type: 'count', tag, counts: [822, 750, 0, 1234567], time: null };
      const line = encodeLine(rec);
      expect(line).toBe(`${tag},000822,000750,000000,1234567`);
      expect(decodeLine(line)).toEqual(rec);
    }
  });

  it('appends the time as an extra field when asked', () => {
    const rec: Vm250Record = { type: 'count', tag: 'GS', counts: [1, 2, 3, 4], time: null };
    expect(encodeLine(rec, { time: '12-00-00.200' })).toBe('GS,000001,000002,000003,000004,12-00-00.200');
  });

  it('accepts any digit width and space padding', () => {
    expect(decodeLine('GS,1, 22 ,333,4444')).toMatchObject({ counts: [1, 22, 333, 4444] });
  });

  it('takes the first readable of two time fields', () => {
    expect(decodeLine('NB,000001,000002,000003,000004,xx,01:02:03.004')).toMatchObject({
      time: { kind: 'time-of-day', msOfDay: 3723004 },
    });
    expect(decodeLine('NB,000001,000002,000003,000004,01:02:03.004,09:02:03.004')).toMatchObject({
      time: { kind: 'time-of-day', msOfDay: 3723004 },
    });
  });

  it('keeps the counts when the time cannot be read', () => {
    expect(decodeLine('GB,000822,000750,000770,000757,99-99-99.9')).toMatchObject({
      type: 'count',
      counts: [822, 750, 770, 757],
      time: null,
    });
  });

  it('explains malformed count lines', () => {
    expect(reason(decodeLine('GB,000822,***,000770,000757'))).toBe('GB count 2 is missing (***)');
    expect(reason(decodeLine('GS,000822,-12,000770,000757'))).toBe('GS count 2 is negative (-12)');
    expect(reason(decodeLine('GB,000822,000750'))).toBe('GB line has 2 count fields, expected 4');
    expect(reason(decodeLine('GB,1,2,3,4,5'))).toBe('GB line has 5 count fields, expected 4');
    expect(reason(decodeLine('GB,1,2,3,4,00-00-01.0,00-00-01.0,00-00-01.0'))).toMatch(/at most 2 times/);
    expect(reason(decodeLine('NS,1,2,3.5,4'))).toBe('NS count 3 is not a whole number (3.5)');
    expect(reason(decodeLine('GB,1,,3,4'))).toBe('GB count 2 is empty');
    expect(reason(decodeLine('GB'))).toBe('GB line has no fields');
    expect(reason(decodeLine(''))).toBe('empty line');
    expect(reason(decodeLine('gb,1,2,3,4'))).toMatch(/tag of 2–3 uppercase/);
    expect(reason(decodeLine('GBXX,1,2,3,4'))).toMatch(/tag of 2–3 uppercase/);
  });

  it('marks a truncated count line malformed', () => {
    expect(decodeLine('GS,000822,00')).toMatchObject({ type: 'malformed' });
  });
});

describe('VM-250 codec: status lines', () => {
  it('round-trips SP like the device', () => {
    const line = 'SP,0.2249,03.032,004.88,000000';
    const r = decodeLine(line);
    expect(r).toEqual({
      type: 'speed',
      secondsPerFoot: 0.2249,
      mph: 3.032,
      kph: 4.88,
      carCounter: 0,
      time: null,
    });
    expect(encodeLine(r as Vm250Record)).toBe(line);
  });

  it('round-trips GX and reads its time', () => {
    const line = 'GX,000123,004100,000000,000000';
    const r = decodeLine(`${line},13-45-00.600`);
    expect(r).toEqual({
      type: 'occupancy-end',
      index: 123,
      neutronBackgroundX1000: 4100,
      railCarIndex: 0,
      time: { kind: 'time-of-day', msOfDay: (13 * 3600 + 45 * 60) * 1000 + 600 },
    });
    expect(encodeLine(r as Vm250Record)).toBe(line);
  });

  it('round-trips TT and TC', () => {
    expect(decodeLine('TT,000000,000000,000000,000000')).toEqual({
      type: 'tamper',
      active: true,
      time: null,
    });
    expect(encodeLine({ type: 'tamper', active: true, time: null })).toBe('TT,000000,000000,000000,000000');
    expect(decodeLine('TC,111111,111111,111111,111111')).toEqual({
      type: 'tamper',
      active: false,
      time: null,
    });
    expect(encodeLine({ type: 'tamper', active: false, time: null })).toBe('TC,111111,111111,111111,111111');
  });

  it('rejects a GX without a readable index', () => {
    expect(reason(decodeLine('GX,***,004100,000000,000000'))).toMatch(/GX occupancy index/);
    expect(reason(decodeLine('SP,abc,03.032,004.88,000000'))).toMatch(/SP seconds per foot/);
  });
});

describe('VM-250 codec: setup lines', () => {
  it('names SG1 values', () => {
    const r = decodeLine('SG1,002000,000100,000005,000010,006.000');
    expect(r).toMatchObject({
      type: 'setup',
      tag: 'SG1',
      values: {
        highBackgroundFaultCps: 2000,
        lowBackgroundFaultCps: 100,
        intervals: 5,
        occupancyHoldin: 10,
        nSigma: 6,
      },
    });
  });

  it('keeps code fields as strings and *** as null', () => {
    const r = decodeLine('SG2,1111,000060,002800,3,1010,A');
    expect(r).toMatchObject({
      values: {
        detectorsOnline: '1111',
        masterLld: 60,
        masterUld: 2800,
        relay: 3,
        algorithm: '1010',
        versionSuffix: 'A',
      },
    });
    expect(decodeLine('SG3,000060,***,P,PP,1.10.1')).toMatchObject({
      values: {
        slaveLld: 60,
        slaveUld: null,
        backgroundTime: 'P',
        backgroundSigma: 'PP',
        firmwareVersion: '1.10.1',
      },
    });
  });

  it('accepts 5 or 6 fields and a trailing time', () => {
    const r = decodeLine('SN1,000010,000020,0.5,000003,000004,000005,00-00-01.000');
    expect(r).toMatchObject({
      values: {
        highBackgroundFaultCps: 10,
        maxIntervals: 20,
        alpha: 0.5,
        zmax: 3,
        sequentialIntervals: 4,
        backgroundTime: 5,
      },
      time: { kind: 'time-of-day', msOfDay: 1000 },
    });
    expect(decodeLine('SG1,1,2,3,4,5,6')).toMatchObject({ values: { nSigma: 5, field6: 6 } });
    expect(decodeLine('SN2,1,2,3,4')).toMatchObject({ values: { masterLld: 1, slaveUld: 4 } });
  });

  it('round-trips every setup tag from its fields', () => {
    for (const line of [
      'SG1,002000,000100,000005,000010,006.000',
      'SG2,1111,000060,002800,3,1010,A',
      'SG3,000060,***,P,PP,1.10.1',
      'SN1,1,2,3,4,5,6',
      'SN2,1,2,3,4',
    ]) {
      expect(encodeLine(decodeLine(line) as Vm250Record)).toBe(line);
    }
  });
});

describe('VM-250 codec: unknown tags', () => {
  it('keeps any field count raw', () => {
    expect(decodeLine('RW,1')).toEqual({ type: 'unknown', tag: 'RW', fields: ['1'], time: null });
    expect(decodeLine('AB1,-0.25, 12 ,11111A,1,2,3,4,5,6,7,8')).toMatchObject({
      type: 'unknown',
      tag: 'AB1',
      fields: ['-0.25', ' 12 ', '11111A', '1', '2', '3', '4', '5', '6', '7', '8'],
    });
    expect(decodeLine('NC,1,2,00-00-04.919')).toEqual({
      type: 'unknown',
      tag: 'NC',
      fields: ['1', '2'],
      time: { kind: 'time-of-day', msOfDay: 4919 },
    });
    expect(encodeLine({ type: 'unknown', tag: 'NC', fields: ['1', '2'], time: null })).toBe('NC,1,2');
  });
});

describe('VM-250 codec: byte fast path', () => {
  it('decodes bytes exactly as it decodes text', () => {
    const lines = [
      'GB,000822,000750,000770,000757,00-00-04.919',
      'GS,000172,000171,000146,000143,23:59:59.999',
      'NS,1,2,3,4',
      'GA,000900,000950,000960,000970,9-5-3.7',
      'GB,000822,000750,000770,000757,',
      'GB,000822,000750,000770,000757,99-99-99.999',
      'GB,000822,***,000770,000757,00-00-04.919',
      'NB,000001,000001,000001,000001,08-00-00.000,15-00-00.000',
      'SP,0.2249,03.032,004.88,000000,00-00-31.300',
      'GX,000123,004100,000000,000000',
      'SG2,1111,000060,002800,3,1010,A',
      'RW,1,2',
      'GB',
      'gb,1,2,3,4',
    ];
    for (const line of lines) {
      const bytes = Buffer.from(`xx${line}yy`, 'latin1');
      expect(decodeLineBytes(bytes, 2, 2 + line.length), line).toEqual(decodeLine(line));
    }
  });
});
