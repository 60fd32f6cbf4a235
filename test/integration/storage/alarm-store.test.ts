import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate, openDatabase, type Db } from '../../../src/storage/database.js';
import {
  AlarmStore,
  parseAlarmId,
  type AlarmChange,
  type AlarmSnapshot,
  type RaiseInput,
} from '../../../src/storage/alarm-store.js';
import { GatewayError } from '../../../src/core/errors.js';
import { AuditStore } from '../../../src/storage/audit-store.js';

const require = createRequire(import.meta.url);

const T0 = 1_700_000_000_000;
/** An operator's audit entry, as the console's routes write one beside a transition. */
const AUDIT = { actor: 'olga', role: 'operator', before: null, after: null };
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
    // The id rpm.alarm.raised already carried: `<lane>:<occupancy seq>`.
    expect(r.alarm.id).toBe('lane-1:1');
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

  describe('one lifecycle for the console and the bridge', () => {
    it('tells listeners of each raise and transition once, after its commit', () => {
      const { store } = open();
      const reader = open().db;
      const heard: AlarmChange[] = [];
      const states: string[] = [];
      const stop = store.onChange((c) => {
        heard.push(c);
        // Committed: a second connection already reads the change.
        states.push(
          String(
            (reader.prepare('SELECT state FROM alarms WHERE id = ?').get(c.alarm.id) as { state: string })
              .state,
          ),
        );
      });
      const { id } = store.raise(raiseInput(1)).alarm;
      store.raise(raiseInput(1)); // a repeat raises nothing
      store.adjudicate(id, { code: 4 }, 'alice', T0 + 2000);
      expect(codeOf(() => store.acknowledge(id, 'bob', T0 + 3000))).toBe('ALARM_CLOSED'); // refused: silent
      expect(heard.map((c) => c.entries.map((e) => e.action))).toEqual([
        ['raised'],
        ['acknowledged', 'adjudicated'],
      ]);
      expect(states).toEqual(['raised', 'adjudicated']);
      stop();
      store.raise(raiseInput(2));
      expect(heard).toHaveLength(2);
    });

    it('a listener that throws neither undoes the change nor silences the others', () => {
      const db = openDatabase(dir);
      dbs.push(db);
      const errors: unknown[] = [];
      const store = new AlarmStore(db, { onListenerError: (e) => errors.push(e) });
      const heard: string[] = [];
      store.onChange(() => {
        throw new Error('listener bug');
      });
      store.onChange((c) => heard.push(c.alarm.id));
      const { alarm } = store.raise(raiseInput(1));
      expect(store.acknowledge(alarm.id, 'alice', T0 + 2000).alarm.state).toBe('acknowledged');
      expect(heard).toEqual(['lane-1:1', 'lane-1:1']);
      expect(errors).toHaveLength(2);
    });

    it('keeps transitions unpublished until marked, across a reopen', () => {
      const first = open();
      const a = first.store.raise(raiseInput(1)).alarm.id;
      const b = first.store.raise(raiseInput(2)).alarm.id;
      expect(first.store.unpublished()).toEqual([]); // raises are announced by the bridge itself
      first.store.adjudicate(a, { code: 6 }, 'alice', T0 + 5000);
      first.store.acknowledge(b, 'bob', T0 + 6000);
      const pending = first.store.unpublished();
      expect(
        pending.map((p) => [p.entry.alarmId, p.entry.version, p.entry.action, p.entry.implicit]),
      ).toEqual([
        [a, 2, 'acknowledged', true],
        [a, 3, 'adjudicated', false],
        [b, 2, 'acknowledged', false],
      ]);
      expect(pending[0]!.alarm).toMatchObject({ id: a, lane: 'lane-1', occupancySeq: 1 });
      first.store.markPublished(a, 2);
      first.store.markPublished(a, 3);
      first.db.close();

      const second = open();
      expect(second.store.unpublished().map((p) => [p.entry.alarmId, p.entry.version])).toEqual([[b, 2]]);
      expect(second.store.unpublished(0)).toEqual([]);
    });

    it('commits a write made alongside a transition with it, or neither', () => {
      const { db, store } = open();
      const audit = new AuditStore(db);
      const heard: string[] = [];
      store.onChange((c) => heard.push(c.entries.map((e) => e.action).join('+')));
      const { id } = store.raise(raiseInput(1)).alarm;
      expect(() =>
        store.acknowledge(id, 'olga', T0 + 2000, {
          alongside: () => {
            audit.append({ ...AUDIT, action: 'alarm.acknowledge', target: id });
            throw new Error('disk full');
          },
        }),
      ).toThrow('disk full');
      expect(store.get(id)).toMatchObject({ state: 'raised', version: 1 });
      expect(audit.list({ limit: 10, offset: 0 }).total).toBe(0);
      expect(heard).toEqual(['raised']);
      const out = store.acknowledge(id, 'olga', T0 + 2000, {
        alongside: (o) => {
          expect(o.alarm.version).toBe(2); // sees the transition's own writes
          audit.append({ ...AUDIT, action: 'alarm.acknowledge', target: id });
        },
      });
      expect(out.alarm.state).toBe('acknowledged');
      expect(audit.list({ limit: 10, offset: 0 }).total).toBe(1);
      expect(heard).toEqual(['raised', 'acknowledged']);
    });

    it('an audit entry written alongside never fails while another thread writes (the outbox writer)', async () => {
      const { db, store } = open();
      const audit = new AuditStore(db);
      // Like the bridge's outbox writer thread: its own connection, committing all the time.
      const writer = new Worker(
        `const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
         const { workerData, parentPort } = require('node:worker_threads');
         const db = new Database(workerData);
         db.pragma('busy_timeout = 5000');
         db.exec('CREATE TABLE IF NOT EXISTS other_writes (v TEXT)');
         const insert = db.prepare('INSERT INTO other_writes (v) VALUES (?)');
         parentPort.postMessage('writing');
         for (;;) insert.run('x');`,
        { eval: true, workerData: db.name },
      );
      try {
        await new Promise((resolve) => writer.once('message', resolve));
        for (let seq = 1; seq <= 150; seq++) {
          const { id } = store.raise(raiseInput(seq)).alarm;
          store.adjudicate(id, { code: 6 }, 'olga', T0 + 999_000, {
            alongside: () => audit.append({ ...AUDIT, action: 'alarm.adjudicate', target: id }),
          });
        }
        expect(audit.list({ limit: 1, offset: 0 }).total).toBe(150);
      } finally {
        await writer.terminate();
      }
    });

    it('parses `<lane>:<seq>` and nothing else', () => {
      expect(parseAlarmId('lane-1:7')).toEqual({ lane: 'lane-1', occupancySeq: 7 });
      expect(parseAlarmId('Gate_2:0')).toEqual({ lane: 'Gate_2', occupancySeq: 0 });
      for (const bad of [
        '01HWQ3J8V5K2M9X7P4R6T1Y0ZB',
        'lane-1:',
        ':7',
        'lane-1:07',
        'lane-1:7:8',
        'lane 1:7',
        'lane-1:-7',
      ])
        expect(parseAlarmId(bad)).toBeNull();
      const { store } = open();
      store.raise(raiseInput(3));
      expect(store.findByOccupancy('lane-1', 3)?.id).toBe('lane-1:3');
      expect(store.findByOccupancy('lane-1', 4)).toBeNull();
    });

    it('opens a database of the previous schema: ULID alarms stay, found by `<lane>:<seq>` too', () => {
      // What an earlier gateway left: alarms v1 with a ULID id and its history, and the interim
      // MQTT lifecycle's table (no longer read).
      const old = openDatabase(dir);
      migrate(old, 'alarms', [V1_SCHEMA]);
      migrate(old, 'alarm-lifecycle', [
        `CREATE TABLE alarm_lifecycle (alarm_id TEXT PRIMARY KEY, lane TEXT NOT NULL, state TEXT NOT NULL,
           raised_ms INTEGER NOT NULL, acknowledged_by TEXT, acknowledged_ms INTEGER, adjudicated_by TEXT,
           adjudicated_ms INTEGER, adjudication_code INTEGER,
           secondary_inspection TEXT NOT NULL DEFAULT 'NONE', note TEXT);`,
      ]);
      const ulid = '01HWQ3J8V5K2M9X7P4R6T1Y0ZB';
      old
        .prepare(
          `INSERT INTO alarms (id, lane, occupancy_seq, device_index, raised_at, raised_by, snapshot, state,
             acknowledged_by, acknowledged_at, version) VALUES (?, 'lane-1', 5, 105, ?, 'gateway', ?, 'acknowledged', 'olga', ?, 2)`,
        )
        .run(ulid, T0, JSON.stringify(SNAPSHOT), T0 + 1000);
      const view = (state: string, version: number) =>
        JSON.stringify({ state, version, acknowledged: null, adjudicated: null });
      old
        .prepare(
          `INSERT INTO alarm_history (alarm_id, version, action, by, at, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(ulid, 1, 'raised', 'gateway', T0, null, view('raised', 1));
      old
        .prepare(
          `INSERT INTO alarm_history (alarm_id, version, action, by, at, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(ulid, 2, 'acknowledged', 'olga', T0 + 1000, view('raised', 1), view('acknowledged', 2));
      old.close();

      const { store } = open();
      // Transitions made before the upgrade are not replayed to central.
      expect(store.unpublished()).toEqual([]);
      expect(store.get('lane-1:5')).toMatchObject({ id: ulid, state: 'acknowledged', version: 2 });
      expect(store.raise(raiseInput(5)).alarm.id).toBe(ulid); // still one alarm per occupancy
      const out = store.adjudicate('lane-1:5', { code: 7 }, 'central-ops', T0 + 9000);
      expect(out.alarm.id).toBe(ulid);
      expect(store.history('lane-1:5').map((e) => [e.alarmId, e.version, e.action])).toEqual([
        [ulid, 1, 'raised'],
        [ulid, 2, 'acknowledged'],
        [ulid, 3, 'adjudicated'],
      ]);
      expect(store.unpublished().map((p) => [p.entry.alarmId, p.entry.version])).toEqual([[ulid, 3]]);
      expect(store.raise(raiseInput(6)).alarm.id).toBe('lane-1:6');
    });
  });
});

