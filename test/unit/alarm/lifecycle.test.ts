import { describe, expect, it } from 'vitest';
import {
  ADJUDICATION_CODES,
  raised,
  transition,
  type LifecycleState,
  type TransitionResult,
} from '../../../src/alarm/lifecycle.js';
import { ERROR_CODES } from '../../../src/core/errors.js';

const T0 = 1_700_000_000_000;

function ok(r: TransitionResult): Extract<TransitionResult, { ok: true }> {
  if (!r.ok) throw new Error(`expected success, got ${r.error.code}: ${r.error.message}`);
  return r;
}

function errorCode(r: TransitionResult): string {
  if (r.ok) throw new Error('expected an error');
  return r.error.code;
}

describe('alarm lifecycle (SPEC §3 step 5)', () => {
  it('lists codes 1–11 with their SPEC names and groups', () => {
    expect(Object.keys(ADJUDICATION_CODES).map(Number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const groups = Object.values(ADJUDICATION_CODES).map((c) => c.group);
    expect(groups).toEqual([
      'real',
      'real',
      'innocent',
      'innocent',
      'innocent',
      'false',
      'false',
      'false',
      'other',
      'other',
      'other',
    ]);
    expect(ADJUDICATION_CODES[3].name).toBe('Medical isotope');
    expect(ADJUDICATION_CODES[7].name).toBe('RIID/ASP indicates background only');
    expect(ADJUDICATION_CODES[10].name).toBe('Unauthorized activity (tamper/fault)');
  });

  it('goes raised → acknowledged → adjudicated, recording who and when', () => {
    const a = ok(transition(raised('gateway', T0), { kind: 'acknowledge', user: ' alice ', at: T0 + 5 }));
    expect(a.state.state).toBe('acknowledged');
    expect(a.state.acknowledged).toEqual({ by: 'alice', at: T0 + 5 });
    expect(a.effects).toEqual([{ kind: 'acknowledged', step: { by: 'alice', at: T0 + 5 }, implicit: false }]);
    const b = ok(
      transition(a.state, {
        kind: 'adjudicate',
        user: 'bob',
        at: T0 + 60_000,
        code: 4,
        secondaryInspection: 'COMPLETED',
        notes: 'tiles, manifest checked',
      }),
    );
    expect(b.state.state).toBe('adjudicated');
    expect(b.state.acknowledged).toEqual({ by: 'alice', at: T0 + 5 });
    expect(b.state.adjudicated).toEqual({
      by: 'bob',
      at: T0 + 60_000,
      code: 4,
      codeName: 'NORM',
      group: 'innocent',
      secondaryInspection: 'COMPLETED',
      notes: 'tiles, manifest checked',
    });
    expect(b.effects.map((e) => e.kind)).toEqual(['adjudicated']);
  });

  it('adjudicating a raised alarm acknowledges it implicitly (two effects)', () => {
    const r = ok(
      transition(raised('gateway', T0), { kind: 'adjudicate', user: 'carol', at: T0 + 9, code: 6 }),
    );
    expect(r.state.acknowledged).toEqual({ by: 'carol', at: T0 + 9 });
    expect(r.effects.map((e) => e.kind)).toEqual(['acknowledged', 'adjudicated']);
    expect(r.effects[0]).toMatchObject({ implicit: true });
    expect(r.state.adjudicated).toMatchObject({ secondaryInspection: 'NONE', notes: '', group: 'false' });
  });

  const acknowledged = ok(
    transition(raised('gateway', T0), { kind: 'acknowledge', user: 'alice', at: T0 + 1 }),
  ).state;
  const closed: LifecycleState = ok(
    transition(acknowledged, { kind: 'adjudicate', user: 'bob', at: T0 + 2, code: 1 }),
  ).state;

  it('rejects acknowledging twice', () => {
    expect(errorCode(transition(acknowledged, { kind: 'acknowledge', user: 'bob', at: T0 + 3 }))).toBe(
      'ALARM_ALREADY_ACKNOWLEDGED',
    );
  });

  it('rejects any transition of a closed alarm', () => {
    expect(errorCode(transition(closed, { kind: 'adjudicate', user: 'x', at: T0 + 3, code: 2 }))).toBe(
      'ALARM_CLOSED',
    );
    expect(errorCode(transition(closed, { kind: 'acknowledge', user: 'x', at: T0 + 3 }))).toBe(
      'ALARM_CLOSED',
    );
  });

  it.each([0, 12, -1, 3.5, Number.NaN])('rejects adjudication code %s', (code) => {
    expect(errorCode(transition(acknowledged, { kind: 'adjudicate', user: 'x', at: T0 + 3, code }))).toBe(
      'ALARM_CODE_UNKNOWN',
    );
  });

  it.each(['', '   '])('rejects a missing user (%j)', (user) => {
    expect(errorCode(transition(raised('gateway', T0), { kind: 'acknowledge', user, at: T0 }))).toBe(
      'ALARM_USER_MISSING',
    );
    expect(errorCode(transition(acknowledged, { kind: 'adjudicate', user, at: T0 + 3, code: 4 }))).toBe(
      'ALARM_USER_MISSING',
    );
  });

  it('rejects a bad secondary-inspection status, overlong notes, and times that run backwards', () => {
    const base = { kind: 'adjudicate', user: 'x', at: T0 + 3, code: 4 } as const;
    expect(errorCode(transition(acknowledged, { ...base, secondaryInspection: 'MAYBE' }))).toBe(
      'ALARM_COMMAND_INVALID',
    );
    expect(errorCode(transition(acknowledged, { ...base, notes: 'x'.repeat(4001) }))).toBe(
      'ALARM_COMMAND_INVALID',
    );
    expect(errorCode(transition(acknowledged, { ...base, at: T0 }))).toBe('ALARM_COMMAND_INVALID');
    expect(errorCode(transition(raised('g', T0), { kind: 'acknowledge', user: 'x', at: Number.NaN }))).toBe(
      'ALARM_COMMAND_INVALID',
    );
  });

  it('uses only stable codes declared in core/errors', () => {
    for (const code of [
      'ALARM_ALREADY_ACKNOWLEDGED',
      'ALARM_CLOSED',
      'ALARM_CODE_UNKNOWN',
      'ALARM_USER_MISSING',
      'ALARM_COMMAND_INVALID',
    ])
      expect(ERROR_CODES).toHaveProperty(code);
  });

  it('never mutates the state it is given', () => {
    const s = raised('gateway', T0);
    const copy = structuredClone(s);
    transition(s, { kind: 'adjudicate', user: 'x', at: T0 + 1, code: 3 });
    expect(s).toEqual(copy);
  });
});
