import { describe, expect, it } from 'vitest';
import { decodePlc, encodePlc, plcMap, DEFAULT_PLC_MAP } from '../../../src/drivers/scanner/plc-map.js';
import { newTally, summarize, tallyScan } from '../../../src/imaging/evaluate.js';
import { fuse, linkScan, type OccupancyWindow } from '../../../src/imaging/fusion.js';
import {
  calibrate,
  depthRows,
  finalRows,
  normalizeScan,
  repairReady,
} from '../../../src/imaging/normalize.js';
import { renderOverlay, renderPreview } from '../../../src/imaging/overlay.js';
import { heatRegions } from '../../../src/imaging/regions.js';
import { detectShielding } from '../../../src/imaging/shielding.js';
import { parseSidecar } from '../../../src/imaging/sidecar.js';
import { extractTiles, planTiles, stitchHeat, strideFor } from '../../../src/imaging/tiling.js';
import type { ScanAnalyzedData } from '../../../src/imaging/types.js';
import { makePhantom } from '../../../simulators/scanner/phantom.js';

describe('phantoms', () => {
  it('are deterministic and carry ground truth inside the image', () => {
    const a = makePhantom({
      seed: 's1',
      width: 256,
      height: 128,
      anomalies: ['dense', 'void', 'compartment', 'object'],
      energies: 2,
    });
    const b = makePhantom({
      seed: 's1',
      width: 256,
      height: 128,
      anomalies: ['dense', 'void', 'compartment', 'object'],
      energies: 2,
    });
    expect(Buffer.from(a.high.data.buffer).equals(Buffer.from(b.high.data.buffer))).toBe(true);
    expect(a.low).toBeDefined();
    expect(a.truth.length).toBeGreaterThanOrEqual(3);
    for (const t of a.truth)
      expect(t.x >= 0 && t.y >= 0 && t.x + t.width <= 256 && t.y + t.height <= 128).toBe(true);
  });
});

describe('normalize', () => {
  it('turns transmission into optical depth, either polarity, and repairs a dead detector row', () => {
    const p = makePhantom({ seed: 'n1', width: 256, height: 128, badRowChance: 0 });
    const n = normalizeScan(p.high, {
      polarity: 'transmission',
      airValue: p.airValue,
      darkValue: p.darkValue,
    });
    expect(Math.abs(n.depth[5]!)).toBeLessThan(0.05); // air corner
    const inverted = { ...p.high, data: p.high.data.map((v) => 65535 - v) };
    const m = normalizeScan(inverted, {
      polarity: 'attenuation',
      airValue: p.airValue,
      darkValue: p.darkValue,
    });
    expect(m.depth[1000]).toBeCloseTo(n.depth[1000]!, 5);
    const dead = { ...p.high, data: Uint16Array.from(p.high.data) };
    dead.data.fill(p.darkValue, 60 * 256, 61 * 256);
    const r = normalizeScan(dead, { polarity: 'transmission', airValue: p.airValue, darkValue: p.darkValue });
    expect(r.repairedRows).toEqual([60]);
    expect(Math.abs(r.depth[60 * 256 + 3]!)).toBeLessThan(0.05);
    // A reused, larger buffer gets the same depth in its first width × height values.
    const into = new Float32Array(256 * 128 + 100).fill(7);
    const again = normalizeScan(
      dead,
      { polarity: 'transmission', airValue: p.airValue, darkValue: p.darkValue },
      into,
    );
    expect(again.depth.buffer).toBe(into.buffer);
    expect(again.depth).toEqual(r.depth);
  });
});

describe('depth in the model’s units', () => {
  it('μ / 10 stored as it is computed: tiles are plain copies with the same values, shielding and overlay unchanged', () => {
    const p = makePhantom({ seed: 'units', width: 700, height: 400, badRowChance: 0, anomalies: ['dense'] });
    const options = { polarity: 'transmission' as const, airValue: p.airValue, darkValue: p.darkValue };
    const mu = normalizeScan(p.high, options);
    const scaled = normalizeScan(p.high, { ...options, depthScale: 0.1 });
    const layout = planTiles(700, 400, 512, 80);
    // The model's input is the very same float32 either way.
    const bytes = (f: Float32Array) => Buffer.from(f.buffer, f.byteOffset, f.byteLength);
    expect(
      bytes(extractTiles(scaled.depth, layout, 1)).equals(bytes(extractTiles(mu.depth, layout, 0.1))),
    ).toBe(true);
    expect(detectShielding(scaled.depth, 700, 400, { depthScale: 0.1 })).toEqual(
      detectShielding(mu.depth, 700, 400),
    );
    expect(detectShielding(mu.depth, 700, 400)).not.toHaveLength(0);
    const picture = (depth: Float32Array, depthScale?: number) =>
      renderOverlay({
        width: 700,
        height: 400,
        depth,
        ...(depthScale !== undefined ? { depthScale } : {}),
        heat: { cols: 88, rows: 50, stride: 8, data: new Float32Array(88 * 50) },
        threshold: 1,
        regions: [],
        shielding: [],
        scale: 2,
      }).rgb;
    const a = picture(mu.depth);
    const b = picture(scaled.depth, 0.1);
    // Rounding may move a pixel across a grey step, never further.
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    expect(worst).toBeLessThanOrEqual(1);
  });
});

