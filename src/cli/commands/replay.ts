import { replay, type ReplayOptions } from '../../app/replay.js';
import { createN42ReplayObserver, type N42ReplayObserver } from '../../bridge/n42/n42-replay-observer.js';
import { silentLogger } from '../../core/logger.js';
import { GatewayError, describeError } from '../../core/errors.js';
import { loadConfig } from '../../config/load.js';
import { loadClassifier } from '../../alarm/classifier/load.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../context.js';
import type { Readable, Writable } from 'node:stream';

export const replayUsage = `Usage: rpm-gateway replay <file|-> [options]

Runs a recorded VM-250 stream or daily file through the gateway's pipeline, offline, as fast
as it goes. Prints one JSON object per line on stdout for each completed occupancy (and for
faults, tamper and device restarts), and a summary on stderr. Malformed input is counted,
never fatal. Use - to read standard input.

Options:
  --lane <id>          lane id in the records (default: replay); with --config, the lane
                       whose settings (channelOrder, alarm.nSigma) to use
  --config <file>      take lane settings, and the alarm classifier if it names one, from a
                       gateway configuration
  --date <YYYY-MM-DD>  the day the file starts (default: a date in the file name, else the
                       file's modification date)
  --utc-offset <min>   the logger's offset from UTC in minutes, east positive (default 0)
  --n-sigma <n>        gamma alarm threshold in standard deviations (default 6)
  --n42 <dir>          also write one ANSI N42.42 document per occupancy into <dir>
                       (<lane>-<index>.n42; <lane>-<index>-<seq>.n42 when an index repeats)
  --quiet              no summary on stderr`;

export async function replayCommand(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    {
      args: [...args],
      allowPositionals: true,
      options: {
        lane: { type: 'string' },
        config: { type: 'string', short: 'c' },
        date: { type: 'string' },
        'utc-offset': { type: 'string' },
        'n-sigma': { type: 'string' },
        n42: { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    replayUsage,
    ctx,
  );
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    ctx.stderr.write(`replay needs exactly one input file (or -)\n\n${replayUsage}\n`);
    return 2;
  }
  const options: ReplayOptions = {};
  let n42: N42ReplayObserver | null = null;
  try {
    if (values.lane !== undefined) options.lane = values.lane;
    if (values.date !== undefined) options.baseDate = values.date;
    if (values['utc-offset'] !== undefined)
      options.utcOffsetMinutes = numberOption('--utc-offset', values['utc-offset']);
    if (values.config !== undefined) {
      const config = await loadConfig(values.config, ctx.env);
      const lane =
        values.lane === undefined ? config.lanes[0] : config.lanes.find((l) => l.id === values.lane);
      if (!lane) throw new GatewayError('CLI_USAGE', `no lane '${values.lane}' in ${values.config}`);
      options.lane = lane.id;
      options.nSigma = lane.alarm.nSigma;
      if (lane.channelOrder) options.channelOrder = lane.channelOrder;
      const refiner = await loadClassifier(config.classifier);
      if (refiner !== undefined) options.refiner = refiner;
    }
    if (values['n-sigma'] !== undefined) options.nSigma = numberOption('--n-sigma', values['n-sigma']);
    if (values.n42 !== undefined) {
      n42 = createN42ReplayObserver({
        dir: values.n42,
        lane: options.lane ?? 'replay',
        site: 'replay',
        version: 'replay',
        logger: silentLogger,
      });
      options.observer = n42;
    }
  } catch (error) {
    ctx.stderr.write(`${error instanceof GatewayError ? error.message : describeError(error)}\n`);
    return 2;
  }

  const input = positionals[0] === '-' ? (ctx.stdin as Readable) : positionals[0]!;
  try {
    const summary = await replay(input, ctx.stdout as Writable, options);
    if (!values.quiet) {
      const bad = { ...summary.malformed, ...summary.badInput };
      const badCount = Object.values(bad).reduce((a, b) => a + b, 0);
      ctx.stderr.write(
        `replay: ${summary.lines} lines, ${summary.occupancies} occupancies ` +
          `(${summary.gammaAlarms} gamma alarms, ${summary.neutronAlarms} neutron alarms, ` +
          `${summary.abnormalEnds} ended abnormally), ${badCount} bad lines, ` +
          `${Object.values(summary.unknownTags).reduce((a, b) => a + b, 0)} unknown-tag lines; ` +
          `base date ${summary.baseDate} (${summary.baseDateSource}); ${summary.durationMs.toFixed(0)} ms` +
          (n42 === null
            ? ''
            : `; ${n42.written} N42 documents in ${values.n42}${n42.failed ? ` (${n42.failed} failed)` : ''}`) +
          '\n',
      );
    }
    return 0;
  } catch (error) {
    if (error instanceof GatewayError) {
      ctx.stderr.write(`replay: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

function numberOption(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value)) throw new GatewayError('CLI_USAGE', `${name} must be a number; got '${text}'`);
  return value;
}
