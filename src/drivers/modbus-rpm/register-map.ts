/**
 * The Modbus RPM ("Aspect"-style) register map, SPEC §1.2: the description block (registers
 * 0–7) and the monitor block (default 100–120). Pure codec (STYLE §3, §4): `decode*` turns a
 * `number[]` of 16-bit holding registers into a typed record (or a malformed result), `encode*`
 * turns the record back into registers. The driver decodes with it and the simulator encodes
 * with it, so the map is defined exactly once. No I/O, no clock, no globals.
 */

/** Where the description block lives and how long it is (SPEC §1.2). */
export const DESCRIPTION_BLOCK = { address: 0, length: 8 } as const;

/** The monitor block used when the description block is absent or invalid (SPEC §1.2). */
export const DEFAULT_MONITOR_BLOCK = { base: 100, length: 21 } as const;

/** Registers the monitor record needs; a longer block is allowed and its tail kept raw. */
export const MONITOR_RECORD_LENGTH = 21;

/** Modbus function 0x03 reads at most 125 registers in one request. */
export const MAX_READ_REGISTERS = 125;

/** Offsets inside the monitor block (SPEC §1.2 table, relative to the block base). */
export const MONITOR_OFFSETS = {
  timeElapsed: 0,
  inputSignals: 2,
  gammaStatus: 3,
  gammaCount: 4,
  gammaBackground: 6,
  gammaVariance: 8,
  neutronStatus: 10,
  neutronCount: 11,
  neutronBackground: 13,
  neutronVariance: 15,
  objectCounter: 17,
  objectMark: 18,
  objectSpeed: 19,
  outputSignals: 20,
} as const;

// ---------------------------------------------------------------------------------------------
// Bitmasks

/** Input-signal bits (register 102). */
export const INPUT_BITS = {
  occupancy1: 0x1,
  occupancy2: 0x2,
  occupancy3: 0x4,
  occupancy4: 0x8,
  button: 0x10,
  sensor: 0x20,
  directionA: 0x40,
  directionB: 0x80,
  powerFail: 0x100,
  lowBattery: 0x200,
  cabinetOpen: 0x400,
  error: 0x800,
  reset: 0x8000,
} as const;

/** SPEC §1.2: the device's own summary masks over the input signals. */
export const INPUT_WARN_MASK = 0x8500;
export const INPUT_FAIL_MASK = 0x0a00;
export const OCCUPANCY_MASK = 0x000f;

/** Channel-status bits (registers 103 and 110). */
export const CHANNEL_STATUS_BITS = {
  alarm1: 0x1,
  alarm2: 0x2,
  lowCount: 0x10,
  highCount: 0x20,
  overload: 0x40,
  ready: 0x80,
} as const;

/** Output-signal bits (register 120). */
export const OUTPUT_BITS = {
  alarm: 0x1,
  video: 0x2,
  yellowLed: 0x4,
  fastFlash: 0x8,
  slowFlash: 0x10,
  busy: 0x20,
  adaptation: 0x40,
  entryGreen: 0x100,
  exitGreen: 0x200,
  exitArrow: 0x400,
} as const;

type Flags<T extends Record<string, number>> = { readonly [K in keyof T]: boolean };

/**
 * Which way the object moves. The meaning of 0x40 and 0x80 is not public (SPEC §1.2), so they
 * are named `a` and `b`; both set means "direction unknown" (SPEC §1.2).
 */
export type Direction = 'none' | 'a' | 'b' | 'unknown';

export interface InputSignals extends Flags<typeof INPUT_BITS> {
  /** The register as read: every bit, including those this map does not name. */
  readonly raw: number;
  readonly occupied: boolean;
  readonly direction: Direction;
  /** Any bit of the device's warn mask 0x8500. */
  readonly warn: boolean;
  /** Any bit of the device's fail mask 0x0A00. */
  readonly fail: boolean;
  /** Bits set that this map does not name (kept so nothing is lost). */
  readonly otherBits: number;
}

export interface ChannelStatus extends Flags<typeof CHANNEL_STATUS_BITS> {
  readonly raw: number;
  /** Alarm1 | Alarm2 (SPEC §1.2). */
  readonly alarm: boolean;
  /** Bits 0x4, 0x8, 0x100–0x8000: not public, kept raw. */
  readonly otherBits: number;
}

