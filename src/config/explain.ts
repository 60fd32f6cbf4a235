/**
 * Turns schema errors into sentences a technician can act on: where (YAML line and path),
 * what is wrong, and what would be right — every problem at once, not just the first.
 */
import type { TSchema } from '@sinclair/typebox';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';

export interface ConfigProblem {
  /** Path in the document, e.g. `lanes[1].address`. */
  readonly path: string;
  /** 1-based line in the YAML file, when known. */
  readonly line?: number;
  readonly message: string;
}

/** `/lanes/1/address` → `lanes[1].address` */
export function readablePath(pointer: string): string {
  if (pointer === '' || pointer === '/') return '(top level)';
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return `'${value.length > 60 ? value.slice(0, 57) + '…' : value}'`;
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (value !== null && typeof value === 'object') return 'a section';
  return JSON.stringify(value) ?? typeof value;
}

function literalChoices(schema: TSchema): string[] | undefined {
  const anyOf = (schema as { anyOf?: TSchema[] }).anyOf;
  if (!anyOf) return undefined;
  const choices = anyOf.map((s) => (s as { const?: unknown }).const);
  return choices.every((c) => typeof c === 'string') ? choices : undefined;
}

/** The closest known name, to suggest on a typo ("adress" → "address"). */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** One sentence for one schema error. */
export function explainSchemaError(error: ValueError): { path: string; message: string } {
  const path = readablePath(error.path);
  const schema = error.schema as TSchema & {
    description?: string;
    minimum?: number;
    maximum?: number;
    exclusiveMinimum?: number;
    minItems?: number;
    maxItems?: number;
    pattern?: string;
    minLength?: number;
    properties?: Record<string, unknown>;
  };
  const got = describeValue(error.value);
  const hint = schema.description ? ` (${schema.description})` : '';
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return { path, message: `is required but missing${hint}` };
    case ValueErrorType.ObjectAdditionalProperties: {
      return { path, message: 'is not a setting the gateway knows' };
    }
    case ValueErrorType.Union: {
      const choices = literalChoices(schema);
      return {
        path,
        message: choices
          ? `must be one of ${choices.join(', ')}; got ${got}`
          : `has the wrong form; got ${got}${hint}`,
      };
    }
    case ValueErrorType.Number:
    case ValueErrorType.Integer:
      return {
        path,
        message: `must be a ${error.type === ValueErrorType.Integer ? 'whole ' : ''}number; got ${got}`,
      };
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.IntegerMinimum:
      return { path, message: `must be at least ${schema.minimum}; got ${got}` };
    case ValueErrorType.NumberMaximum:
    case ValueErrorType.IntegerMaximum:
      return { path, message: `must be at most ${schema.maximum}; got ${got}` };
    case ValueErrorType.NumberExclusiveMinimum:
    case ValueErrorType.IntegerExclusiveMinimum:
      return { path, message: `must be greater than ${schema.exclusiveMinimum}; got ${got}` };
    case ValueErrorType.String:
      return { path, message: `must be text; got ${got}${hint}` };
    case ValueErrorType.StringPattern:
      return { path, message: `${got} is not allowed here${hint}` };
    case ValueErrorType.StringMinLength:
      return {
        path,
        message:
          typeof schema.minLength === 'number' && schema.minLength > 1
            ? `must be at least ${schema.minLength} characters long${hint}`
            : `must not be empty${hint}`,
      };
    case ValueErrorType.Boolean:
      return { path, message: `must be true or false; got ${got}` };
    case ValueErrorType.Array:
      return { path, message: `must be a list; got ${got}${hint}` };
    case ValueErrorType.ArrayMinItems:
      return {
        path,
        message: `needs at least ${schema.minItems} entr${schema.minItems === 1 ? 'y' : 'ies'}${hint}`,
      };
    case ValueErrorType.ArrayMaxItems:
      return { path, message: `may have at most ${schema.maxItems} entries${hint}` };
    case ValueErrorType.Object:
      return { path, message: `must be a section of settings; got ${got}` };
    default:
      return { path, message: `${error.message}; got ${got}` };
  }
}

export function formatProblems(file: string, problems: readonly ConfigProblem[]): string {
  return problems
    .map((p) => `${file}${p.line !== undefined ? `:${p.line}` : ''}: ${p.path} ${p.message}`)
    .join('\n');
}
