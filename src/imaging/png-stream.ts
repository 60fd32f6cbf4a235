/**
 * Row-streaming decode of the scans' common case, a 16-bit greyscale non-interlaced PNG: the
 * image's buffer is handed out at once and fills from the top while zlib inflates (node:zlib, in
 * the libuv pool), so the analysis can calibrate and cut the first tiles while the rest is still
 * being decoded (docs/imaging.md "Where the time goes": the decode was the critical path's first
 * ≈ 28 ms, 70 % of it inflate). Rows are un-filtered on this thread as inflated pieces arrive
 * (png-rows.ts). Chunks are read and CRC-checked as they are fed, a few ahead of the inflate,
 * so a damaged file fails part-way: whoever waits on rows gets the IMAGE_CORRUPT.
 *
 * Everything else (other depths or colour types, interlaced, a transparency or ICC chunk that
 * sharp would act on) is not claimed ({@link streamablePng} is false): decode.ts keeps sharp.
 */
import { createInflate, type Inflate } from 'node:zlib';
import { GatewayError } from '../core/errors.js';
import { parseIhdr, PNG_SIGNATURE, readChunk, RowUnfilter, type PngHeader } from './png-rows.js';
import type { Image16, RowProgress } from './types.js';

/** The progress of an image decoded in one piece. */
export function completeRows(height: number): RowProgress {
  const done = Promise.resolve();
  return { height, rows: height, whenRows: () => done, done };
}

/** Ancillary chunks that change nothing in a 16-bit grey image as sharp decodes it. */
const IGNORED = new Set(['pHYs', 'tEXt', 'zTXt', 'iTXt', 'tIME', 'gAMA', 'cHRM', 'sRGB', 'sBIT', 'bKGD']);

/**
 * The header, and the offset of the first IDAT chunk, when this decoder handles the file:
 * 16-bit greyscale, no interlace, standard compression and filtering, nothing before the image
 * data that sharp would apply. Null otherwise. The header's sizes are the caller's to check.
 */
export function streamablePng(bytes: Uint8Array, name: string): { header: PngHeader; idat: number } | null {
  if (bytes.length < 8 || !PNG_SIGNATURE.equals(bytes.subarray(0, 8))) return null;
  let header: PngHeader;
  try {
    header = parseIhdr(readChunk(bytes, 8, name), name);
  } catch {
    return null; // sharp's message for a damaged header
  }
  const h = header;
  if (h.bitDepth !== 16 || h.colourType !== 0 || h.interlace !== 0 || h.compression !== 0 || h.filter !== 0)
    return null;
  let offset = 8;
  for (;;) {
    let chunk;
    try {
      chunk = readChunk(bytes, offset, name);
    } catch {
      return null;
    }
    if (chunk.type === 'IDAT') return { header, idat: offset };
    if (offset > 8 && !IGNORED.has(chunk.type)) return null;
    offset = chunk.next;
  }
}

/** Inflate output per piece: 64 rows of a 2048-wide scan, a strip of the analysis. */
const PIECE = 256 * 1024;

/**
 * Start decoding; the image's rows fill in as the returned progress says. The caller has checked
 * the size (checked before anything is inflated: decompression bombs) and {@link streamablePng}.
 */
export function streamPng16(
  bytes: Uint8Array,
  name: string,
  header: PngHeader,
  idat: number,
): { image: Image16; rows: RowProgress } {
  const { width, height } = header;
  const data = new Uint16Array(width * height);
  const rows = new RowUnfilter(width, height, data, name);
  const expected = height * (1 + width * 2);
  const waiters: Array<{ n: number; resolve: () => void; reject: (e: Error) => void }> = [];
  let failure: Error | null = null;
  let settle!: { resolve: () => void; reject: (e: Error) => void };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  done.catch(() => undefined); // nobody need watch it: waiters get the error too
  const wakeWaiters = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      if (failure !== null) w.reject(failure);
      else if (w.n <= rows.rows) w.resolve();
      else continue;
      waiters.splice(i, 1);
    }
  };
  const fail = (error: unknown): void => {
    if (failure !== null) return;
    failure =
      error instanceof GatewayError
        ? error
        : new GatewayError(
            'IMAGE_CORRUPT',
            `${name}: png could not be decoded (truncated or corrupt): ${(error as Error).message}`,
            { name },
            { cause: error },
          );
    inflate.destroy();
    settle.reject(failure);
    wakeWaiters();
  };

  const inflate: Inflate = createInflate({ chunkSize: PIECE });
  let offset = idat;
  let ended = false;
  let inflated = 0;
  /** Feed chunks until two pieces wait in the stream: the pool never waits on this thread's slices. */
  const feed = (): void => {
    try {
      while (!ended && failure === null && inflate.writableLength < 2 * PIECE) {
        const parts: Uint8Array[] = [];
        let size = 0;
        while (size < PIECE) {
          const chunk = readChunk(bytes, offset, name);
          offset = chunk.next;
          if (chunk.type === 'IDAT') {
            parts.push(chunk.data);
            size += chunk.data.length;
          } else if (chunk.type === 'IEND') {
            ended = true;
            break;
          } else if (!/^[a-z]/.test(chunk.type)) throw new Error(`unexpected ${chunk.type} chunk`);
        }
        if (size > 0) inflate.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts, size));
        if (ended) inflate.end();
      }
    } catch (error) {
      fail(error);
    }
  };
  inflate.on('data', (piece: Buffer) => {
    if (failure !== null) return;
    try {
      inflated += piece.length;
      if (inflated > expected) throw new Error(`more image data than ${height} rows of ${width} pixels`);
      rows.push(piece);
    } catch (error) {
      fail(error);
      return;
    }
    wakeWaiters();
    feed();
  });
  inflate.on('error', fail);
  inflate.on('end', () => {
    if (failure !== null) return;
    if (!rows.complete) fail(new Error(`image data ends after ${rows.rows} of ${height} rows`));
    else {
      settle.resolve();
      wakeWaiters();
    }
  });
  feed();

  const progress: RowProgress = {
    height,
    get rows() {
      return rows.rows;
    },
    whenRows(n) {
      if (failure !== null) return Promise.reject(failure);
      if (n <= rows.rows) return Promise.resolve();
      return new Promise<void>((resolve, reject) => waiters.push({ n, resolve, reject }));
    },
    done,
  };
  return { image: { width, height, data }, rows: progress };
}
