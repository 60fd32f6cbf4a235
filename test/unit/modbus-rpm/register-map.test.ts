import { describe, expect, it } from 'vitest';
import {
  CHANNEL_STATUS_BITS,
  DEFAULT_MONITOR_BLOCK,
  INPUT_BITS,
  OUTPUT_BITS,
  channelStatus,
  decodeChannelStatus,
  decodeDescriptionBlock,
  decodeFloat32LowFirst,
  decodeInputSignals,
  decodeInt32LowFirst,
  decodeMonitorBlock,
  decodeOutputSignals,
  encodeDescriptionBlock,
  encodeFloat32LowFirst,
  encodeInt32LowFirst,
  encodeMonitorBlock,
  inputSignals,
  locateMonitorBlock,
  outputSignals,
  type MonitorRecord,
} from '../../../src/drivers/modbus-rpm/register-map.js';

function sampleRecord(): MonitorRecord {
  return {
    timeElapsed: -123_456_789,
    input: inputSignals({ occupancy2: true, directionA: true, cabinetOpen: true }, 0x1000),
    gamma: {
      status: channelStatus({ alarm2: true, ready: true }, 0x0104),
      count: 2_000_000_123,
      background: 312.5,
      variance: 0.25,
    },
    neutron: {
      status: channelStatus({ lowCount: true }),
      count: -7,
      background: 2.75,
      variance: -1.5,
    },
    objectCounter: 65535,
    objectMark: 4,
    objectSpeed: 2500,
    output: outputSignals({ alarm: true, exitArrow: true }, 0x800),
    extra: [],
  };
}

describe('register map: int32 and float32 words (SPEC §1.2: low word first)', () => {
  it('reads an int32 as r[n] + r[n+1]·65536', () => {
    expect(decodeInt32LowFirst(0x5678, 0x1234)).toBe(0x12345678);
    expect(decodeInt32LowFirst(1, 0)).toBe(1);
    expect(decodeInt32LowFirst(0, 1)).toBe(65536);
  });

  it('reads int32 values as signed', () => {
    expect(decodeInt32LowFirst(0xffff, 0xffff)).toBe(-1);
    expect(decodeInt32LowFirst(0x0000, 0x8000)).toBe(-2147483648);
    expect(decodeInt32LowFirst(0xffff, 0x7fff)).toBe(2147483647);
  });

  it('round-trips negative and extreme int32 values, low word first', () => {
    expect(encodeInt32LowFirst(-1)).toEqual([0xffff, 0xffff]);
    expect(encodeInt32LowFirst(-2)).toEqual([0xfffe, 0xffff]);
    expect(encodeInt32LowFirst(65536)).toEqual([0, 1]);
    for (const v of [0, 1, -1, 65535, 65536, -65536, 2147483647, -2147483648, -123_456_789]) {
      const [lo, hi] = encodeInt32LowFirst(v);
      expect(decodeInt32LowFirst(lo, hi)).toBe(v);
    }
  });

  it('wraps values beyond int32 modulo 2^32, as a device counter does', () => {
    const [lo, hi] = encodeInt32LowFirst(2147483648);
    expect(decodeInt32LowFirst(lo, hi)).toBe(-2147483648);
  });

  it('reads float32 IEEE-754 with the low word first', () => {
    // 1.0f = 0x3F800000: high word 0x3F80, low word 0x0000 → registers [0x0000, 0x3F80].
    expect(encodeFloat32LowFirst(1)).toEqual([0x0000, 0x3f80]);
    expect(decodeFloat32LowFirst(0x0000, 0x3f80)).toBe(1);
    // -2.5f = 0xC0200000.
    expect(decodeFloat32LowFirst(0x0000, 0xc020)).toBe(-2.5);
    // 312.5f = 0x439C4000: the low word matters.
    expect(encodeFloat32LowFirst(312.5)).toEqual([0x4000, 0x439c]);
  });

  it('round-trips floats at single precision', () => {
    for (const v of [0, -0.5, 1234.5, 3.4e38, -1e-3]) {
      const [lo, hi] = encodeFloat32LowFirst(v);
      expect(decodeFloat32LowFirst(lo, hi)).toBe(Math.fround(v));
    }
    const [lo, hi] = encodeFloat32LowFirst(NaN);
    expect(decodeFloat32LowFirst(lo, hi)).toBeNaN();
  });
});

