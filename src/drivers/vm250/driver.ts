/**
 * The live VM-250 driver (SPEC §1.1): link bytes → LineFramer → decodeLine → occupancy tracker
 * → lane events. It owns no port (STYLE.md §2): it is handed a ByteLink, and adds only what a
 * live link has and a replayed file has not:
 *
 * - receipt times: every line of a chunk is stamped with `clock.now()` when the chunk arrives;
 * - connection events from the link's state, collapsed so a device that is down for a day
 *   does not emit a connecting/disconnected pair per retry: a failed attempt is reported when
 *   it is news ({@link LinkOutage}: the first, a new reason, a reminder every 5 minutes);
 * - link lost → the open occupancy ends abnormally ('link-lost');
 * - silence: no line for `silenceIntervals` sample intervals (200 ms occupied, 5 s empty;
 *   SPEC §8) → one 'silent' event, and 'connected' again when lines resume;
 * - a periodic tick so the tracker can close occupancies on time with no line arriving;
 * - bad input (framer discards, malformed lines) counted by reason and logged, rate-limited
 *   so a garbage flood cannot flood the log (SPEC §8, STYLE.md §9).
 */
import type { Clock, TimerHandle } from '../../core/clock.js';
import type { Counters } from '../../core/counters.js';
import type { Logger } from '../../core/logger.js';
import type {
  BadInputEvent,
  ConnectionEvent,
  ConnectionState,
  LaneDescriptor,
  LaneDriver,
  LaneEvent,
  LaneEventSink,
} from '../../domain/lane-events.js';
import type { ByteLink, LinkStateChange } from '../transport/byte-link.js';
import { LineFramer, type LineDiscard } from '../transport/line-framer.js';
import { afterAttempts, LinkOutage } from '../transport/outage.js';
import { decodeLine } from './codec.js';
import { createVm250Tracker, type Vm250Tracker } from './occupancy-tracker.js';

/** SPEC §1.1: GS every 200 ms while occupied; GB/NB every 5 s while empty. */
const OCCUPIED_INTERVAL_MS = 200;
const EMPTY_INTERVAL_MS = 5000;
/** Canonical gamma channel order (SPEC §1.1); `channelOrder` maps the wire onto it. */
export const VM250_GAMMA_CHANNEL_NAMES = ['masterUpper', 'masterLower', 'slaveLower', 'slaveUpper'] as const;

export interface Vm250DriverOptions {
  readonly lane: string;
  readonly link: ByteLink;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly counters: Counters;
  readonly emit: LaneEventSink;
  readonly channelOrder?: readonly number[];
  /** First occupancy sequence number (from the persisted per-lane sequence). */
  readonly firstSeq?: number;
  /** Silent after this many missed sample intervals. Default 3 (SPEC §8). */
  readonly silenceIntervals?: number;
  /** Longest pause between tracker ticks. Default 500 ms. */
  readonly tickMs?: number;
  /** Longest accepted line in bytes. Default 128 (SPEC §1.1). */
  readonly maxLineLength?: number;
  /** Bad lines logged one by one per window; the rest are summed up once per window. Default 10 per 60 s. */
  readonly badInputLog?: { readonly burst?: number; readonly windowMs?: number };
  /** A device that stays unreachable for the same reason is reported again this often. Default 5 min. */
  readonly outageReminderMs?: number;
  /** Passed to the tracker. */
  readonly backgroundResumeCloseMs?: number;
  readonly gapFaultMs?: number;
}

