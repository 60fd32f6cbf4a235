/**
 * Imaging figures for `npm run bench` (SPEC §7, issue 6): one 2048 × 1024 16-bit scan end to end
 * (PNG decode → normalize + tile → inference in the worker → heat map + regions + shielding →
 * overlay PNG → event JSON), p50, beside its floor: bare `session.run` on the same tile tensor,
 * in-process, p50. Also the event loop's longest stall while inference runs (the worker keeps
 * the loop free), the longest stall over the whole end-to-end run (pre/post-processing run on
 * the main thread in slices), and peak RSS with the model loaded. bench/run.ts calls these functions.
 */
import { readFile } from 'node:fs/promises';
import { createAnalyzer, overlayPng } from '../src/imaging/analyzer.js';
import { decodeImage, encodeImage16 } from '../src/imaging/decode.js';
import { DEPTH_SCALE } from '../src/imaging/model/architecture.js';
import { defaultModelPath, loadModel } from '../src/imaging/model-store.js';
import { normalizeScan } from '../src/imaging/normalize.js';
import { createInProcessRunner, createWorkerRunner, type ScoreRunner } from '../src/imaging/onnx-runtime.js';
import { extractTiles, planTiles } from '../src/imaging/tiling.js';
import { makePhantom } from '../simulators/scanner/phantom.js';
import { buildDefaultModel } from '../simulators/scanner/train-model.js';

export interface ImagingBenchOptions {
  /** Measured runs (after 2 warm-up runs). Default 15. */
  readonly runs?: number;
  readonly width?: number;
  readonly height?: number;
  /** Inference threads. Default 1. */
  readonly threads?: number;
  /** Model file; default: the project's model (built if missing). */
  readonly modelPath?: string;
}

export interface ImagingBenchResult {
  readonly width: number;
  readonly height: number;
  readonly runs: number;
  readonly tiles: number;
  /** End to end, p50 (ms). */
  readonly endToEndP50Ms: number;
  /** Bare session.run on the same tiles, p50 (ms). */
  readonly sessionRunP50Ms: number;
  /** endToEnd / sessionRun. Target ≤ 1.5. */
  readonly ratio: number;
  /** Longest event-loop stall while inference ran in the worker (ms). Target < 20. */
  readonly maxStallDuringInferenceMs: number;
  /** Longest stall over whole end-to-end runs, main-thread pre/post-processing included (ms). */
  readonly maxStallEndToEndMs: number;
  /** Peak resident set size of the process with the model loaded (MB). */
  readonly peakRssMb: number;
  /** Median stage timings of the end-to-end runs (ms). */
  readonly stagesP50Ms: Readonly<Record<string, number>>;
}

const p50 = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.floor(s.length / 2)]! * 10) / 10;
};

/** A stall meter: a 1 ms timer records every gap beyond 1 ms between its ticks, with its time. */
function stallMeter(): { worstIn(from: number, to: number): number; stop(): void } {
  let last = performance.now();
  const gaps: Array<[number, number]> = [];
  const h = setInterval(() => {
    const now = performance.now();
    if (now - last > 2) gaps.push([now, now - last - 1]);
    last = now;
  }, 1);
  return {
    worstIn: (from, to) => {
      let worst = 0;
      for (const [at, gap] of gaps) if (at >= from && at - gap <= to + 1) worst = Math.max(worst, gap);
      return Math.round(worst * 10) / 10;
    },
    stop: () => clearInterval(h),
  };
}

async function modelBytes(path: string | undefined): Promise<Uint8Array> {
  return path ? readFile(path) : loadModel(undefined, () => buildDefaultModel().bytes);
}

