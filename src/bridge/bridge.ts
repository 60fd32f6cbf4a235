/**
 * The event bridge (SPEC §4): lane events, occupancy records and alarm decisions in; CloudEvents
 * over MQTT, retained lane state, gateway status, commands from central, telemetry to an
 * InfluxDB-compatible store, and optional N42.42 files out. Everything outbound goes through the
 * durable outbox first.
 *
 * `createEventBridge` builds without connecting; `start()` connects, `stop()` commits what is
 * queued, publishes `offline` and disconnects. Both are safe to call twice.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { Counters } from '../core/counters.js';
import type { Logger } from '../core/logger.js';
import type { LaneDescriptor, LaneEvent } from '../domain/lane-events.js';
import { CommandAuditStore } from '../storage/command-audit-store.js';
import type { Db } from '../storage/database.js';
import { OutboxStore, type OutboxRow } from '../storage/outbox-store.js';
import type { AlarmStore } from '../storage/alarm-store.js';
import { StoreAlarmCommands, type AlarmCommandHandler } from './alarm-commands.js';
import { AlarmTransitionPublisher } from './alarm-transitions.js';
import type { BridgeSettings } from './bridge-settings.js';
import { CommandService } from './command-service.js';
import type { DeliveryClass } from './envelope.js';
import {
  LaneEventMapper,
  scanMessage,
  type AlarmDecisionInput,
  type BridgeMessage,
  type OccupancyRecordInput,
  type ScanRecordInput,
} from './event-mapper.js';
import { MqttConnection } from './mqtt-connection.js';
import { N42FileWriter } from './n42/n42-writer.js';
import { OccupancyCapture, type CapturedOccupancy } from './occupancy-capture.js';
import { Outbox, type CommitResult } from './outbox.js';
import { MqttPublisher } from './publisher.js';
import { TelemetryAggregator } from './telemetry.js';
import { TelemetryWriter } from './telemetry-writer.js';
import { GATEWAY_SUBJECT, topicTree } from './topics.js';
import { createUlidGenerator } from '../core/ulid.js';

export interface EventBridgeDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly counters?: Counters;
  readonly lanes: readonly LaneDescriptor[];
  /**
   * The gateway's alarm lifecycle (the console's too): central's commands act on it, and each of
   * its transitions is published as rpm.alarm.acknowledged / adjudicated. Without one, alarm
   * commands are refused.
   */
  readonly alarms?: AlarmStore;
  /** What `request-config` answers for a lane. Default: the lane descriptor. */
  readonly configFor?: (lane: string) => unknown;
  readonly gatewayVersion?: string;
  /** Called on each PUBACK with the delivered row (bench latency probes). */
  readonly onDelivered?: (row: OutboxRow) => void;
}

