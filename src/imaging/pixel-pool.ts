/**
 * Streamed scans' pixel buffers, reused from one scan to the next. A 2048 × 1024 scan's pixels
 * are 4 MB that the main thread would otherwise allocate afresh for every scan, and V8 counts
 * such buffers toward the limit that starts a full collection: with them the main thread (which
 * also decides alarms) ran a full collection on nearly every scan (docs/imaging.md, "What is
 * left"). The pool takes back only buffers it made, and only once their scan's decode has
 * finished writing into them ({@link recycleScanPixels}).
 */
import type { Scan } from './types.js';

/** Spares kept: a dual-energy scan's two images. */
const SPARES = 2;
/** Larger images (up to the decoder's own limit) are left to the collector rather than kept. */
const MAX_SPARE_PIXELS = 4096 * 2048;

const made = new WeakSet<Uint16Array>();
const spares: Uint16Array[] = [];

/** A buffer of `length` pixels: a spare of that length if there is one, else a new one. */
export function takePixels(length: number): Uint16Array {
  const i = spares.findIndex((p) => p.length === length);
  if (i >= 0) return spares.splice(i, 1)[0]!;
  const pixels = new Uint16Array(length);
  if (length <= MAX_SPARE_PIXELS) made.add(pixels);
  return pixels;
}

function give(pixels: Uint16Array): void {
  if (!made.has(pixels) || spares.includes(pixels)) return;
  spares.push(pixels);
  if (spares.length > SPARES) spares.shift();
}

/**
 * Give a streamed scan's pixels back for the next scan, once its decode has finished (at once
 * when it has; a decode that failed keeps them). For the scan's owner, when nothing will read
 * the scan's images again: the scanner service after a scan is analyzed. Scans decoded in one
 * piece have nothing to give back.
 */
export function recycleScanPixels(scan: Scan): void {
  scan.decoding?.done.then(
    () => {
      give(scan.high.data);
      if (scan.low !== undefined) give(scan.low.data);
    },
    () => undefined,
  );
}
