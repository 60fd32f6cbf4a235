/**
 * One lane's path from lane events to output records: the decision, the occupancy accumulator,
 * and the lean fault / tamper / device-restart records. Shared by the live gateway and replay,
 * so a replayed daily file and the live lane it came from give the same records (SPEC §5).
 */
import { createSimpleNSigma } from '../alarm/simple-nsigma.js';
import type { LaneEvent } from '../domain/lane-events.js';
import {
  OccupancyAccumulator,
  deviceRestartRecord,
  faultRecord,
  tamperRecord,
  type OccupancyRecord,
} from './occupancy-record.js';

export type OutputRecord = OccupancyRecord | Record<string, unknown>;

export interface LaneRecorderOptions {
  readonly lane: string;
  readonly nSigma?: number;
  readonly neutronFalseAlarmP?: number;
  /** Also emit fault, tamper and device-restart records (default true). */
  readonly eventRecords?: boolean;
  /** Called with every output record, in order. */
  readonly write: (record: OutputRecord) => void;
  /** Called with every completed occupancy, after `write` (for counters and persistence). */
  readonly onOccupancy?: (record: OccupancyRecord) => void;
}

export interface LaneRecorder {
  handle(event: LaneEvent): void;
}

export function createLaneRecorder(options: LaneRecorderOptions): LaneRecorder {
  const { lane, write } = options;
  const eventRecords = options.eventRecords ?? true;
  const decision = createSimpleNSigma({
    ...(options.nSigma === undefined ? {} : { nSigma: options.nSigma }),
    ...(options.neutronFalseAlarmP === undefined ? {} : { neutronFalseAlarmP: options.neutronFalseAlarmP }),
  });
  const accumulator = new OccupancyAccumulator(lane);
  // The tracker flags every line of a restart dump; report the restart once per dump.
  let restartDumpOpen = false;

  return {
    handle(e: LaneEvent): void {
      decision.handle(e);
      if (e.kind !== 'device-config') restartDumpOpen = false;
      switch (e.kind) {
        case 'occupancy-start':
        case 'sample':
        case 'speed':
          accumulator.handle(e);
          return;
        case 'occupancy-end': {
          const record = accumulator.finish(e, decision.verdict());
          write(record);
          options.onOccupancy?.(record);
          return;
        }
        case 'fault':
          if (eventRecords) write(faultRecord(e));
          return;
        case 'tamper':
          if (eventRecords) write(tamperRecord(e));
          return;
        case 'device-config':
          if (eventRecords && e.restarted && !restartDumpOpen) {
            restartDumpOpen = true;
            write(deviceRestartRecord(lane, e.time));
          }
          return;
        case 'background':
        case 'bad-input':
        case 'unknown-record':
        case 'connection':
          return;
      }
    },
  };
}
