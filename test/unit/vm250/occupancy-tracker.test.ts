import { describe, expect, it } from 'vitest';
import { decodeLine } from '../../../src/drivers/vm250/codec.js';
import {
  createVm250Tracker,
  type Vm250TrackerOptions,
} from '../../../src/drivers/vm250/occupancy-tracker.js';
import type { LaneEvent } from '../../../src/domain/lane-events.js';

const GB = 'GB,000822,000750,000770,000757';
const NB = 'NB,000001,000001,000001,000001';
const GS = (n: number) => `GS,${String(n).padStart(6, '0')},000150,000160,000170`;
const NS = 'NS,000001,000000,000002,000001';
const SP = 'SP,0.2249,03.032,004.88,000000';
const GX = (i: number) => `GX,${String(i).padStart(6, '0')},004100,000000,000000`;

/** Feed [time ms, line] pairs; `fileTime` appends the time as a daily-file field. */
function run(lines: Array<[number, string]>, options: Partial<Vm250TrackerOptions> = {}, fileTime = false) {
  const events: LaneEvent[] = [];
  const tracker = createVm250Tracker({ lane: 'L1', emit: (e) => events.push(e), ...options });
  for (const [t, l] of lines) {
    const raw = fileTime ? `${l},${fmt(t)}` : l;
    tracker.line(decodeLine(raw), t, raw);
  }
  return { events, tracker, kinds: () => events.map((e) => e.kind) };
}

