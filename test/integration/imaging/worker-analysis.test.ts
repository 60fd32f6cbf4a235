import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/core/errors.js';
import { createAnalyzer, overlayPng, previewPng, type Analysis } from '../../../src/imaging/analyzer.js';
import { encodeModel } from '../../../src/imaging/model/onnx-proto.js';
import { defaultModelPath } from '../../../src/imaging/model-store.js';
import { renderPreview } from '../../../src/imaging/overlay.js';
import { createWorkerRunner } from '../../../src/imaging/onnx-runtime.js';
import type { Scan } from '../../../src/imaging/types.js';
import { makePhantom } from '../../../simulators/scanner/phantom.js';
import { useModelRunners } from '../../support/imaging.js';

const runners = useModelRunners();

function scanOf(seed: string, width: number, height: number): Scan {
  const p = makePhantom({ seed, width, height, anomalies: ['dense', 'compartment'] });
  return {
    meta: { scanId: seed, polarity: p.polarity, airValue: p.airValue, darkValue: p.darkValue },
    high: p.high,
    sources: [],
  };
}

const withoutTimings = (a: Analysis) => ({ ...a.data, timings: null });

describe('every per-pixel step in the analysis worker', () => {
  it('gives the in-process analysis exactly: regions, suspects, pictures', async () => {
    const scan = scanOf('worker-same', 1024, 512);
    const before = Uint16Array.from(scan.high.data);
    const a = await createAnalyzer({ runner: runners.local, preview: true }).analyze(scan);
    const b = await createAnalyzer({ runner: runners.worker, preview: true }).analyze(scan);
    expect(withoutTimings(b)).toEqual(withoutTimings(a));
    expect(b.data.regions.length + b.data.shieldingSuspects.length).toBeGreaterThan(0);
    expect((await overlayPng(b)).equals(await overlayPng(a))).toBe(true);
    expect((await previewPng(b)).equals(await previewPng(a))).toBe(true);
    // The scan is only read: its pixels are still there, unchanged.
    expect(scan.high.data).toEqual(before);
    const overlay = await sharp(await overlayPng(b)).metadata();
    expect([overlay.width, overlay.height, overlay.channels]).toEqual([1024, 512, 3]);
    const preview = await sharp(await previewPng(b)).metadata();
    expect([preview.width, preview.height, preview.channels]).toEqual([1024, 512, 1]);
  });

  it('pipelined (this thread cuts tiles while the worker runs them) gives the one-piece analysis byte for byte', async () => {
    const p = makePhantom({ seed: 'pipelined', width: 1500, height: 700, anomalies: ['dense', 'object'] });
    // Dead and hot rows at a strip boundary, inside a tile's margin and at the bottom edge.
    const data = Uint16Array.from(p.high.data);
    for (const y of [63, 64, 271, 272, 699]) data.fill(y % 2 ? p.darkValue : 65535, y * 1500, (y + 1) * 1500);
    const inverted = data.map((v) => 65535 - v);
    const scans: Scan[] = [
      // No air value: estimated from the image.
      {
        meta: { scanId: 'no-air', polarity: 'transmission', darkValue: p.darkValue },
        high: { ...p.high, data },
        sources: [],
      },
      {
        meta: { scanId: 'attenuation', polarity: 'attenuation', airValue: 65535 - p.airValue },
        high: { ...p.high, data: inverted },
        sources: [],
      },
    ];
    for (const scan of scans) {
      for (const batchTiles of [1, 4]) {
        const a = await createAnalyzer({ runner: runners.local, preview: true, batchTiles }).analyze(scan);
        const b = await createAnalyzer({ runner: runners.worker, preview: true, batchTiles }).analyze(scan);
        expect(withoutTimings(b)).toEqual(withoutTimings(a));
        expect(b.overlay.equals(a.overlay)).toBe(true);
        expect(b.preview!.equals(a.preview!)).toBe(true);
      }
    }
  });

  it('fails a pipelined analysis cleanly when the model breaks the output contract, and goes on', async () => {
    // Output [N, 1, T, 1] instead of [N, 1, T/s, T/s]: MODEL_INVALID at the first tile.
    const bad = encodeModel({
      irVersion: 8,
      opset: 17,
      producer: 'test',
      producerVersion: '0',
      graphName: 'g',
      doc: '',
      nodes: [
        {
          op: 'ReduceMean',
          inputs: ['x'],
          outputs: ['y'],
          name: 'r',
          attributes: { axes: { kind: 'ints', value: [3] } },
        },
      ],
      initializers: [],
      inputs: [{ name: 'x', dims: ['N', 1, 64, 64] }],
      outputs: [{ name: 'y', dims: ['N', 1, 64, 1] }],
      metadata: { model_id: 'bad', tile: '64', margin: '8' },
    });
    const own = await createWorkerRunner(bad);
    try {
      const analyzer = createAnalyzer({ runner: own, preview: true });
      for (let i = 0; i < 2; i++) {
        const error = await analyzer.analyze(scanOf(`bad-${i}`, 400, 200)).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(GatewayError);
        expect((error as GatewayError).code).toBe('MODEL_INVALID');
      }
    } finally {
      await own.close();
    }
  });

  it('renders the preview slice by slice (beside the inference) as in one piece', async () => {
    const scan = scanOf('preview-slices', 2048, 1024);
    const a = await createAnalyzer({ runner: runners.worker, preview: true }).analyze(scan);
    const { polarity, airValue, darkValue } = scan.meta;
    const whole = renderPreview(scan.high, { polarity, airValue, darkValue, scale: 2 });
    const { data, info } = await sharp(await previewPng(a))
      .extractChannel(0)
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([1024, 512, 1]);
    let diff = 0;
    for (let i = 0; i < data.length; i++) if (data[i] !== whole.grey[i]) diff++;
    expect(diff).toBe(0);
  });

  it('runs overlapping calls one at a time, each with its own pictures, across scan sizes', async () => {
    const analyzer = createAnalyzer({ runner: runners.worker });
    const scans = [
      scanOf('worker-a', 2048, 1024),
      scanOf('worker-b', 512, 256),
      scanOf('worker-c', 1024, 512),
    ];
    const together = await Promise.all(scans.map((s) => analyzer.analyze(s)));
    const reference = createAnalyzer({ runner: runners.local });
    for (const [i, s] of scans.entries()) {
      const alone = await reference.analyze(s);
      expect(withoutTimings(together[i]!)).toEqual(withoutTimings(alone));
      expect(together[i]!.overlay.equals(alone.overlay)).toBe(true);
    }
  });

  it('finishes an analysis under way when the runner is closed', async () => {
    const own = await createWorkerRunner(await readFile(defaultModelPath()));
    const pending = createAnalyzer({ runner: own }).analyze(scanOf('worker-close', 1024, 512));
    await new Promise((r) => setTimeout(r, 20));
    await own.close();
    expect((await pending).data.scanId).toBe('worker-close');
  });

  it('keeps the event loop turning during a 2048 × 1024 analysis', async () => {
    const analyzer = createAnalyzer({ runner: runners.worker });
    const scan = scanOf('worker-loop', 2048, 1024);
    await analyzer.analyze(scan); // warm
    let last = performance.now();
    let worst = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
    }, 1);
    await analyzer.analyze(scan);
    clearInterval(timer);
    // Generous: a shared test machine; a main-thread pipeline stalls for its whole run (> 100 ms).
    expect(worst).toBeLessThan(100);
  });
});
