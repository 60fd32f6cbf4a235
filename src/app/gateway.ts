/**
 * The one wiring point (STYLE.md §11): builds every lane from the configuration without opening
 * a port; `start()` connects them, `stop()` closes them. Both are safe to call twice. No business
 * logic lives here: drivers produce lane events, the lane recorder decides and writes records.
 */
import type { Clock } from '../core/clock.js';
import { Counters } from '../core/counters.js';
import type { Logger } from '../core/logger.js';
import type { GatewayConfig, LaneConfig } from '../config/schema.js';
import type { LaneDescriptor, LaneDriver, LaneEvent } from '../domain/lane-events.js';
import { createModbusRpmDriver } from '../drivers/modbus-rpm/driver.js';
import { LinkLog } from './link-log.js';
import { createSerialLink } from '../drivers/transport/serial-link.js';
import { createTcpLink } from '../drivers/transport/tcp-link.js';
import { parseDeviceAddress } from '../drivers/transport/uri.js';
import { createVm250Driver } from '../drivers/vm250/driver.js';
import { AlarmStore } from '../storage/alarm-store.js';
import { openDatabase, type Db } from '../storage/database.js';
import { SequenceStore } from '../storage/sequence-store.js';
import { createGatewayHttp } from '../api/gateway-http.js';
import { createGatewayBridge } from '../bridge/gateway-bridge.js';
import type { OutputRecord } from './lane-recorder.js';
import { createLiveRecorder, type LiveRecorder } from './live-recorder.js';
import type { CategoryRefiner } from '../alarm/adjudicate.js';
import { occupancyAlarmRaiser } from './occupancy-alarms.js';
import { createScannerService } from './scanner-service.js';

export interface GatewayDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Every output record of every lane (occupancies, faults, tamper, restarts). */
  readonly output: (record: OutputRecord) => void;
  /** Every lane event, for observers (the demo's status line, tests). */
  readonly onLaneEvent?: (event: LaneEvent) => void;
  readonly counters?: Counters;
  /** Where the first console admin's password may come from (RPM_GATEWAY_ADMIN_PASSWORD). */
  readonly env?: NodeJS.ProcessEnv;
  /** The alarm classifier of the configuration's `classifier` section, loaded (loadClassifier). */
  readonly refiner?: CategoryRefiner;
}

