/**
 * The imaging quality evaluation (issue 6, docs/imaging.md): N phantom scans from `eval-*` seeds
 * (never used to build the model), 0–4 random anomalies each, through the real pipeline
 * (normalize → tile → model → heat map → regions; shielding detector), scored against the
 * phantoms' ground truth.
 */
import type { Analyzer } from '../../src/imaging/analyzer.js';
import { newTally, summarize, tallyScan, type TallySummary } from '../../src/imaging/evaluate.js';
import { makePhantom } from './phantom.js';

export interface EvaluationOptions {
  readonly scans: number;
  readonly width?: number;
  readonly height?: number;
  readonly seedPrefix?: string;
  /** Called after each scan (progress). */
  readonly onProgress?: (done: number) => void;
}

export interface EvaluationReport {
  readonly scans: number;
  readonly size: { readonly width: number; readonly height: number };
  readonly seeds: string;
  /** Model regions scored on every inserted anomaly. */
  readonly model: TallySummary;
  /** Shielding suspects scored on dense blocks only. */
  readonly shielding: TallySummary;
  readonly meanAnalyzeMs: number;
}

export async function evaluate(analyzer: Analyzer, options: EvaluationOptions): Promise<EvaluationReport> {
  const width = options.width ?? 1024;
  const height = options.height ?? 512;
  const prefix = options.seedPrefix ?? 'eval';
  const model = newTally();
  const shielding = newTally();
  let totalMs = 0;
  for (let i = 0; i < options.scans; i++) {
    const p = makePhantom({ seed: `${prefix}-${i}`, width, height, anomalies: i % 5 });
    const a = await analyzer.analyze({
      meta: {
        scanId: `${prefix}-${i}`,
        polarity: p.polarity,
        airValue: p.airValue,
        darkValue: p.darkValue,
        pixelPitchMm: p.pixelPitchMm,
      },
      high: p.high,
      sources: [],
    });
    totalMs += a.data.timings.totalMs;
    tallyScan(model, p.truth, a.data.regions);
    tallyScan(shielding, p.truth, a.data.shieldingSuspects, ['dense']);
    options.onProgress?.(i + 1);
  }
  return {
    scans: options.scans,
    size: { width, height },
    seeds: `${prefix}-0 … ${prefix}-${options.scans - 1}`,
    model: summarize(model),
    shielding: summarize(shielding),
    meanAnalyzeMs: Math.round(totalMs / Math.max(1, options.scans)),
  };
}