describe('normalize strip by strip', () => {
  it('gives the whole-scan depth, bad rows repaired once their neighbours are in, rows final in order', () => {
    const p = makePhantom({ seed: 'strips', width: 300, height: 200, badRowChance: 0 });
    const data = Uint16Array.from(p.high.data);
    // Dead rows: the first, a run across a strip boundary, one alone, the last two.
    for (const y of [0, 63, 64, 65, 120, 198, 199]) data.fill(p.darkValue, y * 300, (y + 1) * 300);
    const img = { width: 300, height: 200, data };
    for (const options of [
      { polarity: 'transmission' as const, airValue: p.airValue, darkValue: p.darkValue },
      { polarity: 'transmission' as const },
    ]) {
      const whole = normalizeScan(img, options);
      expect(whole.repairedRows).toEqual([0, 63, 64, 65, 120, 198, 199]);
      const cal = calibrate(img, options);
      const depth = new Float32Array(300 * 200).fill(NaN);
      let repaired = 0;
      let final = 0;
      for (let done = 0; done < 200;) {
        const end = Math.min(200, done + 64);
        depthRows(cal, data, depth, done, end);
        done = end;
        repaired = repairReady(cal, depth, done, repaired);
        const now = finalRows(cal, done, repaired);
        expect(now).toBeGreaterThanOrEqual(final);
        final = now;
        // Every row reported final already has its whole-scan value.
        expect(depth.subarray(0, final * 300)).toEqual(whole.depth.subarray(0, final * 300));
      }
      expect(final).toBe(200);
      expect(depth).toEqual(whole.depth);
    }
  });
});

describe('tiling', () => {
  it('covers the image with overlapping tiles and stitches cores back in place', () => {
    const W = 300;
    const H = 200;
    const values = Float32Array.from({ length: W * H }, (_, i) => i);
    const layout = planTiles(W, H, 64, 16);
    expect(layout.count).toBe(Math.ceil(W / 32) * Math.ceil(H / 32));
    const tiles = extractTiles(values, layout, 1);
    // Tile 1's pixel (16, 16) is the image's (32, 0) → value 32.
    expect(tiles[64 * 64 + 16 * 64 + 16]).toBe(32);
    // A fake model: each 8-px cell reports the image x of its centre column.
    const cells = 8;
    const out = new Float32Array(layout.count * cells * cells);
    for (let t = 0; t < layout.count; t++)
      for (let j = 0; j < cells; j++)
        for (let i = 0; i < cells; i++) out[t * 64 + j * 8 + i] = tiles[t * 4096 + j * 8 * 64 + i * 8]! % W;
    expect(strideFor(layout, [layout.count, 1, 8, 8])).toBe(8);
    expect(strideFor(layout, [layout.count, 1, 7, 7])).toBeNull();
    const heat = stitchHeat(out, layout, 8);
    expect(heat.cols).toBe(Math.ceil(W / 8));
    expect(heat.data[3]).toBe(24);
  });
});

