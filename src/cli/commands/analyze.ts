import { writeFile } from 'node:fs/promises';
import { GatewayError } from '../../core/errors.js';
import { readScanFiles } from '../../drivers/scanner/scan-files.js';
import { createAnalyzer, overlayPng } from '../../imaging/analyzer.js';
import { loadModel } from '../../imaging/model-store.js';
import { createWorkerRunner } from '../../imaging/onnx-runtime.js';
import { evaluate } from '../../../simulators/scanner/evaluation.js';
import { buildDefaultModel } from '../../../simulators/scanner/train-model.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../context.js';

export const analyzeUsage = `Usage: rpm-gateway analyze <scan…> [options]

Runs the imaging pipeline on one scan and prints the imaging.scan.analyzed data: image size,
model id, anomaly regions {x, y, width, height, score} and shielding suspects in pixel
coordinates of the input, and timings. A scan is a JSON sidecar (which names its images), a
DICOS DX file, or one or two 16-bit PNG/TIFF images (high energy, then low energy).

Options:
  --json               print the event data as JSON (default: a short summary)
  --overlay <file>     write the overlay PNG (heat map, regions, shielding suspects)
  --model <file>       use this ONNX model (contract in docs/imaging.md) instead of the default
  --threshold <n>      region threshold on the model score (default: the model's, 1.0)
  --polarity <p>       transmission (default) or attenuation, for images without a sidecar
  --threads <n>        inference threads (default 1)
  --evaluate <n>       score the pipeline on n synthetic scans with ground truth (eval-* seeds)
  --size <WxH>         scan size for --evaluate (default 1024x512)
  --build-model        rebuild the default model into models/ and print its sha256`;

export async function analyzeCommand(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    {
      args: [...args],
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        overlay: { type: 'string' },
        model: { type: 'string' },
        threshold: { type: 'string' },
        polarity: { type: 'string' },
        threads: { type: 'string' },
        evaluate: { type: 'string' },
        size: { type: 'string' },
        'build-model': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    analyzeUsage,
    ctx,
  );
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const polarity = values.polarity ?? 'transmission';
  const threshold = values.threshold !== undefined ? Number(values.threshold) : undefined;
  const threads = values.threads !== undefined ? Number(values.threads) : 1;
  const evaluateCount = values.evaluate !== undefined ? Number(values.evaluate) : undefined;
  const size = /^(\d+)x(\d+)$/.exec(values.size ?? '1024x512');
  const problems = [
    polarity !== 'transmission' &&
      polarity !== 'attenuation' &&
      `--polarity must be transmission or attenuation; got '${polarity}'`,
    threshold !== undefined &&
      !(threshold > 0) &&
      `--threshold must be a positive number; got '${values.threshold}'`,
    !(Number.isInteger(threads) && threads >= 1) &&
      `--threads must be a whole number ≥ 1; got '${values.threads}'`,
    evaluateCount !== undefined &&
      !(Number.isInteger(evaluateCount) && evaluateCount > 0) &&
      `--evaluate needs a whole number of scans; got '${values.evaluate}'`,
    !size && `--size must look like 1024x512; got '${values.size}'`,
    !values['build-model'] &&
      evaluateCount === undefined &&
      positionals.length === 0 &&
      'analyze needs a scan file (or --evaluate, --build-model)',
  ].filter((p): p is string => typeof p === 'string');
  if (problems.length > 0) {
    ctx.stderr.write(`${problems.join('\n')}\n\n${analyzeUsage}\n`);
    return 2;
  }
  try {
    if (values['build-model']) {
      const fitted = buildDefaultModel();
      const { defaultModelPath } = await import('../../imaging/model-store.js');
      await writeFile(defaultModelPath(), fitted.bytes);
      ctx.stdout.write(`${defaultModelPath()}\nsha256 ${fitted.sha256}\nopset ${fitted.opset}\n`);
      if (evaluateCount === undefined && positionals.length === 0) return 0;
    }
    const bytes = await loadModel(values.model, () => buildDefaultModel().bytes);
    const runner = await createWorkerRunner(bytes, { threads });
    try {
      const analyzer = createAnalyzer({ runner, ...(threshold !== undefined ? { threshold } : {}) });
      if (evaluateCount !== undefined) {
        const report = await evaluate(analyzer, {
          scans: evaluateCount,
          width: Number(size![1]),
          height: Number(size![2]),
          onProgress: (n) => {
            if (n % 25 === 0) ctx.stderr.write(`evaluate: ${n}/${evaluateCount}\n`);
          },
        });
        ctx.stdout.write(
          JSON.stringify({ type: 'imaging.evaluation', modelId: runner.info.id, ...report }, null, 2) + '\n',
        );
        return 0;
      }
      const read = await readScanFiles(positionals, { polarity: polarity as 'transmission' | 'attenuation' });
      const analysis = await analyzer.analyze(read.scan, Math.round(read.decodeMs * 100) / 100);
      if (values.overlay !== undefined) await writeFile(values.overlay, await overlayPng(analysis));
      const d = analysis.data;
      if (values.json) ctx.stdout.write(JSON.stringify({ type: 'imaging.scan.analyzed', ...d }) + '\n');
      else {
        ctx.stdout.write(
          `${d.scanId}: ${d.image.width} × ${d.image.height} (${d.image.energies.join(' + ')}), model ${d.model.id}, ` +
            `${d.regions.length} anomaly region(s), ${d.shieldingSuspects.length} shielding suspect(s), max score ${d.maxScore}, ${d.timings.totalMs.toFixed(0)} ms\n`,
        );
        for (const r of d.regions)
          ctx.stdout.write(`  region    x=${r.x} y=${r.y} ${r.width}×${r.height} score ${r.score}\n`);
        for (const r of d.shieldingSuspects)
          ctx.stdout.write(`  shielding x=${r.x} y=${r.y} ${r.width}×${r.height} score ${r.score}\n`);
      }
      return 0;
    } finally {
      await runner.close();
    }
  } catch (error) {
    if (error instanceof GatewayError) {
      ctx.stderr.write(`analyze: ${error.code}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
