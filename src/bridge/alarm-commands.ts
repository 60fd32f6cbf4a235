/**
 * The seam between central command's alarm commands and the alarm lifecycle (SPEC §3 step 5:
 * raised → acknowledged → adjudicated, each with who and when). The command layer calls this
 * interface; the lifecycle's owner implements it. An in-tree SQLite implementation
 * (`SqliteAlarmLifecycle`, src/storage/alarm-lifecycle-store.ts) serves until the alarm
 * pipeline's own store takes over.
 */
export const ADJUDICATION_CODES = {
  1: 'Contraband found',
  2: 'Other (real alarm)',
  3: 'Medical isotope',
  4: 'NORM',
  5: 'Declared shipment of radioactive material',
  6: 'Physical inspection negative',
  7: 'RIID/ASP indicates background only',
  8: 'Other (false alarm)',
  9: 'Authorized test/maintenance/training',
  10: 'Unauthorized activity (tamper/fault)',
  11: 'Other',
} as const;

export type AdjudicationCode = keyof typeof ADJUDICATION_CODES;
export type SecondaryInspection = 'NONE' | 'REQUESTED' | 'COMPLETED';
export type AlarmLifecycleState = 'raised' | 'acknowledged' | 'adjudicated';

export interface AlarmView {
  readonly alarmId: string;
  readonly lane: string;
  readonly state: AlarmLifecycleState;
  readonly raisedAt: string;
  readonly acknowledgedBy: string | null;
  readonly acknowledgedAt: string | null;
  readonly adjudicatedBy: string | null;
  readonly adjudicatedAt: string | null;
  readonly adjudicationCode: number | null;
  readonly secondaryInspection: SecondaryInspection;
  readonly note: string | null;
}

export interface AcknowledgeRequest {
  readonly lane: string;
  readonly alarmId: string;
  /** Who: the authorized sender id of the command. */
  readonly by: string;
  /** When, epoch ms. */
  readonly time: number;
  readonly note?: string;
}

export interface AdjudicateRequest extends AcknowledgeRequest {
  readonly code: AdjudicationCode;
  readonly secondaryInspection?: SecondaryInspection;
}

export type AlarmCommandOutcome =
  | {
      readonly ok: true;
      readonly alarm: AlarmView;
      /** False when the command repeated a state already reached (no event is published again). */
      readonly changed: boolean;
    }
  | {
      readonly ok: false;
      readonly code: 'ALARM_NOT_FOUND' | 'ALARM_STATE_CONFLICT';
      readonly message: string;
    };

/** What the command layer needs from the alarm lifecycle. */
export interface AlarmCommandHandler {
  acknowledge(request: AcknowledgeRequest): AlarmCommandOutcome | Promise<AlarmCommandOutcome>;
  adjudicate(request: AdjudicateRequest): AlarmCommandOutcome | Promise<AlarmCommandOutcome>;
}

/** A raised alarm, as the bridge tells an in-tree lifecycle about it. */
export interface RaisedAlarm {
  readonly alarmId: string;
  readonly lane: string;
  readonly time: number;
}
