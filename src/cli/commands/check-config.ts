import { readFile } from 'node:fs/promises';
import { formatProblems } from '../../config/explain.js';
import { parseConfig } from '../../config/load.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../context.js';

export const checkConfigUsage = `Usage: rpm-gateway check-config <file>

Validates a configuration file and explains every problem it finds, with the YAML line.
Exit status 0 when the file is valid, 1 when it is not, 2 when it cannot be read.`;

export async function checkConfigCommand(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    { args: [...args], allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } },
    checkConfigUsage,
    ctx,
  );
  if (typeof parsed === 'number') return parsed;
  const file = parsed.positionals[0];
  if (file === undefined || parsed.positionals.length > 1) {
    ctx.stderr.write(checkConfigUsage + '\n');
    return 2;
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    ctx.stderr.write(`cannot read ${file}: ${(error as Error).message}\n`);
    return 2;
  }
  const result = parseConfig(text, ctx.env);
  if (!result.ok) {
    const count = result.problems.length;
    ctx.stderr.write(
      `${formatProblems(file, result.problems)}\n${count} problem${count === 1 ? '' : 's'} found.\n`,
    );
    return 1;
  }
  const lanes = result.config.lanes;
  const enabled = lanes.filter((lane) => lane.enabled).length;
  ctx.stdout.write(
    `${file}: valid — site ${result.config.site}, ${lanes.length} lane${lanes.length === 1 ? '' : 's'} (${enabled} enabled)\n` +
      lanes.map((l) => `  ${l.id}: ${l.driver} at ${l.address}${l.enabled ? '' : ' (disabled)'}\n`).join(''),
  );
  return 0;
}
