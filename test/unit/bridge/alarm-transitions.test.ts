/**
 * Alarm lifecycle transitions → rpm.alarm.acknowledged / adjudicated: the pure mapping, and the
 * publisher's promise that each transition is published once, and not lost when the bridge is
 * stopped (or crashes) between the alarm store's commit and the outbox's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlarmTransitionPublisher } from '../../../src/bridge/alarm-transitions.js';
import { alarmTransitionMessage, type BridgeEventMessage } from '../../../src/bridge/event-mapper.js';
import type { CommitResult } from '../../../src/bridge/outbox.js';
import { silentLogger } from '../../../src/core/logger.js';
import { AlarmStore, type RaiseInput } from '../../../src/storage/alarm-store.js';
import { openDatabase, type Db } from '../../../src/storage/database.js';

const T0 = Date.parse('2024-05-01T10:00:00.000Z');

function raiseInput(seq: number): RaiseInput {
  return {
    lane: 'lane-1',
    occupancySeq: seq,
    deviceIndex: seq,
    raisedAt: T0 + seq * 1000,
    snapshot: {
      category: 'medical',
      disposition: 'INVESTIGATE',
      confidence: 0.7,
      probabilities: { background: 0.1, NORM: 0.1, medical: 0.7, threat: 0.1 },
      reasons: ['narrow peak in the cab'],
      gammaAlarm: true,
      neutronAlarm: false,
    },
  };
}

/** An outbox stand-in: keeps each message and lets the test settle its commit. */
function fakeOutbox() {
  const queued: Array<{ message: BridgeEventMessage; settle: (r: CommitResult) => void }> = [];
  return {
    queued,
    enqueue: (message: BridgeEventMessage) =>
      new Promise<CommitResult>((settle) => queued.push({ message, settle })),
    commitAll: async () => {
      for (const q of queued.splice(0)) q.settle({ committed: true, rowId: 1 });
      await new Promise((r) => setImmediate(r));
    },
  };
}

describe('alarm transitions as events', () => {
  let dir: string;
  let db: Db;
  let store: AlarmStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'alarm-events-'));
    db = openDatabase(dir);
    store = new AlarmStore(db);
  });
  afterEach(() => {
    if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('maps each history entry to its event, with the alarm as it was right after it', () => {
    const { alarm, entries } = store.raise(raiseInput(7));
    expect(alarmTransitionMessage(alarm, entries[0]!)).toBeNull(); // rpm.alarm.raised comes from the lane
    const out = store.adjudicate(
      alarm.id,
      { code: 3, secondaryInspection: 'REQUESTED', notes: 'patient' },
      'olga',
      T0 + 60_000,
    );
    const [ack, adj] = out.entries.map((e) => alarmTransitionMessage(out.alarm, e));
    expect(ack).toEqual({
      kind: 'event',
      type: 'rpm.alarm.acknowledged',
      lane: 'lane-1',
      time: T0 + 60_000,
      class: 'alarm',
      data: {
        alarmId: 'lane-1:7',
        lane: 'lane-1',
        occupancySeq: 7,
        state: 'acknowledged',
        version: 2,
        raisedAt: new Date(T0 + 7000).toISOString(),
        acknowledgedBy: 'olga',
        acknowledgedAt: new Date(T0 + 60_000).toISOString(),
        adjudicatedBy: null,
        adjudicatedAt: null,
        adjudicationCode: null,
        adjudicationLabel: null,
        adjudicationGroup: null,
        secondaryInspection: 'NONE',
        notes: null,
        implicit: true,
      },
    });
    expect(adj).toMatchObject({
      type: 'rpm.alarm.adjudicated',
      class: 'alarm',
      data: {
        alarmId: 'lane-1:7',
        state: 'adjudicated',
        version: 3,
        acknowledgedBy: 'olga',
        adjudicatedBy: 'olga',
        adjudicationCode: 3,
        adjudicationLabel: 'Medical isotope',
        adjudicationGroup: 'innocent',
        secondaryInspection: 'REQUESTED',
        notes: 'patient',
        implicit: false,
      },
    });
  });

  it('publishes each transition once, marks it after the commit, and catches up after a stop', async () => {
    const outbox = fakeOutbox();
    const live: string[] = [];
    const publisher = new AlarmTransitionPublisher({
      store,
      enqueue: outbox.enqueue,
      onTransition: (_alarm, entry) => live.push(`${entry.action}@${entry.version}`),
      logger: silentLogger,
    });
    const a = store.raise(raiseInput(1)).alarm.id;
    const b = store.raise(raiseInput(2)).alarm.id;
    // Made before the bridge started (the console was up first): published at start.
    store.acknowledge(a, 'olga', T0 + 10_000);
    publisher.start();
    expect(outbox.queued.map((q) => q.message.type)).toEqual(['rpm.alarm.acknowledged']);
    expect(live).toEqual([]); // a catch-up is no live change of the lane

    // A live transition while the first commit is still in flight: queued once, not twice.
    store.adjudicate(a, { code: 6 }, 'olga', T0 + 20_000);
    publisher.catchUp();
    expect(outbox.queued.map((q) => `${q.message.type}@${String(q.message.data.version)}`)).toEqual([
      'rpm.alarm.acknowledged@2',
      'rpm.alarm.adjudicated@3',
    ]);
    expect(live).toEqual(['adjudicated@3']);
    expect(store.unpublished()).toHaveLength(2); // nothing is marked before its commit
    await outbox.commitAll();
    expect(store.unpublished()).toEqual([]);

    // Stopped (shutdown): the outbox refuses, the transition stays marked for the next start.
    store.acknowledge(b, 'piet', T0 + 30_000);
    expect(outbox.queued).toHaveLength(1);
    outbox.queued.shift()!.settle({ committed: false, reason: 'closed' });
    await new Promise((r) => setImmediate(r));
    publisher.stop();
    store.adjudicate(b, { code: 9 }, 'piet', T0 + 40_000);
    expect(outbox.queued).toHaveLength(0);
    expect(store.unpublished().map((u) => u.entry.version)).toEqual([2, 3]);

    const next = new AlarmTransitionPublisher({ store, enqueue: outbox.enqueue, logger: silentLogger });
    next.start();
    expect(outbox.queued.map((q) => q.message.data.alarmId)).toEqual(['lane-1:2', 'lane-1:2']);
    await outbox.commitAll();
    expect(store.unpublished()).toEqual([]);
    next.stop();
  });

  it('gives up on an event the outbox can never take, and survives a closed database', async () => {
    const outbox = fakeOutbox();
    const publisher = new AlarmTransitionPublisher({ store, enqueue: outbox.enqueue, logger: silentLogger });
    publisher.start();
    const { id } = store.raise(raiseInput(1)).alarm;
    store.acknowledge(id, 'olga', T0 + 10_000);
    outbox.queued.shift()!.settle({ committed: false, reason: 'too-large' });
    await new Promise((r) => setImmediate(r));
    expect(store.unpublished()).toEqual([]); // not retried on every start

    store.adjudicate(id, { code: 1 }, 'olga', T0 + 20_000);
    db.close(); // the gateway closed its database before this late commit returned
    await outbox.commitAll(); // logged, not thrown
    publisher.stop();
  });
});
