/**
 * Load a YAML configuration: parse, substitute secrets from the environment, apply defaults,
 * validate against the schema, then check what a schema cannot (unique lane ids, addresses
 * that fit the driver, channel orders that are permutations). All problems are reported at once.
 */
import { readFile } from 'node:fs/promises';
import { ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { GatewayError } from '../core/errors.js';
import { parseDeviceAddress } from '../drivers/transport/uri.js';
import {
  closestName,
  explainSchemaError,
  formatProblems,
  readablePath,
  type ConfigProblem,
} from './explain.js';
import {
  GatewayConfigSchema,
  ModbusOptionsSchema,
  type GatewayConfig,
  type ModbusOptions,
} from './schema.js';

export type LoadResult =
  | { readonly ok: true; readonly config: GatewayConfig }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Parse and validate configuration text. Never throws for bad content: problems are returned. */
export function parseConfig(text: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  if (document.errors.length > 0) {
    return {
      ok: false,
      problems: document.errors.map((e) => ({
        path: '(YAML)',
        line: lineCounter.linePos(e.pos[0]).line,
        message: `is not valid YAML: ${e.message.split('\n')[0]}`,
      })),
    };
  }
  const problems: ConfigProblem[] = [];
  const lineOf = (pointer: string) => lineOfPointer(document, lineCounter, pointer);

  const raw: unknown = substituteEnv(document.toJS(), env, '', (pointer, name) =>
    problems.push({
      path: readablePath(pointer),
      line: lineOf(pointer),
      message: `refers to the environment variable ${name}, which is not set`,
    }),
  );
  return validateConfig(raw, lineOf, problems);
}

/**
 * Validate an already-parsed configuration object (the demo builds one in memory): defaults,
 * schema, then the checks a schema cannot express.
 */
export function validateConfig(
  raw: unknown,
  lineOf: (pointer: string) => number | undefined = () => undefined,
  problems: ConfigProblem[] = [],
): LoadResult {
  if (raw === null || typeof raw !== 'object') {
    return {
      ok: false,
      problems: [{ path: '(top level)', message: 'must be a section of settings (site, lanes, …)' }],
    };
  }

  const withDefaults = Value.Default(GatewayConfigSchema, numbersAsText(Value.Clone(raw)));
  const missing = new Set<string>();
  for (const error of Value.Errors(GatewayConfigSchema, withDefaults)) {
    // A missing required value also fails its type check: say it once.
    if (error.value === undefined) {
      if (missing.has(error.path)) continue;
      missing.add(error.path);
    }
    const { path, message } = explainSchemaError(error);
    let text = message;
    if (error.type === ValueErrorType.ObjectAdditionalProperties) {
      const key = error.path.split('/').pop() ?? '';
      const known = Object.keys((error.schema as { properties?: object }).properties ?? {});
      const suggestion = closestName(key, known);
      if (suggestion) text += ` (did you mean '${suggestion}'?)`;
    }
    problems.push({ path, line: lineOf(error.path), message: text });
  }
  // The checks a schema cannot express run even on a document with schema errors, so a
  // technician sees every problem in one go; they skip values of the wrong type.
  problems.push(...semanticProblems(withDefaults as GatewayConfig, lineOf));
  if (problems.length > 0) return { ok: false, problems: dedupe(problems) };

  const config = withDefaults as GatewayConfig;
  for (const lane of config.lanes) {
    if (lane.driver === 'modbus-rpm')
      lane.modbus = Value.Default(ModbusOptionsSchema, lane.modbus ?? {}) as ModbusOptions;
  }
  return { ok: true, config };
}

/** Read, parse and validate a configuration file; throws a GatewayError listing every problem. */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new GatewayError(
      'CONFIG_UNREADABLE',
      `cannot read configuration file ${file}`,
      { file },
      { cause },
    );
  }
  const result = parseConfig(text, env);
  if (!result.ok) {
    throw new GatewayError('CONFIG_INVALID', formatProblems(file, result.problems), {
      file,
      problems: result.problems,
    });
  }
  return result.config;
}

