import { crc32, deflateSync, inflateSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage, encodeImage16, openImage } from '../../../src/imaging/decode.js';
import { readChunk, RowUnfilter, unfilterRow } from '../../../src/imaging/png-rows.js';
import type { Image16 } from '../../../src/imaging/types.js';
import { makePhantom } from '../../../simulators/scanner/phantom.js';
import { errorCode } from '../../support/imaging.js';

/** The encoder's side of PNG filtering (spec §9.2), to check the decoder's reconstruction. */
function filterRow(type: number, raw: Uint8Array, prev: Uint8Array, bpp: number): Uint8Array {
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const a = i >= bpp ? raw[i - bpp]! : 0;
    const b = prev[i]!;
    const c = i >= bpp ? prev[i - bpp]! : 0;
    const p = a + b - c;
    const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
    const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    const pred = [0, a, b, (a + b) >> 1, paeth][type]!;
    out[i] = (raw[i]! - pred) & 255;
  }
  return out;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const body = Buffer.concat([head.subarray(4), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body), 0);
  return Buffer.concat([head.subarray(0, 4), body, crc]);
}

/** A 16-bit grey PNG, row y filtered with filters(y), its IDAT split into `split`-byte chunks. */
function buildPng(img: Image16, filters: (y: number) => number, split: number, extra: Buffer[] = []): Buffer {
  const { width: W, height: H, data } = img;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(W, 0);
  ihdr.writeUInt32BE(H, 4);
  ihdr[8] = 16;
  const lines = Buffer.alloc(H * (1 + 2 * W));
  let prev = new Uint8Array(2 * W);
  for (let y = 0; y < H; y++) {
    const raw = new Uint8Array(2 * W);
    for (let x = 0; x < W; x++) {
      raw[2 * x] = data[y * W + x]! >> 8;
      raw[2 * x + 1] = data[y * W + x]! & 255;
    }
    const f = filters(y);
    lines[y * (1 + 2 * W)] = f;
    lines.set(filterRow(f, raw, prev, 2), y * (1 + 2 * W) + 1);
    prev = raw;
  }
  const z = deflateSync(lines);
  const idats: Buffer[] = [];
  for (let i = 0; i < z.length; i += split) idats.push(chunk('IDAT', z.subarray(i, i + split)));
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, chunk('IHDR', ihdr), ...extra, ...idats, chunk('IEND', new Uint8Array(0))]);
}

const same = (a: Uint16Array, b: Uint16Array): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

const code = errorCode;

const img = makePhantom({ seed: 'png-stream', width: 150, height: 70 }).high;

describe('row un-filtering (pure)', () => {
  it('reconstructs each filter type, 2 bytes per pixel', () => {
    const prev = Uint8Array.from({ length: 40 }, (_, i) => (i * 37 + 11) & 255);
    const raw = Uint8Array.from({ length: 40 }, (_, i) => (i * 101 + 7 * (i >> 3)) & 255);
    for (const f of [0, 1, 2, 3, 4]) {
      const row = filterRow(f, raw, prev, 2);
      expect(unfilterRow(f, row, prev, 2)).toBe(true);
      expect([...row]).toEqual([...raw]);
    }
    expect(unfilterRow(5, new Uint8Array(4), new Uint8Array(4), 2)).toBe(false);
  });

  it('takes scanlines in pieces of any size and refuses extra bytes or bad filter bytes', () => {
    const png = buildPng(img, (y) => y % 5, 1 << 20);
    const z = readChunk(png, 33, 'x.png');
    expect(z.type).toBe('IDAT');
    const lines = inflateSync(z.data);
    for (const piece of [1, 3, 301, 4096]) {
      const out = new Uint16Array(150 * 70);
      const u = new RowUnfilter(150, 70, out, 'x.png');
      for (let i = 0; i < lines.length; i += piece) u.push(lines.subarray(i, i + piece));
      expect(u.complete).toBe(true);
      expect(same(out, img.data)).toBe(true);
      expect(() => u.push(new Uint8Array(1))).toThrow(/more image data/);
    }
    const bad = Buffer.from(lines);
    bad[10 * 301] = 9;
    const u = new RowUnfilter(150, 70, new Uint16Array(150 * 70), 'x.png');
    expect(() => u.push(bad)).toThrow(/row 10 has an invalid filter type 9/);
  });
});

