import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage, encodeImage16 } from '../../../src/imaging/decode.js';
import { encodeDicosDx } from '../../../simulators/scanner/dicos-writer.js';
import { makePhantom } from '../../../simulators/scanner/phantom.js';
import { errorCode } from '../../support/imaging.js';

const img = makePhantom({ seed: 'dec', width: 160, height: 80 }).high;

const code = errorCode;

describe('scan image decoding (16-bit kept end to end)', () => {
  it('round-trips 16-bit PNG, TIFF and DICOS DX exactly', async () => {
    for (const format of ['png', 'tiff'] as const) {
      const d = await decodeImage(await encodeImage16(img, format), `x.${format}`);
      expect(d.format).toBe(format);
      expect(Buffer.from(d.image.data.buffer).equals(Buffer.from(img.data.buffer))).toBe(true);
    }
    const dcm = await decodeImage(
      encodeDicosDx(img, { sopInstanceUid: '2.25.1', polarity: 'attenuation' }),
      'x.dcm',
    );
    expect(dcm.meta).toMatchObject({ polarity: 'attenuation', scanId: '2.25.1' });
    expect(Buffer.from(dcm.image.data.buffer).equals(Buffer.from(img.data.buffer))).toBe(true);
  });

  it('rejects truncated and corrupt files', async () => {
    const png = await encodeImage16(img, 'png');
    expect(await code(decodeImage(png.subarray(0, png.length >> 1), 'half.png'))).toBe('IMAGE_CORRUPT');
    const garbled = Buffer.from(png);
    garbled.fill(0x55, 60, 400);
    expect(await code(decodeImage(garbled, 'garbled.png'))).toBe('IMAGE_CORRUPT');
    const tif = await encodeImage16(img, 'tiff');
    expect(await code(decodeImage(tif.subarray(0, 200), 'cut.tif'))).toBe('IMAGE_CORRUPT');
    expect(await code(decodeImage(Buffer.from('hello, not an image'), 'x.bin'))).toBe('IMAGE_UNSUPPORTED');
    const dcm = encodeDicosDx(img, { sopInstanceUid: '2.25.2' });
    expect(await code(decodeImage(dcm.subarray(0, dcm.length - 1000), 'cut.dcm'))).toBe('IMAGE_CORRUPT');
  });

  it('rejects the wrong bit depth', async () => {
    const png8 = await sharp(Buffer.alloc(64 * 32, 128), { raw: { width: 64, height: 32, channels: 1 } })
      .png()
      .toBuffer();
    expect(await code(decodeImage(png8, 'eight.png'))).toBe('IMAGE_UNSUPPORTED');
    const tif8 = await sharp(Buffer.alloc(64 * 32 * 3, 128), { raw: { width: 64, height: 32, channels: 3 } })
      .tiff()
      .toBuffer();
    expect(await code(decodeImage(tif8, 'rgb.tif'))).toBe('IMAGE_UNSUPPORTED');
    expect(
      await code(decodeImage(encodeDicosDx(img, { sopInstanceUid: '2.25.3', bitsAllocated: 8 }), 'b.dcm')),
    ).toBe('IMAGE_UNSUPPORTED');
    expect(
      await code(
        decodeImage(
          encodeDicosDx(img, { sopInstanceUid: '2.25.4', sopClassUid: '1.2.840.10008.5.1.4.1.1.2' }),
          'ct.dcm',
        ),
      ),
    ).toBe('IMAGE_UNSUPPORTED');
  });

  it('refuses decompression bombs from the header, before decoding', async () => {
    const png = Buffer.from(await encodeImage16(img, 'png'));
    png.writeUInt32BE(60_000, 16); // IHDR width
    png.writeUInt32BE(60_000, 20); // IHDR height (CRC now wrong too: never reached)
    const t0 = performance.now();
    expect(await code(decodeImage(png, 'bomb.png'))).toBe('IMAGE_TOO_LARGE');
    expect(performance.now() - t0).toBeLessThan(2000);
    // A real 16-bit PNG that is small on disk but over a (test-sized) pixel limit.
    const flat = await encodeImage16({ width: 2000, height: 2000, data: new Uint16Array(4_000_000) }, 'png');
    expect(flat.length).toBeLessThan(100_000);
    expect(await code(decodeImage(flat, 'flat.png', { maxPixels: 1_000_000, maxSide: 20_000 }))).toBe(
      'IMAGE_TOO_LARGE',
    );
    const tif = await encodeImage16({ width: 2000, height: 2000, data: new Uint16Array(4_000_000) }, 'tiff');
    expect(await code(decodeImage(tif, 'flat.tif', { maxPixels: 1_000_000, maxSide: 20_000 }))).toBe(
      'IMAGE_TOO_LARGE',
    );
    expect(
      await code(
        decodeImage(encodeDicosDx(img, { sopInstanceUid: '2.25.5', declaredRows: 60_000 }), 'big.dcm'),
      ),
    ).toBe('IMAGE_TOO_LARGE');
  });
});
