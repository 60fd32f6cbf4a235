import { describe, expect, it } from 'vitest';
import { Readable, Writable } from 'node:stream';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replay } from '../../../src/app/replay.js';
import { createAlarmPipeline } from '../../../src/alarm/pipeline.js';
import type { OccupancyAssessment } from '../../../src/alarm/types.js';
import { inferredDescriptor } from '../../../src/app/lane-recorder.js';
import { OccupancyAccumulator, occupancyRecordLine } from '../../../src/app/occupancy-record.js';
import type { LaneEvent } from '../../../src/domain/lane-events.js';

function sink() {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk: Buffer, _e, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return {
    w,
    records: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const p6 = (n: number) => String(n).padStart(6, '0');
const t = (s: number) => {
  const ms = Math.round(s * 1000);
  const hh = Math.floor(ms / 3_600_000);
  const mm = Math.floor(ms / 60_000) % 60;
  const ss = Math.floor(ms / 1000) % 60;
  return `${String(hh).padStart(2, '0')}-${String(mm).padStart(2, '0')}-${String(ss).padStart(2, '0')}.${String(ms % 1000).padStart(3, '0')}`;
};

/** A daily-file occupancy at time s (seconds): SP, a burst of 5 GS, n GS with `peak` extra counts in the middle, NS, GX. */
function occupancy(s: number, index: number, peak = 0, n = 20): string[] {
  const out = [`SP,0.2249,03.032,004.88,000000,${t(s)}`];
  // A little deterministic scatter: counts that never change are a stuck detector, not a lane.
  const jitter = (k: number, c: number): number => ((k * 7 + c * 3) % 5) - 2;
  for (let k = 0; k < 5; k++)
    out.push(
      `GS,${p6(160 + jitter(k, 0))},${p6(150 + jitter(k, 1))},${p6(155 + jitter(k, 2))},${p6(150 + jitter(k, 3))},${t(s)}`,
    );
  for (let k = 1; k <= n; k++) {
    const extra = Math.abs(k - n / 2) < 2 ? peak : 0;
    out.push(
      `GS,${p6(160 + extra + jitter(k, 0))},${p6(150 + extra + jitter(k, 1))},${p6(155 + jitter(k, 2))},${p6(150 + jitter(k, 3))},${t(s + 0.2 * k)}`,
    );
    if (k % 5 === 0) out.push(`NS,000001,000000,000001,000001,${t(s + 0.2 * k)}`);
  }
  out.push(`GX,${p6(index)},004100,000000,000000,${t(s + 0.2 * n + 0.2)}`);
  return out;
}

const background = (s: number) => [
  `NB,000001,000001,000001,000001,${t(s)}`,
  `GB,000800,000750,000775,000750,${t(s)}`,
];

describe('replay', () => {
  it('prints one occupancy record per occupancy with device and gateway verdicts', async () => {
    const lines = [
      ...background(0),
      ...background(5),
      ...occupancy(10, 123),
      ...background(20),
      ...occupancy(30, 124, 300),
    ];
    const out = sink();
    const summary = await replay(Readable.from([Buffer.from(lines.join('\r\n') + '\r\n')]), out.w, {
      lane: 'lane-1',
      baseDate: '2016-06-01',
      now: () => 0,
    });
    const records = out.records();
    const occ = records.filter((r) => r.type === 'occupancy');
    expect(occ).toHaveLength(2);
    expect(occ[0]).toMatchObject({
      type: 'occupancy',
      lane: 'lane-1',
      seq: 1,
      index: 123,
      continuation: false,
      start: '2016-06-01T00:00:10.000Z',
      end: '2016-06-01T00:00:14.200Z',
      durationS: 4.2,
      endedAbnormally: false,
      speedKph: 4.88,
      device: { gammaAlarm: false, neutronAlarm: false },
      gamma: { alarm: false, backgroundCps: 3075 },
      neutron: { alarm: false, maxCounts: 3 },
      assessment: { category: 'background', disposition: 'RELEASE' },
    });
    expect(occ[1]).toMatchObject({
      seq: 2,
      index: 124,
      gamma: { alarm: true },
      // A 4 s pass at 4.9 km/h is a car; a narrow excess on the master (driver's) pillar in it
      // is adjudicated a patient: medical, RELEASE (the pipeline's own tests cover the rest).
      assessment: { category: 'medical', disposition: 'RELEASE' },
    });
    const reasons = (occ[1]!.assessment as { reasons: string[] }).reasons;
    expect(reasons[0]).toMatch(/^gamma \d+\.\dσ \(.+\), background 3075 cps$/);
    expect(records.at(-1)).toMatchObject({ type: 'replay-summary', occupancies: 2 });
    expect(summary).toMatchObject({
      lines: lines.length,
      occupancies: 2,
      gammaAlarms: 1,
      baseDateSource: 'option',
    });
  });

  it('keeps going through garbage, over-long, truncated and malformed lines', async () => {
    const before = [...background(0), ...occupancy(10, 1)];
    const after = [...background(20), ...occupancy(30, 2), ...background(40)];
    const chunks = [
      Buffer.from(before.join('\r\n') + '\r\n'),
      Buffer.from([0x00, 0xff, 0x47, 0x42, 0x2c, 0x1b, 0x0d, 0x0a]), // garbage line
      Buffer.from(`RW,${'9'.repeat(300)}\r\n`), // over-long
      Buffer.from('GB,000822,***,000770,000757,00-00-19.000\r\nGB,000822,-5,000770,000757\rXX\r\n'),
      Buffer.from(after.join('\r\n') + '\r\nGS,0008'), // truncated last line
    ];
    const out = sink();
    const summary = await replay(Readable.from(chunks), out.w, { baseDate: '2016-06-01' });
    const occ = out.records().filter((r) => r.type === 'occupancy');
    expect(occ.map((r) => r.index)).toEqual([1, 2]);
    expect(summary.badInput).toEqual({ garbage: 1, 'line-too-long': 1 });
    expect(summary.malformed).toEqual({
      'GB count 2 is missing': 1,
      'GB count 2 is negative': 1,
      'XX line has no fields': 1,
      'GS line has 1 count fields, expected 4': 1,
    });
  });

  it('splits input at any chunk boundary with the same result', async () => {
    const text =
      [...background(0), ...occupancy(10, 1), ...background(20), ...occupancy(30, 2)].join('\r\n') + '\r\n';
    const whole = sink();
    await replay(Readable.from([Buffer.from(text)]), whole.w, {
      baseDate: '2016-06-01',
      summaryRecord: false,
    });
    for (const size of [1, 7, 64, 333]) {
      const parts: Buffer[] = [];
      for (let i = 0; i < text.length; i += size) parts.push(Buffer.from(text.slice(i, i + size)));
      const split = sink();
      await replay(Readable.from(parts), split.w, { baseDate: '2016-06-01', summaryRecord: false });
      expect(split.records()).toEqual(whole.records());
    }
  });

  it('closes an occupancy without GX and one cut off by the end of the file', async () => {
    const noGx = occupancy(10, 1).slice(0, -1);
    const lines = [
      ...background(0),
      ...noGx,
      ...background(15),
      ...background(20),
      ...background(25),
      ...occupancy(30, 2).slice(0, -1),
    ];
    const out = sink();
    await replay(Readable.from([Buffer.from(lines.join('\n'))]), out.w, { baseDate: '2016-06-01' });
    const occ = out.records().filter((r) => r.type === 'occupancy');
    expect(occ.map((r) => [r.endedAbnormally, r.endReason, r.index])).toEqual([
      [true, 'background-resumed', null],
      [true, 'input-ended', null],
    ]);
  });

  it('takes the base date from the file name, and reports faults and tamper', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replay-'));
    const file = join(dir, 'lane1_20160601.txt');
    writeFileSync(
      file,
      [
        'TT,000000,000000,000000,000000,00-00-01.000',
        'GH,009000,009000,009000,009000,00-00-05.000',
        ...background(10),
      ].join('\r\n'),
    );
    const out = sink();
    const summary = await replay(file, out.w);
    expect(summary.baseDateSource).toBe('file-name');
    expect(out.records().map((r) => [r.type, r.time ?? null])).toEqual([
      ['tamper', '2016-06-01T00:00:01.000Z'],
      ['fault', '2016-06-01T00:00:05.000Z'],
      ['fault', '2016-06-01T00:00:10.000Z'],
      ['replay-summary', null],
    ]);
  });

  it('writes the record line exactly as JSON.stringify would', () => {
    const acc = new OccupancyAccumulator('a"b');
    const d = createAlarmPipeline(inferredDescriptor('x', 4));
    const events: LaneEvent[] = [
      {
        kind: 'background',
        lane: 'x',
        time: 0,
        radiation: 'gamma',
        cps: [800, 750, 775, 750],
        fault: 'none',
      },
      { kind: 'occupancy-start', lane: 'x', time: 1000, seq: 3, continuation: true, partial: false },
      { kind: 'speed', lane: 'x', time: 1000, seq: 3, speedKph: 8.1 },
    ];
    for (let k = 0; k < 20; k++) {
      events.push({
        kind: 'sample',
        lane: 'x',
        time: 1000 + 200 * k,
        seq: 3,
        radiation: 'gamma',
        counts: [160 + (k % 3), 150, 155 - (k % 2), 150],
        intervalMs: 200,
        deviceAlarm: false,
        preTrigger: false,
      });
    }
    for (const e of events) {
      d.handle(e);
      acc.handle(e);
    }
    const end = {
      kind: 'occupancy-end' as const,
      lane: 'x',
      time: 13_400,
      seq: 3,
      reason: 'device-end' as const,
      endedAbnormally: false,
      deviceIndex: 9,
      deviceNeutronBackgroundCps: 4.1,
      deviceGammaAlarm: true,
      deviceNeutronAlarm: false,
    };
    const record = acc.finish(
      {
        kind: 'occupancy-end',
        lane: 'x',
        time: 13_400,
        seq: 3,
        reason: 'device-end',
        endedAbnormally: false,
        deviceIndex: 9,
        deviceNeutronBackgroundCps: 4.1,
        deviceGammaAlarm: true,
        deviceNeutronAlarm: false,
      },
      d.handle(end) as OccupancyAssessment,
    );
    const line = occupancyRecordLine(record);
    // Same keys, order and values as JSON.stringify, but pure ASCII (σ written as \u03c3).
    expect(line).toBe(JSON.stringify(record).replace(/σ/g, '\\u03c3') + '\n');
    expect(JSON.parse(line)).toEqual(JSON.parse(JSON.stringify(record)));
    expect(/^[\x20-\x7e]*\n$/.test(line)).toBe(true);
    expect(record.assessment.reasons.join(' ')).toContain('σ');
  });
});
