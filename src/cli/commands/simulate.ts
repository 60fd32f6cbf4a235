import { describeError } from '../../core/errors.js';
import {
  OCCUPANCY_KINDS,
  generateScenario,
  type KindWeights,
  type OccupancyKind,
} from '../../../simulators/physics/scenario.js';
import { summedPortal } from '../../../simulators/physics/portal.js';
import { writeDailyFile } from '../../../simulators/vm250/daily-file.js';
import { Vm250SerialSim } from '../../../simulators/vm250/serial-sim.js';
import { Vm250TcpServer } from '../../../simulators/vm250/tcp-server.js';
import { startModbusRpmTcpServer } from '../../../simulators/modbus-rpm/tcp-server.js';
import { startModbusRpmRtuSlave } from '../../../simulators/modbus-rpm/rtu-slave.js';
import { createPtyPair } from '../../drivers/transport/pty-pair.js';
import type { Vm250OccupancyTruth } from '../../../simulators/vm250/stream.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../context.js';

export const simulateUsage = `Usage: rpm-gateway simulate <device> [options]

Runs one device simulator on its own, speaking the real protocol — for bench tests of this
gateway, of another gateway, or of a real device's counterpart. Runs until Ctrl-C, or until
--occupancies vehicles have passed (VM-250).

Devices and transports:
  simulate vm250 --tcp <port>            VM-250 ASCII stream as a TCP server (0 = any free port)
  simulate vm250 --serial                the same stream on a new serial pseudo-terminal pair
  simulate vm250 --device <path>         the same stream written to an existing serial port
  simulate vm250 --daily-file <path>     write a VM-250 daily file (+ <path>.truth.ndjson) and exit
  simulate modbus-rpm --tcp <port>       Aspect-style Modbus RPM as a Modbus TCP server
  simulate modbus-rpm --rtu              the same as a Modbus RTU slave on a new pty pair

Options:
  --seed <n>             random seed (default 1); the same seed gives the same traffic
  --mix <kind=w,…>       traffic mix, kinds: ${OCCUPANCY_KINDS.join(', ')}
  --host <addr>          address to listen on (default 127.0.0.1; 0.0.0.0 for another machine)
  --occupancies <n>      vm250: vehicles to simulate (default: endless; 1000 for --daily-file)
  --speed <x>            vm250: play x times faster than real time (default 1)
  --truth                vm250: print the ground truth of each occupancy as NDJSON on stdout
  --start-time <HH:MM:SS>  vm250 daily file: time of day of the first line (default 00:00:00)
  --unit-id <n>          modbus-rpm: Modbus unit id to answer (default: any)`;

interface SimulateValues {
  tcp?: string | undefined;
  serial?: boolean | undefined;
  rtu?: boolean | undefined;
  device?: string | undefined;
  'daily-file'?: string | undefined;
  seed?: string | undefined;
  occupancies?: string | undefined;
  mix?: string | undefined;
  speed?: string | undefined;
  host?: string | undefined;
  'unit-id'?: string | undefined;
  'start-time'?: string | undefined;
  truth?: boolean | undefined;
  help?: boolean | undefined;
}

class UsageError extends Error {}

