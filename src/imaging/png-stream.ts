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
import { takePixels } from './pixel-pool.js';
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

/**
 * Compressed bytes per write to the inflate stream (its output comes a write at a time: ≈ 64 rows
 * of a 2048-wide scan, a strip of the analysis). Fewer, larger writes: every write is a trip to
 * the libuv pool, and 8 KB IDAT chunks one by one measured slower than sharp.
 */
const PIECE = 256 * 1024;

/**
 * Inflated bytes per output buffer. Every buffer the stream fills is garbage as soon as its rows
 * are un-filtered. Each one is also a trip back to this thread, which is busy in its slices
 * while the model runs: with 64 KB buffers the decode stretched to 60–75 ms and the first tile
 * waited for it; 1 MB (four or five per scan) keeps the trips few. One buffer for the whole image
 * lived through the decode, was promoted, and waited for a full collection (the gateway's peak
 * RSS rose by ≈ 20–30 MB; the analyzer's young collection after a scan frees only young garbage,
 * release.ts).
 */
const OUT_CHUNK = 1024 * 1024;

/** Piece buffers for runs of small IDAT chunks (8 KB from libpng and libvips), shared by every decode. */
const spare: Buffer[] = [];
const MAX_SPARE = 4;

/**
 * A decode's progress, apart from the decoder: once the decode is over, nothing of it (the
 * stream, its 4 MB output buffer, the file's bytes) stays reachable from the scan, which holds
 * this — so the decoder's buffers are garbage at once and die young (release.ts).
 */
class Progress implements RowProgress {
  rows = 0;
  readonly done: Promise<void>;
  private failure: Error | null = null;
  private settle!: { resolve: () => void; reject: (e: Error) => void };
  private readonly waiters: Array<{ n: number; resolve: () => void; reject: (e: Error) => void }> = [];

  constructor(readonly height: number) {
    this.done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => undefined); // nobody need watch it: waiters get the error too
  }

  whenRows(n: number): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (n <= this.rows) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.waiters.push({ n, resolve, reject }));
  }

  advance(rows: number): void {
    this.rows = rows;
    this.wake();
  }

  finish(): void {
    this.settle.resolve();
    this.wake();
  }

  fail(error: Error): void {
    this.failure = error;
    this.settle.reject(error);
    this.wake();
  }

  get failed(): boolean {
    return this.failure !== null;
  }

  private wake(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (this.failure !== null) w.reject(this.failure);
      else if (w.n <= this.rows) w.resolve();
      else continue;
      this.waiters.splice(i, 1);
    }
  }
}

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
  // Every row is written before it is counted in (the rows' progress), so a reused buffer's old
  // pixels are never read.
  const data = takePixels(width * height);
  const progress = new Progress(height);
  decode(bytes, name, header, idat, data, progress);
  return { image: { width, height, data }, rows: progress };
}

function decode(
  bytes: Uint8Array,
  name: string,
  { width, height }: PngHeader,
  idat: number,
  data: Uint16Array,
  progress: Progress,
): void {
  const rows = new RowUnfilter(width, height, data, name);
  const expected = height * (1 + width * 2);
  const fail = (error: unknown): void => {
    if (progress.failed) return;
    progress.fail(
      error instanceof GatewayError
        ? error
        : new GatewayError(
            'IMAGE_CORRUPT',
            `${name}: png could not be decoded (truncated or corrupt): ${(error as Error).message}`,
            { name },
            { cause: error },
          ),
    );
    inflate.destroy();
  };
  const inflate: Inflate = createInflate({ chunkSize: OUT_CHUNK });
  let offset = idat;
  let ended = false;
  let inflated = 0;
  /** An IDAT chunk read (CRC checked) but not yet written: it did not fit in the last piece. */
  let held: Uint8Array | null = null;
  /** Feed chunks until two pieces wait in the stream: the pool never waits on this thread's slices. */
  const feed = (): void => {
    try {
      while (!ended && !progress.failed && inflate.writableLength < 2 * PIECE) {
        const parts: Uint8Array[] = [];
        let size = 0;
        for (;;) {
          let data = held;
          held = null;
          if (data === null) {
            const chunk = readChunk(bytes, offset, name);
            offset = chunk.next;
            if (chunk.type === 'IEND') {
              ended = true;
              break;
            }
            if (chunk.type !== 'IDAT') {
              if (!/^[a-z]/.test(chunk.type)) throw new Error(`unexpected ${chunk.type} chunk`);
              continue;
            }
            data = chunk.data;
          }
          if (parts.length > 0 && size + data.length > PIECE) {
            held = data;
            break;
          }
          parts.push(data);
          size += data.length;
          if (size >= PIECE) break;
        }
        if (parts.length === 1) inflate.write(parts[0]);
        else if (parts.length > 1) {
          const piece = spare.pop() ?? Buffer.allocUnsafe(PIECE);
          let at = 0;
          for (const part of parts) {
            piece.set(part, at);
            at += part.length;
          }
          inflate.write(piece.subarray(0, at), () => {
            if (spare.length < MAX_SPARE) spare.push(piece);
          });
        }
        if (ended) inflate.end();
      }
    } catch (error) {
      fail(error);
    }
  };
  inflate.on('data', (piece: Buffer) => {
    if (progress.failed) return;
    try {
      inflated += piece.length;
      if (inflated > expected) throw new Error(`more image data than ${height} rows of ${width} pixels`);
      rows.push(piece);
    } catch (error) {
      fail(error);
      return;
    }
    progress.advance(rows.rows);
    feed();
  });
  inflate.on('error', fail);
  inflate.on('end', () => {
    if (progress.failed) return;
    if (!rows.complete) fail(new Error(`image data ends after ${rows.rows} of ${height} rows`));
    else progress.finish();
  });
  feed();
}
