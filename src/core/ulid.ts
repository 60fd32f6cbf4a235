/**
 * Monotonic ULIDs (https://github.com/ulid/spec) for CloudEvents ids (SPEC §4): 48-bit time in
 * milliseconds + 80 random bits, Crockford base32, 26 characters, lexicographically sortable.
 * Within one millisecond — or when the clock steps back — the previous id's random part is
 * incremented instead of drawn again, so ids from one generator are strictly increasing.
 *
 * Pure: time and randomness are injected (tests pin both).
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_MAX = 2 ** 48 - 1;
const RANDOM_CHARS = 16; // 80 bits = 16 × 5

export interface UlidGenerator {
  /** The next id for time `ms` (epoch milliseconds). */
  next(ms: number): string;
}

/** `random` fills `bytes` with uniform random bytes (default: node:crypto getRandomValues). */
export function createUlidGenerator(
  random: (bytes: Uint8Array) => void = (b) => {
    globalThis.crypto.getRandomValues(b);
  },
): UlidGenerator {
  let lastTime = -1;
  // Random part as 16 base-32 digits, most significant first.
  const digits = new Uint8Array(RANDOM_CHARS);
  const bytes = new Uint8Array(RANDOM_CHARS);
  return {
    next(ms: number): string {
      let time = Math.floor(ms);
      if (!(time >= 0) || time > TIME_MAX) throw new RangeError(`ULID time out of range: ${ms}`);
      if (time <= lastTime) {
        time = lastTime;
        increment(digits);
      } else {
        lastTime = time;
        random(bytes);
        for (let i = 0; i < RANDOM_CHARS; i++) digits[i] = bytes[i]! & 31;
        // Leave headroom so a burst within one millisecond cannot overflow the random part.
        digits[0] = digits[0]! & 15;
      }
      let tail = '';
      for (let i = 0; i < RANDOM_CHARS; i++) tail += ALPHABET[digits[i]!]!;
      return encodeTime(time) + tail;
    },
  };
}

function increment(digits: Uint8Array): void {
  for (let i = digits.length - 1; i >= 0; i--) {
    if (digits[i]! < 31) {
      digits[i] = digits[i]! + 1;
      return;
    }
    digits[i] = 0;
  }
  throw new RangeError('ULID random part overflowed within one millisecond');
}

function encodeTime(time: number): string {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[time % 32]! + out;
    time = Math.floor(time / 32);
  }
  return out;
}

/** The time part of a ULID, epoch milliseconds (for consumers and tests). */
export function ulidTime(id: string): number {
  let time = 0;
  for (let i = 0; i < 10; i++) time = time * 32 + ALPHABET.indexOf(id[i]!.toUpperCase());
  return time;
}

/** A ULID's shape: 26 Crockford base32 characters. */
export const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;
