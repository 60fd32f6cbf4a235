/**
 * Line framing for the VM-250 ASCII stream (SPEC §1.1), shared by the live driver (TCP,
 * serial) and replay. Pure and synchronous: bytes in, lines out through callbacks, no I/O.
 *
 * Rules:
 * - A line ends at LF, CR LF, or a lone CR. A CR ends the line at once; an LF right after
 *   it (even in the next chunk) is swallowed, so no line ever waits for the next chunk.
 * - Empty lines (`\n\n`, `\r\r`) are skipped silently: there is nothing to count.
 * - A line longer than `maxLength` bytes (terminator excluded; default 128, SPEC §1.1) is
 *   discarded whole, up to its terminator, and reported once as `line-too-long` with its full
 *   length; the buffer never holds more than `maxLength` bytes of it.
 * - Garbage: a line holding any byte below 0x20 other than TAB, DEL (0x7F) or any byte ≥ 0x80
 *   is discarded whole and reported as `garbage`. Device lines are plain printable ASCII, so
 *   such a line is line noise (serial framing errors, a half-written log) and its numbers
 *   cannot be trusted. The next terminator resynchronises.
 * - Bytes are decoded as Latin-1 (one char per byte), so `length` is in bytes.
 * - `flush()` ends input: a trailing line without terminator is passed on as a line (replay's
 *   truncated last line, which the codec then marks malformed) or reported if bad.
 *
 * Speed (replay's hot path): a chunk is first checked natively and word-wise — `isAscii`, then
 * a SWAR pass over 32-bit words that only looks at the bytes of words holding a control byte
 * (in a clean file: the CR LF of each line). A clean chunk is then split with native indexOf:
 * on its bytes for an `onLineBytes` consumer (no string is made), on its Latin-1 text for an
 * `onLine` consumer (lines are substrings of it). A chunk with garbage, a lone CR or a CR as its
 * last byte takes the char-by-char path.
 */
import { isAscii } from 'node:buffer';

export type DiscardReason = 'line-too-long' | 'garbage';

export interface LineDiscard {
  readonly reason: DiscardReason;
  /** Length of the discarded line in bytes, terminator excluded. */
  readonly length: number;
  /** Its first bytes, with non-printable bytes escaped as `\xNN` (for logs and bad-input events). */
  readonly prefix: string;
}

export interface LineFramerOptions {
  /** Called for every complete, clean line (terminator removed). */
  readonly onLine: (line: string) => void;
  /** Called for every discarded line. Default: ignore (callers should count them). */
  readonly onDiscard?: (discard: LineDiscard) => void;
  /** Longest accepted line in bytes, terminator excluded. Default 128. */
  readonly maxLength?: number;
  /**
   * For hot consumers (replay): called instead of `onLine` with the line as bytes,
   * `bytes[start, end)`, so a consumer that decodes bytes never makes a string for the line.
   * `bytes` is the chunk as received (or a small buffer for a line that spanned chunks); it is
   * not copied, so a consumer that keeps it must not expect the producer to reuse it.
   */
  readonly onLineBytes?: (bytes: Buffer, start: number, end: number) => void;
}

const LF = 10;
const CR = 13;
const TAB = 9;
const PREFIX_CHARS = 32;

export class LineFramer {
  private readonly onLine: (line: string) => void;
  private readonly onLineBytes: ((bytes: Buffer, start: number, end: number) => void) | null;
  private readonly onDiscard: (discard: LineDiscard) => void;
  private readonly maxLength: number;
  /** The start of a line carried over from earlier chunks ('' when none). */
  private pending = '';
  /** Length of the carried-over line (exceeds pending.length once it is being discarded). */
  private pendingLength = 0;
  /** The carried-over line holds a garbage byte. */
  private pendingBad = false;
  /** The previous chunk ended with CR: an LF first in this chunk belongs to it. */
  private afterCR = false;

  constructor(options: LineFramerOptions) {
    this.onLine = options.onLine;
    this.onLineBytes = options.onLineBytes ?? null;
    this.onDiscard = options.onDiscard ?? (() => undefined);
    this.maxLength = options.maxLength ?? 128;
  }