export function createVm250Driver(options: Vm250DriverOptions): LaneDriver {
  const { lane, link, clock, counters } = options;
  const logger = options.logger.child({ lane, driver: 'vm250', link: link.description });
  const silenceIntervals = options.silenceIntervals ?? 3;
  const tickMs = options.tickMs ?? 500;
  const counterPrefix = `lane.${lane}.`;
  const linesCounter = `${counterPrefix}lines`;
  const badLog = createBadInputLog(logger, counters, counterPrefix, options.badInputLog);

  const descriptor: LaneDescriptor = {
    id: lane,
    driver: 'vm250',
    channels: { gamma: 4, neutron: 4 },
    gammaChannelNames: VM250_GAMMA_CHANNEL_NAMES,
  };

  /** Every event leaves through here, so bad input is counted and logged whoever found it. */
  const emit = (event: LaneEvent): void => {
    if (event.kind === 'bad-input') badLog.note(event);
    options.emit(event);
  };

  const tracker: Vm250Tracker = createVm250Tracker({
    lane,
    emit,
    ...(options.channelOrder !== undefined && { channelOrder: options.channelOrder }),
    ...(options.firstSeq !== undefined && { firstSeq: options.firstSeq }),
    ...(options.backgroundResumeCloseMs !== undefined && {
      backgroundResumeCloseMs: options.backgroundResumeCloseMs,
    }),
    ...(options.gapFaultMs !== undefined && { gapFaultMs: options.gapFaultMs }),
  });

  let running = false;
  let stopping: Promise<void> | null = null;
  let unsubscribe: Array<() => void> = [];
  let tickTimer: TimerHandle | null = null;
  /** The connection state last reported as a lane event (null: none since start). */
  let reported: ConnectionState | null = null;
  let connected = false;
  let silent = false;
  const outage = new LinkOutage(options.outageReminderMs);
  /** Receipt time of the chunk being framed. */
  let receiptTime = 0;
  /** Last time the device said anything at all (a line or a discarded one). */
  let lastActivity = 0;

  const framer = new LineFramer({
    maxLength: options.maxLineLength ?? 128,
    onLine: (line) => {
      activity(receiptTime);
      counters.increment(linesCounter);
      tracker.line(decodeLine(line), receiptTime, line);
    },
    onDiscard: (discard) => {
      activity(receiptTime);
      emit(badInputFromDiscard(lane, receiptTime, discard, options.maxLineLength ?? 128));
    },
  });

  const connection = (
    state: ConnectionState,
    time: number,
    detail: string,
    more: Pick<ConnectionEvent, 'reason' | 'retryInMs' | 'attempts'> = {},
  ) => {
    reported = state;
    emit({ kind: 'connection', lane, time, state, detail, ...more });
  };

  const silenceAfterMs = () =>
    silenceIntervals * (tracker.occupied ? OCCUPIED_INTERVAL_MS : EMPTY_INTERVAL_MS);

  function activity(time: number): void {
    if (silent) {
      silent = false;
      connection('connected', time, `lines resumed after ${Math.round(time - lastActivity)} ms of silence`);
    }
    lastActivity = time;
  }

  function onLinkState(change: LinkStateChange): void {
    const now = clock.now();
    switch (change.state) {
      case 'connecting':
        // Only the first attempt is news; retries show up in the 'disconnected' detail and the log.
        if (reported === null) connection('connecting', now, change.detail);
        break;
      case 'connected': {
        // A partial line from the previous connection must not be glued to this one's first.
        framer.reset();
        connected = true;
        silent = false;
        lastActivity = now;
        const attempts = outage.up();
        connection(
          'connected',
          now,
          afterAttempts(change.detail, attempts),
          attempts > 1 ? { attempts } : {},
        );
        break;
      }
      case 'disconnected': {
        const wasConnected = connected;
        connected = false;
        silent = false;
        framer.reset();
        if (wasConnected) counters.increment(`${counterPrefix}link.disconnects`);
        const cause = change.cause ?? change.detail;
        const retry = change.retryInMs === undefined ? {} : { retryInMs: change.retryInMs };
        if (change.stopped === true) {
          // A link still retrying has nothing more to say when it is stopped.
          if (reported !== 'disconnected')
            connection('disconnected', now, change.detail, { reason: 'stopped' });
        } else if (wasConnected) {
          outage.lost(now, cause);
          connection('disconnected', now, change.detail, { reason: 'lost', ...retry });
        } else if (outage.failed(now, cause)) {
          connection('disconnected', now, change.detail, {
            reason: 'connect-failed',
            attempts: outage.attempts,
            ...retry,
          });
        } else {
          logger.debug('link still down', { detail: change.detail, attempts: outage.attempts });
        }
        if (tracker.occupied) tracker.linkLost(now);
        break;
      }
    }
  }

  function onData(chunk: Buffer): void {
    receiptTime = clock.now();
    framer.push(chunk);
  }

  function scheduleTick(): void {
    let delay = tickMs;
    if (connected && !silent) {
      // Wake up right when silence would be due, so it is reported within the 3 intervals.
      const due = lastActivity + silenceAfterMs() - clock.now();
      delay = Math.max(1, Math.min(tickMs, Math.ceil(due) + 1));
    }
    tickTimer = clock.setTimeout(onTick, delay);
  }

  function onTick(): void {
    tickTimer = null;
    if (!running) return;
    const now = clock.now();
    tracker.tick(now);
    if (connected && !silent && now - lastActivity >= silenceAfterMs()) {
      silent = true;
      const expected = tracker.occupied ? OCCUPIED_INTERVAL_MS : EMPTY_INTERVAL_MS;
      connection(
        'silent',
        now,
        `no line for ${Math.round(now - lastActivity)} ms; expected one every ${expected} ms while ` +
          `${tracker.occupied ? 'occupied' : 'empty'}`,
      );
    }
    badLog.flush(now);
    scheduleTick();
  }

  return {
    descriptor,
    start() {
      if (running) return Promise.resolve();
      running = true;
      stopping = null;
      reported = null;
      outage.reset();
      unsubscribe = [link.on('state', onLinkState), link.on('data', onData)];
      link.start();
      scheduleTick();
      logger.info('vm250 driver started');
      return Promise.resolve();
    },
    stop() {
      if (!running) return stopping ?? Promise.resolve();
      running = false;
      if (tickTimer !== null) clock.clearTimeout(tickTimer);
      tickTimer = null;
      stopping = link.stop().then(() => {
        for (const off of unsubscribe) off();
        unsubscribe = [];
        // A link that was never connected reports no 'disconnected' on stop; close up anyway.
        if (tracker.occupied) tracker.linkLost(clock.now());
        badLog.flush(clock.now(), true);
        logger.info('vm250 driver stopped');
      });
      return stopping;
    },
  };
}

