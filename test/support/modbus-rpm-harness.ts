/**
 * Shared plumbing for the Modbus RPM integration suites: a driver on the system clock whose
 * lane events are collected, plus small queries over them. Waiting uses test/support/wait-for.ts.
 */
import { SystemClock } from '../../src/core/clock.js';
import { Counters } from '../../src/core/counters.js';
import { createMemoryLogger } from '../../src/core/logger.js';
import type { LaneDriver, LaneEvent, LaneEventKind } from '../../src/domain/lane-events.js';
import {
  createModbusRpmDriver,
  type ModbusRpmAddress,
  type ModbusRpmDriverOptions,
} from '../../src/drivers/modbus-rpm/driver.js';
import { waitFor } from './wait-for.js';

export type EventOf<K extends LaneEventKind> = Extract<LaneEvent, { kind: K }>;

export interface ModbusLaneUnderTest {
  readonly driver: LaneDriver;
  readonly events: LaneEvent[];
  readonly counters: Counters;
  readonly logger: ReturnType<typeof createMemoryLogger>;
  of<K extends LaneEventKind>(kind: K): EventOf<K>[];
  /** Wait until `count` events of `kind` (matching `where`) have arrived; returns them. */
  waitForEvents<K extends LaneEventKind>(
    kind: K,
    options?: { count?: number; where?: (e: EventOf<K>) => boolean; timeoutMs?: number },
  ): Promise<EventOf<K>[]>;
  /** Wait until the driver has decoded at least `n` more monitor blocks. */
  waitForPolls(n?: number, timeoutMs?: number): Promise<void>;
}

export const MODBUS_TEST_LANE = 'mb1';

/** A driver with test-friendly defaults (fast back-off, short timeouts); not yet started. */
export function modbusLane(
  address: ModbusRpmAddress,
  overrides: Partial<Omit<ModbusRpmDriverOptions, 'address' | 'emit'>> = {},
): ModbusLaneUnderTest {
  const events: LaneEvent[] = [];
  const counters = new Counters();
  const logger = createMemoryLogger();
  const lane = overrides.lane ?? MODBUS_TEST_LANE;
  const driver = createModbusRpmDriver({
    lane,
    address,
    clock: new SystemClock(),
    logger,
    counters,
    emit: (e) => events.push(e),
    timeoutMs: 500,
    backoff: { initialMs: 100, maxMs: 800 },
    ...overrides,
  });
  const of = <K extends LaneEventKind>(kind: K): EventOf<K>[] =>
    events.filter((e): e is EventOf<K> => e.kind === kind);
  return {
    driver,
    events,
    counters,
    logger,
    of,
    waitForEvents: (kind, options = {}) =>
      waitFor(
        () => {
          const hits = of(kind).filter((e) => options.where?.(e) ?? true);
          return hits.length >= (options.count ?? 1) ? hits : undefined;
        },
        { timeoutMs: options.timeoutMs ?? 20_000, what: `${options.count ?? 1} '${kind}' event(s)` },
      ),
    async waitForPolls(n = 1, timeoutMs = 20_000) {
      const target = counters.get(`${lane}.modbus.polls`) + n;
      await waitFor(() => counters.get(`${lane}.modbus.polls`) >= target, {
        timeoutMs,
        what: `${n} poll(s)`,
      });
    },
  };
}

/** Kinds in arrival order, for readable failure messages. */
export function kindsOf(events: readonly LaneEvent[]): string[] {
  return events.map((e) => (e.kind === 'connection' ? `connection:${e.state}` : e.kind));
}
