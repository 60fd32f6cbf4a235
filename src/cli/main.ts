#!/usr/bin/env node
/**
 * rpm-gateway — one executable, one sub-command per job (SPEC §5). Each command lives in its own
 * module and is loaded only when asked for, so `replay` does not pay for serial ports and
 * `check-config` starts instantly.
 */
import { readFileSync } from 'node:fs';
import type { CommandContext } from './context.js';

type Command = (args: readonly string[], ctx: CommandContext) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  run: {
    summary: 'run the gateway with a configuration file',
    load: async () => (await import('./commands/run.js')).runCommand,
  },
  demo: {
    summary: 'simulated lanes and the gateway, on embedded defaults',
    load: async () => (await import('./commands/demo.js')).demoCommand,
  },
  simulate: {
    summary: 'run one device simulator on its own (bench tests)',
    load: async () => (await import('./commands/simulate.js')).simulateCommand,
  },
  replay: {
    summary: 'run a recorded VM-250 stream or daily file through the pipeline, NDJSON out',
    load: async () => (await import('./commands/replay.js')).replayCommand,
  },
  analyze: {
    summary: 'run the imaging pipeline on scan files (regions, shielding suspects, overlay)',
    load: async () => (await import('./commands/analyze.js')).analyzeCommand,
  },
  evaluate: {
    summary: 'score the alarm pipeline on simulated traffic with ground truth (quality table)',
    load: async () => (await import('./commands/evaluate.js')).evaluateCommand,
  },
  'check-config': {
    summary: 'validate a configuration file and explain every problem',
    load: async () => (await import('./commands/check-config.js')).checkConfigCommand,
  },
  'train-classifier': {
    summary: 'build the optional alarm classifier from simulated lanes (ONNX + model card)',
    load: async () => (await import('./commands/train-classifier.js')).trainClassifierCommand,
  },
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  return [
    'Usage: rpm-gateway <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `rpm-gateway <command> --help` for the options of one command.',
  ].join('\n');
}

export async function main(argv: readonly string[], ctx: CommandContext): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    ctx.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    ctx.stdout.write(version() + '\n');
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    ctx.stderr.write(`rpm-gateway: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  return (await command.load())(rest, ctx);
}

const isEntryPoint = process.argv[1] !== undefined && import.meta.url.endsWith('/cli/main.js');
if (isEntryPoint) {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) process.exit(130); // a second Ctrl-C means "now"
    process.stderr.write(`\n${signal}: stopping…\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  main(process.argv.slice(2), {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    stopSignal: controller.signal,
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(
        `rpm-gateway: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
