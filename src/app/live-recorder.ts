/**
 * A lane recorder whose alarm thresholds can change while the lane runs (SPEC §6: "applied
 * without restart where possible"). A change takes effect at the lane's next occupancy start —
 * never in the middle of a vehicle, whose decision must come from one threshold. The new
 * decision is warmed with what the old one had learnt between vehicles (the last background
 * reports and the device's neutron estimate from the last end of occupancy), so the first
 * vehicle after a change is decided on the same background as it would have been.
 */
import type { AlarmPipelineOptions } from '../alarm/pipeline.js';
import type { LaneConfig } from '../config/schema.js';
import type { BackgroundEvent, LaneEvent, OccupancyEndEvent } from '../domain/lane-events.js';
import { createLaneRecorder, type LaneRecorder, type OutputRecord } from './lane-recorder.js';

export interface LiveRecorder extends LaneRecorder {
  /** Use these thresholds from the next occupancy on. */
  reconfigure(alarm: LaneConfig['alarm']): void;
  /** The thresholds the current (or next) occupancy is decided with. */
  readonly alarm: LaneConfig['alarm'];
}

export function createLiveRecorder(
  lane: string,
  alarm: LaneConfig['alarm'],
  write: (record: OutputRecord) => void,
  pipeline: AlarmPipelineOptions = {},
): LiveRecorder {
  let muted = false;
  const build = (a: LaneConfig['alarm']) =>
    createLaneRecorder({
      lane,
      pipeline,
      nSigma: a.nSigma,
      neutronFalseAlarmP: a.neutronFalseAlarmProbability,
      write: (record) => {
        if (!muted) write(record);
      },
    });
  let current = alarm;
  let recorder = build(alarm);
  let pending: LaneConfig['alarm'] | null = null;
  const lastBackground: Partial<Record<BackgroundEvent['radiation'], BackgroundEvent>> = {};
  let lastEnd: OccupancyEndEvent | null = null;

  return {
    get alarm() {
      return pending ?? current;
    },
    reconfigure(next) {
      pending = next;
    },
    handle(e: LaneEvent) {
      if (e.kind === 'occupancy-start' && pending !== null) {
        current = pending;
        pending = null;
        recorder = build(current);
        // Warm the new decision; the record the replayed end would write is not a new vehicle.
        muted = true;
        try {
          if (lastEnd !== null) recorder.handle(lastEnd);
          for (const b of Object.values(lastBackground)) recorder.handle(b);
        } finally {
          muted = false;
        }
      }
      if (e.kind === 'background') lastBackground[e.radiation] = e;
      if (e.kind === 'occupancy-end') lastEnd = e;
      recorder.handle(e);
    },
  };
}
