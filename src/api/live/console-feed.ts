/**
 * What the console is fed from the running gateway: every lane event and every output record go
 * through here once. It keeps the lane states and the count profiles, stores each completed
 * occupancy with its profile, and publishes all of it on the live feed — with every change of
 * the gateway's alarm store: raises (src/app/occupancy-alarms.ts raises them, console or not)
 * and every acknowledgement and adjudication, the console's own and central's MQTT commands.
 */
import type { Logger } from '../../core/logger.js';
import type { LaneDescriptor, LaneEvent } from '../../domain/lane-events.js';
import type { AlarmStore } from '../../storage/alarm-store.js';
import type { OccupancyStore, StoredOccupancyRecord } from '../../storage/occupancy-store.js';
import { alarmView } from '../alarms/store-service.js';
import type { LiveHub } from './hub.js';
import { LaneStateTracker, type CompletedOccupancy } from './lane-state.js';
import { ProfileCollector } from './profile-collector.js';

/** The SPEC §5 occupancy record fields the feed reads. */
export interface FeedOccupancyRecord extends StoredOccupancyRecord, CompletedOccupancy {
  readonly type: 'occupancy';
  readonly index: number | null;
  readonly assessment: {
    readonly category: string;
    readonly disposition: string;
    readonly confidence: number;
    readonly probabilities: Readonly<Record<string, number>>;
    readonly reasons: readonly string[];
  };
}

export interface ConsoleFeedOptions {
  readonly lanes: ReadonlyArray<{ descriptor: LaneDescriptor; name?: string | undefined }>;
  readonly occupancies: OccupancyStore;
  readonly alarms: AlarmStore;
  readonly hub: LiveHub;
  /** The gamma N-sigma a lane decides with now. */
  readonly nSigmaOf: (lane: string) => number;
  readonly now: () => number;
  readonly logger: Logger;
}

export interface ConsoleFeed {
  readonly tracker: LaneStateTracker;
  readonly collector: ProfileCollector;
  laneEvent(e: LaneEvent): void;
  /** Every output record of the lane recorder; only occupancy records are used. */
  record(r: { readonly type?: unknown }): void;
  /** Stop following the alarm store. */
  close(): void;
}

export function createConsoleFeed(o: ConsoleFeedOptions): ConsoleFeed {
  const tracker = new LaneStateTracker(o.lanes, o.now());
  const collector = new ProfileCollector(
    o.lanes.map((l) => l.descriptor),
    o.nSigmaOf,
  );
  const publishLane = (lane: string) => {
    const snapshot = tracker.snapshot(lane);
    if (snapshot) o.hub.publish('lane', snapshot);
  };
  const unfollow = o.alarms.onChange(({ alarm }) => o.hub.publish('alarm', alarmView(alarm)));

  return {
    tracker,
    collector,
    close: unfollow,
    laneEvent(e) {
      collector.handle(e);
      const changed = tracker.handle(e);
      switch (e.kind) {
        case 'sample':
          o.hub.publish('sample', {
            lane: e.lane,
            seq: e.seq,
            time: e.time,
            radiation: e.radiation,
            counts: e.counts,
            intervalMs: e.intervalMs,
            deviceAlarm: e.deviceAlarm,
            preTrigger: e.preTrigger,
          });
          if (changed !== null) publishLane(e.lane);
          return;
        case 'background':
        case 'connection':
        case 'fault':
        case 'tamper':
        case 'occupancy-start':
        case 'occupancy-end':
        case 'device-config':
          publishLane(e.lane);
          return;
        default:
          if (changed !== null) publishLane(e.lane);
      }
    },
    record(r) {
      if (r.type !== 'occupancy') return;
      const record = r as FeedOccupancyRecord;
      try {
        o.occupancies.add(record, collector.take(record.lane, record.seq));
      } catch (error) {
        // A full disk must not take the lane down (SPEC §8): the live console still gets it.
        o.logger.error('could not store occupancy', {
          lane: record.lane,
          seq: record.seq,
          error: String(error),
        });
      }
      if (tracker.occupancy(record, o.now()) !== null) publishLane(record.lane);
      o.hub.publish('occupancy', record);
    },
  };
}