  /** Feed bytes; complete lines are delivered before this returns. */
  push(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (!isClean(buf)) this.pushLatin1(buf.toString('latin1'));
    else if (this.onLineBytes !== null) this.pushCleanBytes(buf, this.onLineBytes);
    else this.pushCleanText(buf.toString('latin1'));
  }

  /** A clean chunk (see {@link isClean}) for a string consumer: native indexOf on its text. */
  private pushCleanText(s: string): void {
    const n = s.length;
    let start = 0;
    if (this.afterCR && n > 0) {
      this.afterCR = false;
      if (s.charCodeAt(0) === LF) start = 1;
    }
    const max = this.maxLength;
    if (this.pendingLength > 0) {
      const nl = s.indexOf('\n', start);
      if (nl < 0) {
        this.carry(s, start, n, false);
        return;
      }
      this.endPending(s, start, nl > start && s.charCodeAt(nl - 1) === CR ? nl - 1 : nl, false);
      start = nl + 1;
    }
    for (;;) {
      const nl = s.indexOf('\n', start);
      if (nl < 0) break;
      const end = nl > start && s.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
      const len = end - start;
      if (len > 0) {
        if (len > max) this.discard('line-too-long', len, s.slice(start, start + PREFIX_CHARS));
        else this.onLine(s.slice(start, end));
      }
      start = nl + 1;
    }
    if (start < n) this.carry(s, start, n, false);
  }

  /** A clean chunk for a byte consumer: native Buffer#indexOf, no string at all. */
  private pushCleanBytes(
    buf: Buffer,
    onLineBytes: (bytes: Buffer, start: number, end: number) => void,
  ): void {
    const n = buf.length;
    let start = 0;
    if (this.afterCR && n > 0) {
      this.afterCR = false;
      if (buf[0] === LF) start = 1;
    }
    const max = this.maxLength;
    if (this.pendingLength > 0) {
      const nl = buf.indexOf(LF, start);
      if (nl < 0) {
        this.carry(buf.toString('latin1', start, n), 0, n - start, false);
        return;
      }
      const end = nl > start && buf[nl - 1] === CR ? nl - 1 : nl;
      const text = buf.toString('latin1', start, end);
      this.endPending(text, 0, text.length, false);
      start = nl + 1;
    }
    for (;;) {
      const nl = buf.indexOf(LF, start);
      if (nl < 0) break;
      const end = nl > start && buf[nl - 1] === CR ? nl - 1 : nl;
      const len = end - start;
      if (len > 0) {
        if (len > max)
          this.discard('line-too-long', len, buf.toString('latin1', start, start + PREFIX_CHARS));
        else onLineBytes(buf, start, end);
      }
      start = nl + 1;
    }
    if (start < n) this.carry(buf.toString('latin1', start, n), 0, n - start, false);
  }

