import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../src/storage/database.js';
import { AlarmStore, type AlarmSnapshot, type RaiseInput } from '../../../src/storage/alarm-store.js';
import { GatewayError } from '../../../src/core/errors.js';

const T0 = 1_700_000_000_000;
const SNAPSHOT: AlarmSnapshot = {
  category: 'NORM',
  disposition: 'RELEASE',
  confidence: 0.93,
  probabilities: { background: 0.01, NORM: 0.93, medical: 0.04, threat: 0.02 },
  reasons: ['excess spread over 6.2 s'],
  gammaAlarm: true,
  neutronAlarm: false,
};

function raiseInput(seq: number, over: Partial<RaiseInput> = {}): RaiseInput {
  return {
    lane: 'lane-1',
    occupancySeq: seq,
    deviceIndex: seq + 100,
    raisedAt: T0 + seq * 1000,
    snapshot: SNAPSHOT,
    ...over,
  };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof GatewayError) return e.code;
    throw e;
  }
  throw new Error('expected a GatewayError');
}

describe('AlarmStore on a real SQLite file', () => {
  let dir: string;
  let dbs: Db[];
  const open = (): { db: Db; store: AlarmStore } => {
    const db = openDatabase(dir);
    dbs.push(db);
    return { db, store: new AlarmStore(db) };
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'alarm-store-'));
    dbs = [];
  });
  afterEach(() => {
    for (const db of dbs) if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('raises, acknowledges and adjudicates, with a full history', () => {
    const { store } = open();
    const r = store.raise(raiseInput(1));
    expect(r.created).toBe(true);
    expect(r.alarm.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(r.alarm).toMatchObject({
      lane: 'lane-1',
      occupancySeq: 1,
      deviceIndex: 101,
      raisedAt: T0 + 1000,
      state: 'raised',
      version: 1,
      raised: { by: 'gateway', at: T0 + 1000 },
      snapshot: SNAPSHOT,
    });
    const id = r.alarm.id;
    const a = store.acknowledge(id, 'alice', T0 + 2000);
    expect(a.alarm).toMatchObject({
      state: 'acknowledged',
      version: 2,
      acknowledged: { by: 'alice', at: T0 + 2000 },
    });
    const j = store.adjudicate(
      id,
      { code: 4, secondaryInspection: 'REQUESTED', notes: 'granite' },
      'bob',
      T0 + 3000,
    );
    expect(j.alarm.state).toBe('adjudicated');
    expect(j.alarm.adjudicated).toEqual({
      by: 'bob',
      at: T0 + 3000,
      code: 4,
      codeName: 'NORM',
      group: 'innocent',
      secondaryInspection: 'REQUESTED',
      notes: 'granite',
    });
    const h = store.history(id);
    expect(h.map((e) => [e.version, e.action, e.by, e.at])).toEqual([
      [1, 'raised', 'gateway', T0 + 1000],
      [2, 'acknowledged', 'alice', T0 + 2000],
      [3, 'adjudicated', 'bob', T0 + 3000],
    ]);
    expect(h[0]!.before).toBeNull();
    expect(h[1]!.before).toEqual(h[0]!.after);
    expect(h[2]!.before).toMatchObject({ state: 'acknowledged', adjudicated: null });
    expect(h[2]!.after).toMatchObject({ state: 'adjudicated', adjudicated: { code: 4 } });
    expect(j.entries).toEqual([h[2]]);
  });

  it('raise is idempotent per lane and occupancy', () => {
    const { store } = open();
    const first = store.raise(raiseInput(7));
    const again = store.raise(raiseInput(7, { raisedAt: T0 + 99_999 }));
    expect(again.created).toBe(false);
    expect(again.alarm.id).toBe(first.alarm.id);
    expect(again.entries).toEqual([]);
    expect(store.raise(raiseInput(7, { lane: 'lane-2' })).created).toBe(true);
    expect(store.history(first.alarm.id)).toHaveLength(1);
  });

  it('rejects illegal transitions with stable codes and writes nothing', () => {
    const { store } = open();
    const { id } = store.raise(raiseInput(1)).alarm;
    store.acknowledge(id, 'alice', T0 + 2000);
    expect(codeOf(() => store.acknowledge(id, 'bob', T0 + 2500))).toBe('ALARM_ALREADY_ACKNOWLEDGED');
    expect(codeOf(() => store.adjudicate(id, { code: 12 }, 'bob', T0 + 3000))).toBe('ALARM_CODE_UNKNOWN');
    expect(codeOf(() => store.adjudicate(id, { code: 4 }, '', T0 + 3000))).toBe('ALARM_USER_MISSING');
    store.adjudicate(id, { code: 1 }, 'bob', T0 + 3000);
    expect(codeOf(() => store.adjudicate(id, { code: 2 }, 'carol', T0 + 4000))).toBe('ALARM_CLOSED');
    expect(codeOf(() => store.acknowledge('01NOPE', 'x', T0))).toBe('ALARM_NOT_FOUND');
    expect(codeOf(() => store.history('01NOPE'))).toBe('ALARM_NOT_FOUND');
    expect(store.history(id)).toHaveLength(3);
    expect(store.get(id)?.adjudicated?.code).toBe(1);
  });

  it('records an implicit acknowledgement when a raised alarm is adjudicated', () => {
    const { store } = open();
    const { id } = store.raise(raiseInput(1)).alarm;
    const out = store.adjudicate(id, { code: 3 }, 'dave', T0 + 5000);
    expect(out.entries.map((e) => [e.action, e.implicit, e.version])).toEqual([
      ['acknowledged', true, 2],
      ['adjudicated', false, 3],
    ]);
    expect(out.alarm).toMatchObject({ version: 3, acknowledged: { by: 'dave', at: T0 + 5000 } });
  });

  it('keeps everything after the database is closed and reopened', () => {
    const first = open();
    const { id } = first.store.raise(raiseInput(1)).alarm;
    first.store.acknowledge(id, 'alice', T0 + 2000);
    first.store.adjudicate(id, { code: 9, notes: 'weekly check source' }, 'tech', T0 + 3000);
    const other = first.store.raise(raiseInput(2)).alarm.id;
    const before = { a: first.store.get(id), h: first.store.history(id), o: first.store.get(other) };
    first.db.close();

    const second = open();
    expect(second.store.get(id)).toEqual(before.a);
    expect(second.store.history(id)).toEqual(before.h);
    expect(second.store.get(other)).toEqual(before.o);
    // The reopened store keeps enforcing the rules and numbering.
    expect(codeOf(() => second.store.acknowledge(id, 'x', T0 + 4000))).toBe('ALARM_CLOSED');
    expect(second.store.acknowledge(other, 'x', T0 + 4000).alarm.version).toBe(2);
  });

  it('lists newest first, filtered, with a stable cursor', () => {
    const { store } = open();
    const ids: string[] = [];
    for (let seq = 1; seq <= 7; seq++)
      ids.push(store.raise(raiseInput(seq, { lane: seq % 2 ? 'lane-1' : 'lane-2' })).alarm.id);
    store.acknowledge(ids[0]!, 'a', T0 + 10_000);
    store.adjudicate(ids[2]!, { code: 6 }, 'a', T0 + 10_000);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = store.list({ limit: 3, cursor });
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((a) => a.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual([...ids].reverse());

    expect(store.list({ lane: 'lane-2', limit: 10 }).items.map((a) => a.occupancySeq)).toEqual([6, 4, 2]);
    expect(store.list({ state: 'raised', limit: 10 }).items.map((a) => a.occupancySeq)).toEqual([
      7, 6, 5, 4, 2,
    ]);
    expect(store.list({ since: T0 + 5000, limit: 10 }).items.map((a) => a.occupancySeq)).toEqual([7, 6, 5]);
    expect(codeOf(() => store.list({ cursor: 'garbage' }))).toBe('ALARM_COMMAND_INVALID');
    expect(codeOf(() => store.list({ limit: 0 }))).toBe('ALARM_COMMAND_INVALID');
  });

  describe('concurrent transitions over two connections to one file', () => {
    it('the second acknowledgement reads the first and is rejected', () => {
      const a = open();
      const b = open();
      const { id } = a.store.raise(raiseInput(1)).alarm;
      expect(b.store.get(id)?.state).toBe('raised');
      a.store.acknowledge(id, 'alice', T0 + 2000);
      expect(codeOf(() => b.store.acknowledge(id, 'bob', T0 + 2001))).toBe('ALARM_ALREADY_ACKNOWLEDGED');
      expect(
        b.store
          .history(id)
          .filter((e) => e.action === 'acknowledged')
          .map((e) => e.by),
      ).toEqual(['alice']);
    });

    it('a caller holding an old version gets ALARM_CONFLICT', () => {
      const a = open();
      const b = open();
      const { id } = a.store.raise(raiseInput(1)).alarm;
      const seenByB = b.store.get(id)!;
      a.store.adjudicate(id, { code: 4 }, 'alice', T0 + 2000);
      expect(
        codeOf(() =>
          b.store.adjudicate(id, { code: 1 }, 'bob', T0 + 2001, { expectedVersion: seenByB.version }),
        ),
      ).toBe('ALARM_CONFLICT');
      expect(a.store.get(id)?.adjudicated?.by).toBe('alice');
    });

    it('a transition waits for the write lock: it cannot interleave with another in flight', () => {
      const a = open();
      const b = open();
      const { id } = a.store.raise(raiseInput(1)).alarm;
      a.db.pragma('busy_timeout = 50');
      // b starts a write transaction and is mid-way through its own acknowledgement.
      b.db.exec('BEGIN IMMEDIATE');
      expect(() => a.store.acknowledge(id, 'alice', T0 + 2000)).toThrow(/busy|locked/i);
      b.db.exec('ROLLBACK');
      b.store.acknowledge(id, 'bob', T0 + 2001);
      expect(codeOf(() => a.store.acknowledge(id, 'alice', T0 + 2002))).toBe('ALARM_ALREADY_ACKNOWLEDGED');
      expect(a.store.history(id).map((e) => e.by)).toEqual(['gateway', 'bob']);
    });
  });
});