export interface OutputSignals extends Flags<typeof OUTPUT_BITS> {
  readonly raw: number;
  /** e.g. 0x800 (SPEC §1.2 "output 0x800"): not public, kept raw. */
  readonly otherBits: number;
}

export interface ChannelBlock {
  readonly status: ChannelStatus;
  /** int32, low word first, signed. Per interval or cumulative: see the tracker's options. */
  readonly count: number;
  /** float32, low word first: the device's background estimate in cps. May be NaN on the wire. */
  readonly background: number;
  /** float32, low word first. */
  readonly variance: number;
}

/** One poll of the monitor block, decoded. */
export interface MonitorRecord {
  /** int32, low word first, signed; the unit is not public. */
  readonly timeElapsed: number;
  readonly input: InputSignals;
  readonly gamma: ChannelBlock;
  readonly neutron: ChannelBlock;
  /** uint16: the device's vehicle counter, used as the occupancy's deviceIndex. */
  readonly objectCounter: number;
  /** uint16: object mark (wheels). */
  readonly objectMark: number;
  /** uint16: object speed, unit not public (default mm/s). */
  readonly objectSpeed: number;
  readonly output: OutputSignals;
  /** Registers past the 21 this map knows, when the description block declares a longer block. */
  readonly extra: readonly number[];
}

export interface DescriptionBlock {
  readonly signature: number;
  readonly registerCount: number;
  readonly monitorBlockId: number;
  readonly monitorBase: number;
  readonly monitorLength: number;
  readonly reserved: readonly [number, number, number];
}

/** A decode that failed: why, for a BadInputEvent. Never thrown (STYLE §3). */
export interface MalformedRegisters {
  readonly ok: false;
  readonly problem: string;
}

export type DecodeResult<T> = { readonly ok: true; readonly value: T } | MalformedRegisters;

// ---------------------------------------------------------------------------------------------
// Words

function flagsOf<T extends Record<string, number>>(bits: T, raw: number): Flags<T> {
  const out: Record<string, boolean> = {};
  for (const [name, bit] of Object.entries(bits)) out[name] = (raw & bit) !== 0;
  return out as Flags<T>;
}

function maskOf(bits: Record<string, number>): number {
  return Object.values(bits).reduce((a, b) => a | b, 0);
}

const INPUT_KNOWN = maskOf(INPUT_BITS);
const STATUS_KNOWN = maskOf(CHANNEL_STATUS_BITS);
const OUTPUT_KNOWN = maskOf(OUTPUT_BITS);

function rawFrom<T extends Record<string, number>>(bits: T, flags: Partial<Flags<T>>, other: number): number {
  let raw = other & 0xffff;
  for (const [name, bit] of Object.entries(bits)) if (flags[name as keyof T] === true) raw |= bit;
  return raw;
}

/** Decode register 102. */
export function decodeInputSignals(raw: number): InputSignals {
  const flags = flagsOf(INPUT_BITS, raw);
  const direction: Direction =
    flags.directionA && flags.directionB
      ? 'unknown'
      : flags.directionA
        ? 'a'
        : flags.directionB
          ? 'b'
          : 'none';
  return {
    ...flags,
    raw,
    occupied: (raw & OCCUPANCY_MASK) !== 0,
    direction,
    warn: (raw & INPUT_WARN_MASK) !== 0,
    fail: (raw & INPUT_FAIL_MASK) !== 0,
    otherBits: raw & ~INPUT_KNOWN & 0xffff,
  };
}

/** Decode register 103 or 110. */
export function decodeChannelStatus(raw: number): ChannelStatus {
  const flags = flagsOf(CHANNEL_STATUS_BITS, raw);
  return { ...flags, raw, alarm: flags.alarm1 || flags.alarm2, otherBits: raw & ~STATUS_KNOWN & 0xffff };
}

/** Decode register 120. */
export function decodeOutputSignals(raw: number): OutputSignals {
  return { ...flagsOf(OUTPUT_BITS, raw), raw, otherBits: raw & ~OUTPUT_KNOWN & 0xffff };
}

