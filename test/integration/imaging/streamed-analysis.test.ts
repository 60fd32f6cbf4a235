import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/core/errors.js';
import { createAnalyzer, type Analysis } from '../../../src/imaging/analyzer.js';
import { decodeImage, encodeImage16, openImage, scanDecoding } from '../../../src/imaging/decode.js';
import { recycleScanPixels } from '../../../src/imaging/pixel-pool.js';
import type { Image16, RowProgress, Scan, ScanDecoding, ScanMeta } from '../../../src/imaging/types.js';
import { makePhantom, type PhantomOptions } from '../../../simulators/scanner/phantom.js';
import { useModelRunners } from '../../support/imaging.js';

const runners = useModelRunners();

// A failure part-way through a decode must reach whoever analyzes, and nowhere else.
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

const withoutTimings = (a: Analysis) => ({ ...a.data, timings: null });

/** A 16-bit PNG; adaptive filtering gives rows of every filter type, as other writers do. */
function png(img: Image16, adaptive: boolean): Promise<Buffer> {
  if (!adaptive) return encodeImage16(img, 'png');
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 1 } })
    .toColourspace('grey16')
    .png({ compressionLevel: 6, adaptiveFiltering: true })
    .toBuffer();
}

/** The scan as the adapters open it (streamed) and as they decoded it before (in one piece). */
async function bothWays(files: Buffer[], meta: ScanMeta): Promise<{ streamed: Scan; whole: Scan }> {
  const t0 = performance.now();
  const opened = await Promise.all(files.map((f, i) => openImage(f, `f${i}.png`)));
  expect(opened[0]!.rows.rows).toBeLessThan(opened[0]!.image.height); // still decoding
  const streamed: Scan = {
    meta,
    high: opened[0]!.image,
    ...(opened[1] ? { low: opened[1].image } : {}),
    sources: ['s'],
    decoding: scanDecoding(opened, t0),
  };
  const decoded = await Promise.all(files.map((f, i) => decodeImage(f, `f${i}.png`)));
  const whole: Scan = {
    meta,
    high: decoded[0]!.image,
    ...(decoded[1] ? { low: decoded[1].image } : {}),
    sources: ['s'],
  };
  return { streamed, whole };
}

/**
 * The image arriving slowly, `step` rows at a time on a timer, as a slow decode would hand them
 * over: anything read before its rows are in would read zeros.
 */