function semanticProblems(
  config: GatewayConfig,
  lineOf: (pointer: string) => number | undefined,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Map<string, number>();
  const lanes: unknown = (config as { lanes?: unknown }).lanes;
  if (!Array.isArray(lanes)) return problems;
  lanes.forEach((entry: unknown, i) => {
    if (entry === null || typeof entry !== 'object') return;
    const lane = entry as Record<string, unknown>;
    const at = (field: string) => ({ path: `lanes[${i}].${field}`, line: lineOf(`/lanes/${i}/${field}`) });
    if (typeof lane.id === 'string') {
      const first = seen.get(lane.id);
      if (first !== undefined) {
        problems.push({
          ...at('id'),
          message: `'${lane.id}' is already used by lanes[${first}]; lane ids must be unique`,
        });
      } else {
        seen.set(lane.id, i);
      }
    }
    const driver = lane.driver === 'vm250' || lane.driver === 'modbus-rpm' ? lane.driver : undefined;
    if (typeof lane.address === 'string' && lane.address !== '') {
      let kind: string | undefined;
      try {
        kind = parseDeviceAddress(lane.address).kind;
      } catch (error) {
        problems.push({ ...at('address'), message: error instanceof Error ? error.message : String(error) });
      }
      const expected = driver === 'vm250' ? ['tcp', 'serial'] : ['modbus-tcp', 'modbus-rtu'];
      if (driver !== undefined && kind !== undefined && !expected.includes(kind)) {
        problems.push({
          ...at('address'),
          message: `is a ${kind}:// address, but a ${driver} lane needs ${expected.map((k) => `${k}://`).join(' or ')}`,
        });
      }
    }
    const order = lane.channelOrder;
    if (Array.isArray(order) && order.every((n) => typeof n === 'number')) {
      if ([...order].sort().join(',') !== '0,1,2,3') {
        problems.push({
          ...at('channelOrder'),
          message: `must name each wire position 0, 1, 2, 3 exactly once; got [${order.join(', ')}]`,
        });
      }
    }
    if (order !== undefined && driver === 'modbus-rpm') {
      problems.push({
        ...at('channelOrder'),
        message: 'applies to vm250 lanes only (a Modbus RPM has one gamma channel)',
      });
    }
    if (lane.modbus !== undefined && driver === 'vm250') {
      problems.push({ ...at('modbus'), message: 'applies to modbus-rpm lanes only' });
    }
    const plcAddress = (lane.scanner as { plc?: { address?: unknown } } | undefined)?.plc?.address;
    if (typeof plcAddress === 'string' && /^modbus-(tcp|rtu):\/\//.test(plcAddress)) {
      try {
        parseDeviceAddress(plcAddress);
      } catch (error) {
        problems.push({
          path: `lanes[${i}].scanner.plc.address`,
          line: lineOf(`/lanes/${i}/scanner/plc/address`),
          message: error instanceof Error ? error.message : String(error),
        });
      }
    }
  });
  return problems;
}

function substituteEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  pointer: string,
  missing: (pointer: string, name: string) => void,
): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REFERENCE, (_match, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined) return found;
      if (fallback !== undefined) return fallback;
      missing(pointer, name);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, `${pointer}/${i}`, missing));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, `${pointer}/${k}`, missing)]),
    );
  }
  return value;
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}|${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The YAML line where the value at a JSON pointer sits (or its nearest existing parent). */
function lineOfPointer(document: Document, counter: LineCounter, pointer: string): number | undefined {
  const parts = pointer.split('/').slice(1);
  let node: Node | null | undefined = document.contents;
  let last: Node | null | undefined = node;
  for (const part of parts) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === part);
      if (!pair) break;
      last = (pair.key as Node) ?? last;
      node = pair.value as Node | null;
    } else if (isSeq(node)) {
      node = node.items[Number(part)] as Node | null;
    } else {
      break;
    }
    if (node) last = node;
  }
  const range = last?.range;
  return range ? counter.linePos(range[0]).line : undefined;
}

/**
 * Settings whose values are text but read naturally as numbers in YAML: `mqtt.protocol: 5` is
 * the protocol '5' (3.1.1 is text in YAML anyway).
 */
function numbersAsText(raw: object): object {
  const mqtt = (raw as { mqtt?: unknown }).mqtt;
  if (typeof mqtt === 'object' && mqtt !== null && (mqtt as { protocol?: unknown }).protocol === 5)
    (mqtt as { protocol: unknown }).protocol = '5';
  return raw;
}