function fmt(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCHours())}-${p(d.getUTCMinutes())}-${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}`;
}

function of<K extends LaneEvent['kind']>(
  events: LaneEvent[],
  kind: K,
): Array<Extract<LaneEvent, { kind: K }>> {
  return events.filter((e): e is Extract<LaneEvent, { kind: K }> => e.kind === kind);
}

/** A normal occupancy starting at t: SP, burst of 5 GS, n more GS, an NS, GX. */
function occupancy(t: number, n = 5, index = 1): Array<[number, string]> {
  const out: Array<[number, string]> = [[t, SP]];
  for (let k = 0; k < 5; k++) out.push([t, GS(100 + k)]);
  for (let k = 1; k <= n; k++) out.push([t + 200 * k, GS(200 + k)]);
  out.push([t + 200 * n, NS]);
  out.push([t + 200 * n + 200, GX(index)]);
  return out;
}

describe('VM-250 occupancy tracker', () => {
  it('starts on the first occupancy line, rebuilds pre-trigger times, ends on GX', () => {
    const { events } = run([[0, GB], [5000, NB], ...occupancy(10_000, 5, 123)], { firstSeq: 57 });
    const start = of(events, 'occupancy-start');
    expect(start).toEqual([
      { kind: 'occupancy-start', lane: 'L1', time: 10_000, seq: 57, continuation: false, partial: false },
    ]);
    const gamma = of(events, 'sample').filter((e) => e.radiation === 'gamma');
    expect(gamma.map((e) => e.time)).toEqual([
      9000, 9200, 9400, 9600, 9800, 10_200, 10_400, 10_600, 10_800, 11_000,
    ]);
    expect(gamma.map((e) => e.preTrigger)).toEqual([
      true,
      true,
      true,
      true,
      true,
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(gamma.every((e) => e.intervalMs === 200 && e.seq === 57)).toBe(true);
    const neutron = of(events, 'sample').filter((e) => e.radiation === 'neutron');
    expect(neutron).toMatchObject([{ intervalMs: 1000, counts: [1, 0, 2, 1], preTrigger: false }]);
    expect(of(events, 'speed')).toMatchObject([{ seq: 57, speedKph: 4.88 }]);
    expect(of(events, 'occupancy-end')).toEqual([
      {
        kind: 'occupancy-end',
        lane: 'L1',
        time: 11_200,
        seq: 57,
        reason: 'device-end',
        endedAbnormally: false,
        deviceIndex: 123,
        deviceNeutronBackgroundCps: 4.1,
        deviceGammaAlarm: false,
        deviceNeutronAlarm: false,
      },
    ]);
  });

  it('numbers occupancies itself even when the device repeats GX indexes', () => {
    const { events, tracker } = run(
      [[0, GB], ...occupancy(10_000, 3, 0), [20_000, GB], ...occupancy(30_000, 3, 0)],
      {
        firstSeq: 7,
      },
    );
    expect(of(events, 'occupancy-end').map((e) => [e.seq, e.deviceIndex])).toEqual([
      [7, 0],
      [8, 0],
    ]);
    expect(tracker.nextSeq).toBe(9);
    expect(tracker.occupied).toBe(false);
  });

  it('marks device alarms from GA and NA', () => {
    const lines = occupancy(10_000);
    lines.splice(
      8,
      0,
      [10_600, 'GA,000900,000950,000960,000970'],
      [10_600, 'NA,000009,000008,000007,000006'],
    );
    const { events } = run([[0, GB], ...lines]);
    expect(of(events, 'occupancy-end')[0]).toMatchObject({
      deviceGammaAlarm: true,
      deviceNeutronAlarm: true,
    });
    expect(of(events, 'sample').filter((e) => e.deviceAlarm)).toHaveLength(2);
  });

  it('background lines inside an occupancy do not end it', () => {
    const lines = occupancy(10_000, 10);
    lines.splice(7, 0, [10_500, NB], [10_500, GB]);
    const { events } = run([[0, GB], ...lines]);
    expect(of(events, 'occupancy-start')).toHaveLength(1);
    expect(of(events, 'occupancy-end')).toMatchObject([{ reason: 'device-end' }]);
  });

  it('closes an occupancy without GX 10 s after background resumes', () => {
    const lines = occupancy(10_000, 5).slice(0, -1); // no GX
    const { events, tracker } = run([
      [0, GB],
      ...lines,
      [15_000, NB],
      [15_000, GB],
      [20_000, NB],
      [25_000, GB],
    ]);
    expect(of(events, 'occupancy-end')).toMatchObject([
      { reason: 'background-resumed', endedAbnormally: true, deviceIndex: null, time: 11_000 },
    ]);
    expect(tracker.occupied).toBe(false);
    // fires from tick() too (live: nothing else arrives)
    const live = run([[0, GB], ...lines, [12_000, GB]]);
    live.tracker.tick(21_999);
    expect(live.tracker.occupied).toBe(true);
    live.tracker.tick(22_000);
    expect(of(live.events, 'occupancy-end')).toMatchObject([{ reason: 'background-resumed' }]);
  });

  it('closes on link loss and at the end of input', () => {
    const a = run([[0, GB], ...occupancy(10_000).slice(0, -1)]);
    a.tracker.linkLost(12_000);
    expect(of(a.events, 'occupancy-end')).toMatchObject([{ reason: 'link-lost', endedAbnormally: true }]);
    const b = run([[0, GB], ...occupancy(10_000).slice(0, -1)]);
    b.tracker.inputEnded(12_000);
    expect(of(b.events, 'occupancy-end')).toMatchObject([{ reason: 'input-ended', endedAbnormally: true }]);
  });

  it('reports a silent gap inside an occupancy as a fault, not an end', () => {
    const { events } = run([
      [0, GB],
      [10_000, SP],
      [10_000, GS(1)],
      [10_200, GS(2)],
      [26_200, GS(3)],
      [26_400, GX(1)],
    ]);
    expect(of(events, 'fault')).toMatchObject([
      { code: 'occupancy-gap', active: true, time: 26_200 },
      { code: 'occupancy-gap', active: false, time: 26_200 },
    ]);
    expect(of(events, 'occupancy-end')).toMatchObject([{ reason: 'device-end' }]);
    const live = run([
      [0, GB],
      [10_000, SP],
      [10_000, GS(1)],
    ]);
    live.tracker.tick(13_500);
    expect(of(live.events, 'fault')).toMatchObject([{ code: 'occupancy-gap', active: true }]);
  });

  it('back-to-back: a sample stamped with the GX time belongs to the ended occupancy; the next is a continuation', () => {
    const first = occupancy(10_000, 3, 5);
    const gxTime = first[first.length - 1]![0];
    const lines: Array<[number, string]> = [
      [0, GB],
      ...first,
      [gxTime, GS(999)],
      ...occupancy(gxTime + 400, 3, 6),
    ];
    const { events, tracker } = run(lines, {}, true);
    // With file times the last GX waits for the next line (it might be followed by late samples).
    expect(of(events, 'occupancy-end')).toHaveLength(1);
    tracker.inputEnded(gxTime + 5000);
    const late = of(events, 'sample').find((e) => e.counts[0] === 999)!;
    expect(late.seq).toBe(1);
    const order = events.filter((e) => e.kind !== 'sample' && e.kind !== 'speed').map((e) => e.kind);
    expect(order).toEqual([
      'background',
      'occupancy-start',
      'occupancy-end',
      'occupancy-start',
      'occupancy-end',
    ]);
    expect(events.indexOf(late)).toBeLessThan(events.findIndex((e) => e.kind === 'occupancy-end'));
    expect(of(events, 'occupancy-start').map((e) => e.continuation)).toEqual([false, true]);
    expect(of(events, 'occupancy-end').map((e) => e.deviceIndex)).toEqual([5, 6]);
  });

  it('an occupancy more than 1 s after GX is not a continuation', () => {
    const { events } = run([[0, GB], ...occupancy(10_000, 3), ...occupancy(13_000, 3)]);
    expect(of(events, 'occupancy-start').map((e) => e.continuation)).toEqual([false, false]);
  });

  it('a setup dump mid-stream is a device restart', () => {
    const lines = occupancy(10_000).slice(0, -1);
    const { events } = run([
      [0, 'SG1,002000,000100,000005,000010,006.000'],
      [0, 'SN2,1,2,3,4'],
      [1000, GB],
      ...lines,
      [12_000, 'SG1,002000,000100,000005,000010,006.000'],
      [12_000, 'SG2,1111,000060,002800,3,1010,A'],
      [13_000, GB],
    ]);
    expect(of(events, 'device-config').map((e) => [e.section, e.restarted])).toEqual([
      ['SG1', false],
      ['SN2', false],
      ['SG1', true],
      ['SG2', true],
    ]);
    expect(of(events, 'occupancy-end')).toMatchObject([{ reason: 'device-restart', endedAbnormally: true }]);
    expect(of(events, 'device-config')[0]!.values).toMatchObject({ nSigma: 6 });
  });

  it('unknown tags never start or end an occupancy', () => {
    const lines = occupancy(10_000, 5);
    lines.splice(7, 0, [10_400, 'RW,1,2'], [10_400, 'AB1,-0.25,11111A']);
    const { events } = run([[0, GB], [1000, 'NC,1,2,3'], ...lines, [12_000, 'RW,1,2']]);
    expect(of(events, 'unknown-record').map((e) => e.tag)).toEqual(['NC', 'RW', 'AB1', 'RW']);
    expect(of(events, 'occupancy-start')).toHaveLength(1);
    expect(of(events, 'occupancy-end')).toMatchObject([{ reason: 'device-end' }]);
  });

  it('reports background faults and their return to normal', () => {
    const { events } = run([
      [0, GB],
      [5000, 'GH,009000,009000,009000,009000'],
      [10_000, 'GH,009000,009000,009000,009000'],
      [15_000, 'NH,000090,000090,000090,000090'],
      [20_000, 'GL,000001,000001,000001,000001'],
      [25_000, GB],
      [25_000, NB],
    ]);
    expect(of(events, 'fault').map((e) => [e.code, e.active])).toEqual([
      ['gamma-high-background', true],
      ['neutron-high-background', true],
      ['gamma-high-background', false],
      ['gamma-low-background', true],
      ['gamma-low-background', false],
      ['neutron-high-background', false],
    ]);
    expect(of(events, 'background').map((e) => e.fault)).toEqual([
      'none',
      'high',
      'high',
      'high',
      'low',
      'none',
      'none',
    ]);
  });

  it('reports tamper, malformed lines, and keeps going', () => {
    const { events } = run([
      [0, 'TT,000000,000000,000000,000000'],
      [1, 'GB,000822,***,000770,000757'],
      [2, 'TC,111111,111111,111111,111111'],
      ...occupancy(10_000),
    ]);
    expect(of(events, 'tamper').map((e) => e.active)).toEqual([true, false]);
    expect(of(events, 'bad-input')).toMatchObject([
      { reason: 'malformed-line', detail: 'GB count 2 is missing (***)' },
    ]);
    expect(of(events, 'occupancy-end')).toHaveLength(1);
  });

  it('skips logger duplicates, but not the repeated samples of a pre-trigger burst', () => {
    const lines: Array<[number, string]> = [
      [0, GB],
      [0, GB],
      [10_000, SP],
    ];
    for (let k = 0; k < 5; k++) lines.push([10_000, GS(100)]); // a simulator's 5 copies
    lines.push([10_200, GS(5)], [10_200, GS(5)], [10_400, GX(1)]);
    const { events } = run(lines, {}, true);
    expect(of(events, 'bad-input').map((e) => e.reason)).toEqual(['duplicate-line', 'duplicate-line']);
    expect(of(events, 'sample').filter((e) => e.preTrigger)).toHaveLength(5);
    expect(of(events, 'sample')).toHaveLength(6);
    expect(of(events, 'background')).toHaveLength(1);
  });

  it('does not call identical lines without a file time duplicates (raw stream)', () => {
    const { events } = run([
      [0, GB],
      [5000, GB],
    ]);
    expect(of(events, 'background')).toHaveLength(2);
  });

  it('maps wire channels to the canonical order', () => {
    const { events } = run([[0, 'GB,000001,000002,000003,000004']], { channelOrder: [3, 2, 1, 0] });
    expect(of(events, 'background')[0]!.cps).toEqual([4, 3, 2, 1]);
    expect(() =>
      createVm250Tracker({ lane: 'x', emit: () => undefined, channelOrder: [0, 0, 1, 2] }),
    ).toThrow(/channelOrder/);
  });

  it('flags an occupancy already running when the first line arrived as partial, without pre-trigger', () => {
    const { events } = run([
      [10_000, GS(1)],
      [10_200, GS(2)],
      [10_400, GX(3)],
    ]);
    expect(of(events, 'occupancy-start')).toMatchObject([{ partial: true }]);
    expect(of(events, 'sample').some((e) => e.preTrigger)).toBe(false);
  });
});