describe('regions and shielding', () => {
  it('groups hot cells into boxes in input pixels, dropping specks', () => {
    const heat = { cols: 10, rows: 10, stride: 8, data: new Float32Array(100) };
    for (const n of [22, 23, 32, 33]) heat.data[n] = 2;
    heat.data[88] = 5; // a single-cell speck
    const r = heatRegions(heat, 80, 80, { threshold: 1 });
    expect(r).toEqual([{ x: 16, y: 16, width: 16, height: 16, score: 2 }]);
  });

  it('finds an opaque block in cargo but not thin structures or the image edge', () => {
    const W = 400;
    const H = 200;
    const depth = new Float32Array(W * H).fill(1);
    const block = (x0: number, y0: number, w: number, h: number, v: number) => {
      for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) depth[y * W + x] = v;
    };
    block(100, 40, 40, 40, 8); // shielding
    block(250, 20, 3, 150, 9); // a thin wall
    block(0, 100, 30, 30, 9); // touches the edge
    const s = detectShielding(depth, W, H);
    expect(s).toHaveLength(1);
    expect(s[0]).toMatchObject({ x: 100, y: 40, width: 40, height: 40 });
  });

  it('overlay marks regions in yellow and suspects in magenta, scaled', () => {
    const depth = new Float32Array(64 * 32);
    const heat = { cols: 8, rows: 4, stride: 8, data: new Float32Array(32) };
    const o = renderOverlay({
      width: 64,
      height: 32,
      depth,
      heat,
      threshold: 1,
      regions: [{ x: 0, y: 0, width: 16, height: 16, score: 1 }],
      shielding: [{ x: 32, y: 0, width: 16, height: 16, score: 1 }],
      scale: 2,
    });
    expect([o.width, o.height]).toEqual([32, 16]);
    expect([...o.rgb.subarray(0, 3)]).toEqual([255, 220, 0]);
    expect([...o.rgb.subarray(16 * 3, 16 * 3 + 3)]).toEqual([255, 0, 255]);
  });
});

describe('preview', () => {
  it('is the original image in 8-bit grey, dark to air, averaged over k × k, dense = dark', () => {
    const data = new Uint16Array([100, 100, 1100, 1100, 100, 100, 1100, 1100]);
    const img = { width: 4, height: 2, data };
    const p = renderPreview(img, { polarity: 'transmission', airValue: 1100, darkValue: 100, scale: 2 });
    expect([p.width, p.height, ...p.grey]).toEqual([2, 1, 0, 255]);
    const a = renderPreview(img, { polarity: 'attenuation', airValue: 1100, darkValue: 100 });
    expect([...a.grey.subarray(0, 4)]).toEqual([255, 255, 0, 0]);
  });
});

describe('fusion (SPEC §3 item 6)', () => {
  const scan = (over: Partial<ScanAnalyzedData> = {}): ScanAnalyzedData => ({
    scanId: 'S1',
    lane: 'lane-1',
    time: new Date(10_000).toISOString(),
    image: { width: 1000, height: 500, energies: ['high'] },
    model: { id: 'm', sha256: 'x', opset: 17 },
    regions: [],
    shieldingSuspects: [],
    maxScore: 0,
    timings: { decodeMs: 0, preprocessMs: 0, inferenceMs: 0, postprocessMs: 0, shieldingMs: 0, totalMs: 0 },
    sources: [],
    ...over,
  });
  const occ = (alarm: boolean, over: Partial<OccupancyWindow> = {}): OccupancyWindow => ({
    lane: 'lane-1',
    seq: 7,
    start: 0,
    end: 20_000,
    gammaAlarm: alarm,
    neutronAlarm: false,
    ...over,
  });
  const suspect = { x: 1, y: 1, width: 40, height: 40, score: 0.9, opaqueFraction: 1, areaPx: 1600 };
  const region = { x: 1, y: 1, width: 40, height: 40, score: 2 };

  it('links a scan to the occupancy of its lane and time window', () => {
    const list = [
      occ(false, { seq: 1, start: -500_000, end: -480_000 }),
      occ(false, { seq: 2 }),
      occ(false, { seq: 3, lane: 'lane-2' }),
    ];
    expect(linkScan(scan(), list)?.seq).toBe(2);
    expect(linkScan(scan({ lane: 'lane-9' }), list)).toBeNull();
  });

  it('does not join a scan to the previous vehicle while the next one is in the portal', () => {
    // Occupancy 2 ended at 20 s; its window runs to 140 s. The scan at 40 s is the next vehicle's,
    // whose occupancy started at 35 s and has no record yet: wait for it.
    const done = [occ(true, { seq: 2, start: 0, end: 20_000 })];
    const at40 = scan({ time: new Date(40_000).toISOString() });
    expect(linkScan(at40, done)?.seq).toBe(2); // without knowing of the open occupancy
    expect(linkScan(at40, done, {}, 35_000)).toBeNull();
    // A scan nearer the completed occupancy's start still joins it.
    expect(linkScan(scan({ time: new Date(5_000).toISOString() }), done, {}, 35_000)?.seq).toBe(2);
  });

  it('raises priority per the rules', () => {
    expect(fuse(scan({ shieldingSuspects: [suspect] }), occ(true))).toMatchObject({
      priority: 'critical',
      raised: true,
      occupancySeq: 7,
    });
    expect(fuse(scan({ regions: [region] }), occ(true)).priority).toBe('high');
    expect(fuse(scan(), occ(true))).toMatchObject({ priority: 'elevated', raised: false });
    expect(fuse(scan({ shieldingSuspects: [suspect] }), occ(false))).toMatchObject({
      priority: 'high',
      raised: true,
    });
    expect(fuse(scan({ shieldingSuspects: [{ ...suspect, areaPx: 200_000 }] }), occ(false)).priority).toBe(
      'elevated',
    );
    expect(fuse(scan({ regions: [region] }), null).priority).toBe('elevated');
    expect(fuse(scan(), occ(false))).toMatchObject({ priority: 'normal', raised: false });
  });
});