/** Build an input-signal word from named flags (plus raw bits the map does not name). */
export function inputSignals(flags: Partial<Flags<typeof INPUT_BITS>>, otherBits = 0): InputSignals {
  return decodeInputSignals(rawFrom(INPUT_BITS, flags, otherBits));
}

/** Build a channel-status word from named flags (plus raw bits the map does not name). */
export function channelStatus(
  flags: Partial<Flags<typeof CHANNEL_STATUS_BITS>>,
  otherBits = 0,
): ChannelStatus {
  return decodeChannelStatus(rawFrom(CHANNEL_STATUS_BITS, flags, otherBits));
}

/** Build an output-signal word from named flags (plus raw bits the map does not name). */
export function outputSignals(flags: Partial<Flags<typeof OUTPUT_BITS>>, otherBits = 0): OutputSignals {
  return decodeOutputSignals(rawFrom(OUTPUT_BITS, flags, otherBits));
}

/** int32 from two registers, low word first (SPEC §1.2: value = r[n] + r[n+1]·65536), signed. */
export function decodeInt32LowFirst(low: number, high: number): number {
  return (high << 16) | low | 0;
}

/**
 * Two registers (low word first) for an int32. Values outside int32 wrap modulo 2³², as a
 * device counter would; fractions are truncated.
 */
export function encodeInt32LowFirst(value: number): [number, number] {
  const u = Math.trunc(value) >>> 0;
  return [u & 0xffff, u >>> 16];
}

const floatView = new DataView(new ArrayBuffer(4));

/** IEEE-754 float32 from two registers, low word first. */
export function decodeFloat32LowFirst(low: number, high: number): number {
  floatView.setUint16(0, high);
  floatView.setUint16(2, low);
  return floatView.getFloat32(0);
}

/** Two registers (low word first) for a float32 (rounded to single precision). */
export function encodeFloat32LowFirst(value: number): [number, number] {
  floatView.setFloat32(0, value);
  return [floatView.getUint16(2), floatView.getUint16(0)];
}

function badRegister(registers: readonly number[]): number {
  return registers.findIndex((r) => !Number.isInteger(r) || r < 0 || r > 0xffff);
}

// ---------------------------------------------------------------------------------------------
// Description block

/** Decode registers 0–7. */
export function decodeDescriptionBlock(registers: readonly number[]): DecodeResult<DescriptionBlock> {
  if (registers.length < DESCRIPTION_BLOCK.length) {
    return { ok: false, problem: `description block has ${registers.length} registers, expected 8` };
  }
  const bad = badRegister(registers);
  if (bad >= 0) return { ok: false, problem: `register ${bad} is not a 16-bit value` };
  const r = (i: number): number => registers[i] ?? 0;
  return {
    ok: true,
    value: {
      signature: r(0),
      registerCount: r(1),
      monitorBlockId: r(2),
      monitorBase: r(3),
      monitorLength: r(4),
      reserved: [r(5), r(6), r(7)],
    },
  };
}

export function encodeDescriptionBlock(block: DescriptionBlock): number[] {
  return [
    block.signature,
    block.registerCount,
    block.monitorBlockId,
    block.monitorBase,
    block.monitorLength,
    ...block.reserved,
  ].map((v) => v & 0xffff);
}

/** Where to poll the monitor block, and why there. */
export interface MonitorBlockLocation {
  readonly base: number;
  readonly length: number;
  readonly source: 'description' | 'default';
  /** Why the description block was not used (absent, invalid). */
  readonly problem?: string;
}

/**
 * Where the monitor block is (SPEC §1.2: "use the description block's base address and length
 * (100 and 21 when absent)"). The SPEC does not say what "absent" looks like on the wire; this
 * project treats a missing block (null), an all-zero block, a length below 21 or above 125, and a
 * block running past register 65535 as absent/invalid, and falls back to 100/21. The signature
 * value is not public, so it is reported but not checked.
 */