function slowly(img: Image16, step: number): { image: Image16; decoding: ScanDecoding } {
  const data = new Uint16Array(img.data.length);
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  let rows = 0;
  let resolveDone!: (ms: number) => void;
  const done = new Promise<number>((resolve) => (resolveDone = resolve));
  const timer = setInterval(() => {
    const next = Math.min(img.height, rows + step);
    data.set(img.data.subarray(rows * img.width, next * img.width), rows * img.width);
    rows = next;
    for (const w of waiters.filter((w) => w.n <= rows)) w.resolve();
    if (rows === img.height) {
      clearInterval(timer);
      resolveDone(1);
    }
  }, 1);
  const progress: RowProgress = {
    height: img.height,
    get rows() {
      return rows;
    },
    whenRows: (n) => (n <= rows ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    done: done.then(() => undefined),
  };
  return { image: { width: img.width, height: img.height, data }, decoding: { high: progress, done } };
}

describe('analysis of a PNG decoded as a stream', () => {
  it('reads each row only once it is decoded (rows arriving slowly, a few at a time)', async () => {
    const p = makePhantom({ seed: 's-slow', width: 1500, height: 700, badRowChance: 1, anomalies: 2 });
    const meta: ScanMeta = {
      scanId: 'slow',
      polarity: p.polarity,
      airValue: p.airValue,
      darkValue: p.darkValue,
    };
    for (const runner of [runners.worker, runners.local]) {
      const analyzer = createAnalyzer({ runner, preview: true });
      const a = await analyzer.analyze({ meta, high: p.high, sources: ['s'] });
      for (const step of [3, 40]) {
        const { image, decoding } = slowly(p.high, step);
        const b = await analyzer.analyze({ meta, high: image, sources: ['s'], decoding });
        expect(withoutTimings(b)).toEqual(withoutTimings(a));
        expect(b.overlay.equals(a.overlay)).toBe(true);
        expect(b.preview!.equals(a.preview!)).toBe(true);
      }
    }
  }, 60_000);

  it('equals the analysis of the image decoded in one piece, byte for byte, over varied scans', async () => {
    const cases: Array<{ o: PhantomOptions; adaptive: boolean; air: boolean }> = [
      {
        o: { seed: 's-plain', width: 2048, height: 1024, anomalies: ['dense', 'object'] },
        adaptive: false,
        air: true,
      },
      { o: { seed: 's-filters', width: 2048, height: 1024, anomalies: 2 }, adaptive: true, air: true },
      {
        o: {
          seed: 's-att',
          width: 1500,
          height: 700,
          polarity: 'attenuation',
          badRowChance: 1,
          anomalies: 1,
        },
        adaptive: true,
        air: true,
      },
      {
        o: { seed: 's-no-air', width: 1200, height: 600, anomalies: ['compartment'] },
        adaptive: false,
        air: false,
      },
      {
        o: { seed: 's-dual', width: 1024, height: 512, energies: 2, anomalies: 1 },
        adaptive: true,
        air: true,
      },
      {
        o: { seed: 's-wide', width: 3000, height: 700, badRowChance: 1, anomalies: 3 },
        adaptive: false,
        air: true,
      },
    ];
    for (const { o, adaptive, air } of cases) {
      const p = makePhantom(o);
      const files = await Promise.all([p.high, ...(p.low ? [p.low] : [])].map((img) => png(img, adaptive)));
      const meta: ScanMeta = {
        scanId: o.seed as string,
        polarity: p.polarity,
        darkValue: p.darkValue,
        ...(air ? { airValue: p.airValue } : {}),
      };
      for (const runner of [runners.worker, runners.local]) {
        const { streamed, whole } = await bothWays(files, meta);
        const analyzer = createAnalyzer({ runner, preview: true });
        const a = await analyzer.analyze(whole);
        const b = await analyzer.analyze(streamed);
        expect(withoutTimings(b)).toEqual(withoutTimings(a));
        expect(b.overlay.equals(a.overlay)).toBe(true);
        expect(b.preview!.equals(a.preview!)).toBe(true);
        expect(b.data.timings.decodeMs).toBeGreaterThan(0);
      }
    }
  }, 120_000);

  it('aborts cleanly when the PNG is cut in the middle of its image data: worker released, no tile slot lost', async () => {
    const p = makePhantom({ seed: 's-cut', width: 2048, height: 1024, anomalies: 1 });
    const file = await png(p.high, false);
    const meta: ScanMeta = {
      scanId: 'cut',
      polarity: p.polarity,
      airValue: p.airValue,
      darkValue: p.darkValue,
    };
    const analyzer = createAnalyzer({ runner: runners.worker, preview: true });
    const expected = await analyzer.analyze({
      meta,
      high: (await decodeImage(file, 'x.png')).image,
      sources: ['s'],
    });
    // Cut at 3/4: the first tile rows are in (tiles with the worker) when the decode fails.
    // Several failures in a row: anything a failed scan left with the worker (tiles still queued,
    // its state) must not hang or spoil the next.
    for (const at of [0.75, 0.5, 0.9, 0.75, 0.6]) {
      const cut = file.subarray(0, Math.floor(file.length * at));
      const t0 = performance.now();
      const opened = await openImage(cut, 'cut.png');
      const scan: Scan = { meta, high: opened.image, sources: ['s'], decoding: scanDecoding([opened], t0) };
      const error = await analyzer.analyze(scan).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GatewayError);
      expect((error as GatewayError).code).toBe('IMAGE_CORRUPT');
      expect((error as GatewayError).message).toMatch(
        /cut\.png: png could not be decoded \(truncated or corrupt\)/,
      );
      expect(opened.rows.rows).toBeGreaterThan(0);
      expect(opened.rows.rows).toBeLessThan(1024);
    }
    // A corrupt low-energy image fails the scan too, though the model never reads it.
    const t0 = performance.now();
    const high = await openImage(file, 'h.png');
    const low = await openImage(file.subarray(0, file.length >> 1), 'l.png');
    const dual: Scan = {
      meta,
      high: high.image,
      low: low.image,
      sources: ['s'],
      decoding: scanDecoding([high, low], t0),
    };
    const error = await analyzer.analyze(dual).catch((e: unknown) => e);
    expect((error as GatewayError).code).toBe('IMAGE_CORRUPT');
    // And the runner goes on: the next scans give the expected analysis.
    for (let i = 0; i < 2; i++) {
      const again = await openImage(file, 'x.png');
      const b = await analyzer.analyze({
        meta,
        high: again.image,
        sources: ['s'],
        decoding: scanDecoding([again], t0),
      });
      expect(withoutTimings(b)).toEqual(withoutTimings(expected));
      expect(b.overlay.equals(expected.overlay)).toBe(true);
    }
  }, 60_000);

  it('analyzes a scan decoded into the pixels of the scan before it (recycled) as if decoded afresh', async () => {
    const phantoms = ['s-reuse-a', 's-reuse-b', 's-reuse-c'].map((seed, i) =>
      makePhantom({ seed, width: 1024, height: 512, anomalies: i + 1 }),
    );
    const files = await Promise.all(phantoms.map((p) => png(p.high, true)));
    const metaOf = (i: number): ScanMeta => ({
      scanId: `reuse-${i}`,
      polarity: phantoms[i]!.polarity,
      airValue: phantoms[i]!.airValue,
      darkValue: phantoms[i]!.darkValue,
    });
    const analyzer = createAnalyzer({ runner: runners.worker, preview: true });
    const open = async (i: number, bytes = files[i]!): Promise<Scan> => {
      const opened = await openImage(bytes, `reuse-${i}.png`);
      return { meta: metaOf(i), high: opened.image, sources: ['s'], decoding: scanDecoding([opened], 0) };
    };
    const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

    const first = await open(0);
    await analyzer.analyze(first);
    recycleScanPixels(first);
    await settled();
    for (const i of [1, 2]) {
      const scan = await open(i);
      expect(scan.high.data === first.high.data).toBe(true); // the same buffer each time
      const fresh = await analyzer.analyze({
        meta: metaOf(i),
        high: (await decodeImage(files[i]!, 'x.png')).image,
        sources: ['s'],
      });
      const reused = await analyzer.analyze(scan);
      expect(withoutTimings(reused)).toEqual(withoutTimings(fresh));
      expect(reused.overlay.equals(fresh.overlay)).toBe(true);
      expect(reused.preview!.equals(fresh.preview!)).toBe(true);
      recycleScanPixels(scan);
      await settled();
    }

    // A decode that failed keeps its pixels (nothing can say the inflate is done with them).
    const cut = await open(1, files[1]!.subarray(0, files[1]!.length >> 1));
    expect(cut.high.data === first.high.data).toBe(true);
    await expect(analyzer.analyze(cut)).rejects.toThrow(/truncated or corrupt/);
    recycleScanPixels(cut);
    await settled();
    const next = await open(2);
    expect(next.high.data === first.high.data).toBe(false);
  }, 60_000);
});
