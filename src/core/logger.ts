/**
 * A small structured logger: one JSON object per line on stderr (stdout belongs to command
 * output such as replay's NDJSON). Secrets never go in `fields`.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
}

export interface LogSink {
  write(line: string): unknown;
}

export function createLogger(
  options: { level?: LogLevel; sink?: LogSink; bindings?: Record<string, unknown> } = {},
): Logger {
  const threshold = LEVEL_RANK[options.level ?? 'info'];
  const sink = options.sink ?? process.stderr;
  const bindings = options.bindings ?? {};
  const emit = (level: Exclude<LogLevel, 'silent'>, message: string, fields?: Record<string, unknown>) => {
    if (LEVEL_RANK[level] < threshold) return;
    sink.write(
      JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...bindings, ...fields }) + '\n',
    );
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (more) => createLogger({ ...options, bindings: { ...bindings, ...more } }),
  };
}

/** A logger that drops everything (tests, and replay's quiet mode). */
export const silentLogger: Logger = createLogger({ level: 'silent' });

/** A logger that keeps records in memory, for tests that assert something was logged. */
export function createMemoryLogger(): Logger & { records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    level: 'debug',
    sink: { write: (line: string) => records.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return Object.assign(logger, { records });
}
