import { SystemClock } from '../../core/clock.js';
import { GatewayError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { loadConfig } from '../../config/load.js';
import { createGateway } from '../../app/gateway.js';
import { loadClassifier } from '../../alarm/classifier/load.js';
import { createNdjsonWriter } from '../ndjson-writer.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../context.js';

export const runUsage = `Usage: rpm-gateway run --config <file>

Runs the gateway: connects to every enabled lane of the configuration and writes one NDJSON
record per completed occupancy (and per fault, tamper, device restart) on stdout. Logs go to
stderr as JSON lines. Stops cleanly on Ctrl-C or SIGTERM.`;

export async function runCommand(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    {
      args: [...args],
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    },
    runUsage,
    ctx,
  );
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  if (!values.config) {
    ctx.stderr.write(`run needs --config <file>\n\n${runUsage}\n`);
    return 2;
  }
  let config;
  let refiner;
  try {
    config = await loadConfig(values.config, ctx.env);
    refiner = await loadClassifier(config.classifier);
  } catch (error) {
    if (error instanceof GatewayError) {
      ctx.stderr.write(
        `${error.message}\nThe gateway did not start. Check the file with: rpm-gateway check-config ${values.config}\n`,
      );
      return 1;
    }
    throw error;
  }
  const logger = createLogger({ level: config.log.level, sink: ctx.stderr });
  const out = createNdjsonWriter(ctx.stdout);
  const gateway = createGateway(config, {
    clock: new SystemClock(),
    logger,
    output: out.write,
    ...(refiner === undefined ? {} : { refiner }),
  });
  if (config.classifier) logger.info('alarm classifier loaded', { model: config.classifier.model });
  await gateway.start();
  await new Promise<void>((resolve) => {
    if (ctx.stopSignal.aborted) resolve();
    ctx.stopSignal.addEventListener('abort', () => resolve(), { once: true });
  });
  await gateway.stop();
  await out.close();
  return 0;
}