describe('evaluation scoring', () => {
  it('counts detections per kind and false regions', () => {
    const t = newTally();
    tallyScan(
      t,
      [
        { kind: 'dense', x: 0, y: 0, width: 10, height: 10 },
        { kind: 'void', x: 50, y: 50, width: 10, height: 10 },
      ],
      [
        { x: 2, y: 2, width: 10, height: 10 },
        { x: 200, y: 200, width: 5, height: 5 },
      ],
    );
    const s = summarize(t);
    expect(s.perKind.dense).toMatchObject({ inserted: 1, detected: 1 });
    expect(s.perKind.void).toMatchObject({ inserted: 1, detected: 0 });
    expect(s.falseRegionsPerScan).toBe(1);
  });
});

describe('sidecar', () => {
  it('accepts a good sidecar and reports every problem of a bad one', () => {
    const ok = parseSidecar(
      JSON.stringify({
        scanId: 'S',
        files: { high: 'a.png', low: 'b.png' },
        time: '2024-05-01T10:00:00Z',
        airValue: 60000,
      }),
      's.json',
    );
    expect(ok.meta).toMatchObject({
      scanId: 'S',
      polarity: 'transmission',
      airValue: 60000,
      time: Date.parse('2024-05-01T10:00:00Z'),
    });
    expect(() => parseSidecar('{"scanId": ', 'x.json')).toThrow(/not valid JSON/);
    try {
      parseSidecar(JSON.stringify({ files: { high: '../etc/passwd' }, polarity: 'sideways' }), 'y.json');
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string }).code).toBe('SIDECAR_INVALID');
      expect((e as Error).message).toMatch(/scanId/);
      expect((e as Error).message).toMatch(/polarity/);
    }
    expect(() =>
      parseSidecar(JSON.stringify({ scanId: 'S', files: { high: '../x.png' } }), 'z.json'),
    ).toThrow(/plain file name/);
    // Ids the API could not read back (`/api/v1/scans/{scanId}`) are refused at the door.
    for (const scanId of ['../../evil', 'a/b', 'x'.repeat(129), ''])
      expect(() => parseSidecar(JSON.stringify({ scanId, files: { high: 'h.png' } }), 'w.json')).toThrow(
        /scanId/,
      );
  });
});

describe('scanner PLC register map', () => {
  it('round-trips status and honours a site override', () => {
    const status = {
      state: 'scanning' as const,
      interlockClosed: true,
      radiationOn: true,
      vehiclePresent: true,
      remoteEnabled: false,
      emergencyStop: false,
      scanCounter: 70_001,
      faultCode: 0,
      energyMode: 2,
    };
    const d = decodePlc(DEFAULT_PLC_MAP, encodePlc(DEFAULT_PLC_MAP, status));
    expect(d.ok && d.status).toMatchObject(status);
    const site = plcMap({
      offsets: { state: 7, energyMode: 2 },
      states: { 5: 'idle', 6: 'ready', 7: 'scanning', 8: 'fault' },
      signature: null,
    });
    const regs = encodePlc(site, status);
    expect(regs[7]).toBe(7);
    expect(decodePlc(site, regs)).toMatchObject({ ok: true, status: { state: 'scanning' } });
    expect(decodePlc(DEFAULT_PLC_MAP, [1, 2, 3])).toMatchObject({ ok: false });
    expect(decodePlc(DEFAULT_PLC_MAP, new Array<number>(9).fill(0))).toMatchObject({ ok: false });
  });
});