  /** Feed text whose chars are bytes (Latin-1), e.g. from a stream with setEncoding('latin1'). */
  pushLatin1(s: string): void {
    const n = s.length;
    let i = 0;
    if (this.afterCR && n > 0) {
      this.afterCR = false;
      if (s.charCodeAt(0) === LF) i = 1;
    }
    let start = i;
    let bad = false;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 32) {
        if (c > 126) bad = true;
        continue;
      }
      if (c === LF || c === CR) {
        if (this.pendingLength === 0) {
          const len = i - start;
          if (len > 0) {
            if (len > this.maxLength)
              this.discard('line-too-long', len, s.slice(start, start + PREFIX_CHARS));
            else if (bad) this.discard('garbage', len, s.slice(start, i));
            else this.deliver(s, start, i);
          }
        } else {
          this.endPending(s, start, i, bad);
        }
        bad = false;
        if (c === CR) {
          if (i + 1 < n) {
            if (s.charCodeAt(i + 1) === LF) i++;
          } else {
            this.afterCR = true;
          }
        }
        start = i + 1;
      } else if (c !== TAB) {
        bad = true;
      }
    }
    if (start < n) this.carry(s, start, n, bad);
  }

  /**
   * End of input: deliver a trailing line that has no terminator (or report it when bad).
   * Returns true when there was one.
   */
  flush(): boolean {
    this.afterCR = false;
    if (this.pendingLength === 0) return false;
    this.endPending('', 0, 0, false);
    return true;
  }

  /** Drop any partial line without reporting it (e.g. the link was re-established). */
  reset(): void {
    this.pending = '';
    this.pendingLength = 0;
    this.pendingBad = false;
    this.afterCR = false;
  }

  /** Bytes of an unfinished line held from earlier chunks. */
  get buffered(): number {
    return this.pending.length;
  }

  private carry(s: string, start: number, end: number, bad: boolean): void {
    const total = this.pendingLength + (end - start);
    if (total <= this.maxLength) {
      this.pending = this.pendingLength === 0 ? s.slice(start, end) : this.pending + s.slice(start, end);
    } else if (this.pending.length < PREFIX_CHARS) {
      // Too long already: keep only a prefix for the report, count the rest.
      this.pending = (this.pending + s.slice(start, start + PREFIX_CHARS)).slice(0, PREFIX_CHARS);
    }
    this.pendingLength = total;
    this.pendingBad ||= bad;
  }

  private endPending(s: string, start: number, end: number, bad: boolean): void {
    const len = this.pendingLength + (end - start);
    const head = this.pending;
    const wasBad = this.pendingBad || bad;
    this.pending = '';
    this.pendingLength = 0;
    this.pendingBad = false;
    if (len > this.maxLength) {
      this.discard(
        'line-too-long',
        len,
        (head + s.slice(start, start + PREFIX_CHARS)).slice(0, PREFIX_CHARS),
      );
    } else if (wasBad) {
      this.discard('garbage', len, head + s.slice(start, end));
    } else {
      const line = head + s.slice(start, end);
      this.deliver(line, 0, line.length);
    }
  }

  private deliver(s: string, start: number, end: number): void {
    if (this.onLineBytes !== null)
      this.onLineBytes(Buffer.from(s.slice(start, end), 'latin1'), 0, end - start);
    else this.onLine(start === 0 && end === s.length ? s : s.slice(start, end));
  }

  private discard(reason: DiscardReason, length: number, raw: string): void {
    this.onDiscard({ reason, length, prefix: escapeBytes(raw.slice(0, PREFIX_CHARS)) });
  }
}

/**
 * True when `buf` holds only printable ASCII, TAB, LF, and CRs each followed by an LF in the
 * same chunk. `isAscii` is native; the control-byte test runs on 32-bit words (a byte b < 0x20
 * sets bit 7 of (v − 0x20202020) & ~v when all bytes are < 0x80) and inspects bytes only in the
 * words it flags.
 */
function isClean(buf: Buffer): boolean {
  const n = buf.length;
  if (n === 0 || !isAscii(buf)) return n === 0;
  let i = 0;
  // Bytes before the first 4-byte boundary, and after the last, are checked one by one.
  const head = Math.min(n, (4 - (buf.byteOffset & 3)) & 3);
  for (; i < head; i++) if (!cleanByte(buf, i, n)) return false;
  const words = (n - i) >> 2;
  if (words > 0) {
    const w = new Uint32Array(buf.buffer, buf.byteOffset + i, words);
    for (let k = 0; k < words; k++) {
      const v = w[k]!;
      const x = v ^ 0x7f7f7f7f;
      if ((((v - 0x20202020) & ~v) | ((x - 0x01010101) & ~x)) & 0x80808080) {
        const b = i + 4 * k;
        if (
          !cleanByte(buf, b, n) ||
          !cleanByte(buf, b + 1, n) ||
          !cleanByte(buf, b + 2, n) ||
          !cleanByte(buf, b + 3, n)
        ) {
          return false;
        }
      }
    }
    i += 4 * words;
  }
  for (; i < n; i++) if (!cleanByte(buf, i, n)) return false;
  return true;
}

function cleanByte(buf: Buffer, i: number, n: number): boolean {
  const c = buf[i]!;
  if (c >= 32) return c !== 127;
  if (c === LF || c === TAB) return true;
  return c === CR && i + 1 < n && buf[i + 1] === LF;
}

/** Build a framer (same as `new LineFramer(options)`). */
export function createLineFramer(options: LineFramerOptions): LineFramer {
  return new LineFramer(options);
}

/** Printable ASCII as is; anything else as `\xNN`. */
export function escapeBytes(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 32 && c <= 126 ? s[i] : `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return out;
}
