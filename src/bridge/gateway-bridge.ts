/**
 * The bridge as the gateway wires it (src/app/gateway.ts): built from the configuration's `mqtt`
 * section (none: no bridge), on the gateway's embedded database, with the gateway's one alarm
 * store — the console's — for central's commands and for publishing every acknowledgement and
 * adjudication. Lanes are attached once the drivers are built; lane events and output records
 * arrive through the gateway's observers. The database belongs to the caller: `stop()` leaves
 * it open.
 */
import type { Clock } from '../core/clock.js';
import type { Counters } from '../core/counters.js';
import type { Logger } from '../core/logger.js';
import { redactLane } from '../config/redact.js';
import type { GatewayConfig } from '../config/schema.js';
import type { LaneDescriptor, LaneEvent } from '../domain/lane-events.js';
import type { AlarmStore } from '../storage/alarm-store.js';
import type { Db } from '../storage/database.js';
import { createEventBridge, type EventBridge } from './bridge.js';
import { bridgeSettingsFrom } from './bridge-settings.js';
import { isScanRecord, type OccupancyRecordInput } from './event-mapper.js';

export interface GatewayBridge {
  readonly bridge: EventBridge;
  laneEvent(event: LaneEvent): void;
  /**
   * Every output record; occupancy records become rpm.occupancy.completed, scanner records
   * imaging.scan.analyzed / imaging.scan.linked / imaging.scanner.status.
   */
  record(record: { readonly type?: unknown; readonly lane?: unknown }): void;
  attach(lanes: readonly LaneDescriptor[]): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createGatewayBridge(
  config: GatewayConfig,
  deps: { db: Db; alarms: AlarmStore; clock: Clock; logger: Logger; counters: Counters; version?: string },
): GatewayBridge | null {
  const settings = bridgeSettingsFrom(config);
  if (settings === null) return null;
  const bridge = createEventBridge(settings, {
    db: deps.db,
    clock: deps.clock,
    logger: deps.logger,
    counters: deps.counters,
    lanes: [],
    alarms: deps.alarms,
    // request-config: the lane's settings as configured, its upload tokens redacted.
    configFor: (lane) => {
      const found = config.lanes.find((l) => l.id === lane);
      return found === undefined ? null : redactLane(found);
    },
    ...(deps.version === undefined ? {} : { gatewayVersion: deps.version }),
  });
  let stopping: Promise<void> | null = null;
  return {
    bridge,
    laneEvent: (e) => bridge.laneEvent(e),
    record(r) {
      if (r.type === 'occupancy' && typeof r.lane === 'string')
        bridge.occupancy(r.lane, r as unknown as OccupancyRecordInput);
      else if (isScanRecord(r)) bridge.scan(r);
    },
    attach: (lanes) => bridge.attach(lanes),
    start: () => bridge.start(),
    stop() {
      stopping ??= bridge.stop();
      return stopping;
    },
  };
}
