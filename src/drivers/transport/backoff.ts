/**
 * Capped exponential back-off with jitter for reconnecting device links (SPEC §8: "every
 * device link reconnects with capped exponential back-off"). Pure: attempt number in, delay
 * out; the random source is injectable so tests are deterministic.
 */
export interface BackoffOptions {
  /** Delay before the first retry (attempt 0). Default 250 ms. */
  readonly initialMs?: number;
  /** Growth per attempt. Default 2. */
  readonly factor?: number;
  /** Upper bound of any delay. Default 10 000 ms. */
  readonly maxMs?: number;
  /**
   * Fraction of the delay that is randomised, 0–1. Default 0.2: the delay lies in
   * [0.8·d, d], so lanes that lost their links together do not retry in lock-step, and the
   * cap is never exceeded.
   */
  readonly jitter?: number;
  /** Uniform random source in [0, 1). Default Math.random. */
  readonly random?: () => number;
}

export const DEFAULT_BACKOFF = { initialMs: 250, factor: 2, maxMs: 10_000, jitter: 0.2 } as const;

/** The delay before retry number `attempt` (0-based). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const initialMs = options.initialMs ?? DEFAULT_BACKOFF.initialMs;
  const factor = options.factor ?? DEFAULT_BACKOFF.factor;
  const maxMs = options.maxMs ?? DEFAULT_BACKOFF.maxMs;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? DEFAULT_BACKOFF.jitter));
  const random = options.random ?? Math.random;
  const n = Math.max(0, Math.floor(attempt));
  // Cap before multiplying out so a long outage (attempt 10 000) cannot overflow to Infinity.
  const base = Math.min(maxMs, initialMs * Math.pow(factor, Math.min(n, 64)));
  return Math.round(base * (1 - jitter * random()));
}

/** A retry counter over {@link backoffDelay}: `next()` gives the next delay, `reset()` after success. */
export interface Backoff {
  next(): number;
  reset(): void;
  /** Retries handed out since the last reset. */
  readonly attempt: number;
}

export function createBackoff(options: BackoffOptions = {}): Backoff {
  let attempt = 0;
  return {
    next: () => backoffDelay(attempt++, options),
    reset: () => {
      attempt = 0;
    },
    get attempt() {
      return attempt;
    },
  };
}
