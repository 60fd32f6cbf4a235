/**
 * The alarm lifecycle (SPEC §3 step 5) as a pure state machine: `(state, command) → {state,
 * effects} | error`. No I/O, no clock: who and when come with each command, so the store, the
 * MQTT command layer and the console all apply the same rules and get the same stable error
 * codes (src/core/errors.ts).
 *
 * raised → acknowledged → adjudicated (closed). Decisions where the SPEC is silent:
 * - Adjudicating a raised alarm acknowledges it implicitly, by the same user at the same time
 *   (two effects, two history entries): an officer who records a verdict has seen the alarm, and
 *   refusing would only make central send two commands.
 * - A closed alarm is final: no re-acknowledgement, no second adjudication (a correction is a
 *   new record in the audit trail, not an edit here).
 * - A step may not be dated before the step it follows (a clock that runs backwards would make
 *   the history unreadable); equal times are fine.
 */
import type { ErrorCode } from '../core/errors.js';

export type AlarmState = 'raised' | 'acknowledged' | 'adjudicated';
export type AdjudicationGroup = 'real' | 'innocent' | 'false' | 'other';
export type SecondaryInspection = 'NONE' | 'REQUESTED' | 'COMPLETED';
export const SECONDARY_INSPECTION: readonly SecondaryInspection[] = ['NONE', 'REQUESTED', 'COMPLETED'];

/** Adjudication codes 1–11 exactly as SPEC §3 lists them, with their grouping. */
export const ADJUDICATION_CODES = {
  1: { name: 'Contraband found', group: 'real' },
  2: { name: 'Other', group: 'real' },
  3: { name: 'Medical isotope', group: 'innocent' },
  4: { name: 'NORM', group: 'innocent' },
  5: { name: 'Declared shipment of radioactive material', group: 'innocent' },
  6: { name: 'Physical inspection negative', group: 'false' },
  7: { name: 'RIID/ASP indicates background only', group: 'false' },
  8: { name: 'Other', group: 'false' },
  9: { name: 'Authorized test/maintenance/training', group: 'other' },
  10: { name: 'Unauthorized activity (tamper/fault)', group: 'other' },
  11: { name: 'Other', group: 'other' },
} as const satisfies Record<number, { name: string; group: AdjudicationGroup }>;

export type AdjudicationCode = keyof typeof ADJUDICATION_CODES;

export function isAdjudicationCode(code: unknown): code is AdjudicationCode {
  return typeof code === 'number' && Number.isInteger(code) && code >= 1 && code <= 11;
}

/** Longest free-text note kept (characters). */
export const MAX_NOTES_LENGTH = 4000;
/** Longest user name kept (characters). */
export const MAX_USER_LENGTH = 200;

export interface Step {
  readonly by: string;
  /** Epoch milliseconds. */
  readonly at: number;
}

export interface Adjudication extends Step {
  readonly code: AdjudicationCode;
  /** The code's name as SPEC §3 lists it ("Medical isotope", …). */
  readonly codeName: string;
  readonly group: AdjudicationGroup;
  readonly secondaryInspection: SecondaryInspection;
  readonly notes: string;
}

/** The lifecycle part of an alarm: what the transitions read and write. */
export interface LifecycleState {
  readonly state: AlarmState;
  readonly raised: Step;
  readonly acknowledged: Step | null;
  readonly adjudicated: Adjudication | null;
}

export type LifecycleCommand =
  | { readonly kind: 'acknowledge'; readonly user: string; readonly at: number }
  | {
      readonly kind: 'adjudicate';
      readonly user: string;
      readonly at: number;
      readonly code: number;
      /** Default NONE. */
      readonly secondaryInspection?: string;
      readonly notes?: string;
    };

/** What happened, in order: the store writes one history entry and one event per effect. */
export type LifecycleEffect =
  | { readonly kind: 'acknowledged'; readonly step: Step; readonly implicit: boolean }
  | { readonly kind: 'adjudicated'; readonly adjudication: Adjudication };

export type LifecycleErrorCode = Extract<
  ErrorCode,
  | 'ALARM_ALREADY_ACKNOWLEDGED'
  | 'ALARM_CLOSED'
  | 'ALARM_CODE_UNKNOWN'
  | 'ALARM_USER_MISSING'
  | 'ALARM_COMMAND_INVALID'
>;