export async function simulateCommand(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    {
      args: [...args],
      allowPositionals: true,
      options: {
        tcp: { type: 'string' },
        serial: { type: 'boolean' },
        rtu: { type: 'boolean' },
        device: { type: 'string' },
        'daily-file': { type: 'string' },
        seed: { type: 'string' },
        occupancies: { type: 'string' },
        mix: { type: 'string' },
        speed: { type: 'string' },
        host: { type: 'string' },
        'unit-id': { type: 'string' },
        'start-time': { type: 'string' },
        truth: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    simulateUsage,
    ctx,
    'simulate: ',
  );
  if (typeof parsed === 'number') return parsed;
  const values: SimulateValues = parsed.values;
  const device = parsed.positionals[0];
  try {
    if (parsed.positionals.length !== 1) throw new UsageError('name one device: vm250 or modbus-rpm');
    if (device === 'vm250') return await simulateVm250(values, ctx);
    if (device === 'modbus-rpm') return await simulateModbus(values, ctx);
    throw new UsageError(`unknown device '${device}'; the simulators are vm250 and modbus-rpm`);
  } catch (error) {
    if (error instanceof UsageError) {
      ctx.stderr.write(`simulate: ${describeError(error)}\n\n${simulateUsage}\n`);
      return 2;
    }
    ctx.stderr.write(`simulate: ${describeError(error)}\n`);
    return 1;
  }
}

async function simulateVm250(values: SimulateValues, ctx: CommandContext): Promise<number> {
  const transports = [
    values.tcp !== undefined,
    values.serial,
    values.device !== undefined,
    values['daily-file'] !== undefined,
  ];
  if (transports.filter(Boolean).length !== 1) {
    throw new UsageError(
      'vm250 needs exactly one of --tcp <port>, --serial, --device <path>, --daily-file <path>',
    );
  }
  const seed = integer('--seed', values.seed ?? '1');
  const mix = values.mix === undefined ? undefined : parseMix(values.mix);
  const occupancies =
    values.occupancies === undefined ? undefined : integer('--occupancies', values.occupancies);
  const stream = { seed, ...(mix ? { mix } : {}), ...(occupancies === undefined ? {} : { occupancies }) };

  if (values['daily-file'] !== undefined) {
    const result = await writeDailyFile({
      ...stream,
      occupancies: occupancies ?? 1000,
      path: values['daily-file'],
      ...(values['start-time'] === undefined ? {} : { startTime: values['start-time'] }),
    });
    ctx.stdout.write(
      `wrote ${result.path}: ${result.lines} lines, ${result.occupancies} occupancies ` +
        `(${result.corruptLines} corrupt lines); ground truth in ${result.truthPath}\n`,
    );
    return 0;
  }

  const pacing = { speed: values.speed === undefined ? 1 : positive('--speed', values.speed) };
  const sim =
    values.tcp !== undefined
      ? new Vm250TcpServer({
          ...stream,
          ...pacing,
          port: integer('--tcp', values.tcp),
          host: values.host ?? '127.0.0.1',
        })
      : new Vm250SerialSim({
          ...stream,
          ...pacing,
          ...(values.device === undefined ? {} : { devicePath: values.device }),
        });
  sim.on('error', (error) => ctx.stderr.write(`simulate: ${error.message}\n`));
  if (values.truth)
    sim.on('occupancy', (truth: Vm250OccupancyTruth) => ctx.stdout.write(JSON.stringify(truth) + '\n'));
  const done = new Promise<void>((resolve) => sim.once('done', () => resolve()));
  if (sim instanceof Vm250TcpServer) {
    const { host, port } = await sim.start();
    ctx.stderr.write(`VM-250 simulator listening on tcp://${host}:${port} (seed ${seed}); Ctrl-C to stop\n`);
  } else {
    const { path } = await sim.start();
    ctx.stderr.write(`VM-250 simulator on serial://${path} (seed ${seed}); Ctrl-C to stop\n`);
  }
  await untilStopped(ctx, done);
  await sim.stop();
  return 0;
}

async function simulateModbus(values: SimulateValues, ctx: CommandContext): Promise<number> {
  if ((values.tcp !== undefined) === Boolean(values.rtu))
    throw new UsageError('modbus-rpm needs exactly one of --tcp <port>, --rtu');
  // The Modbus RPM is polled: it keeps the wall clock and runs until stopped.
  for (const vm250Only of ['occupancies', 'speed', 'truth', 'start-time', 'daily-file'] as const)
    if (values[vm250Only] !== undefined)
      throw new UsageError(
        `--${vm250Only} is for the vm250 simulator; modbus-rpm takes --seed, --mix, --host, --unit-id`,
      );
  const seed = integer('--seed', values.seed ?? '1');
  const mix = values.mix === undefined ? undefined : parseMix(values.mix);
  const unitId = values['unit-id'] === undefined ? undefined : integer('--unit-id', values['unit-id']);
  const model = {
    seed,
    scenario: generateScenario({ seed, portal: summedPortal(), ...(mix ? { mix } : {}) }),
    ...(unitId === undefined ? {} : { unitId }),
  };
  if (values.tcp !== undefined) {
    const server = await startModbusRpmTcpServer({
      ...model,
      host: values.host ?? '127.0.0.1',
      port: integer('--tcp', values.tcp),
    });
    ctx.stderr.write(
      `Modbus RPM simulator on modbus-tcp://${server.host}:${server.port} (seed ${seed}); Ctrl-C to stop\n`,
    );
    await untilStopped(ctx);
    await server.close();
    return 0;
  }
  const pair = await createPtyPair();
  try {
    const slave = await startModbusRpmRtuSlave({ ...model, path: pair.a });
    ctx.stderr.write(
      `Modbus RPM simulator (RTU, 19200 8E1) on modbus-rtu://${pair.b} (seed ${seed}); Ctrl-C to stop\n`,
    );
    await untilStopped(ctx);
    await slave.close();
  } finally {
    await pair.close();
  }
  return 0;
}

function untilStopped(ctx: CommandContext, done?: Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    if (ctx.stopSignal.aborted) return resolve();
    ctx.stopSignal.addEventListener('abort', () => resolve(), { once: true });
    void done?.then(resolve);
  });
}

function integer(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new UsageError(`${name} must be a whole number; got '${text}'`);
  return value;
}

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new UsageError(`${name} must be a positive number; got '${text}'`);
  return value;
}

/** `norm=2,threat=0.1` → weights; every kind must be known. */
export function parseMix(text: string): KindWeights {
  const weights: Partial<Record<OccupancyKind, number>> = {};
  for (const part of text.split(',')) {
    const [kind, weight] = part.split('=');
    if (!kind || !(OCCUPANCY_KINDS as readonly string[]).includes(kind)) {
      throw new UsageError(`--mix: unknown kind '${kind ?? ''}'; kinds are ${OCCUPANCY_KINDS.join(', ')}`);
    }
    const w = Number(weight);
    if (!Number.isFinite(w) || w < 0)
      throw new UsageError(`--mix: weight of ${kind} must be a number ≥ 0; got '${weight ?? ''}'`);
    weights[kind as OccupancyKind] = w;
  }
  return weights;
}
