import { writeFile } from 'node:fs/promises';
import { evaluate, type QualityReport } from '../../app/evaluate.js';
import { qualityCaption, qualityDocument, qualityTable } from '../../app/evaluate-report.js';
import { describeError } from '../../core/errors.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../context.js';

export const evaluateUsage = `Usage: rpm-gateway evaluate [options]

Scores the alarm pipeline on simulated VM-250 traffic with ground truth (issue 4): false alarms
on background-only vehicles, threats, neutron sources, NORM released, medical categorized —
each beside the device's own N-sigma verdict on the same vehicles. Prints the quality table.

Options:
  --occupancies <n>   simulated occupancies (default 4200)
  --seed <s>          seed prefix; lane k uses <s>-k (default quality)
  --faults            simulated detector faults on (p = 0.05 per occupancy)
  --json              the report as JSON instead of the table
  --doc <file>        evaluate with faults off and on, and write both tables and the method
                      as Markdown to <file> (docs/alarm-quality.md)`;

export async function evaluateCommand(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    {
      args: [...args],
      options: {
        occupancies: { type: 'string' },
        seed: { type: 'string' },
        faults: { type: 'boolean' },
        json: { type: 'boolean' },
        doc: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    evaluateUsage,
    ctx,
  );
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  const occupancies = values.occupancies === undefined ? 4200 : Number(values.occupancies);
  if (!Number.isInteger(occupancies) || occupancies < 1 || occupancies > 10_000_000) {
    ctx.stderr.write(`--occupancies must be a whole number from 1, not '${values.occupancies}'\n`);
    return 2;
  }
  const seed = values.seed ?? 'quality';
  const variants = values.doc !== undefined ? [false, true] : [values.faults === true];
  const reports: QualityReport[] = variants.map((faults) => evaluate({ occupancies, seed, faults }));
  if (values.json) {
    ctx.stdout.write(JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2) + '\n');
  } else {
    for (const r of reports) ctx.stdout.write(`${qualityCaption(r)}\n\n${qualityTable(r)}\n\n`);
  }
  if (values.doc !== undefined) {
    const command = `rpm-gateway evaluate --occupancies ${occupancies} --seed ${seed} --doc ${values.doc}`;
    try {
      await writeFile(values.doc, qualityDocument(reports, command));
    } catch (error) {
      ctx.stderr.write(`could not write ${values.doc}: ${describeError(error)}\n`);
      return 1;
    }
    ctx.stderr.write(`wrote ${values.doc}\n`);
  }
  return 0;
}
