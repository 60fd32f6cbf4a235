import { describe, expect, it } from 'vitest';
import { decodeLine, encodeLine } from '../../../src/drivers/vm250/codec.js';
import type { CountRecord, DecodeResult } from '../../../src/drivers/vm250/records.js';
import { generateScenario } from '../../../simulators/physics/scenario.js';
import {
  vm250Stream,
  type Vm250OccupancyTruth,
  type Vm250StreamItem,
  type Vm250StreamOptions,
} from '../../../simulators/vm250/stream.js';

interface Line {
  atMs: number;
  line: string;
  rec: DecodeResult;
}

interface Occ {
  lines: Line[];
  truth: Vm250OccupancyTruth;
}

const OCCUPANCY_TAGS = new Set(['GS', 'GA', 'NS', 'NA', 'SP']);

function tagOf(l: Line): string {
  return l.line.slice(0, l.line.indexOf(','));
}

/** Run a finite stream; split it into background lines and occupancies (lines up to each GX). */
function run(options: Vm250StreamOptions): { items: Vm250StreamItem[]; lines: Line[]; occupancies: Occ[] } {
  const items = [...vm250Stream(options)];
  const lines: Line[] = [];
  const occupancies: Occ[] = [];
  let current: Line[] = [];
  for (const it of items) {
    if (it.kind === 'line') {
      const l = { atMs: it.atMs, line: it.line, rec: decodeLine(it.line) };
      lines.push(l);
      if (OCCUPANCY_TAGS.has(tagOf(l)) || tagOf(l) === 'GX') current.push(l);
    } else if (it.kind === 'occupancy') {
      occupancies.push({ lines: current, truth: it.truth });
      current = [];
    }
  }
  return { items, lines, occupancies };
}

