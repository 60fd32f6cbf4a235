import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { DEFAULT_TRAINING_CONFIG, trainClassifier } from '../../alarm/classifier/train.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../context.js';

export const trainClassifierUsage = `Usage: rpm-gateway train-classifier [options]

Builds the optional alarm classifier (SPEC §3 step 4, issue 4) from simulated lanes: simulates
labelled occupancies, trains a small network in TypeScript (seeded, deterministic), exports it
as an ONNX graph and writes its model card (sha256, seed, config, held-out accuracy) beside it.
The same options always give the same file and sha256.

Options:
  --out <file>   the .onnx to write (default models/alarm-category-refiner.onnx); the card
                 goes to the same name with .json
  --seed <text>  training seed (default ${DEFAULT_TRAINING_CONFIG.mlp.seed})`;

export async function trainClassifierCommand(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    {
      args: [...args],
      options: {
        out: { type: 'string', short: 'o' },
        seed: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    trainClassifierUsage,
    ctx,
  );
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  const out = resolve(values.out ?? 'models/alarm-category-refiner.onnx');
  if (!out.endsWith('.onnx')) {
    ctx.stderr.write(`--out must name a .onnx file; got ${out}\n`);
    return 2;
  }
  const config =
    values.seed === undefined
      ? DEFAULT_TRAINING_CONFIG
      : { ...DEFAULT_TRAINING_CONFIG, mlp: { ...DEFAULT_TRAINING_CONFIG.mlp, seed: values.seed } };
  const started = performance.now();
  const { onnx, card } = trainClassifier(config, basename(out));
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, onnx);
  const cardPath = out.replace(/\.onnx$/, '.json');
  await writeFile(cardPath, JSON.stringify(card, null, 2) + '\n');
  const h = card.holdout;
  ctx.stdout.write(
    [
      `wrote ${out} (${card.bytes} bytes) and ${cardPath}`,
      `sha256 ${card.sha256}`,
      `trained on ${card.training.samples} alarming occupancies (seed ${config.mlp.seed}), ` +
        `loss ${card.training.initialLoss} → ${card.training.finalLoss}`,
      `held-out (${h.samples} alarming occupancies, seeds ${config.holdoutSeeds.join(', ')}): ` +
        `accuracy ${pct(h.classifierAccuracy)} (rules alone ${pct(h.ruleAccuracy)})`,
      `${((performance.now() - started) / 1000).toFixed(1)} s`,
    ].join('\n') + '\n',
  );
  return 0;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}