export interface Gateway {
  readonly lanes: readonly LaneDescriptor[];
  readonly counters: Counters;
  /** The console's URL once started, when the configuration has an `http` section. */
  readonly consoleUrl: string | null;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createGateway(config: GatewayConfig, deps: GatewayDeps): Gateway {
  // The embedded database, opened once and shared by the console's stores and the bridge's.
  const db = openDatabase(config.storage.dir);
  try {
    return build(config, deps, db);
  } catch (error) {
    db.close();
    throw error;
  }
}

function build(config: GatewayConfig, deps: GatewayDeps, db: Db): Gateway {
  const counters = deps.counters ?? new Counters();
  const sequences = new SequenceStore(config.storage.dir);
  // The one alarm lifecycle (SPEC §3 step 5): the console and central's MQTT commands both act on
  // it, and the bridge publishes each of its transitions.
  const alarms = new AlarmStore(db, {
    onListenerError: (error) => deps.logger.error('alarm change listener failed', { error: String(error) }),
  });
  // The console (SPEC §6): its stored configuration changes apply before the lanes are built.
  const http =
    config.http === undefined
      ? null
      : createGatewayHttp(config, {
          db,
          alarms,
          logger: deps.logger,
          now: () => deps.clock.now(),
          env: deps.env ?? process.env,
          counters,
        });
  // The event bridge (SPEC §4), when the configuration has an `mqtt` section: it sees every lane
  // event and every output record.
  const bridge = createGatewayBridge(config, {
    db,
    alarms,
    clock: deps.clock,
    logger: deps.logger,
    counters,
  });
  // Where every record goes: the caller's output, the console, the alarm store, the bridge.
  const recordSinks: Array<(record: OutputRecord) => void> = [deps.output];
  if (http !== null) recordSinks.push((record) => http.record(record));
  recordSinks.push(occupancyAlarmRaiser(alarms, { now: () => deps.clock.now(), logger: deps.logger }));
  if (bridge !== null) recordSinks.push((record) => bridge.record(record));
  const eventSinks: Array<(event: LaneEvent) => void> = [];
  if (bridge !== null) eventSinks.push((event) => bridge.laneEvent(event));
  if (http !== null) eventSinks.push((event) => http.laneEvent(event));
  if (deps.onLaneEvent !== undefined) eventSinks.push(deps.onLaneEvent);
  const output = fanOut(recordSinks);
  // Cargo scanners (SPEC §1.3, §3 item 6): their records go out like the lanes'; the lanes'
  // occupancy records also feed the scans' fusion.
  const scanners = createScannerService(http?.config ?? config, { ...deps, counters, output });
  if (scanners !== null) eventSinks.push((event) => scanners.laneEvent(event));
  const laneOutput: GatewayDeps = {
    ...deps,
    output: scanners === null ? output : fanOut([output, (record) => scanners.record(record)]),
    onLaneEvent: fanOut(eventSinks),
  };
  const recorders = new Map<string, LiveRecorder>();
  const drivers: LaneDriver[] = (http?.config ?? config).lanes
    .filter((lane) => lane.enabled)
    .map((lane) => buildLane(lane, sequences, counters, laneOutput, recorders));
  bridge?.attach(drivers.map((d) => d.descriptor));
  http?.attach(
    drivers.map((d) => d.descriptor),
    (lane) => recorders.get(lane.id)?.reconfigure(lane.alarm),
    scanners,
  );

  let state: 'idle' | 'running' | 'stopped' = 'idle';
  let stopping: Promise<void> | null = null;

  return {
    lanes: drivers.map((d) => d.descriptor),
    counters,
    get consoleUrl() {
      return http?.url ?? null;
    },
    async start() {
      if (state !== 'idle') return;
      state = 'running';
      deps.logger.info('gateway starting', { site: config.site, lanes: drivers.map((d) => d.descriptor.id) });
      await http?.start();
      await bridge?.start();
      await scanners?.start();
      await Promise.all(drivers.map((d) => d.start()));
    },
    stop() {
      if (state === 'idle') state = 'stopped';
      stopping ??= (async () => {
        state = 'stopped';
        await Promise.all(drivers.map((d) => d.stop()));
        await scanners?.stop();
        await bridge?.stop();
        await http?.stop();
        db.close();
        deps.logger.info('gateway stopped', { counters: counters.snapshot() });
      })();
      return stopping;
    },
  };
}

function buildLane(
  lane: LaneConfig,
  sequences: SequenceStore,
  counters: Counters,
  deps: GatewayDeps,
  recorders: Map<string, LiveRecorder>,
): LaneDriver {
  const logger = deps.logger.child({ lane: lane.id });
  // The address as configured: a mis-typed host, port or path is what the technician looks for.
  const linkLog = new LinkLog(logger.child({ address: lane.address }));
  // Thresholds can change while the lane runs (the console); they apply from the next vehicle.
  const recorder = createLiveRecorder(
    lane.id,
    lane.alarm,
    deps.output,
    deps.refiner === undefined ? {} : { refiner: deps.refiner },
  );
  recorders.set(lane.id, recorder);
  const emit = (event: LaneEvent): void => {
    // Reserve the number on disk before anything is published under it.
    if (event.kind === 'occupancy-start') sequences.used(lane.id, event.seq);
    if (event.kind === 'connection') linkLog.handle(event);
    recorder.handle(event);
    deps.onLaneEvent?.(event);
  };
  const common = {
    lane: lane.id,
    clock: deps.clock,
    logger,
    counters,
    emit,
    firstSeq: sequences.firstSeq(lane.id),
  };
  const address = parseDeviceAddress(lane.address);
  switch (address.kind) {
    case 'tcp':
    case 'serial': {
      const link =
        address.kind === 'tcp'
          ? createTcpLink({ host: address.host, port: address.port, clock: deps.clock, logger })
          : createSerialLink({ path: address.path, serial: address.serial, clock: deps.clock, logger });
      return createVm250Driver({
        ...common,
        link,
        ...(lane.channelOrder === undefined ? {} : { channelOrder: lane.channelOrder }),
      });
    }
    case 'modbus-tcp':
    case 'modbus-rtu': {
      const modbus = lane.modbus;
      return createModbusRpmDriver({
        ...common,
        address,
        ...(modbus === undefined
          ? {}
          : {
              pollIntervalMs: modbus.pollIntervalMs,
              timeoutMs: modbus.timeoutMs,
              scanUnitIds: modbus.scanUnitIds,
              gammaCountMode: modbus.gammaCountMode,
              neutronCountMode: modbus.gammaCountMode,
              speedUnitToMps: modbus.speedUnitToMps,
            }),
      });
    }
  }
}

/** One function that hands its argument to each of `sinks`, in order. */
function fanOut<T>(sinks: ReadonlyArray<(value: T) => void>): (value: T) => void {
  return (value) => {
    for (const sink of sinks) sink(value);
  };
}
