/**
 * The Modbus RPM driver (SPEC §1.2): connects over Modbus TCP or RTU, finds the unit and the
 * monitor block, polls it on a setTimeout chain (never overlapping), and feeds the pure
 * {@link stepMonitorTracker} state machine, whose lane events it emits. It is the thin runner of
 * STYLE §5: timers come from the injected Clock, I/O from the Modbus session.
 *
 * Health (SPEC §8): every failure is a counted, rate-limited-logged BadInputEvent and the lane
 * keeps polling; three consecutive timeouts mean the link is lost (occupancy closed as
 * 'link-lost', ConnectionEvent 'silent' then 'disconnected'), and the driver reconnects with
 * capped exponential back-off. A device that cannot be reached is reported like a VM-250 link's:
 * its first failed attempt, then only a new reason or a reminder ({@link LinkOutage}), not a
 * connecting/disconnected pair per retry.
 */
import type { Clock, TimerHandle } from '../../core/clock.js';
import type { Counters } from '../../core/counters.js';
import { GatewayError, describeError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type {
  BadInputReason,
  ConnectionEvent,
  ConnectionState,
  LaneDescriptor,
  LaneDriver,
  LaneEvent,
  LaneEventSink,
} from '../../domain/lane-events.js';
import { createBackoff, type BackoffOptions } from '../transport/backoff.js';
import { afterAttempts, LinkOutage, retryingDetail } from '../transport/outage.js';
import type { ModbusRtuAddress, ModbusTcpAddress } from '../transport/uri.js';
import { createModbusSession, type ModbusSession, type ModbusSessionOptions } from './modbus-client.js';
import { createMonitorTracker, type CountMode } from './monitor-tracker.js';
import {
  DESCRIPTION_BLOCK,
  decodeDescriptionBlock,
  decodeMonitorBlock,
  locateMonitorBlock,
  type MonitorBlockLocation,
} from './register-map.js';

/**
 * Where the RPM is: the `modbus-tcp://` and `modbus-rtu://` addresses of transport/uri.ts. The
 * unit id may be left out here and given (or scanned for) through the driver options.
 */
export type ModbusRpmAddress =
  | (Omit<ModbusTcpAddress, 'unitId'> & { readonly unitId?: number })
  | (Omit<ModbusRtuAddress, 'unitId'> & { readonly unitId?: number });

export interface ModbusRpmDriverOptions {
  readonly lane: string;
  readonly address: ModbusRpmAddress;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly counters: Counters;
  readonly emit: LaneEventSink;
  /** SPEC §1.2: 200 ms. */
  readonly pollIntervalMs?: number;
  /** Overrides `address.unitId`. Default 1. */
  readonly unitId?: number;
  /** Try unit ids 1–32 (the configured one first) and use the first that answers the description block. */
  readonly scanUnitIds?: boolean;
  /** Per-request timeout. Default 400 ms (two polls), so silence is seen within 3 poll intervals. */
  readonly timeoutMs?: number;
  readonly gammaCountMode?: CountMode;
  readonly neutronCountMode?: CountMode;
  /** Metres per second per unit of the speed register. Default 0.001 (mm/s). */
  readonly speedUnitToMps?: number;
  readonly firstSeq?: number;
  /** Consecutive timeouts after which the link counts as lost. Default 3. */
  readonly timeoutsBeforeLinkLost?: number;
  readonly backoff?: BackoffOptions;
  /** A device that stays unreachable for the same reason is reported again this often. Default 5 min. */
  readonly outageReminderMs?: number;
  /** Spacing of background reports on an empty lane. Default 5000 ms. */
  readonly backgroundIntervalMs?: number;
  /** Minimum spacing of log lines for one kind of bad input. Default 10 000 ms. */
  readonly logEveryMs?: number;
  /** Session factory (tests inject fakes). Default: modbus-serial over the real transport. */
  readonly createSession?: (options: ModbusSessionOptions) => ModbusSession;
}

const SCAN_RANGE = { first: 1, last: 32 } as const;

export function createModbusRpmDriver(options: ModbusRpmDriverOptions): LaneDriver {
  const { lane, clock, counters, emit } = options;
  const logger = options.logger.child({ lane, driver: 'modbus-rpm' });
  const pollIntervalMs = options.pollIntervalMs ?? 200;
  const timeoutMs = options.timeoutMs ?? 400;
  const timeoutsBeforeLinkLost = options.timeoutsBeforeLinkLost ?? 3;
  const logEveryMs = options.logEveryMs ?? 10_000;
  const configuredUnit = options.unitId ?? options.address.unitId ?? 1;
  const makeSession = options.createSession ?? createModbusSession;
  const backoff = createBackoff(options.backoff);
  const outage = new LinkOutage(options.outageReminderMs);
  const { unitId: _unit, ...endpoint } = options.address;
  const tracker = createMonitorTracker({
    lane,
    gammaCountMode: options.gammaCountMode,
    neutronCountMode: options.neutronCountMode,
    speedUnitToMps: options.speedUnitToMps,
    pollIntervalMs,
    firstSeq: options.firstSeq,
    backgroundIntervalMs: options.backgroundIntervalMs,
  });

  const descriptor: LaneDescriptor = {
    id: lane,
    driver: 'modbus-rpm',
    // SPEC §1.2: one gamma and one neutron channel.
    channels: { gamma: 1, neutron: 1 },
    gammaChannelNames: ['gamma'],
  };

  let running = false;
  /** Bumped whenever the current link is abandoned: continuations of an older link stop. */
  let epoch = 0;
  let session: ModbusSession | null = null;
  let timer: TimerHandle | null = null;
  /** The unit that last answered; tried first on reconnect. */
  let knownUnit: number | null = null;
  let unit = configuredUnit;
  let location: MonitorBlockLocation | null = null;
  let consecutiveTimeouts = 0;
  const lastLog = new Map<string, { at: number; suppressed: number }>();

  const connection = (
    state: ConnectionState,
    detail?: string,
    more: Pick<ConnectionEvent, 'reason' | 'retryInMs' | 'attempts'> = {},
  ): void =>
    emit({
      kind: 'connection',
      lane,
      time: clock.now(),
      state,
      ...(detail === undefined ? {} : { detail }),
      ...more,
    });

  const schedule = (ms: number, task: () => Promise<void>): void => {
    if (timer !== null) clock.clearTimeout(timer);
    timer = clock.setTimeout(() => {
      timer = null;
      void task();
    }, ms);
  };

  /** SPEC §8: counted, logged (rate-limited) and reported; nothing else happens. */
  const countBadInput = (reason: BadInputReason, detail: string): void => {
    counters.increment(`${lane}.bad-input.${reason}`);
    const now = clock.now();
    const last = lastLog.get(reason);
    if (last === undefined || now - last.at >= logEveryMs) {
      logger.warn('bad input from Modbus RPM', { reason, detail, suppressed: last?.suppressed ?? 0 });
      lastLog.set(reason, { at: now, suppressed: 0 });
    } else {
      last.suppressed++;
    }
  };

  const badInput = (reason: BadInputReason, detail: string, raw?: string): void => {
    countBadInput(reason, detail);
    emit({
      kind: 'bad-input',
      lane,
      time: clock.now(),
      reason,
      detail,
      ...(raw === undefined ? {} : { raw }),
    });
  };

  /** Tracker output; its bad input (a non-finite background register) is counted like the rest. */
  const emitAll = (events: readonly LaneEvent[]): void => {
    for (const e of events) {
      if (e.kind === 'bad-input') countBadInput(e.reason, e.detail);
      emit(e);
    }
  };

  const closeSession = (): Promise<void> => {
    const s = session;
    session = null;
    return s === null ? Promise.resolve() : s.close();
  };

  /** Schedule the next attempt; returns its delay. */
  const reconnectLater = (): number => {
    const delay = backoff.next();
    counters.increment(`${lane}.modbus.reconnects`);
    // The connection events say when it matters (the gateway logs them); this is every retry.
    logger.debug('reconnecting to Modbus RPM', { inMs: delay, attempt: backoff.attempt });
    const ep = epoch;
    schedule(delay, () => connect(ep));
    return delay;
  };

  /** Abandon the current link: close any occupancy, report, reconnect later. */
  const linkLost = (ep: number, detail: string, silent: boolean): void => {
    if (ep !== epoch || !running) return;
    epoch++;
    if (timer !== null) clock.clearTimeout(timer);
    timer = null;
    // The gateway logs the 'disconnected' event below (`device link lost`, warn); once is enough.
    logger.debug('Modbus RPM link lost', { detail });
    if (silent) connection('silent', detail);
    emitAll(tracker.linkLost(clock.now()));
    void closeSession();
    const delay = reconnectLater();
    outage.lost(clock.now(), detail);
    connection('disconnected', retryingDetail(detail, delay), { reason: 'lost', retryInMs: delay });
  };

  async function connect(ep: number): Promise<void> {
    if (ep !== epoch || !running) return;
    // A retry after a failed attempt is not news: only its outcome may be.
    if (outage.attempts === 0) connection('connecting');
    const s = makeSession({ endpoint, timeoutMs });
    session = s;
    try {
      await s.connect();
    } catch (error) {
      if (ep !== epoch || !running) return;
      session = null;
      const cause = describeError(error);
      const delay = reconnectLater();
      if (outage.failed(clock.now(), cause)) {
        connection('disconnected', retryingDetail(cause, delay), {
          reason: 'connect-failed',
          attempts: outage.attempts,
          retryInMs: delay,
        });
      } else {
        logger.debug('Modbus RPM still unreachable', { error: cause, attempts: outage.attempts });
      }
      return;
    }
    if (ep !== epoch || !running) {
      await s.close();
      return;
    }
    s.onClose((reason) => linkLost(ep, reason, false));
    consecutiveTimeouts = 0;
    location = null;
    const attempts = outage.up();
    if (attempts > 1) connection('connected', afterAttempts('connected', attempts), { attempts });
    else connection('connected');
    if (options.scanUnitIds === true) {
      const found = await scan(ep, s);
      if (ep !== epoch || !running) return;
      if (found === null) {
        const error = new GatewayError(
          'MODBUS_NO_UNIT',
          `no unit id ${SCAN_RANGE.first}–${SCAN_RANGE.last} answered the description block`,
          { lane },
        );
        logger.error(error.message, { code: error.code });
        linkLost(ep, describeError(error), false);
        return;
      }
    }
    schedule(0, () => poll(ep));
  }

  /** Try each candidate unit; the first that answers the description block wins. */
  async function scan(ep: number, s: ModbusSession): Promise<number | null> {
    const order = [knownUnit ?? configuredUnit];
    for (let id = SCAN_RANGE.first; id <= SCAN_RANGE.last; id++) if (!order.includes(id)) order.push(id);
    for (const id of order) {
      if (ep !== epoch || !running) return null;
      try {
        const regs = await s.readHoldingRegisters(id, DESCRIPTION_BLOCK.address, DESCRIPTION_BLOCK.length);
        logger.info('Modbus unit found by scan', { unitId: id });
        unit = id;
        knownUnit = id;
        useDescription(regs, null);
        return id;
      } catch (error) {
        if (error instanceof GatewayError && error.code === 'TRANSPORT_CLOSED') return null;
        logger.debug('unit did not answer the description block', {
          unitId: id,
          error: describeError(error),
        });
      }
    }
    return null;
  }

  /** Decide where the monitor block is, from a description block read (or its absence). */
  function useDescription(regs: readonly number[] | null, problem: string | null): void {
    const decoded = regs === null ? null : decodeDescriptionBlock(regs);
    if (decoded !== null && !decoded.ok) badInput('modbus-invalid-block', decoded.problem, regs?.join(','));
    const block = decoded?.ok === true ? decoded.value : null;
    location = locateMonitorBlock(block);
    const why = problem ?? location.problem ?? null;
    if (location.source === 'default') logger.info('using the default monitor block', { problem: why });
    emit({
      kind: 'device-config',
      lane,
      time: clock.now(),
      section: 'modbus-description',
      values: {
        unitId: unit,
        signature: block?.signature ?? null,
        registerCount: block?.registerCount ?? null,
        monitorBlockId: block?.monitorBlockId ?? null,
        monitorBase: location.base,
        monitorLength: location.length,
        source: location.source,
        problem: why,
      },
      restarted: false,
    });
  }

  /** One poll: the description block until it is settled, then the monitor block. */
  async function poll(ep: number): Promise<void> {
    const s = session;
    if (ep !== epoch || !running || s === null) return;
    const started = clock.now();
    const where = location;
    const address = where === null ? DESCRIPTION_BLOCK.address : where.base;
    const length = where === null ? DESCRIPTION_BLOCK.length : where.length;
    let regs: number[];
    try {
      regs = await s.readHoldingRegisters(unit, address, length);
    } catch (error) {
      if (ep !== epoch || !running) return;
      if (failed(ep, error, where === null)) schedule(nextDelay(started), () => poll(ep));
      return;
    }
    if (ep !== epoch || !running) return;
    // The device answers again after a silence: say so once.
    if (consecutiveTimeouts > 0) connection('connected', 'answering again');
    consecutiveTimeouts = 0;
    knownUnit = unit;
    if (where === null) {
      useDescription(regs, null);
    } else {
      const decoded = decodeMonitorBlock(regs);
      if (decoded.ok) {
        backoff.reset();
        counters.increment(`${lane}.modbus.polls`);
        emitAll(tracker.record(clock.now(), decoded.value));
      } else {
        badInput('modbus-invalid-block', decoded.problem, regs.join(','));
      }
    }
    schedule(nextDelay(started), () => poll(ep));
  }

  /** Keep the poll cadence: the next poll starts one interval after this one started. */
  const nextDelay = (started: number): number => Math.max(0, pollIntervalMs - (clock.now() - started));

  /** Handle a failed request. Returns whether polling continues on this link. */
  function failed(ep: number, error: unknown, readingDescription: boolean): boolean {
    const code = error instanceof GatewayError ? error.code : null;
    const context = error instanceof GatewayError ? error.context : {};
    const what = `${String(context.address)}+${String(context.length)} from unit ${String(context.unitId)}`;
    if (code === 'MODBUS_EXCEPTION') {
      // An exception is an answer: the device is not silent.
      if (consecutiveTimeouts > 0) connection('connected', 'answering again');
      consecutiveTimeouts = 0;
      const exception = String(context.exceptionCode);
      badInput('modbus-exception', `exception ${exception} reading ${what}`);
      // A device without a description block answers "illegal data address": use 100/21 (SPEC §1.2).
      if (readingDescription)
        useDescription(null, `description block read failed with exception ${exception}`);
      return true;
    }
    if (code === 'MODBUS_TIMEOUT') {
      consecutiveTimeouts++;
      const detail = `no answer within ${timeoutMs} ms reading ${what} (${consecutiveTimeouts} in a row)`;
      badInput('modbus-timeout', detail);
      // SPEC §8: a silent device is reported within 3 sample intervals — at the first timeout
      // (default 400 ms = 2 polls); the link is given up only after several.
      if (consecutiveTimeouts === 1) connection('silent', detail);
      if (consecutiveTimeouts < timeoutsBeforeLinkLost) return true;
      linkLost(ep, `${consecutiveTimeouts} consecutive Modbus timeouts`, false);
      return false;
    }
    if (code === 'MODBUS_FRAME_INVALID') {
      // A reply that fails its CRC or length check: noise on the line, not a lost link.
      badInput('garbage', describeError(error));
      return true;
    }
    // The link closed under the request, or something unexpected: start over on a new link.
    linkLost(ep, describeError(error), false);
    return false;
  }

  return {
    descriptor,
    start() {
      if (running) return Promise.resolve();
      running = true;
      epoch++;
      outage.reset();
      const ep = epoch;
      schedule(0, () => connect(ep));
      return Promise.resolve();
    },
    async stop() {
      if (!running) return;
      running = false;
      epoch++;
      if (timer !== null) clock.clearTimeout(timer);
      timer = null;
      emitAll(tracker.linkLost(clock.now()));
      const hadSession = session !== null;
      await closeSession();
      if (hadSession) connection('disconnected', 'driver stopped', { reason: 'stopped' });
    },
  };
}
