/**
 * Scan image decoding (SPEC §1.3, §8 "uploaded images are size-limited and decoded safely"):
 * 16-bit greyscale PNG and TIFF through sharp, DICOS DX through dicom-parser (dicos.ts). The
 * declared size is checked from the header before any pixel is decoded (decompression bombs),
 * and sharp's limitInputPixels guards the decoder too. Bit depth stays 16 end to end.
 */
import sharp from './sharp.js';
import { GatewayError } from '../core/errors.js';
import { decodeDicos, isDicom } from './dicos.js';
import { completeRows, streamablePng, streamPng16 } from './png-stream.js';
import type { Image16, RowProgress, ScanDecoding, ScanMeta } from './types.js';

export interface DecodeLimits {
  /** Largest accepted width × height. Default 40 M pixels (4000 × 10000). */
  readonly maxPixels: number;
  /** Largest accepted side. Default 20000. */
  readonly maxSide: number;
}

export const DEFAULT_LIMITS: DecodeLimits = { maxPixels: 40_000_000, maxSide: 20_000 };

export type ImageFormat = 'png' | 'tiff' | 'dicos';

export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47)
    return 'png';
  if (
    bytes.length >= 4 &&
    ((bytes[0] === 0x49 && bytes[1] === 0x49 && bytes[2] === 42 && bytes[3] === 0) ||
      (bytes[0] === 0x4d && bytes[1] === 0x4d && bytes[2] === 0 && bytes[3] === 42))
  )
    return 'tiff';
  if (isDicom(bytes)) return 'dicos';
  return null;
}

function checkSize(width: number, height: number, limits: DecodeLimits, name: string): void {
  if (!(width > 0 && height > 0))
    throw new GatewayError('IMAGE_CORRUPT', `${name}: image declares ${width} × ${height} pixels`, { name });
  if (width > limits.maxSide || height > limits.maxSide || width * height > limits.maxPixels) {
    throw new GatewayError(
      'IMAGE_TOO_LARGE',
      `${name}: image declares ${width} × ${height} pixels, above the limit of ${limits.maxPixels} pixels (max side ${limits.maxSide})`,
      { name, width, height, limits },
    );
  }
}

/** PNG IHDR: width, height, bit depth, colour type — read before decoding. */
function pngHeader(
  bytes: Uint8Array,
  name: string,
): { width: number; height: number; depth: number; colour: number } {
  if (bytes.length < 33)
    throw new GatewayError('IMAGE_CORRUPT', `${name}: PNG file too short (${bytes.length} bytes)`, { name });
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.toString('latin1', 12, 16) !== 'IHDR')
    throw new GatewayError('IMAGE_CORRUPT', `${name}: PNG has no IHDR header`, { name });
  return { width: view.readUInt32BE(16), height: view.readUInt32BE(20), depth: view[24]!, colour: view[25]! };
}

export interface DecodedImage {
  readonly image: Image16;
  readonly format: ImageFormat;
  /** Metadata the file itself carries (DICOS). */
  readonly meta?: Partial<ScanMeta>;
}