describe('vm250Stream', () => {
  const clean = run({ seed: 'rules', occupancies: 40 });

  it('emits lines the codec decodes and re-encodes identically (one definition of each message)', () => {
    for (const l of clean.lines) {
      expect(l.rec.type, l.line).not.toBe('malformed');
      if (l.rec.type !== 'malformed') expect(encodeLine(l.rec)).toBe(l.line);
    }
  });

  it('starts with the setup dump SG1, SG2, SG3, SN1, SN2', () => {
    expect(clean.lines.slice(0, 5).map(tagOf)).toEqual(['SG1', 'SG2', 'SG3', 'SN1', 'SN2']);
    const sg1 = clean.lines[0]!.rec;
    expect(sg1.type === 'setup' && sg1.values).toMatchObject({
      intervals: 5,
      occupancyHoldin: 10,
      nSigma: 6,
    });
  });

  it('keeps time order', () => {
    for (let i = 1; i < clean.items.length; i++) {
      expect(clean.items[i]!.atMs).toBeGreaterThanOrEqual(clean.items[i - 1]!.atMs);
    }
  });

  it('sends NB then GB every 5 s while the lane is empty', () => {
    const bg = clean.lines.filter((l) => ['GB', 'GH', 'GL', 'NB', 'NH'].includes(tagOf(l)));
    expect(bg.length).toBeGreaterThan(40);
    for (let i = 0; i < bg.length; i += 2) {
      expect(tagOf(bg[i]!)).toBe('NB');
      expect(tagOf(bg[i + 1]!)).toBe('GB');
      expect(bg[i + 1]!.atMs).toBe(bg[i]!.atMs);
      if (i >= 2) expect((bg[i]!.atMs - bg[i - 2]!.atMs) % 5000).toBe(0);
    }
    // Gamma backgrounds are whole cps in the lane's range; NB are small whole numbers.
    for (const l of bg) {
      const counts = (l.rec as CountRecord).counts;
      if (tagOf(l) === 'GB') counts.forEach((c) => expect(c).toBeGreaterThan(100));
      else counts.forEach((c) => expect(c).toBeLessThan(10));
    }
  });

  it('follows the occupancy rules: SP or the 5-line pre-trigger burst first, 200 ms samples, 1 s neutron, GX last', () => {
    expect(clean.occupancies).toHaveLength(40);
    for (const { lines, truth } of clean.occupancies) {
      const body = lines.filter((l) => tagOf(l) !== 'SP');
      const burst = body.slice(0, 5);
      expect(burst.map(tagOf)).toEqual(['GS', 'GS', 'GS', 'GS', 'GS']);
      expect(new Set(burst.map((l) => l.atMs)).size).toBe(1);
      expect(burst[0]!.atMs).toBe(truth.triggerMs);
      expect(OCCUPANCY_TAGS.has(tagOf(lines[0]!))).toBe(true);
      const gamma = body.slice(5).filter((l) => tagOf(l) === 'GS' || tagOf(l) === 'GA');
      expect(gamma).toHaveLength(truth.samples);
      gamma.forEach((l, k) => expect(l.atMs).toBe(truth.triggerMs + 200 * (k + 1)));
      const neutron = body.filter((l) => tagOf(l) === 'NS' || tagOf(l) === 'NA');
      expect(neutron).toHaveLength(Math.floor(truth.samples / 5));
      neutron.forEach((l, k) => expect(l.atMs).toBe(truth.triggerMs + 1000 * (k + 1)));
      expect(lines.filter((l) => tagOf(l) === 'SP')).toHaveLength(1);
      const gx = lines[lines.length - 1]!;
      expect(gx.rec.type).toBe('occupancy-end');
      expect(gx.atMs).toBe(truth.endMs);
      // Occupancy = sensors' (L + 1 m)/v, then OccupancyHoldin samples.
      expect(truth.samples).toBe(Math.ceil(truth.vehicle.clearS / 0.2 - 1e-6) + 10);
    }
  });

  it('numbers occupancies 1, 2, 3 … in GX, with the neutron background ×1000 summed over tubes', () => {
    const gx = clean.lines.filter((l) => l.rec.type === 'occupancy-end');
    expect(gx.map((l) => (l.rec.type === 'occupancy-end' ? l.rec.index : -1))).toEqual(
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    expect(clean.occupancies.map((o) => o.truth.index)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    for (const l of gx) {
      const f2 = l.rec.type === 'occupancy-end' ? l.rec.neutronBackgroundX1000 : 0;
      expect(f2).toBeGreaterThanOrEqual(3000); // 4 tubes × 1–5 cps
      expect(f2).toBeLessThanOrEqual(24000);
    }
  });

  it('marks the device alarm with GA lines (threshold BG + 6·√BG over 5 samples)', () => {
    const threats = run({ seed: 'alarms', occupancies: 30, mix: { medical: 1 } });
    const background = run({ seed: 'quiet', occupancies: 30, mix: { background: 1 } });
    for (const { lines, truth } of [...threats.occupancies, ...background.occupancies]) {
      const ga = lines.filter((l) => tagOf(l) === 'GA');
      expect(truth.device.gammaAlarm).toBe(ga.length > 0);
      if (ga.length > 0) {
        // Latched: once on, GA runs up to the GX.
        const first = lines.indexOf(ga[0]!);
        expect(lines.slice(first).filter((l) => tagOf(l) === 'GS')).toHaveLength(0);
      }
    }
    expect(threats.occupancies.filter((o) => o.truth.device.gammaAlarm).length).toBeGreaterThan(20);
    expect(background.occupancies.filter((o) => o.truth.device.gammaAlarm)).toHaveLength(0);
  });

  it('raises NA on strong neutron sources', () => {
    const { occupancies } = run({ seed: 'neutrons', occupancies: 30, mix: { neutron: 1 } });
    const na = occupancies.filter((o) => o.lines.some((l) => tagOf(l) === 'NA'));
    expect(na.length).toBeGreaterThan(5);
    for (const o of na) expect(o.truth.device.neutronAlarm).toBe(true);
  });

  it('restarts: a setup dump mid-stream and the index back to 1', () => {
    const { lines, occupancies } = run({ seed: 'restart', occupancies: 12, disruptions: { restart: 0.3 } });
    const restarted = occupancies.filter((o) => o.truth.afterRestart);
    expect(restarted.length).toBeGreaterThan(0);
    for (const o of restarted) expect(o.truth.index).toBe(1);
    expect(lines.filter((l) => tagOf(l) === 'SG1').length).toBe(1 + restarted.length);
  });

  it('injects a dead channel: GL backgrounds and zero counts on that channel', () => {
    const plans = [...generateScenario({ seed: 'dead', occupancies: 3, gapS: [10, 20] })].map((p) => ({
      ...p,
      faults: [{ type: 'dead', radiation: 'gamma', channel: 2 } as const],
    }));
    const { lines, occupancies } = run({ seed: 'dead', plans });
    const afterFirst = lines.filter((l) => l.atMs > 0 && ['GB', 'GL', 'GH'].includes(tagOf(l)));
    expect(afterFirst.every((l) => tagOf(l) === 'GL' && (l.rec as CountRecord).counts[2] === 0)).toBe(true);
    for (const o of occupancies) {
      for (const l of o.lines.filter((x) => tagOf(x) === 'GS'))
        expect((l.rec as CountRecord).counts[2]).toBe(0);
      expect(o.truth.faults).toEqual([{ type: 'dead', radiation: 'gamma', channel: 2 }]);
    }
  });

  it('injects high backgrounds as GH and stuck channels as constants', () => {
    const plans = [...generateScenario({ seed: 'hi', occupancies: 2, gapS: [10, 20] })].map((p, i) => ({
      ...p,
      faults: [
        i === 0
          ? ({ type: 'high-background', radiation: 'gamma', channel: 0, cps: 8000 } as const)
          : ({ type: 'stuck', radiation: 'gamma', channel: 1, cps: 777 } as const),
      ],
    }));
    const { lines, occupancies } = run({ seed: 'hi', plans });
    expect(lines.some((l) => tagOf(l) === 'GH')).toBe(true);
    const stuck = occupancies[1]!.lines
      .filter((l) => tagOf(l) === 'GS')
      .map((l) => (l.rec as CountRecord).counts[1]);
    expect(new Set(stuck)).toEqual(new Set([Math.round(777 * 0.2)]));
  });

  it('injects garbage, truncated lines, tamper, silence, link drops and lost GX', () => {
    const { items, lines, occupancies } = run({
      seed: 'chaos',
      occupancies: 20,
      disruptions: {
        garbage: 0.5,
        'truncated-line': 0.5,
        tamper: 0.3,
        'link-drop': 0.3,
        silence: 0.3,
        'missing-end': 0.2,
      },
    });
    const corrupt = items.filter((i) => i.kind === 'corrupt');
    expect(corrupt.length).toBeGreaterThan(5);
    for (const c of corrupt) {
      const text = c.kind === 'corrupt' ? c.bytes.toString('latin1') : '';
      expect(text).not.toMatch(/[\r\n]/);
      expect(decodeLine(text).type).toBe('malformed');
    }
    expect(items.some((i) => i.kind === 'link-drop')).toBe(true);
    const tt = lines.filter((l) => tagOf(l) === 'TT').length;
    expect(tt).toBeGreaterThan(0);
    // A TC that falls in a silence or link drop is lost, as on a real link.
    const tc = lines.filter((l) => tagOf(l) === 'TC').length;
    const tampers = occupancies.flatMap((o) => o.truth.disruptions).filter((d) => d.type === 'tamper').length;
    expect(tc).toBeGreaterThan(0);
    expect(tt).toBeLessThanOrEqual(tampers);
    expect(tc).toBeLessThanOrEqual(tampers);
    expect(occupancies.some((o) => o.truth.linesDropped > 0)).toBe(true);
    const lost = occupancies.filter((o) => !o.truth.gxSent);
    expect(lost.length).toBeGreaterThan(0);
    for (const o of lost) expect(o.lines.some((l) => tagOf(l) === 'GX')).toBe(false);
    // The index still advances past a lost GX (the device counted it).
    expect(occupancies.map((o) => o.truth.index)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('is deterministic by seed and lazy over an endless scenario', () => {
    const a = [...vm250Stream({ seed: 5, occupancies: 3 })].map((i) => (i.kind === 'line' ? i.line : i.kind));
    const b = [...vm250Stream({ seed: 5, occupancies: 3 })].map((i) => (i.kind === 'line' ? i.line : i.kind));
    expect(a).toEqual(b);
    let occupancies = 0;
    for (const item of vm250Stream({ seed: 'live' })) {
      if (item.kind === 'occupancy' && ++occupancies === 25) break;
    }
    expect(occupancies).toBe(25);
  });

  it('flags back-to-back vehicles as continuations', () => {
    const { occupancies } = run({ seed: 'b2b', occupancies: 60, backToBackProbability: 0.3 });
    const cont = occupancies.filter((o) => o.truth.continuation);
    expect(cont.length).toBeGreaterThan(5);
    for (const o of cont) {
      const prev = occupancies[occupancies.indexOf(o) - 1]!;
      expect(o.truth.triggerMs - prev.truth.endMs).toBeLessThan(1000);
    }
  });
});
