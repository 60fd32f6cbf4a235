/**
 * The pure parts of the row-streaming PNG decoder (png-stream.ts): chunk reading with CRC
 * checks, the IHDR, and un-filtering rows of 16-bit greyscale (2 bytes per pixel) into native
 * 16-bit samples. No I/O, no zlib: the stream feeds inflated bytes to {@link RowUnfilter} as they
 * come, and every problem is a GatewayError IMAGE_CORRUPT naming the file.
 */
import { endianness } from 'node:os';
import { crc32 } from 'node:zlib';
import { GatewayError } from '../core/errors.js';

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface PngChunk {
  readonly type: string;
  readonly data: Uint8Array;
  /** Offset just past the chunk (its CRC included): the next chunk's. */
  readonly next: number;
}

const corrupt = (name: string, reason: string): GatewayError =>
  new GatewayError('IMAGE_CORRUPT', `${name}: png could not be decoded (truncated or corrupt): ${reason}`, {
    name,
  });

/** The chunk at `offset`, its length and CRC checked. */
export function readChunk(bytes: Uint8Array, offset: number, name: string): PngChunk {
  if (offset + 12 > bytes.length) throw corrupt(name, `truncated at byte ${offset} (no chunk header)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(offset);
  const end = offset + 8 + length;
  if (length > 0x7fffffff || end + 4 > bytes.length)
    throw corrupt(name, `truncated in a chunk at byte ${offset} (declares ${length} bytes)`);
  const type = String.fromCharCode(
    bytes[offset + 4]!,
    bytes[offset + 5]!,
    bytes[offset + 6]!,
    bytes[offset + 7]!,
  );
  if (!/^[A-Za-z]{4}$/.test(type)) throw corrupt(name, `invalid chunk type at byte ${offset}`);
  // The CRC covers the type and the data.
  if (crc32(bytes.subarray(offset + 4, end)) !== view.getUint32(end))
    throw corrupt(name, `${type} chunk at byte ${offset} fails its CRC`);
  return { type, data: bytes.subarray(offset + 8, end), next: end + 4 };
}

export interface PngHeader {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  readonly colourType: number;
  readonly compression: number;
  readonly filter: number;
  readonly interlace: number;
}

export function parseIhdr(chunk: PngChunk, name: string): PngHeader {
  if (chunk.type !== 'IHDR' || chunk.data.length !== 13) throw corrupt(name, 'no valid IHDR chunk');
  const d = chunk.data;
  const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
  return {
    width: view.getUint32(0),
    height: view.getUint32(4),
    bitDepth: d[8]!,
    colourType: d[9]!,
    compression: d[10]!,
    filter: d[11]!,
    interlace: d[12]!,
  };
}

/**
 * Reconstruct one filtered row in place (PNG filter types 0–4). `prev` is the row above,
 * reconstructed (all zeros for the first row); `bpp` bytes per pixel. Returns false for an unknown
 * filter type.
 */
export function unfilterRow(filter: number, row: Uint8Array, prev: Uint8Array, bpp: number): boolean {
  const n = row.length;
  switch (filter) {
    case 0:
      return true;
    case 1:
      for (let i = bpp; i < n; i++) row[i] = row[i]! + row[i - bpp]!;
      return true;
    case 2:
      for (let i = 0; i < n; i++) row[i] = row[i]! + prev[i]!;
      return true;
    case 3:
      for (let i = 0; i < bpp; i++) row[i] = row[i]! + (prev[i]! >> 1);
      for (let i = bpp; i < n; i++) row[i] = row[i]! + ((row[i - bpp]! + prev[i]!) >> 1);
      return true;
    case 4:
      // Paeth with a = c = 0 predicts b for the first pixel.
      for (let i = 0; i < bpp; i++) row[i] = row[i]! + prev[i]!;
      for (let i = bpp; i < n; i++) {
        const a = row[i - bpp]!;
        const b = prev[i]!;
        const c = prev[i - bpp]!;
        const pa = Math.abs(b - c);
        const pb = Math.abs(a - c);
        const pc = Math.abs(a + b - 2 * c);
        row[i] = row[i]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      }
      return true;
    default:
      return false;
  }
}

const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * Inflated scanlines (a filter byte, then width × 2 big-endian bytes) → rows of native 16-bit
 * samples in `out`, as the bytes come, in pieces of any size. More bytes than the image's rows
 * hold is corrupt (the inflated size is capped at exactly what the header declares).
 */
export class RowUnfilter {
  /** Rows [0, rows) are in `out`. */
  rows = 0;
  private readonly rowBytes: number;
  private cur: Uint8Array;
  private prev: Uint8Array;
  /** Bytes of the current scanline so far (its filter byte included). */
  private filled = 0;
  private filter = 0;
  private readonly outBytes: Buffer;

  constructor(
    readonly width: number,
    readonly height: number,
    out: Uint16Array,
    private readonly name: string,
  ) {
    this.rowBytes = width * 2;
    this.cur = new Uint8Array(this.rowBytes);
    this.prev = new Uint8Array(this.rowBytes);
    this.outBytes = Buffer.from(out.buffer, out.byteOffset, width * height * 2);
  }

  /** Whether every row is in and nothing is left over. */
  get complete(): boolean {
    return this.rows === this.height && this.filled === 0;
  }

  push(bytes: Uint8Array): void {
    let i = 0;
    const n = bytes.length;
    while (i < n) {
      if (this.rows >= this.height)
        throw corrupt(this.name, `more image data than ${this.height} rows of ${this.width} pixels`);
      if (this.filled === 0) {
        this.filter = bytes[i++]!;
        this.filled = 1;
        continue;
      }
      const take = Math.min(n - i, this.rowBytes - (this.filled - 1));
      this.cur.set(bytes.subarray(i, i + take), this.filled - 1);
      this.filled += take;
      i += take;
      if (this.filled === this.rowBytes + 1) this.finishRow();
    }
  }

  private finishRow(): void {
    const y = this.rows;
    if (!unfilterRow(this.filter, this.cur, this.prev, 2))
      throw corrupt(this.name, `row ${y} has an invalid filter type ${this.filter}`);
    const at = y * this.rowBytes;
    this.outBytes.set(this.cur, at);
    // PNG samples are big-endian; the analysis reads native ones (as sharp's raw output).
    if (LITTLE_ENDIAN) this.outBytes.subarray(at, at + this.rowBytes).swap16();
    const t = this.prev;
    this.prev = this.cur;
    this.cur = t;
    this.filled = 0;
    this.rows = y + 1;
  }
}