export function locateMonitorBlock(block: DescriptionBlock | null): MonitorBlockLocation {
  const fallback = (problem: string): MonitorBlockLocation => ({
    ...DEFAULT_MONITOR_BLOCK,
    source: 'default',
    problem,
  });
  if (block === null) return fallback('description block absent');
  const regs = encodeDescriptionBlock(block);
  if (regs.every((r) => r === 0)) return fallback('description block is all zeros');
  if (block.monitorLength < MONITOR_RECORD_LENGTH || block.monitorLength > MAX_READ_REGISTERS) {
    return fallback(
      `monitor block length ${block.monitorLength} outside ${MONITOR_RECORD_LENGTH}–${MAX_READ_REGISTERS}`,
    );
  }
  if (block.monitorBase + block.monitorLength > 0x10000) {
    return fallback(`monitor block ${block.monitorBase}+${block.monitorLength} runs past register 65535`);
  }
  return { base: block.monitorBase, length: block.monitorLength, source: 'description' };
}

// ---------------------------------------------------------------------------------------------
// Monitor block

/** Decode the monitor block (at least 21 registers, offsets per {@link MONITOR_OFFSETS}). */
export function decodeMonitorBlock(registers: readonly number[]): DecodeResult<MonitorRecord> {
  if (registers.length < MONITOR_RECORD_LENGTH) {
    return {
      ok: false,
      problem: `monitor block has ${registers.length} registers, expected ${MONITOR_RECORD_LENGTH}`,
    };
  }
  const bad = badRegister(registers);
  if (bad >= 0) return { ok: false, problem: `monitor register +${bad} is not a 16-bit value` };
  const r = (i: number): number => registers[i] ?? 0;
  const int32 = (i: number): number => decodeInt32LowFirst(r(i), r(i + 1));
  const float32 = (i: number): number => decodeFloat32LowFirst(r(i), r(i + 1));
  const o = MONITOR_OFFSETS;
  return {
    ok: true,
    value: {
      timeElapsed: int32(o.timeElapsed),
      input: decodeInputSignals(r(o.inputSignals)),
      gamma: {
        status: decodeChannelStatus(r(o.gammaStatus)),
        count: int32(o.gammaCount),
        background: float32(o.gammaBackground),
        variance: float32(o.gammaVariance),
      },
      neutron: {
        status: decodeChannelStatus(r(o.neutronStatus)),
        count: int32(o.neutronCount),
        background: float32(o.neutronBackground),
        variance: float32(o.neutronVariance),
      },
      objectCounter: r(o.objectCounter),
      objectMark: r(o.objectMark),
      objectSpeed: r(o.objectSpeed),
      output: decodeOutputSignals(r(o.outputSignals)),
      extra: registers.slice(MONITOR_RECORD_LENGTH),
    },
  };
}

/**
 * Registers for a monitor record. Bitmask words are written from their `raw` value (the named
 * booleans are derived from it; build words with {@link inputSignals} and friends). uint16
 * fields are masked to 16 bits; `extra` registers follow the 21 known ones.
 */
export function encodeMonitorBlock(record: MonitorRecord): number[] {
  const regs = new Array<number>(MONITOR_RECORD_LENGTH).fill(0);
  const o = MONITOR_OFFSETS;
  const put = (offset: number, words: readonly number[]): void => {
    words.forEach((w, i) => (regs[offset + i] = w & 0xffff));
  };
  put(o.timeElapsed, encodeInt32LowFirst(record.timeElapsed));
  put(o.inputSignals, [record.input.raw]);
  put(o.gammaStatus, [record.gamma.status.raw]);
  put(o.gammaCount, encodeInt32LowFirst(record.gamma.count));
  put(o.gammaBackground, encodeFloat32LowFirst(record.gamma.background));
  put(o.gammaVariance, encodeFloat32LowFirst(record.gamma.variance));
  put(o.neutronStatus, [record.neutron.status.raw]);
  put(o.neutronCount, encodeInt32LowFirst(record.neutron.count));
  put(o.neutronBackground, encodeFloat32LowFirst(record.neutron.background));
  put(o.neutronVariance, encodeFloat32LowFirst(record.neutron.variance));
  put(o.objectCounter, [record.objectCounter]);
  put(o.objectMark, [record.objectMark]);
  put(o.objectSpeed, [record.objectSpeed]);
  put(o.outputSignals, [record.output.raw]);
  return [...regs, ...record.extra.map((w) => w & 0xffff)];
}