describe('register map: bitmasks decode to named booleans and keep the raw word', () => {
  it.each(Object.entries(INPUT_BITS))('input bit %s (0x%s)', (name, bit) => {
    const word = decodeInputSignals(bit);
    expect(word.raw).toBe(bit);
    for (const [other] of Object.entries(INPUT_BITS)) {
      expect(word[other as keyof typeof INPUT_BITS], other).toBe(other === name);
    }
    expect(word.otherBits).toBe(0);
  });

  it.each(Object.entries(CHANNEL_STATUS_BITS))('channel status bit %s', (name, bit) => {
    const word = decodeChannelStatus(bit);
    for (const [other] of Object.entries(CHANNEL_STATUS_BITS)) {
      expect(word[other as keyof typeof CHANNEL_STATUS_BITS], other).toBe(other === name);
    }
    expect(word.alarm).toBe(name === 'alarm1' || name === 'alarm2');
  });

  it.each(Object.entries(OUTPUT_BITS))('output bit %s', (name, bit) => {
    const word = decodeOutputSignals(bit);
    for (const [other] of Object.entries(OUTPUT_BITS)) {
      expect(word[other as keyof typeof OUTPUT_BITS], other).toBe(other === name);
    }
  });

  it('occupied is any of the four occupancy bits', () => {
    expect(decodeInputSignals(0).occupied).toBe(false);
    for (const bit of [1, 2, 4, 8]) expect(decodeInputSignals(bit).occupied).toBe(true);
    expect(decodeInputSignals(0x10).occupied).toBe(false);
  });

  it('both direction bits mean direction unknown', () => {
    expect(decodeInputSignals(0).direction).toBe('none');
    expect(decodeInputSignals(0x40).direction).toBe('a');
    expect(decodeInputSignals(0x80).direction).toBe('b');
    expect(decodeInputSignals(0xc0).direction).toBe('unknown');
  });

  it('exposes the warn (0x8500) and fail (0x0A00) masks', () => {
    expect(decodeInputSignals(0x8000).warn).toBe(true);
    expect(decodeInputSignals(0x0400).warn).toBe(true);
    expect(decodeInputSignals(0x0100).warn).toBe(true);
    expect(decodeInputSignals(0x0800).fail).toBe(true);
    expect(decodeInputSignals(0x0200).fail).toBe(true);
    expect(decodeInputSignals(0x0200).warn).toBe(false);
  });

  it('keeps the bits the map does not name', () => {
    expect(decodeInputSignals(0x7000 | 0x1).otherBits).toBe(0x7000);
    // Channel status 0x4, 0x8, 0x100–0x8000 are not public.
    expect(decodeChannelStatus(0xff0c | 0x80).otherBits).toBe(0xff0c);
    expect(decodeChannelStatus(0xff0c).raw).toBe(0xff0c);
    expect(decodeOutputSignals(0x800 | 0x1).otherBits).toBe(0x800);
    expect(decodeOutputSignals(0xf880).otherBits).toBe(0xf880);
  });
});

