/**
 * A device link's changes in the gateway's log, for the technician reading it. The lane events
 * carry every change (central sees them all); the log says what is news. The drivers already
 * leave out the retries of a device that cannot be reached (the same failure again). This adds
 * the other loop a mis-set device falls into: the link comes up and drops within a minute, again
 * and again — a one-client device whose connection someone else holds, a Modbus RPM that answers
 * no unit, a serial adapter that resets. Its first drop is `device link lost`; the second short
 * drop for the same reason says the link keeps dropping and that further drops are logged only
 * every {@link FLAP_REMINDER_MS}, each reminder with the number of drops since the last warning.
 * A link that stays up for {@link FLAP_UP_MS} or more before it drops ends that.
 */
import type { Logger } from '../core/logger.js';
import type { ConnectionEvent } from '../domain/lane-events.js';
import { causeOf } from '../drivers/transport/outage.js';

/** A link lost after being up for less than this is a short session. */
export const FLAP_UP_MS = 60_000;
/** While a link keeps dropping for the same reason, it is logged again this often. */
export const FLAP_REMINDER_MS = 5 * 60_000;

export class LinkLog {
  private upAt = Number.NEGATIVE_INFINITY;
  private lastCause: string | null = null;
  /** Consecutive short sessions lost for `lastCause`. */
  private shortDrops = 0;
  private warnedAt = Number.NEGATIVE_INFINITY;
  /** Drops logged at debug since the last warning. */
  private quietDrops = 0;

  constructor(
    private readonly logger: Logger,
    private readonly reminderMs: number = FLAP_REMINDER_MS,
  ) {}

  handle(e: ConnectionEvent): void {
    const fields = {
      ...(e.detail === undefined ? {} : { detail: e.detail }),
      ...(e.retryInMs === undefined ? {} : { retryInMs: e.retryInMs }),
      ...(e.attempts === undefined ? {} : { attempts: e.attempts }),
    };
    switch (e.state) {
      case 'connecting':
        return;
      case 'connected':
        this.upAt = e.time;
        // While the link keeps dropping, its reconnects are no more news than its drops.
        if (this.flapping()) this.logger.debug('device link up', fields);
        else this.logger.info('device link up', fields);
        return;
      case 'silent':
        this.logger.warn('device silent: no data for 3 sample intervals', fields);
        return;
      case 'disconnected':
        switch (e.reason) {
          // A lane stopped with the gateway is not a fault: the driver says so where the stop happens.
          case 'stopped':
            this.reset();
            this.logger.info('device link closed', fields);
            return;
          case 'connect-failed':
            this.logger.warn(
              (e.attempts ?? 1) > 1 ? 'still cannot connect to device' : 'cannot connect to device',
              fields,
            );
            return;
          case 'lost':
          case undefined:
            this.lost(e, fields);
            return;
        }
    }
  }

  private lost(e: ConnectionEvent, fields: Record<string, unknown>): void {
    // The reason alone: the retry delay in the detail varies from one drop to the next.
    const cause = causeOf(e.detail ?? '');
    const short = e.time - this.upAt < FLAP_UP_MS;
    this.shortDrops = short && cause === this.lastCause ? this.shortDrops + 1 : short ? 1 : 0;
    this.lastCause = cause;
    if (this.shortDrops < 2) {
      this.quietDrops = 0;
      this.logger.warn('device link lost', fields);
      return;
    }
    if (this.shortDrops === 2 || e.time - this.warnedAt >= this.reminderMs) {
      const drops = this.shortDrops === 2 ? this.shortDrops : this.quietDrops + 1;
      this.warnedAt = e.time;
      this.quietDrops = 0;
      // `drops`: since the last warning (the first time: the two short sessions that make it a loop).
      this.logger.warn('device link keeps dropping', {
        ...fields,
        drops,
        upLessThanMs: FLAP_UP_MS,
        nextReminderInMs: this.reminderMs,
      });
      return;
    }
    this.quietDrops++;
    this.logger.debug('device link lost', fields);
  }

  private flapping(): boolean {
    return this.shortDrops >= 2;
  }

  private reset(): void {
    this.upAt = Number.NEGATIVE_INFINITY;
    this.lastCause = null;
    this.shortDrops = 0;
    this.warnedAt = Number.NEGATIVE_INFINITY;
    this.quietDrops = 0;
  }
}
