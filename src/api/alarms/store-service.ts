/**
 * The alarm lifecycle store (src/storage/alarm-store.ts) as the API's {@link AlarmService}:
 * epoch times become ISO text and the raise-time snapshot is flattened for the console.
 */
import type { Alarm, AlarmStore } from '../../storage/alarm-store.js';
import type { AlarmService, AlarmView } from '../ports.js';

export function alarmView(a: Alarm): AlarmView {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    id: a.id,
    lane: a.lane,
    seq: a.occupancySeq,
    deviceIndex: a.deviceIndex,
    raisedAt: iso(a.raisedAt),
    status: a.state,
    version: a.version,
    gammaAlarm: a.snapshot.gammaAlarm,
    neutronAlarm: a.snapshot.neutronAlarm,
    category: a.snapshot.category,
    disposition: a.snapshot.disposition,
    confidence: a.snapshot.confidence,
    reasons: a.snapshot.reasons,
    acknowledged: a.acknowledged === null ? null : { by: a.acknowledged.by, at: iso(a.acknowledged.at) },
    adjudication:
      a.adjudicated === null
        ? null
        : {
            code: a.adjudicated.code,
            label: a.adjudicated.codeName,
            group: a.adjudicated.group,
            secondaryInspection: a.adjudicated.secondaryInspection,
            notes: a.adjudicated.notes,
            by: a.adjudicated.by,
            at: iso(a.adjudicated.at),
          },
  };
}

export function alarmServiceFromStore(store: AlarmStore, now: () => number): AlarmService {
  const options = (expectedVersion?: number) => (expectedVersion === undefined ? {} : { expectedVersion });
  return {
    list(q) {
      const page = store.list({
        ...(q.lane === undefined ? {} : { lane: q.lane }),
        ...(q.status === undefined ? {} : { state: q.status }),
        limit: q.limit,
        ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
      });
      return { items: page.items.map(alarmView), nextCursor: page.nextCursor };
    },
    get(id) {
      const a = store.get(id);
      return a === null ? null : alarmView(a);
    },
    byOccupancy(lane, seq) {
      // Alarms are few per lane; the store lists newest first, so recent occupancies are found at once.
      let cursor: string | null = null;
      do {
        const page = store.list({ lane, limit: 500, cursor });
        const hit = page.items.find((a) => a.occupancySeq === seq);
        if (hit) return alarmView(hit);
        if (page.items.some((a) => a.occupancySeq < seq)) return null;
        cursor = page.nextCursor;
      } while (cursor !== null);
      return null;
    },
    history(id) {
      return store.history(id).map((e) => ({
        version: e.version,
        at: new Date(e.at).toISOString(),
        action: e.action,
        by: e.by,
        implicit: e.implicit,
        before: e.before,
        after: e.after,
      }));
    },
    acknowledge(id, by, expectedVersion) {
      const before = store.get(id);
      const outcome = store.acknowledge(id, by, now(), options(expectedVersion));
      return { before: alarmView(before ?? outcome.alarm), after: alarmView(outcome.alarm) };
    },
    adjudicate(id, input, by, expectedVersion) {
      const before = store.get(id);
      const outcome = store.adjudicate(id, input, by, now(), options(expectedVersion));
      return { before: alarmView(before ?? outcome.alarm), after: alarmView(outcome.alarm) };
    },
    openCounts() {
      const counts: Record<string, number> = {};
      for (const state of ['raised', 'acknowledged'] as const) {
        let cursor: string | null = null;
        do {
          const page = store.list({ state, limit: 500, cursor });
          for (const a of page.items) counts[a.lane] = (counts[a.lane] ?? 0) + 1;
          cursor = page.nextCursor;
        } while (cursor !== null);
      }
      return counts;
    },
  };
}
