/**
 * Device addresses, as a technician writes them in the configuration (STYLE.md §2):
 *
 * - `tcp://host:1601` — the RPM is a TCP server, the gateway connects (SPEC §1.1).
 * - `serial:///dev/ttyS0?baudRate=9600&dataBits=8&parity=none&stopBits=1&rtscts=false`
 *   (`serial://COM3` on Windows). Defaults 9600 8N1, every setting overridable (SPEC §1.1).
 * - `modbus-tcp://host:502?unitId=1` (port defaults to 502, unit id to 1; SPEC §1.2).
 * - `modbus-rtu:///dev/ttyUSB0?baudRate=19200&unitId=1`.
 *
 * The parser is hand-written rather than `new URL()`: WHATWG URL answers every mistake with
 * "Invalid URL", and a technician at a lane needs to be told which part is wrong. All problems
 * in one address are reported at once.
 */
import { GatewayError } from '../../core/errors.js';

export type Parity = 'none' | 'even' | 'odd' | 'mark' | 'space';
export type DataBits = 5 | 6 | 7 | 8;
export type StopBits = 1 | 1.5 | 2;

export interface SerialSettings {
  readonly baudRate: number;
  readonly dataBits: DataBits;
  readonly parity: Parity;
  readonly stopBits: StopBits;
  /** RTS/CTS hardware flow control. */
  readonly rtscts: boolean;
}

export interface TcpAddress {
  readonly kind: 'tcp';
  readonly host: string;
  readonly port: number;
}

export interface SerialAddress {
  readonly kind: 'serial';
  /** Device path (`/dev/ttyS0`, `/dev/serial/by-id/…`) or Windows port name (`COM3`). */
  readonly path: string;
  readonly serial: SerialSettings;
}

export interface ModbusTcpAddress {
  readonly kind: 'modbus-tcp';
  readonly host: string;
  readonly port: number;
  readonly unitId: number;
}

export interface ModbusRtuAddress {
  readonly kind: 'modbus-rtu';
  readonly path: string;
  readonly serial: SerialSettings;
  readonly unitId: number;
}

export type DeviceAddress = TcpAddress | SerialAddress | ModbusTcpAddress | ModbusRtuAddress;
export type DeviceAddressKind = DeviceAddress['kind'];

/** SPEC §1.1: the VM-250 serial framing is not public; 9600 8N1 is the default. */
export const DEFAULT_SERIAL_SETTINGS: SerialSettings = {
  baudRate: 9600,
  dataBits: 8,
  parity: 'none',
  stopBits: 1,
  rtscts: false,
};

/**
 * SPEC §1.2 is silent on RTU framing. The Modbus over Serial Line specification (V1.02 §2.5.1)
 * makes 19200 baud, 8 data bits, even parity, 1 stop bit the default, so modbus-rtu uses that.
 */
export const DEFAULT_MODBUS_RTU_SETTINGS: SerialSettings = {
  baudRate: 19200,
  dataBits: 8,
  parity: 'even',
  stopBits: 1,
  rtscts: false,
};

export const DEFAULT_MODBUS_TCP_PORT = 502;
export const DEFAULT_MODBUS_UNIT_ID = 1;

const KINDS: readonly DeviceAddressKind[] = ['tcp', 'serial', 'modbus-tcp', 'modbus-rtu'];
const PARITIES: readonly Parity[] = ['none', 'even', 'odd', 'mark', 'space'];
const SERIAL_KEYS = ['baudRate', 'dataBits', 'parity', 'stopBits', 'rtscts'] as const;
const EXAMPLES: Record<DeviceAddressKind, string> = {
  tcp: 'tcp://192.168.1.20:1601',
  serial: 'serial:///dev/ttyS0?baudRate=9600',
  'modbus-tcp': 'modbus-tcp://192.168.1.30:502?unitId=1',
  'modbus-rtu': 'modbus-rtu:///dev/ttyUSB0?baudRate=19200&unitId=1',
};

/**
 * Parse a device address. Throws GatewayError('TRANSPORT_URI_INVALID') listing every problem
 * (`context.problems`), each phrased so a technician can fix the configuration.
 */
export function parseDeviceAddress(uri: string): DeviceAddress {
  const problems: string[] = [];
  const address = parseInto(uri.trim(), problems);
  if (address === undefined || problems.length > 0) {
    throw new GatewayError(
      'TRANSPORT_URI_INVALID',
      `device address '${uri}' is not valid: ${problems.join('; ')}`,
      { uri, problems },
    );
  }
  return address;
}