/** Decode one scan image; throws GatewayError IMAGE_* with a clear message. */
export async function decodeImage(
  bytes: Uint8Array,
  name: string,
  limits: DecodeLimits = DEFAULT_LIMITS,
): Promise<DecodedImage> {
  const format = sniffFormat(bytes);
  if (format === null)
    throw new GatewayError('IMAGE_UNSUPPORTED', `${name}: not a PNG, TIFF or DICOS file`, { name });
  if (format === 'dicos') return { ...decodeDicos(bytes, name, limits), format };
  if (format === 'png') {
    const h = pngHeader(bytes, name);
    checkSize(h.width, h.height, limits, name);
    if (h.depth !== 16 || h.colour !== 0) {
      throw new GatewayError(
        'IMAGE_UNSUPPORTED',
        `${name}: PNG is ${h.depth}-bit ${h.colour === 0 ? 'greyscale' : `colour type ${h.colour}`}; scans must be 16-bit greyscale`,
        { name, bitDepth: h.depth, colourType: h.colour },
      );
    }
  }
  let meta;
  try {
    // Header only (no pixels decoded), so the size check below gives the clear IMAGE_TOO_LARGE.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw new GatewayError(
      'IMAGE_CORRUPT',
      `${name}: unreadable ${format} header: ${(error as Error).message}`,
      { name },
      { cause: error },
    );
  }
  checkSize(meta.width ?? 0, meta.height ?? 0, limits, name);
  if (meta.depth !== 'ushort' || (meta.channels ?? 0) !== 1) {
    throw new GatewayError(
      'IMAGE_UNSUPPORTED',
      `${name}: ${format} is ${meta.depth ?? '?'} with ${meta.channels ?? '?'} channels; scans must be 16-bit greyscale`,
      { name, depth: meta.depth, channels: meta.channels },
    );
  }
  try {
    const input = sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'error', sequentialRead: true });
    const { data, info } = await input
      .toColourspace('grey16')
      .raw({ depth: 'ushort' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 1 || data.length !== info.width * info.height * 2)
      throw new Error(`unexpected decoder output (${info.channels} channels, ${data.length} bytes)`);
    return { image: { width: info.width, height: info.height, data: asUint16(data) }, format };
  } catch (error) {
    throw new GatewayError(
      'IMAGE_CORRUPT',
      `${name}: ${format} could not be decoded (truncated or corrupt): ${(error as Error).message}`,
      { name },
      { cause: error },
    );
  }
}

export interface OpenedImage extends DecodedImage {
  /** How far the image's rows are decoded (complete at once unless streamed). */
  readonly rows: RowProgress;
}

/**
 * Open one scan image for analysis: the same checks and errors as {@link decodeImage}, but a
 * 16-bit greyscale non-interlaced PNG (the scanners' usual file) is decoded as a stream, its rows
 * filling in while the analysis starts on the first ones (png-stream.ts); a failure part-way
 * rejects `rows` (IMAGE_CORRUPT). Anything else is decoded in one piece first, as before.
 */
export async function openImage(
  bytes: Uint8Array,
  name: string,
  limits: DecodeLimits = DEFAULT_LIMITS,
): Promise<OpenedImage> {
  const png = sniffFormat(bytes) === 'png' ? streamablePng(bytes, name) : null;
  if (png === null) {
    const decoded = await decodeImage(bytes, name, limits);
    return { ...decoded, rows: completeRows(decoded.image.height) };
  }
  // Checked before anything is inflated (decompression bombs).
  checkSize(png.header.width, png.header.height, limits, name);
  const { image, rows } = streamPng16(bytes, name, png.header, png.idat);
  return { image, format: 'png', rows };
}

/**
 * A scan's decoding, from its opened images (high first), timed from `t0`: unhandled failures
 * are not reported (whoever analyzes or takes the scan sees them).
 */
export function scanDecoding(images: readonly OpenedImage[], t0: number): ScanDecoding {
  const done = Promise.all(images.map((i) => i.rows.done)).then(() => performance.now() - t0);
  done.catch(() => undefined);
  return { high: images[0]!.rows, done };
}

/**
 * The decoder's native-endian 16-bit samples as a Uint16Array over the same memory (no second
 * 4 MB copy per scan); copied only when the buffer is not 2-byte aligned.
 */
function asUint16(data: Buffer): Uint16Array {
  if (data.byteOffset % 2 === 0) return new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
  const pixels = new Uint16Array(data.length / 2);
  new Uint8Array(pixels.buffer).set(data);
  return pixels;
}

/** Encode a 16-bit image as greyscale PNG or TIFF (the simulator and tests write scans with this). */
export async function encodeImage16(img: Image16, format: 'png' | 'tiff'): Promise<Buffer> {
  const s = sharp(img.data, { raw: { width: img.width, height: img.height, channels: 1 } }).toColourspace(
    'grey16',
  );
  return format === 'png'
    ? s.png({ compressionLevel: 3 }).toBuffer()
    : s.tiff({ compression: 'lzw' }).toBuffer();
}
