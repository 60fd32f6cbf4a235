/**
 * The alarm lifecycle store (src/storage/alarm-store.ts) as the API's {@link AlarmService}:
 * epoch times become ISO text and the raise-time snapshot is flattened for the console. The
 * store is the gateway's one alarm lifecycle: central's MQTT commands change the same alarms.
 */
import type { Alarm, AlarmStore, TransitionOptions, TransitionOutcome } from '../../storage/alarm-store.js';
import type { AlarmChangeView, AlarmService, AlarmView, AlongsideChange } from '../ports.js';

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

/** The alarm before and after a transition, both read inside its transaction. */
function changeView(outcome: TransitionOutcome): AlarmChangeView {
  const before = outcome.entries[0]?.before;
  return {
    before: alarmView(before ? { ...outcome.alarm, ...before } : outcome.alarm),
    after: alarmView(outcome.alarm),
  };
}

export function alarmServiceFromStore(store: AlarmStore, now: () => number): AlarmService {
  const options = (expectedVersion?: number, alongside?: AlongsideChange): TransitionOptions => ({
    ...(expectedVersion === undefined ? {} : { expectedVersion }),
    ...(alongside === undefined ? {} : { alongside: (outcome) => alongside(changeView(outcome)) }),
  });
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
      const a = store.findByOccupancy(lane, seq);
      return a === null ? null : alarmView(a);
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
    acknowledge(id, by, expectedVersion, alongside) {
      return changeView(store.acknowledge(id, by, now(), options(expectedVersion, alongside)));
    },
    adjudicate(id, input, by, expectedVersion, alongside) {
      return changeView(store.adjudicate(id, input, by, now(), options(expectedVersion, alongside)));
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
