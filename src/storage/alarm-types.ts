/**
 * The alarm store's types (src/storage/alarm-store.ts re-exports them): an alarm, its history
 * entries, the store's inputs and what its listeners hear; and the alarm id scheme, which the
 * bridge shares (kept here, free of the database, so pure modules can import it).
 */
import type {
  Adjudication,
  AlarmState,
  LifecycleState,
  SecondaryInspection,
  Step,
} from '../alarm/lifecycle.js';
import type { Assessment } from '../alarm/types.js';

/** What the pipeline knew when the alarm was raised (kept as it was, never updated). */
export interface AlarmSnapshot extends Assessment {
  readonly gammaAlarm: boolean;
  readonly neutronAlarm: boolean;
}

export interface RaiseInput {
  readonly lane: string;
  /** The gateway's occupancy number (unique per lane). */
  readonly occupancySeq: number;
  /** The device's GX index, when it sent one. */
  readonly deviceIndex: number | null;
  readonly raisedAt: number;
  /** Who raised it. Default 'gateway'. */
  readonly by?: string;
  readonly snapshot: AlarmSnapshot;
}

export interface Alarm extends LifecycleState {
  readonly id: string;
  readonly lane: string;
  readonly occupancySeq: number;
  readonly deviceIndex: number | null;
  readonly raisedAt: number;
  readonly snapshot: AlarmSnapshot;
  /** 1 when raised, +1 per change; pass it back as `expectedVersion` for optimistic checks. */
  readonly version: number;
}

export type HistoryAction = 'raised' | 'acknowledged' | 'adjudicated';

/** The lifecycle fields of an alarm before or after a change. */
export interface LifecycleView {
  readonly state: AlarmState;
  readonly version: number;
  readonly acknowledged: Step | null;
  readonly adjudicated: Adjudication | null;
}

export interface HistoryEntry {
  readonly alarmId: string;
  readonly version: number;
  readonly action: HistoryAction;
  readonly by: string;
  readonly at: number;
  /** Null for the raise. */
  readonly before: LifecycleView | null;
  readonly after: LifecycleView;
  /** An acknowledgement implied by adjudicating a raised alarm. */
  readonly implicit: boolean;
}

export interface TransitionOutcome {
  readonly alarm: Alarm;
  /** The history entries written, in order (the bridge publishes one event per entry). */
  readonly entries: readonly HistoryEntry[];
}

export interface AdjudicateInput {
  readonly code: number;
  readonly secondaryInspection?: SecondaryInspection;
  readonly notes?: string;
}

export interface TransitionOptions {
  /** Fail with ALARM_CONFLICT unless the alarm is still at this version. */
  readonly expectedVersion?: number;
  /**
   * A write that must commit with the transition or not at all (the console's audit entry): runs
   * inside the transition's transaction, after its writes, under the same write lock; throwing
   * rolls the transition back.
   */
  readonly alongside?: (outcome: TransitionOutcome) => void;
}

export interface ListQuery {
  readonly lane?: string;
  readonly state?: AlarmState;
  /** Only alarms raised at or after this time (epoch ms). */
  readonly since?: number;
  /** 1–500. Default 50. */
  readonly limit?: number;
  /** From the previous page's `nextCursor`. */
  readonly cursor?: string | null;
}

export interface AlarmPage {
  /** Newest first. */
  readonly items: readonly Alarm[];
  /** Null on the last page. */
  readonly nextCursor: string | null;
}

/** A raise or a transition, as listeners hear of it (after its commit). */
export interface AlarmChange {
  /** The alarm after the change. */
  readonly alarm: Alarm;
  /** The history entries the change wrote, oldest first: one `raised`, or the transition's. */
  readonly entries: readonly HistoryEntry[];
}

export type AlarmChangeListener = (change: AlarmChange) => void;

/** A transition whose event the bridge has not yet committed to its outbox. */
export interface UnpublishedTransition {
  readonly alarm: Alarm;
  readonly entry: HistoryEntry;
}

/** The verdicts of an occupancy record that decide whether it raises an alarm. */
export interface RaisingVerdicts {
  readonly gamma: { readonly alarm: boolean };
  readonly neutron: { readonly alarm: boolean };
  readonly device: { readonly gammaAlarm: boolean; readonly neutronAlarm: boolean };
  readonly assessment?: unknown;
}

/**
 * Who raises an occupancy's alarm, or null when nobody does: the gateway for its own alarm, the
 * device for one only the RPM raised, and the gateway again for a referral — INVESTIGATE with no
 * alarm (in doubt), which the officer must close like an alarm. The alarm store's raiser and the
 * bridge's rpm.alarm.raised both follow this.
 */
export function raiserOf(record: RaisingVerdicts): 'gateway' | 'device' | null {
  if (record.gamma.alarm || record.neutron.alarm) return 'gateway';
  if (record.device.gammaAlarm || record.device.neutronAlarm) return 'device';
  const disposition = (record.assessment as { readonly disposition?: unknown } | undefined)?.disposition;
  return disposition === 'INVESTIGATE' ? 'gateway' : null;
}

/** The id of the alarm of occupancy `occupancySeq` of `lane` (also rpm.alarm.raised's `alarmId`). */
export function alarmIdOf(lane: string, occupancySeq: number): string {
  return `${lane}:${occupancySeq}`;
}

/** `<lane>:<seq>` back to its parts; null for anything else (a ULID of an older alarm). */
export function parseAlarmId(id: string): { lane: string; occupancySeq: number } | null {
  const m = /^([A-Za-z0-9][A-Za-z0-9_-]*):(0|[1-9][0-9]{0,15})$/.exec(id);
  if (m === null) return null;
  const occupancySeq = Number(m[2]);
  return Number.isSafeInteger(occupancySeq) ? { lane: m[1]!, occupancySeq } : null;
}
