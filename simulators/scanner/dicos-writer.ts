/**
 * A minimal DICOS DX writer for the simulator and tests: DICOM Part 10 file (preamble, DICM,
 * explicit VR little endian meta group and data set), SOP class DICOS DX
 * 1.2.840.10008.5.1.4.1.1.501.2.1, 16-bit unsigned MONOCHROME2 (or MONOCHROME1) pixels.
 */
import type { Image16, Polarity } from '../../src/imaging/types.js';

const DX_FOR_PRESENTATION = '1.2.840.10008.5.1.4.1.1.501.2.1';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';

function element(group: number, el: number, vr: string, value: Buffer): Buffer {
  const long = ['OB', 'OW', 'UN', 'SQ', 'UT'].includes(vr);
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(el, 2);
  head.write(vr, 4, 'latin1');
  if (long) head.writeUInt32LE(value.length, 8);
  else head.writeUInt16LE(value.length, 6);
  return Buffer.concat([head, value]);
}

const text = (s: string, pad = ' '): Buffer => Buffer.from(s.length % 2 ? s + pad : s, 'latin1');
const uid = (s: string): Buffer => text(s, '\0');
const us = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};

export interface DicosOptions {
  readonly sopInstanceUid: string;
  readonly polarity?: Polarity;
  /** Override fields to make bad files in tests. */
  readonly bitsAllocated?: number;
  readonly sopClassUid?: string;
  readonly declaredRows?: number;
}

export function encodeDicosDx(img: Image16, o: DicosOptions): Buffer {
  const sopClass = o.sopClassUid ?? DX_FOR_PRESENTATION;
  const metaBody = Buffer.concat([
    element(0x0002, 0x0001, 'OB', Buffer.from([0, 1])),
    element(0x0002, 0x0002, 'UI', uid(sopClass)),
    element(0x0002, 0x0003, 'UI', uid(o.sopInstanceUid)),
    element(0x0002, 0x0010, 'UI', uid(EXPLICIT_LE)),
  ]);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(metaBody.length);
  const pixels = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  const body = Buffer.concat([
    element(0x0008, 0x0016, 'UI', uid(sopClass)),
    element(0x0008, 0x0018, 'UI', uid(o.sopInstanceUid)),
    element(0x0008, 0x0060, 'CS', text('DX')),
    element(0x0028, 0x0002, 'US', us(1)),
    element(0x0028, 0x0004, 'CS', text(o.polarity === 'attenuation' ? 'MONOCHROME1' : 'MONOCHROME2')),
    element(0x0028, 0x0010, 'US', us(o.declaredRows ?? img.height)),
    element(0x0028, 0x0011, 'US', us(img.width)),
    element(0x0028, 0x0100, 'US', us(o.bitsAllocated ?? 16)),
    element(0x0028, 0x0101, 'US', us(16)),
    element(0x0028, 0x0102, 'US', us(15)),
    element(0x0028, 0x0103, 'US', us(0)),
    element(0x7fe0, 0x0010, 'OW', pixels),
  ]);
  return Buffer.concat([
    Buffer.alloc(128),
    Buffer.from('DICM', 'latin1'),
    element(0x0002, 0x0000, 'UL', groupLength),
    metaBody,
    body,
  ]);
}