function badInputFromDiscard(lane: string, time: number, d: LineDiscard, maxLength: number): BadInputEvent {
  const detail =
    d.reason === 'line-too-long'
      ? `line of ${d.length} bytes exceeds the ${maxLength}-byte limit; discarded`
      : `line of ${d.length} bytes holds non-printable bytes (line noise); discarded`;
  return { kind: 'bad-input', lane, time, reason: d.reason, detail, raw: d.prefix };
}

/**
 * Counts every bad input by reason and logs the first `burst` of each window one by one;
 * the rest only as one summary line per window.
 */
function createBadInputLog(
  logger: Logger,
  counters: Counters,
  prefix: string,
  options: { burst?: number; windowMs?: number } = {},
) {
  const burst = options.burst ?? 10;
  const windowMs = options.windowMs ?? 60_000;
  let windowStart: number | null = null;
  let logged = 0;
  let suppressed = new Map<string, number>();

  const summarise = () => {
    if (suppressed.size === 0) return;
    const byReason = Object.fromEntries(suppressed);
    const total = [...suppressed.values()].reduce((a, b) => a + b, 0);
    logger.warn(`${total} more bad input records not logged one by one`, { suppressed: byReason, windowMs });
    suppressed = new Map();
  };

  return {
    note(event: BadInputEvent): void {
      counters.increment(`${prefix}bad-input.${event.reason}`);
      if (windowStart === null || event.time - windowStart >= windowMs) {
        summarise();
        windowStart = event.time;
        logged = 0;
      }
      if (logged < burst) {
        logged++;
        logger.warn('bad input discarded', { reason: event.reason, detail: event.detail, raw: event.raw });
      } else {
        counters.increment(`${prefix}log.suppressed`);
        suppressed.set(event.reason, (suppressed.get(event.reason) ?? 0) + 1);
      }
    },
    /** Called on every tick: close the window once it has run out (or at stop). */
    flush(now: number, force = false): void {
      if (windowStart !== null && (force || now - windowStart >= windowMs)) {
        summarise();
        windowStart = null;
        logged = 0;
      }
    },
  };
}
