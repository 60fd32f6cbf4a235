/**
 * Which failed connection attempts of a device are news (SPEC §8: health is reported, not
 * flooded). A device that is never reached — wrong address, refused, timing out, a serial path
 * that does not exist — is retried with back-off for as long as it takes, up to every 10 s: its
 * first failure is reported at once, then again only when the reason changes (refused → timing
 * out) or, with the attempt count, every {@link OUTAGE_REMINDER_MS}. The drivers report what this
 * says as connection lane events, and the gateway logs those.
 */

/** While a device stays unreachable for the same reason, it is reported again this often. */
export const OUTAGE_REMINDER_MS = 5 * 60_000;

export class LinkOutage {
  private failures = 0;
  private lastCause: string | null = null;
  private reportedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly reminderMs: number = OUTAGE_REMINDER_MS) {}

  /** Failed attempts since the link was last up (or since start). */
  get attempts(): number {
    return this.failures;
  }

  /** The link went down after it was up: a new outage, reported at once, with no failed attempt yet. */
  lost(now: number, cause: string): void {
    this.failures = 0;
    this.lastCause = cause;
    this.reportedAt = now;
  }

  /**
   * An attempt failed for `cause` (without the retry delay, which varies). Whether to report it:
   * the outage's first news, a different cause than the last attempt's, or a reminder due.
   */
  failed(now: number, cause: string): boolean {
    this.failures++;
    const report = cause !== this.lastCause || now - this.reportedAt >= this.reminderMs;
    this.lastCause = cause;
    if (report) this.reportedAt = now;
    return report;
  }

  /** Connected: returns the attempts it took, this one included; the outage is over. */
  up(): number {
    const attempts = this.failures + 1;
    this.reset();
    return attempts;
  }

  reset(): void {
    this.failures = 0;
    this.lastCause = null;
    this.reportedAt = Number.NEGATIVE_INFINITY;
  }
}

/** "connected to tcp://10.0.0.5:1601 after 7 attempts", when it took more than one. */
export function afterAttempts(detail: string, attempts: number): string {
  return attempts > 1 ? `${detail} after ${attempts} attempts` : detail;
}

/** A failed or lost link's detail, as every driver reports it: "connect ECONNREFUSED …; retrying in 250 ms". */
export function retryingDetail(cause: string, delayMs: number): string {
  return `${cause}; retrying in ${delayMs} ms`;
}

/** The cause in a {@link retryingDetail} (the delay varies from one attempt to the next), or the detail as it is. */
export function causeOf(detail: string): string {
  return detail.replace(/; retrying in \d+ ms$/, '');
}