describe('register map: monitor block', () => {
  it('round-trips a record through registers', () => {
    const record = sampleRecord();
    const regs = encodeMonitorBlock(record);
    expect(regs).toHaveLength(21);
    const decoded = decodeMonitorBlock(regs);
    expect(decoded).toEqual({ ok: true, value: record });
  });

  it('puts every field at its SPEC §1.2 register', () => {
    const regs = encodeMonitorBlock(sampleRecord());
    const at = (reg: number): number => regs[reg - 100]!;
    expect(at(100) + at(101) * 65536).toBe(-123_456_789 + 2 ** 32);
    expect(at(102)).toBe(0x2 | 0x40 | 0x400 | 0x1000);
    expect(at(103)).toBe(0x2 | 0x80 | 0x0104);
    expect(at(104) + at(105) * 65536).toBe(2_000_000_123);
    expect(decodeFloat32LowFirst(at(106), at(107))).toBe(312.5);
    expect(decodeFloat32LowFirst(at(108), at(109))).toBe(0.25);
    expect(at(110)).toBe(0x10);
    expect(decodeInt32LowFirst(at(111), at(112))).toBe(-7);
    expect(decodeFloat32LowFirst(at(113), at(114))).toBe(2.75);
    expect(decodeFloat32LowFirst(at(115), at(116))).toBe(-1.5);
    expect(at(117)).toBe(65535);
    expect(at(118)).toBe(4);
    expect(at(119)).toBe(2500);
    expect(at(120)).toBe(0x401 | 0x800);
  });

  it('decodes every 16-bit word back to the same registers', () => {
    const regs = Array.from({ length: 21 }, (_, i) => (i * 7919 + 0x8001) & 0xffff);
    const decoded = decodeMonitorBlock(regs);
    if (!decoded.ok) throw new Error(decoded.problem);
    const again = encodeMonitorBlock(decoded.value);
    // Floats may be NaN with payloads; compare everything but the float words bit for bit.
    const floatWords = new Set([6, 7, 8, 9, 13, 14, 15, 16]);
    regs.forEach((r, i) => {
      if (!floatWords.has(i)) expect(again[i], `register +${i}`).toBe(r);
    });
  });

  it('keeps registers past the 21 it knows', () => {
    const regs = [...encodeMonitorBlock(sampleRecord()), 11, 22];
    const decoded = decodeMonitorBlock(regs);
    expect(decoded.ok && decoded.value.extra).toEqual([11, 22]);
    expect(decoded.ok && encodeMonitorBlock(decoded.value)).toEqual(regs);
  });

  it('reports a short or out-of-range block as malformed instead of throwing', () => {
    expect(decodeMonitorBlock([1, 2, 3])).toMatchObject({ ok: false });
    const regs = encodeMonitorBlock(sampleRecord());
    regs[5] = 70000;
    const decoded = decodeMonitorBlock(regs);
    expect(decoded.ok).toBe(false);
    expect(!decoded.ok && decoded.problem).toContain('+5');
  });
});

describe('register map: description block', () => {
  const block = {
    signature: 0x4153,
    registerCount: 29,
    monitorBlockId: 1,
    monitorBase: 200,
    monitorLength: 24,
    reserved: [0, 0, 9] as [number, number, number],
  };

  it('round-trips registers 0–7', () => {
    const regs = encodeDescriptionBlock(block);
    expect(regs).toEqual([0x4153, 29, 1, 200, 24, 0, 0, 9]);
    expect(decodeDescriptionBlock(regs)).toEqual({ ok: true, value: block });
  });

  it('locates the monitor block from the description block', () => {
    expect(locateMonitorBlock(block)).toEqual({ base: 200, length: 24, source: 'description' });
  });

  it('falls back to 100/21 when absent or invalid', () => {
    expect(locateMonitorBlock(null)).toMatchObject({ ...DEFAULT_MONITOR_BLOCK, source: 'default' });
    const zeros = decodeDescriptionBlock([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(zeros.ok && locateMonitorBlock(zeros.value)).toMatchObject({
      base: 100,
      length: 21,
      source: 'default',
    });
    expect(locateMonitorBlock({ ...block, monitorLength: 10 })).toMatchObject({
      base: 100,
      source: 'default',
    });
    expect(locateMonitorBlock({ ...block, monitorLength: 200 })).toMatchObject({
      base: 100,
      source: 'default',
    });
    expect(locateMonitorBlock({ ...block, monitorBase: 65530 })).toMatchObject({
      base: 100,
      source: 'default',
    });
  });

  it('reports a short description block as malformed', () => {
    expect(decodeDescriptionBlock([1, 2])).toMatchObject({ ok: false });
  });
});