export interface LifecycleError {
  readonly code: LifecycleErrorCode;
  readonly message: string;
  readonly context: Readonly<Record<string, unknown>>;
}

export type TransitionResult =
  | { readonly ok: true; readonly state: LifecycleState; readonly effects: readonly LifecycleEffect[] }
  | { readonly ok: false; readonly error: LifecycleError };

/** A new alarm's lifecycle. */
export function raised(by: string, at: number): LifecycleState {
  return { state: 'raised', raised: { by, at }, acknowledged: null, adjudicated: null };
}

export function transition(s: LifecycleState, cmd: LifecycleCommand): TransitionResult {
  const user = typeof cmd.user === 'string' ? cmd.user.trim() : '';
  if (user === '')
    return fail('ALARM_USER_MISSING', `${cmd.kind} needs the user who does it`, { command: cmd.kind });
  if (user.length > MAX_USER_LENGTH)
    return fail('ALARM_COMMAND_INVALID', `user name longer than ${MAX_USER_LENGTH} characters`, {
      command: cmd.kind,
    });
  if (!Number.isFinite(cmd.at))
    return fail('ALARM_COMMAND_INVALID', `${cmd.kind} needs a time (epoch ms)`, { command: cmd.kind });
  if (s.state === 'adjudicated') {
    return fail('ALARM_CLOSED', `the alarm is closed: adjudicated by ${s.adjudicated?.by ?? '?'}`, {
      command: cmd.kind,
      adjudicatedBy: s.adjudicated?.by,
      adjudicatedAt: s.adjudicated?.at,
    });
  }
  const previous = s.acknowledged?.at ?? s.raised.at;
  if (cmd.at < previous)
    return fail(
      'ALARM_COMMAND_INVALID',
      `${cmd.kind} at ${iso(cmd.at)} is earlier than the previous step (${iso(previous)})`,
      { command: cmd.kind, at: cmd.at, previousAt: previous },
    );

  if (cmd.kind === 'acknowledge') {
    if (s.acknowledged !== null)
      return fail(
        'ALARM_ALREADY_ACKNOWLEDGED',
        `the alarm was already acknowledged by ${s.acknowledged.by} at ${iso(s.acknowledged.at)}`,
        { acknowledgedBy: s.acknowledged.by, acknowledgedAt: s.acknowledged.at },
      );
    const step = { by: user, at: cmd.at };
    return {
      ok: true,
      state: { ...s, state: 'acknowledged', acknowledged: step },
      effects: [{ kind: 'acknowledged', step, implicit: false }],
    };
  }

  if (!isAdjudicationCode(cmd.code))
    return fail('ALARM_CODE_UNKNOWN', `adjudication code ${String(cmd.code)} is not one of 1–11`, {
      code: cmd.code,
    });
  const secondary = cmd.secondaryInspection ?? 'NONE';
  if (!(SECONDARY_INSPECTION as readonly string[]).includes(secondary))
    return fail(
      'ALARM_COMMAND_INVALID',
      `secondary inspection '${secondary}' is not one of ${SECONDARY_INSPECTION.join(', ')}`,
      { secondaryInspection: secondary },
    );
  const notes = cmd.notes ?? '';
  if (typeof notes !== 'string' || notes.length > MAX_NOTES_LENGTH)
    return fail('ALARM_COMMAND_INVALID', `notes must be text of at most ${MAX_NOTES_LENGTH} characters`, {
      length: typeof notes === 'string' ? notes.length : null,
    });
  const effects: LifecycleEffect[] = [];
  let acknowledged = s.acknowledged;
  if (acknowledged === null) {
    acknowledged = { by: user, at: cmd.at };
    effects.push({ kind: 'acknowledged', step: acknowledged, implicit: true });
  }
  const adjudication: Adjudication = {
    by: user,
    at: cmd.at,
    code: cmd.code,
    codeName: ADJUDICATION_CODES[cmd.code].name,
    group: ADJUDICATION_CODES[cmd.code].group,
    secondaryInspection: secondary as SecondaryInspection,
    notes,
  };
  effects.push({ kind: 'adjudicated', adjudication });
  return {
    ok: true,
    state: { ...s, state: 'adjudicated', acknowledged, adjudicated: adjudication },
    effects,
  };
}

function fail(code: LifecycleErrorCode, message: string, context: Record<string, unknown>): TransitionResult {
  return { ok: false, error: { code, message, context } };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