export interface EventBridge {
  /** Every lane event of every lane, in order, before the lane's recorder sees it. */
  laneEvent(event: LaneEvent): void;
  /** A completed occupancy's record (after its end event went through `laneEvent`). */
  occupancy(lane: string, record: OccupancyRecordInput): void;
  /** The gateway's decision found an alarm on the decisive sample. */
  alarmDecision(lane: string, decision: AlarmDecisionInput): void;
  /**
   * A scanner output record on its lane: `imaging.scan.analyzed` / `imaging.scan.linked`, or
   * `imaging.scanner.status` (the PLC's status or link changed).
   */
  scan(record: ScanRecordInput): void;
  /** Any other event (e.g. imaging.scan.analyzed); resolves when it is committed. */
  publish(event: {
    type: string;
    lane: string;
    time: number;
    data: unknown;
    class?: DeliveryClass;
  }): Promise<CommitResult>;
  /** Lanes built after the bridge (the gateway builds its drivers second). */
  attach(lanes: readonly LaneDescriptor[]): void;
  /** Resolves once every queued message is committed and PUBACKed (tests, shutdown, bench). */
  whenDelivered(): Promise<void>;
  readonly connection: MqttConnection;
  readonly outboxStore: OutboxStore;
  readonly counters: Counters;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createEventBridge(settings: BridgeSettings, deps: EventBridgeDeps): EventBridge {
  const counters = deps.counters ?? new Counters();
  const logger = deps.logger.child({ component: 'bridge' });
  const topics = topicTree(settings.site, settings.topicPrefix);
  const store = new OutboxStore(deps.db);
  const connection = new MqttConnection({
    ...settings.mqtt,
    status: {
      topic: topics.status(settings.gatewayId),
      onlinePayload: JSON.stringify({ gateway: settings.gatewayId, status: 'online' }),
      offlinePayload: JSON.stringify({ gateway: settings.gatewayId, status: 'offline' }),
    },
    logger,
  });
  const publisher = new MqttPublisher({
    store,
    connection,
    clock: deps.clock,
    logger,
    counters,
    window: settings.outbox.inflight,
    ...(deps.onDelivered === undefined ? {} : { onDelivered: deps.onDelivered }),
  });
  const telemetryWriter = settings.telemetry
    ? new TelemetryWriter({ store, ...settings.telemetry, logger, counters })
    : null;
  const outbox = new Outbox({
    store,
    site: settings.site,
    topics,
    ulid: createUlidGenerator(),
    clock: deps.clock,
    logger,
    counters,
    maxBytes: settings.outbox.maxBytes,
    maxMessageBytes: settings.outbox.maxMessageBytes,
    onCommitted: () => {
      publisher.pump();
      telemetryWriter?.kick();
    },
    onInserted: (rows) => publisher.publishEarly(rows),
    onCommitFailed: () => publisher.rewind(),
  });
  const version = deps.gatewayVersion ?? '0.0.0';
  const n42 = settings.n42Dir ? new N42FileWriter(settings.n42Dir, settings.site, version, logger) : null;
  const descriptors = new Map(deps.lanes.map((l) => [l.id, l]));
  const laneIds = new Set(deps.lanes.map((l) => l.id));
  interface LaneSlot {
    readonly mapper: LaneEventMapper;
    readonly capture: OccupancyCapture;
    /** The last occupancy captured, until its record comes. */
    finished: CapturedOccupancy | null;
    /** A record that came before its end event went through `laneEvent` (observer order). */
    early: OccupancyRecordInput | null;
  }
  const lanes = new Map<string, LaneSlot>();
  const lane = (id: string): LaneSlot => {
    let l = lanes.get(id);
    if (!l) {
      l = { mapper: new LaneEventMapper(id), capture: new OccupancyCapture(id), finished: null, early: null };
      lanes.set(id, l);
    }
    return l;
  };
  for (const d of deps.lanes) lane(d.id);
  const telemetry = new TelemetryAggregator(settings.site);

  const commit = (messages: readonly BridgeMessage[]): void => {
    for (const m of messages) {
      if (m.kind === 'state') {
        void outbox.enqueueRetained(m.lane, topics.state(m.lane), m.payload);
        continue;
      }
      void outbox.enqueueEvent({ type: m.type, lane: m.lane, time: m.time, data: m.data, class: m.class });
    }
  };

  // Every acknowledgement and adjudication, from the console or a command, goes out once.
  const transitions = deps.alarms
    ? new AlarmTransitionPublisher({
        store: deps.alarms,
        enqueue: (m) =>
          outbox.enqueueEvent({ type: m.type, lane: m.lane, time: m.time, data: m.data, class: m.class }),
        onTransition: (alarm, entry) => {
          // An acknowledged alarm no longer holds its lane in `alarm` (SPEC §4 lane states).
          if (entry.action === 'acknowledged' && lanes.has(alarm.lane))
            commit(lane(alarm.lane).mapper.alarmAcknowledged(entry.at));
        },
        logger,
      })
    : null;
  const commands = new CommandService({
    connection,
    topics,
    policy: { ...settings.commands, lanes: laneIds },
    alarms: deps.alarms ? new StoreAlarmCommands(deps.alarms) : refuseAlarms,
    audit: new CommandAuditStore(deps.db),
    clock: deps.clock,
    logger,
    counters,
    configFor: deps.configFor ?? ((id) => descriptors.get(id) ?? null),
  });

  const complete = (laneId: string, l: LaneSlot, record: OccupancyRecordInput): void => {
    const captured = l.finished !== null && l.finished.seq === record.seq ? l.finished : null;
    l.finished = null;
    commit(l.mapper.occupancyCompleted(record, captured, captured?.end.time ?? deps.clock.now()));
    if (n42 && captured) {
      n42.write(captured, record, descriptors.get(laneId)?.gammaChannelNames, randomUUID(), deps.clock.now());
    }
  };

  let telemetryTimer: NodeJS.Timeout | null = null;
  let state: 'idle' | 'running' | 'stopped' = 'idle';
  let stopping: Promise<void> | null = null;

  return {
    connection,
    outboxStore: store,
    counters,
    laneEvent(e) {
      const l = lane(e.lane);
      telemetry.handle(e);
      const finished = l.capture.handle(e);
      commit(l.mapper.laneEvent(e));
      if (finished) {
        l.finished = finished;
        if (l.early !== null && l.early.seq === finished.seq) {
          const record = l.early;
          l.early = null;
          complete(e.lane, l, record);
        }
      }
    },
    occupancy(laneId, record) {
      const l = lane(laneId);
      // The recorder may write the record before the end event reaches the bridge: wait for it.
      if (l.finished === null || l.finished.seq !== record.seq) {
        if (l.early !== null) complete(laneId, l, l.early); // never hold more than one
        l.early = record;
        return;
      }
      complete(laneId, l, record);
    },
    alarmDecision(laneId, decision) {
      commit(lane(laneId).mapper.alarmDecision(decision));
    },
    scan(record) {
      const message = scanMessage(record, deps.clock.now());
      if (message === null) {
        logger.warn('scanner record without a lane: not published', {
          scanId: record.scanId ?? null,
          type: record.type,
        });
        return;
      }
      commit([message]);
    },
    attach(more) {
      for (const d of more) {
        descriptors.set(d.id, d);
        laneIds.add(d.id);
        lane(d.id);
      }
    },
    publish(e) {
      return outbox.enqueueEvent({ ...e, class: e.class ?? 'event' });
    },
    async whenDelivered() {
      outbox.flush();
      await publisher.whenIdle();
    },
    start() {
      if (state !== 'idle') return Promise.resolve();
      state = 'running';
      // Every lane starts `offline` until its device speaks (replaces a stale retained state).
      for (const [id, l] of lanes) {
        const payload = {
          lane: id,
          state: l.mapper.currentState,
          time: new Date(deps.clock.now()).toISOString(),
        };
        void outbox.enqueueRetained(id, topics.state(id), payload);
      }
      transitions?.start();
      commands.start();
      connection.start();
      if (telemetryWriter && settings.telemetry) {
        const every = settings.telemetry.intervalS * 1000;
        const tick = (): void => {
          const lines = telemetry.lines(deps.clock.now(), {
            id: settings.gatewayId,
            outboxRows: store.depth.rows,
            outboxBytes: store.depth.bytes,
            mqttConnected: connection.state === 'connected',
          });
          void outbox.enqueueTelemetry(GATEWAY_SUBJECT, lines.join('\n'));
        };
        telemetryTimer = setInterval(tick, every);
        telemetryTimer.unref();
        telemetryWriter.kick(); // what an earlier run left queued
      }
      return Promise.resolve();
    },
    stop() {
      if (state === 'idle') state = 'stopped';
      stopping ??= (async () => {
        state = 'stopped';
        if (telemetryTimer) clearInterval(telemetryTimer);
        transitions?.stop();
        outbox.close();
        // Give the publisher a moment to deliver what is committed; the rest stays on disk.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          publisher.whenIdle(),
          new Promise(
            (r) => (timer = setTimeout(r, connection.state === 'connected' ? settings.drainOnStopMs : 0)),
          ),
        ]);
        clearTimeout(timer);
        publisher.stop();
        telemetryWriter?.stop();
        await connection.stop();
        store.markClosed();
      })();
      return stopping;
    },
  };
}

const refuseAlarms: AlarmCommandHandler = {
  acknowledge: (r) => ({
    ok: false,
    code: 'ALARM_NOT_FOUND',
    message: `no alarm lifecycle on this gateway for '${r.alarmId}'`,
  }),
  adjudicate: (r) => ({
    ok: false,
    code: 'ALARM_NOT_FOUND',
    message: `no alarm lifecycle on this gateway for '${r.alarmId}'`,
  }),
};