/** The `alarms` schema version 1, as databases of earlier gateways have it. */
const V1_SCHEMA = `CREATE TABLE alarms (
    id TEXT PRIMARY KEY,
    lane TEXT NOT NULL,
    occupancy_seq INTEGER NOT NULL,
    device_index INTEGER,
    raised_at INTEGER NOT NULL,
    raised_by TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('raised', 'acknowledged', 'adjudicated')),
    acknowledged_by TEXT,
    acknowledged_at INTEGER,
    adjudicated_by TEXT,
    adjudicated_at INTEGER,
    code INTEGER CHECK (code IS NULL OR code BETWEEN 1 AND 11),
    secondary_inspection TEXT NOT NULL DEFAULT 'NONE'
      CHECK (secondary_inspection IN ('NONE', 'REQUESTED', 'COMPLETED')),
    notes TEXT,
    version INTEGER NOT NULL,
    UNIQUE (lane, occupancy_seq)
  );
  CREATE INDEX alarms_by_time ON alarms (raised_at DESC, id DESC);
  CREATE INDEX alarms_by_lane ON alarms (lane, raised_at DESC, id DESC);
  CREATE INDEX alarms_by_state ON alarms (state, raised_at DESC, id DESC);
  CREATE TABLE alarm_history (
    alarm_id TEXT NOT NULL REFERENCES alarms (id),
    version INTEGER NOT NULL,
    action TEXT NOT NULL,
    by TEXT NOT NULL,
    at INTEGER NOT NULL,
    before TEXT,
    after TEXT NOT NULL,
    implicit INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (alarm_id, version)
  );`;
