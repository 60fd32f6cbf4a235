/**
 * Raises the alarm of each occupancy the gateway or the device alarmed on, in the gateway's one
 * alarm store (SPEC §3 step 5), from the occupancy's record: whether the gateway runs with the
 * console, the MQTT bridge, both or neither, the console and central act on the same alarms.
 * The alarm's id is `<lane>:<seq>`, the id the bridge's rpm.alarm.raised already carried.
 *
 * Why raise on the device's alarm too: the RPM's own alarm is what the lane's lights and horn
 * show; the officer must close it even when the gateway's assessment says RELEASE (the
 * assessment is then shown as the reason to release).
 */
import type { Logger } from '../core/logger.js';
import type { AlarmStore, RaiseInput } from '../storage/alarm-store.js';
import { raiserOf } from '../storage/alarm-types.js';
import type { OccupancyRecord } from './occupancy-record.js';

/** The raise for an occupancy record (who raises it: `raiserOf`); null when nobody does. */
export function raiseInputOf(record: OccupancyRecord, now: number): RaiseInput | null {
  const by = raiserOf(record);
  if (by === null) return null;
  return {
    lane: record.lane,
    occupancySeq: record.seq,
    deviceIndex: record.index,
    raisedAt: Date.parse(record.end) || now,
    by,
    snapshot: {
      category: record.assessment.category,
      disposition: record.assessment.disposition,
      confidence: record.assessment.confidence,
      probabilities: record.assessment.probabilities,
      reasons: record.assessment.reasons,
      gammaAlarm: record.gamma.alarm || record.device.gammaAlarm,
      neutronAlarm: record.neutron.alarm || record.device.neutronAlarm,
    },
  };
}

/** A record sink that raises the alarm of every alarming occupancy record (others pass by). */
export function occupancyAlarmRaiser(
  store: AlarmStore,
  deps: { readonly now: () => number; readonly logger: Logger },
): (record: { readonly type?: unknown }) => void {
  return (r) => {
    if (r.type !== 'occupancy') return;
    const record = r as OccupancyRecord;
    try {
      const input = raiseInputOf(record, deps.now());
      if (input !== null) store.raise(input);
    } catch (error) {
      // A full disk must not take the lane down (SPEC §8): the event still goes out over MQTT.
      deps.logger.error('could not raise alarm', {
        lane: record.lane,
        seq: record.seq,
        error: String(error),
      });
    }
  };
}
