/**
 * The seam between central command's alarm commands and the gateway's one alarm lifecycle
 * (SPEC §3 step 5: raised → acknowledged → adjudicated, each with who and when). The command
 * layer calls `AlarmCommandHandler`; `StoreAlarmCommands` implements it over the `AlarmStore`
 * the console's API uses too, so both apply the same rules (src/alarm/lifecycle.ts) to the same
 * record and history.
 *
 * The store's errors become the command protocol's codes: an unknown alarm (or one of another
 * lane) is ALARM_NOT_FOUND, a transition the lifecycle forbids (already acknowledged, closed)
 * ALARM_STATE_CONFLICT, a value it refuses (a step dated before the previous one) INVALID_PAYLOAD;
 * the store's message says which rule. Nothing is changed in any of these cases.
 */
import type { AdjudicationCode, AlarmState, SecondaryInspection } from '../alarm/lifecycle.js';
import { describeError, GatewayError, type ErrorCode } from '../core/errors.js';
import type { Alarm, AlarmStore, LifecycleView, TransitionOutcome } from '../storage/alarm-store.js';
// The id scheme from the database-free module, so the pure event mapper can use this view too.
import { alarmIdOf } from '../storage/alarm-types.js';

/**
 * An alarm's lifecycle as central sees it: in command answers, and as the `data` of
 * rpm.alarm.acknowledged / rpm.alarm.adjudicated (SPEC §4).
 */
export interface AlarmView {
  /** `<lane>:<occupancy seq>`, as in rpm.alarm.raised. */
  readonly alarmId: string;
  readonly lane: string;
  readonly occupancySeq: number;
  readonly state: AlarmState;
  /** 1 at the raise, +1 per step. */
  readonly version: number;
  readonly raisedAt: string;
  readonly acknowledgedBy: string | null;
  readonly acknowledgedAt: string | null;
  readonly adjudicatedBy: string | null;
  readonly adjudicatedAt: string | null;
  readonly adjudicationCode: AdjudicationCode | null;
  /** The code's name as SPEC §3 lists it ("NORM", "Medical isotope", …). */
  readonly adjudicationLabel: string | null;
  /** `real`, `innocent`, `false` or `other` alarm. */
  readonly adjudicationGroup: string | null;
  readonly secondaryInspection: SecondaryInspection;
  readonly notes: string | null;
}

/** The view of an alarm at one point of its lifecycle (now, or after one history entry). */
export function alarmView(
  alarm: Pick<Alarm, 'lane' | 'occupancySeq' | 'raisedAt'>,
  at: Pick<LifecycleView, 'state' | 'version' | 'acknowledged' | 'adjudicated'>,
): AlarmView {
  const iso = (ms: number) => new Date(ms).toISOString();
  const adjudicated = at.adjudicated;
  return {
    alarmId: alarmIdOf(alarm.lane, alarm.occupancySeq),
    lane: alarm.lane,
    occupancySeq: alarm.occupancySeq,
    state: at.state,
    version: at.version,
    raisedAt: iso(alarm.raisedAt),
    acknowledgedBy: at.acknowledged?.by ?? null,
    acknowledgedAt: at.acknowledged ? iso(at.acknowledged.at) : null,
    adjudicatedBy: adjudicated?.by ?? null,
    adjudicatedAt: adjudicated ? iso(adjudicated.at) : null,
    adjudicationCode: adjudicated?.code ?? null,
    adjudicationLabel: adjudicated?.codeName ?? null,
    adjudicationGroup: adjudicated?.group ?? null,
    secondaryInspection: adjudicated?.secondaryInspection ?? 'NONE',
    notes: adjudicated ? adjudicated.notes || null : null,
  };
}

export interface AcknowledgeRequest {
  readonly lane: string;
  /** `<lane>:<seq>` (rpm.alarm.raised's alarmId) or the console's alarm id. */
  readonly alarmId: string;
  /** Who: the authorized sender id of the command. */
  readonly by: string;
  /** When, epoch ms. */
  readonly time: number;
  /** Kept in the command audit; the lifecycle keeps notes with the adjudication only. */
  readonly note?: string;
}

export interface AdjudicateRequest extends AcknowledgeRequest {
  readonly code: AdjudicationCode;
  readonly secondaryInspection?: SecondaryInspection;
}

export type AlarmCommandErrorCode = 'ALARM_NOT_FOUND' | 'ALARM_STATE_CONFLICT' | 'INVALID_PAYLOAD';

export type AlarmCommandOutcome =
  | { readonly ok: true; readonly alarm: AlarmView }
  | { readonly ok: false; readonly code: AlarmCommandErrorCode; readonly message: string };

/** What the command layer needs from the alarm lifecycle. */
export interface AlarmCommandHandler {
  acknowledge(request: AcknowledgeRequest): AlarmCommandOutcome | Promise<AlarmCommandOutcome>;
  adjudicate(request: AdjudicateRequest): AlarmCommandOutcome | Promise<AlarmCommandOutcome>;
}

/** How each lifecycle error reads in the command protocol (src/bridge/command-codec.ts). */
const COMMAND_CODE_OF: Partial<Record<ErrorCode, AlarmCommandErrorCode>> = {
  ALARM_NOT_FOUND: 'ALARM_NOT_FOUND',
  ALARM_ALREADY_ACKNOWLEDGED: 'ALARM_STATE_CONFLICT',
  ALARM_CLOSED: 'ALARM_STATE_CONFLICT',
  ALARM_CONFLICT: 'ALARM_STATE_CONFLICT',
  ALARM_CODE_UNKNOWN: 'INVALID_PAYLOAD',
  ALARM_USER_MISSING: 'INVALID_PAYLOAD',
  ALARM_COMMAND_INVALID: 'INVALID_PAYLOAD',
};

/** Central's commands carried out on the gateway's alarm store. */
export class StoreAlarmCommands implements AlarmCommandHandler {
  constructor(private readonly store: AlarmStore) {}

  acknowledge(r: AcknowledgeRequest): AlarmCommandOutcome {
    return this.carryOut(r, (id) => this.store.acknowledge(id, r.by, r.time));
  }

  adjudicate(r: AdjudicateRequest): AlarmCommandOutcome {
    return this.carryOut(r, (id) =>
      this.store.adjudicate(
        id,
        {
          code: r.code,
          ...(r.secondaryInspection === undefined ? {} : { secondaryInspection: r.secondaryInspection }),
          ...(r.note === undefined ? {} : { notes: r.note }),
        },
        r.by,
        r.time,
      ),
    );
  }

  private carryOut(r: AcknowledgeRequest, change: (id: string) => TransitionOutcome): AlarmCommandOutcome {
    const alarm = this.store.get(r.alarmId);
    // A command names its lane in the topic: an alarm of another lane is not this lane's to change.
    if (alarm === null || alarm.lane !== r.lane) {
      return {
        ok: false,
        code: 'ALARM_NOT_FOUND',
        message:
          `no alarm '${r.alarmId}' on lane '${r.lane}' ` +
          '(an alarm is recorded when its occupancy is complete, after rpm.occupancy.completed)',
      };
    }
    try {
      const outcome = change(alarm.id);
      return { ok: true, alarm: alarmView(outcome.alarm, outcome.alarm) };
    } catch (error) {
      // Anything but a lifecycle refusal is the gateway's failure: the command service answers INTERNAL.
      const code = error instanceof GatewayError ? COMMAND_CODE_OF[error.code] : undefined;
      if (code === undefined) throw error;
      return { ok: false, code, message: describeError(error) };
    }
  }
}