/** The imaging figures. */
export async function benchImaging(options: ImagingBenchOptions = {}): Promise<ImagingBenchResult> {
  const width = options.width ?? 2048;
  const height = options.height ?? 1024;
  const runs = options.runs ?? 15;
  const bytes = await modelBytes(options.modelPath);
  const phantom = makePhantom({
    seed: 'bench-scan',
    width,
    height,
    anomalies: ['dense', 'compartment', 'object'],
  });
  const png = await encodeImage16(phantom.high, 'png');
  const meta = {
    scanId: 'bench',
    lane: 'lane-1',
    polarity: phantom.polarity,
    airValue: phantom.airValue,
    darkValue: phantom.darkValue,
    time: Date.now(),
  } as const;

  // Floor: bare session.run, in-process, on the same tiles the pipeline makes.
  const floorRunner = await createInProcessRunner(bytes, { threads: options.threads ?? 1 });
  const norm = normalizeScan(phantom.high, meta);
  const layout = planTiles(width, height, floorRunner.info.tile, floorRunner.info.margin);
  const tiles = extractTiles(norm.depth, layout, 1 / DEPTH_SCALE);
  const floor: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const r = await floorRunner.run(tiles, layout.count);
    if (i >= 2) floor.push(r.runMs);
  }
  await floorRunner.close();

  const runner: ScoreRunner = await createWorkerRunner(bytes, { threads: options.threads ?? 1 });
  const meter = stallMeter();
  let peakRss = process.memoryUsage().rss;
  let stallInference = 0;
  let measuring = false;
  let stallAll = 0;
  const e2e: number[] = [];
  const stages: Record<string, number[]> = {
    decode: [],
    preprocess: [],
    inference: [],
    postprocess: [],
    shielding: [],
    overlay: [],
    event: [],
  };
  // Measure the stall only while the worker runs: wrap the runner.
  const measured: ScoreRunner = {
    info: runner.info,
    close: () => runner.close(),
    async run(t, n) {
      const from = performance.now();
      const out = await runner.run(t, n);
      // Let the meter tick once more so a stall ending with the reply is seen.
      await new Promise((r) => setTimeout(r, 2));
      if (measuring) stallInference = Math.max(stallInference, meter.worstIn(from, performance.now()));
      return out;
    },
  };
  const analyzer = createAnalyzer({ runner: measured });
  try {
    for (let i = 0; i < runs + 2; i++) {
      measuring = i >= 2;
      const allStart = performance.now();
      const decoded = await decodeImage(png, 'bench.png');
      const decodeMs = performance.now() - allStart;
      const a = await analyzer.analyze({ meta, high: decoded.image, sources: ['bench.png'] }, decodeMs);
      const t = performance.now();
      const overlay = await overlayPng(a);
      const overlayMs = performance.now() - t;
      const t2 = performance.now();
      const event = JSON.stringify({ specversion: '1.0', type: 'imaging.scan.analyzed', data: a.data });
      const eventMs = performance.now() - t2;
      const total = performance.now() - allStart;
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      if (overlay.length === 0 || event.length === 0) throw new Error('empty output');
      if (i < 2) continue;
      e2e.push(total);
      await new Promise((r) => setTimeout(r, 2));
      stallAll = Math.max(stallAll, meter.worstIn(allStart, allStart + total));
      const tm = a.data.timings;
      stages.decode!.push(tm.decodeMs);
      stages.preprocess!.push(tm.preprocessMs);
      stages.inference!.push(tm.inferenceMs);
      stages.postprocess!.push(tm.postprocessMs);
      stages.shielding!.push(tm.shieldingMs);
      stages.overlay!.push(overlayMs);
      stages.event!.push(eventMs);
    }
  } finally {
    meter.stop();
    await runner.close();
  }
  const endToEndP50Ms = p50(e2e);
  const sessionRunP50Ms = p50(floor);
  return {
    width,
    height,
    runs,
    tiles: layout.count,
    endToEndP50Ms,
    sessionRunP50Ms,
    ratio: Math.round((endToEndP50Ms / sessionRunP50Ms) * 100) / 100,
    maxStallDuringInferenceMs: stallInference,
    maxStallEndToEndMs: Math.round(stallAll * 10) / 10,
    peakRssMb: Math.round(Math.max(peakRss, process.resourceUsage().maxRSS * 1024) / 1e5) / 10,
    stagesP50Ms: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, p50(v)])),
  };
}

export { defaultModelPath };