describe('streamed PNG decode', () => {
  it('decodes every filter type, IDAT split in many chunks, as sharp does', async () => {
    const png = buildPng(img, (y) => (y * 7) % 5, 97, [chunk('tEXt', Buffer.from('Comment\0x'))]);
    const opened = await openImage(png, 's.png');
    await opened.rows.done;
    expect(opened.rows.rows).toBe(70);
    expect(same(opened.image.data, img.data)).toBe(true);
    expect(same(opened.image.data, (await decodeImage(png, 's.png')).image.data)).toBe(true);
  });

  it('streams rows of a sharp-written scan, waiters woken in order, and matches sharp', async () => {
    const big = makePhantom({ seed: 'png-big', width: 1200, height: 900 }).high;
    const png = await encodeImage16(big, 'png');
    const opened = await openImage(png, 'b.png');
    expect(opened.rows.rows).toBeLessThan(900); // handed out before the rows are in
    const seen: number[] = [];
    await Promise.all([100, 450, 900].map((n) => opened.rows.whenRows(n).then(() => seen.push(n))));
    expect(seen).toEqual([100, 450, 900]);
    await opened.rows.done;
    expect(same(opened.image.data, big.data)).toBe(true);
    expect(same(opened.image.data, (await decodeImage(png, 'b.png')).image.data)).toBe(true);
  });

  it('leaves other PNGs to sharp: interlaced, 8-bit, with transparency', async () => {
    const interlaced = await sharp(img.data, {
      raw: { width: 150, height: 70, channels: 1 },
    })
      .toColourspace('grey16')
      .png({ progressive: true })
      .toBuffer();
    const opened = await openImage(interlaced, 'i.png');
    expect(opened.rows.rows).toBe(70);
    expect(same(opened.image.data, img.data)).toBe(true);
    const png8 = await sharp(Buffer.alloc(64 * 32, 128), { raw: { width: 64, height: 32, channels: 1 } })
      .png()
      .toBuffer();
    expect(await code(openImage(png8, 'eight.png'))).toBe('IMAGE_UNSUPPORTED');
    const trns = buildPng(img, () => 0, 4096, [chunk('tRNS', Buffer.from([0, 0]))]);
    const sharpSays = await code(decodeImage(trns, 't.png'));
    expect(sharpSays).not.toBe('ok');
    expect(await code(openImage(trns, 't.png'))).toBe(sharpSays);
  });

  it('refuses huge declared sizes before inflating anything', async () => {
    const flat = await encodeImage16({ width: 2000, height: 2000, data: new Uint16Array(4_000_000) }, 'png');
    const limits = { maxPixels: 1_000_000, maxSide: 20_000 };
    expect(await code(openImage(flat, 'flat.png', limits))).toBe('IMAGE_TOO_LARGE');
    const bomb = Buffer.from(flat);
    bomb.writeUInt32BE(60_000, 16);
    expect(await code(openImage(bomb, 'bomb.png'))).toBe('IMAGE_TOO_LARGE'); // bad CRC too: sharp's path
  });

  it('fails part-way with IMAGE_CORRUPT: truncated, bad CRC, bad filter byte, bad zlib data, too much data', async () => {
    const png = buildPng(img, (y) => y % 5, 200);
    const idatAt = 33;
    const bad: Array<[string, Buffer]> = [];
    bad.push(['truncated', png.subarray(0, png.length >> 1)]);
    const crc = Buffer.from(png);
    crc[png.length - 40] = crc[png.length - 40]! ^ 0xff; // inside the last IDAT's data
    bad.push(['bad CRC', crc]);
    bad.push(['bad filter', buildPngWith(img, (lines) => (lines[40 * 301] = 7))]);
    const zbad = buildPng(img, () => 0, 1 << 20);
    const z = readChunk(zbad, idatAt, 'z');
    const garbled = Buffer.from(z.data);
    garbled.fill(0xff, garbled.length >> 1, (garbled.length >> 1) + 64);
    bad.push(['bad zlib', replaceIdat(zbad, garbled)]);
    const tall = { width: 150, height: 71, data: new Uint16Array(150 * 71) };
    const tooMuch = buildPng(tall, () => 0, 4096);
    tooMuch.writeUInt32BE(70, 20);
    bad.push(['too much data', fixCrc(tooMuch, 8)]);
    bad.push([
      'too little data',
      fixCrc(
        buildPng(tall, () => 0, 4096),
        8,
        72,
      ),
    ]);
    for (const [what, bytes] of bad) {
      const opened = await openImage(bytes, `${what}.png`);
      const rows = opened.rows.whenRows(opened.image.height);
      expect([what, await code(rows)]).toEqual([what, 'IMAGE_CORRUPT']);
      expect(await code(opened.rows.done)).toBe('IMAGE_CORRUPT');
      // sharp ignores image data beyond the last row; more than the header declares is refused here.
      const sharpSays = what === 'too much data' ? 'ok' : 'IMAGE_CORRUPT';
      expect([what, await code(decodeImage(bytes, `${what}.png`))]).toEqual([what, sharpSays]);
    }
  });
});

/** The PNG with its scanlines changed before compression. */
function buildPngWith(image: Image16, change: (lines: Buffer) => void): Buffer {
  const png = buildPng(image, () => 0, 1 << 20);
  const lines = inflateSync(readChunk(png, 33, 'x').data);
  change(lines);
  return replaceIdat(png, deflateSync(lines));
}

function replaceIdat(png: Buffer, data: Uint8Array): Buffer {
  const c = readChunk(png, 33, 'x');
  return Buffer.concat([png.subarray(0, 33), chunk('IDAT', data), png.subarray(c.next)]);
}

/** Recompute the IHDR's CRC after editing it (optionally setting its height). */
function fixCrc(png: Buffer, at: number, height?: number): Buffer {
  if (height !== undefined) png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(at + 4, at + 8 + 13)), at + 8 + 13);
  return png;
}