/** The canonical text of an address (defaults spelled out), for logs and the console. */
export function formatDeviceAddress(address: DeviceAddress): string {
  switch (address.kind) {
    case 'tcp':
      return `tcp://${formatHost(address.host)}:${address.port}`;
    case 'modbus-tcp':
      return `modbus-tcp://${formatHost(address.host)}:${address.port}?unitId=${address.unitId}`;
    case 'serial':
      return `serial://${formatPath(address.path)}?${formatSerial(address.serial)}`;
    case 'modbus-rtu':
      return `modbus-rtu://${formatPath(address.path)}?${formatSerial(address.serial)}&unitId=${address.unitId}`;
  }
}

function parseInto(uri: string, problems: string[]): DeviceAddress | undefined {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(uri);
  if (!match) {
    problems.push(`it must start with a kind and '://', e.g. ${EXAMPLES.tcp} or ${EXAMPLES.serial}`);
    return undefined;
  }
  const kind = match[1]!.toLowerCase() as DeviceAddressKind;
  if (!KINDS.includes(kind)) {
    problems.push(`unknown kind '${match[1]}'; use one of ${KINDS.join(', ')}`);
    return undefined;
  }
  let rest = match[2]!;
  if (rest.includes('#')) {
    problems.push(`'#' is not allowed in a device address`);
    rest = rest.slice(0, rest.indexOf('#'));
  }
  const queryAt = rest.indexOf('?');
  const location = queryAt < 0 ? rest : rest.slice(0, queryAt);
  const query = readQuery(queryAt < 0 ? '' : rest.slice(queryAt + 1), kind, problems);

  switch (kind) {
    case 'tcp': {
      const endpoint = parseEndpoint(location, kind, undefined, problems);
      return endpoint && { kind, ...endpoint };
    }
    case 'modbus-tcp': {
      const endpoint = parseEndpoint(location, kind, DEFAULT_MODBUS_TCP_PORT, problems);
      const unitId = readInteger(query, 'unitId', kind, 0, 255, DEFAULT_MODBUS_UNIT_ID, problems);
      return endpoint && { kind, ...endpoint, unitId };
    }
    case 'serial': {
      const path = parsePath(location, kind, problems);
      const serial = readSerial(query, kind, DEFAULT_SERIAL_SETTINGS, problems);
      return path === undefined ? undefined : { kind, path, serial };
    }
    case 'modbus-rtu': {
      const path = parsePath(location, kind, problems);
      const serial = readSerial(query, kind, DEFAULT_MODBUS_RTU_SETTINGS, problems);
      // Modbus RTU: 0 is broadcast (no answer), 248–255 reserved; 1–247 address a slave.
      const unitId = readInteger(query, 'unitId', kind, 1, 247, DEFAULT_MODBUS_UNIT_ID, problems);
      return path === undefined ? undefined : { kind, path, serial, unitId };
    }
  }
}

function parseEndpoint(
  location: string,
  kind: DeviceAddressKind,
  defaultPort: number | undefined,
  problems: string[],
): { host: string; port: number } | undefined {
  const authority = location.endsWith('/') ? location.slice(0, -1) : location;
  if (authority.includes('/')) {
    problems.push(`a ${kind} address has no path; write it as ${EXAMPLES[kind]}`);
    return undefined;
  }
  if (authority.includes('@')) {
    problems.push(`a ${kind} address takes no user name or password`);
    return undefined;
  }
  let host: string;
  let portText: string | undefined;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) {
      problems.push(`IPv6 host is missing its closing ']'`);
      return undefined;
    }
    host = authority.slice(1, close);
    const after = authority.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) {
      problems.push(`unexpected '${after}' after the IPv6 host; write [addr]:port`);
      return undefined;
    }
    portText = after === '' ? undefined : after.slice(1);
  } else {
    const colon = authority.lastIndexOf(':');
    host = colon < 0 ? authority : authority.slice(0, colon);
    portText = colon < 0 ? undefined : authority.slice(colon + 1);
    if (host.includes(':')) {
      problems.push(`IPv6 hosts must be written in brackets, e.g. ${kind}://[fe80::1]:1601`);
      return undefined;
    }
  }
  let ok = true;
  if (host === '') {
    problems.push(`the host is missing; write it as ${EXAMPLES[kind]}`);
    ok = false;
  } else if (!/^[A-Za-z0-9._~%:-]+$/.test(host)) {
    problems.push(`host '${host}' contains characters a host name cannot have`);
    ok = false;
  }
  let port: number | undefined = defaultPort;
  if (portText === undefined || portText === '') {
    if (defaultPort === undefined) {
      // SPEC §1.1: 1601 is conventional but lanes use 1601, 1602, …: never guess which.
      problems.push(`the port is missing; a ${kind} address needs one, e.g. ${EXAMPLES[kind]}`);
      ok = false;
    }
  } else if (!/^\d+$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    problems.push(`port must be a whole number from 1 to 65535; got '${portText}'`);
    ok = false;
  } else {
    port = Number(portText);
  }
  return ok && port !== undefined ? { host, port } : undefined;
}

