/**
 * The argument handling every command shares: parse with `node:util` parseArgs, answer a usage
 * error with the message and the usage on stderr (exit 2), and `--help` with the usage on
 * stdout (exit 0). A command then only reads its values.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { describeError } from '../core/errors.js';
import type { CommandContext } from './context.js';

export type ParsedArgs<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>;

/**
 * Parse `config` (which must declare `help`); returns the parsed arguments, or the exit code when
 * the command is already answered (a usage error, or `--help`).
 */
export function parseCommandArgs<T extends ParseArgsConfig>(
  config: T,
  usage: string,
  ctx: CommandContext,
  prefix = '',
): ParsedArgs<T> | number {
  let parsed: ParsedArgs<T>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    ctx.stderr.write(`${prefix}${describeError(error)}\n\n${usage}\n`);
    return 2;
  }
  if ((parsed.values as { help?: boolean }).help === true) {
    ctx.stdout.write(usage + '\n');
    return 0;
  }
  return parsed;
}
