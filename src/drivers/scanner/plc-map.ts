/**
 * The scanner PLC's Modbus register map (SPEC §1.3). No open protocol exists for scanner
 * control, so this project defines one for its simulator and makes it configurable per site:
 * every field's offset can be moved, the state codes and bit masks re-assigned. Holding
 * registers, function 0x03 to read, 0x06 to write the command register. Pure encode/decode,
 * shared by the driver and the simulator (one definition, STYLE §6).
 *
 * | offset | field         | type                                                        |
 * |--------|---------------|-------------------------------------------------------------|
 * | 0      | signature     | 0x5343 ("SC")                                               |
 * | 1      | map version   | 1                                                           |
 * | 2      | state         | 0 idle, 1 ready, 2 scanning, 3 fault                        |
 * | 3      | status bits   | interlock closed 0x1, radiation on 0x2, vehicle present 0x4, remote enabled 0x8, e-stop 0x10 |
 * | 4–5    | scan counter  | uint32, low word first                                      |
 * | 6      | fault code    | 0 = none; site-specific codes                               |
 * | 7      | energy mode   | 1 single, 2 dual                                            |
 * | 8      | command       | write: 1 arm, 2 start scan, 3 stop, 4 reset fault; reads 0  |
 */
export type ScannerState = 'idle' | 'ready' | 'scanning' | 'fault' | 'unknown';
export type ScannerCommand = 'arm' | 'start' | 'stop' | 'reset';

export interface PlcMap {
  readonly base: number;
  readonly length: number;
  readonly offsets: {
    readonly signature: number;
    readonly version: number;
    readonly state: number;
    readonly status: number;
    readonly scanCounter: number;
    readonly faultCode: number;
    readonly energyMode: number;
    readonly command: number;
  };
  /** Register value → state. */
  readonly states: Readonly<Record<number, Exclude<ScannerState, 'unknown'>>>;
  readonly bits: {
    readonly interlock: number;
    readonly radiationOn: number;
    readonly vehiclePresent: number;
    readonly remote: number;
    readonly emergencyStop: number;
  };
  readonly commands: Readonly<Record<ScannerCommand, number>>;
  /** Expected signature; null skips the check. */
  readonly signature: number | null;
}

export const DEFAULT_PLC_MAP: PlcMap = {
  base: 0,
  length: 9,
  offsets: {
    signature: 0,
    version: 1,
    state: 2,
    status: 3,
    scanCounter: 4,
    faultCode: 6,
    energyMode: 7,
    command: 8,
  },
  states: { 0: 'idle', 1: 'ready', 2: 'scanning', 3: 'fault' },
  bits: { interlock: 0x1, radiationOn: 0x2, vehiclePresent: 0x4, remote: 0x8, emergencyStop: 0x10 },
  commands: { arm: 1, start: 2, stop: 3, reset: 4 },
  signature: 0x5343,
};

/** A site's overrides, merged onto the default map. */
export function plcMap(
  overrides: Partial<Omit<PlcMap, 'offsets' | 'bits'>> & {
    offsets?: Partial<PlcMap['offsets']>;
    bits?: Partial<PlcMap['bits']>;
  } = {},
): PlcMap {
  return {
    ...DEFAULT_PLC_MAP,
    ...overrides,
    offsets: { ...DEFAULT_PLC_MAP.offsets, ...overrides.offsets },
    bits: { ...DEFAULT_PLC_MAP.bits, ...overrides.bits },
  };
}

export interface ScannerStatus {
  readonly state: ScannerState;
  /** The raw state register, kept when it is not a known code. */
  readonly stateCode: number;
  readonly interlockClosed: boolean;
  readonly radiationOn: boolean;
  readonly vehiclePresent: boolean;
  readonly remoteEnabled: boolean;
  readonly emergencyStop: boolean;
  readonly scanCounter: number;
  readonly faultCode: number;
  readonly energyMode: number;
  readonly rawStatus: number;
}

export type DecodeResult =
  { readonly ok: true; readonly status: ScannerStatus } | { readonly ok: false; readonly reason: string };

export function decodePlc(map: PlcMap, regs: readonly number[]): DecodeResult {
  if (regs.length < map.length)
    return { ok: false, reason: `expected ${map.length} registers, got ${regs.length}` };
  const o = map.offsets;
  const at = (i: number): number => regs[i] ?? 0;
  if (map.signature !== null && at(o.signature) !== map.signature) {
    return {
      ok: false,
      reason: `signature 0x${at(o.signature).toString(16)} is not 0x${map.signature.toString(16)}`,
    };
  }
  const raw = at(o.status);
  const code = at(o.state);
  return {
    ok: true,
    status: {
      state: map.states[code] ?? 'unknown',
      stateCode: code,
      interlockClosed: (raw & map.bits.interlock) !== 0,
      radiationOn: (raw & map.bits.radiationOn) !== 0,
      vehiclePresent: (raw & map.bits.vehiclePresent) !== 0,
      remoteEnabled: (raw & map.bits.remote) !== 0,
      emergencyStop: (raw & map.bits.emergencyStop) !== 0,
      scanCounter: at(o.scanCounter) + at(o.scanCounter + 1) * 65536,
      faultCode: at(o.faultCode),
      energyMode: at(o.energyMode),
      rawStatus: raw,
    },
  };
}

export function encodePlc(map: PlcMap, s: Omit<ScannerStatus, 'stateCode' | 'rawStatus'>): number[] {
  const regs = new Array<number>(map.length).fill(0);
  const o = map.offsets;
  const code = Object.entries(map.states).find(([, v]) => v === s.state)?.[0];
  regs[o.signature] = map.signature ?? 0;
  regs[o.version] = 1;
  regs[o.state] = code !== undefined ? Number(code) : 0xffff;
  regs[o.status] =
    (s.interlockClosed ? map.bits.interlock : 0) |
    (s.radiationOn ? map.bits.radiationOn : 0) |
    (s.vehiclePresent ? map.bits.vehiclePresent : 0) |
    (s.remoteEnabled ? map.bits.remote : 0) |
    (s.emergencyStop ? map.bits.emergencyStop : 0);
  regs[o.scanCounter] = s.scanCounter & 0xffff;
  regs[o.scanCounter + 1] = Math.floor(s.scanCounter / 65536) & 0xffff;
  regs[o.faultCode] = s.faultCode;
  regs[o.energyMode] = s.energyMode;
  return regs;
}

/** Command register value → command, for the simulator. */
export function decodeCommand(map: PlcMap, value: number): ScannerCommand | null {
  return (
    (Object.entries(map.commands).find(([, v]) => v === value)?.[0] as ScannerCommand | undefined) ?? null
  );
}