function parsePath(location: string, kind: DeviceAddressKind, problems: string[]): string | undefined {
  let path: string;
  try {
    path = decodeURIComponent(location);
  } catch {
    problems.push(`device path '${location}' has a broken %-escape`);
    return undefined;
  }
  if (path === '') {
    problems.push(`the device path is missing; write it as ${EXAMPLES[kind]}`);
    return undefined;
  }
  // serial://COM3 — a Windows port name in the host position.
  if (/^COM\d+$/i.test(path)) return path.toUpperCase();
  if (!path.startsWith('/')) {
    problems.push(
      `device path must be absolute — note the three slashes in ${kind}:///dev/ttyS0 — or a Windows ` +
        `port such as ${kind}://COM3; got '${path}'`,
    );
    return undefined;
  }
  if (/^\/COM\d+$/i.test(path)) return path.slice(1).toUpperCase();
  return path;
}

type Query = Map<string, string>;

/** Read `?a=1&b=2`: keys matched case-insensitively to the known ones; unknown or repeated keys are problems. */
function readQuery(text: string, kind: DeviceAddressKind, problems: string[]): Query {
  const known: readonly string[] =
    kind === 'tcp'
      ? []
      : kind === 'modbus-tcp'
        ? ['unitId']
        : kind === 'serial'
          ? SERIAL_KEYS
          : [...SERIAL_KEYS, 'unitId'];
  const query: Query = new Map();
  if (text === '') return query;
  for (const part of text.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : safeDecode(part.slice(eq + 1));
    const key = known.find((k) => k.toLowerCase() === rawKey.toLowerCase());
    if (key === undefined) {
      problems.push(
        known.length === 0
          ? `a ${kind} address takes no settings; got '${rawKey}'`
          : `unknown ${kind} setting '${rawKey}'; known settings are ${known.join(', ')}`,
      );
    } else if (query.has(key)) {
      problems.push(`setting '${key}' is given more than once`);
    } else if (eq < 0 || value === '') {
      problems.push(`setting '${key}' has no value; write ${key}=…`);
    } else {
      query.set(key, value);
    }
  }
  return query;
}

function readSerial(
  query: Query,
  kind: DeviceAddressKind,
  defaults: SerialSettings,
  problems: string[],
): SerialSettings {
  const baudRate = readInteger(query, 'baudRate', kind, 50, 4_000_000, defaults.baudRate, problems);
  const dataBits = readChoice(query, 'dataBits', kind, ['5', '6', '7', '8'], problems);
  const parity = readChoice(query, 'parity', kind, PARITIES, problems);
  const stopBits = readChoice(query, 'stopBits', kind, ['1', '1.5', '2'], problems);
  const rtscts = readChoice(query, 'rtscts', kind, ['true', 'false'], problems);
  return {
    baudRate,
    dataBits: dataBits === undefined ? defaults.dataBits : (Number(dataBits) as DataBits),
    parity: parity ?? defaults.parity,
    stopBits: stopBits === undefined ? defaults.stopBits : (Number(stopBits) as StopBits),
    rtscts: rtscts === undefined ? defaults.rtscts : rtscts === 'true',
  };
}

function readInteger(
  query: Query,
  key: string,
  kind: DeviceAddressKind,
  min: number,
  max: number,
  fallback: number,
  problems: string[],
): number {
  const text = query.get(key);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    problems.push(`${kind} ${key} must be a whole number from ${min} to ${max}; got '${text}'`);
    return fallback;
  }
  return value;
}

function readChoice<T extends string>(
  query: Query,
  key: string,
  kind: DeviceAddressKind,
  choices: readonly T[],
  problems: string[],
): T | undefined {
  const text = query.get(key);
  if (text === undefined) return undefined;
  const choice = choices.find((c) => c === text.toLowerCase());
  if (choice === undefined) {
    problems.push(`${kind} ${key} must be one of ${choices.join(', ')}; got '${text}'`);
  }
  return choice;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function formatPath(path: string): string {
  return path.replace(/[%?#& ]/g, (c) => encodeURIComponent(c));
}

function formatSerial(s: SerialSettings): string {
  return `baudRate=${s.baudRate}&dataBits=${s.dataBits}&parity=${s.parity}&stopBits=${s.stopBits}&rtscts=${s.rtscts}`;
}
