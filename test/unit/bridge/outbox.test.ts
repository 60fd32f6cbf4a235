/**
 * The durable outbox without a broker (SPEC §4): batched commits, sequences that never repeat
 * across reopenings, the disk budget (telemetry first, alarms never), oversized messages, and a
 * broker that is never there.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Outbox } from '../../../src/bridge/outbox.js';
import { topicTree } from '../../../src/bridge/topics.js';
import { createUlidGenerator } from '../../../src/core/ulid.js';
import { ManualClock } from '../../../src/core/clock.js';
import { Counters } from '../../../src/core/counters.js';
import { silentLogger } from '../../../src/core/logger.js';
import { openDatabase, type Db } from '../../../src/storage/database.js';
import { OutboxStore, SEQUENCE_CRASH_SKIP, type OutboxRow } from '../../../src/storage/outbox-store.js';

function outbox(
  db: Db,
  maxBytes = 10_000_000,
  maxMessageBytes = 65_536,
  onInserted?: (rows: readonly OutboxRow[]) => void,
) {
  const store = new OutboxStore(db);
  const counters = new Counters();
  const o = new Outbox({
    store,
    site: 'port-alpha',
    topics: topicTree('port-alpha'),
    ulid: createUlidGenerator(),
    clock: new ManualClock(1_714_557_600_000),
    logger: silentLogger,
    counters,
    maxBytes,
    maxMessageBytes,
    ...(onInserted === undefined ? {} : { onInserted }),
  });
  return { o, store, counters };
}

const fault = (lane: string, n: number, cls: 'alarm' | 'event' = 'event') => ({
  type: cls === 'alarm' ? 'rpm.alarm.raised' : 'rpm.device.fault',
  lane,
  time: 0,
  data: { n, pad: 'x'.repeat(200) },
  class: cls,
});

describe('outbox', () => {
  it('commits a burst in few transactions and numbers each source from 1, continuing after a reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outbox-'));
    const first = outbox(openDatabase(dir));
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => first.o.enqueueEvent(fault(`lane-${i % 2}`, i))),
    );
    expect(results.every((r) => r.committed)).toBe(true);
    const seqs = results.filter((_, i) => i % 2 === 0).map((r) => (r.committed ? r.sequence : 0));
    expect(seqs).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(first.store.depth.rows).toBe(1000);
    first.store.markClosed(); // a clean shutdown
    first.store.db.close();

    // A restart: the queue is still there, and numbering continues where it stopped.
    const again = outbox(openDatabase(dir));
    expect(again.store.depth.rows).toBe(1000);
    const next = await again.o.enqueueEvent(fault('lane-0', 1000));
    expect(next.committed && next.sequence).toBe(501);
    const rows = again.store.after('mqtt', 0, 2000);
    expect(rows.map((r) => r.id)).toEqual([...rows.map((r) => r.id)].sort((a, b) => a - b));
    expect(JSON.parse(rows.at(-1)!.payload)).toMatchObject({
      sequence: '501',
      subject: 'lane-0',
      source: 'urn:rpm-gateway:port-alpha:lane-0',
    });
    again.store.db.close();

    // A crash (no markClosed): numbers handed out in the last, possibly uncommitted, batch may
    // be on the wire, so numbering resumes past them — a gap, never a repeat.
    const afterCrash = outbox(openDatabase(dir));
    const resumed = await afterCrash.o.enqueueEvent(fault('lane-0', 1001));
    expect(resumed.committed && resumed.sequence).toBe(501 + SEQUENCE_CRASH_SKIP + 1);
  });

  it('under a full disk budget evicts telemetry first, then old events, never alarms', async () => {
    const { o, store, counters } = outbox(openDatabase(mkdtempSync(join(tmpdir(), 'outbox-'))), 40_000);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        o.enqueueTelemetry('gateway', `rpm_lane,lane=l v=${i} ${i}`.padEnd(300, ' ')),
      ),
    );
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        o.enqueueEvent(fault('lane-1', i, i % 3 === 0 ? 'alarm' : 'event')),
      ),
    );
    // Now over budget: each new alarm pushes out what it can, alarms stay.
    const alarms = await Promise.all(
      Array.from({ length: 100 }, (_, i) => o.enqueueEvent(fault('lane-1', 100 + i, 'alarm'))),
    );
    expect(alarms.every((r) => r.committed)).toBe(true);
    const byClass = store.countByClass();
    expect(byClass.telemetry).toBe(0);
    expect(byClass.event).toBe(0);
    expect(byClass.alarm).toBe(110);
    expect(counters.get('bridge.outbox.evicted.telemetry')).toBe(20);
    expect(counters.get('bridge.outbox.evicted.event')).toBe(20);
    // With only alarms left, ordinary events and telemetry are refused, not stored.
    expect(await o.enqueueEvent(fault('lane-1', 999))).toEqual({ committed: false, reason: 'over-budget' });
    expect(await o.enqueueTelemetry('gateway', 'x v=1 1')).toEqual({
      committed: false,
      reason: 'over-budget',
    });
    expect(store.countByClass().alarm).toBe(110);
  });

  it('refuses an oversized message without affecting the rest', async () => {
    const { o, store, counters } = outbox(
      openDatabase(mkdtempSync(join(tmpdir(), 'outbox-'))),
      10_000_000,
      8192,
    );
    const huge = o.enqueueEvent({ ...fault('lane-1', 1), data: { blob: 'x'.repeat(100_000) } });
    const fine = o.enqueueEvent(fault('lane-1', 2));
    expect(await huge).toEqual({ committed: false, reason: 'too-large' });
    expect((await fine).committed).toBe(true);
    expect(store.depth.rows).toBe(1);
    expect(counters.get('bridge.outbox.refused.too-large')).toBe(1);
    // Data that cannot be serialized is refused too (counted), never thrown at the lane.
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect((await o.enqueueEvent({ ...fault('lane-1', 3), data: cyclic })).committed).toBe(false);
  });
});

describe('outbox writer thread', () => {
  function withHooks(db: Db) {
    const store = new OutboxStore(db);
    const counters = new Counters();
    const inserted: OutboxRow[][] = [];
    let failed = 0;
    const o = new Outbox({
      store,
      site: 'port-alpha',
      topics: topicTree('port-alpha'),
      ulid: createUlidGenerator(),
      clock: new ManualClock(1_714_557_600_000),
      logger: silentLogger,
      counters,
      maxBytes: 10_000_000,
      maxMessageBytes: 65_536,
      onInserted: (rows) => inserted.push([...rows]),
      onCommitFailed: () => failed++,
    });
    return { o, store, counters, inserted, failed: () => failed };
  }

  it('offers a row before its COMMIT, resolves after it, and applies a PUBACK that beat the COMMIT after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outbox-'));
    const { o, store, inserted } = withHooks(openDatabase(dir));
    const committed = o.enqueueEvent(fault('lane-1', 1, 'alarm'));
    const kept = o.enqueueEvent(fault('lane-1', 2));
    o.flush();
    // Ids are assigned at once: the publisher can send the rows before the fsync returns.
    const rows = inserted.flat();
    expect(rows).toHaveLength(2);
    expect(store.after('mqtt', 0, 10).map((r) => r.id)).toEqual(rows.map((r) => r.id));
    // The broker's PUBACK for the first arrives before its commit: the delete waits behind it.
    store.delete([rows[0]!.id]);
    expect(store.depth.rows).toBe(1);
    expect(store.after('mqtt', 0, 10).map((r) => r.id)).toEqual([rows[1]!.id]);
    expect(await committed).toMatchObject({ committed: true, rowId: rows[0]!.id, sequence: 1 });
    expect(await kept).toMatchObject({ committed: true, rowId: rows[1]!.id, sequence: 2 });
    store.markClosed();
    store.db.close();

    // On disk: the delivered row is gone, the other one and both sequence numbers are there.
    const again = withHooks(openDatabase(dir));
    expect(again.store.depth.rows).toBe(1);
    expect(again.store.after('mqtt', 0, 10).map((r) => r.id)).toEqual([rows[1]!.id]);
    expect(await again.o.enqueueEvent(fault('lane-1', 3))).toMatchObject({ committed: true, sequence: 3 });
    const sequences = again.store
      .after('mqtt', 0, 10)
      .map((r) => (JSON.parse(r.payload) as { sequence: string }).sequence);
    expect(sequences).toEqual(['2', '3']);
    again.store.markClosed();
    again.store.db.close();
  });

  it('keeps a group of batches in order across lanes and deletes', async () => {
    const { o, store, inserted } = withHooks(openDatabase(mkdtempSync(join(tmpdir(), 'outbox-'))));
    const all: Array<Promise<unknown>> = [];
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 20; i++) all.push(o.enqueueEvent(fault(`lane-${i % 4}`, round * 20 + i)));
      o.flush(); // 50 batches posted while the writer is busy: committed in few transactions
      const rows = inserted.at(-1)!;
      store.delete(rows.slice(0, 10).map((r) => r.id)); // half of each batch delivered at once
    }
    await Promise.all(all);
    store.waitForWriter();
    expect(store.depth.rows).toBe(500);
    const left = store.after('mqtt', 0, 1000);
    expect(left).toHaveLength(500);
    for (let lane = 0; lane < 4; lane++) {
      const seqs = left
        .filter((r) => r.lane === `lane-${lane}`)
        .map((r) => Number((JSON.parse(r.payload) as { sequence: string }).sequence));
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    const onDisk = store.db.prepare('SELECT COUNT(*) AS n FROM outbox_messages').get() as { n: number };
    expect(onDisk.n).toBe(500);
    store.markClosed();
  });

  it('reports a failed COMMIT: nothing counted as committed, the row withdrawn, later rows fine', async () => {
    const db = openDatabase(mkdtempSync(join(tmpdir(), 'outbox-')));
    const { o, store, counters, failed } = withHooks(db);
    // Someone else takes the next row id behind the store's back: the writer's INSERT fails.
    db.prepare(
      `INSERT INTO outbox_messages (id, destination, class, kind, lane, topic, payload, retain, bytes, created_ms)
       VALUES (1, 'influx', 'telemetry', 'line', 'x', '', 'x', 0, 0, 0)`,
    ).run();
    const lost = o.enqueueEvent(fault('lane-1', 1));
    o.flush();
    expect(store.depth.rows).toBe(1);
    expect(await lost).toEqual({ committed: false, reason: 'closed' });
    expect(failed()).toBe(1);
    expect(counters.get('bridge.outbox.commit-failed')).toBe(1);
    expect(store.depth.rows).toBe(0);
    expect(store.after('mqtt', 0, 10)).toEqual([]);
    const next = await o.enqueueEvent(fault('lane-1', 2));
    // A sequence number that may have been on the wire is never reused.
    expect(next).toMatchObject({ committed: true, sequence: 2 });
    expect(store.after('mqtt', 0, 10)).toHaveLength(1);
    store.markClosed();
  });
});

describe('outbox priority and deletes', () => {
  function hooked(db: Db) {
    const batches: OutboxRow[][] = [];
    const { o, store } = outbox(db, undefined, undefined, (rows) => batches.push([...rows]));
    return { o, store, batches };
  }
  const typeOf = (r: OutboxRow): string => `${r.lane}:${(JSON.parse(r.payload) as { type: string }).type}`;

  it("commits a turn's alarms ahead of other lanes' messages, never ahead of their own lane's", async () => {
    const { o, store, batches } = hooked(openDatabase(mkdtempSync(join(tmpdir(), 'outbox-'))));
    const results = await Promise.all([
      // Alarm class (never evicted) but not an alarm's announcement: keeps its turn.
      o.enqueueEvent({ ...fault('lane-4', 0, 'alarm'), type: 'rpm.alarm.acknowledged' }),
      o.enqueueEvent(fault('lane-1', 1)),
      o.enqueueEvent(fault('lane-2', 2, 'alarm')),
      o.enqueueEvent(fault('lane-3', 3)),
      o.enqueueEvent(fault('lane-3', 4, 'alarm')), // behind lane-3's fault: keeps its place
      o.enqueueEvent(fault('lane-2', 5)),
    ]);
    expect(results.every((r) => r.committed)).toBe(true);
    // The alarm that may go first is its own batch, on the wire before the rest is enveloped.
    expect(batches.map((b) => b.map(typeOf))).toEqual([
      ['lane-2:rpm.alarm.raised'],
      [
        'lane-4:rpm.alarm.acknowledged',
        'lane-1:rpm.device.fault',
        'lane-3:rpm.device.fault',
        'lane-3:rpm.alarm.raised',
        'lane-2:rpm.device.fault',
      ],
    ]);
    const rows = store.after('mqtt', 0, 10);
    expect(rows.map((r) => r.id)).toEqual([...rows.map((r) => r.id)].sort((a, b) => a - b));
    // Each lane's messages in enqueue order, sequences from 1 per source.
    for (const lane of ['lane-1', 'lane-2', 'lane-3', 'lane-4']) {
      const mine = rows
        .filter((r) => r.lane === lane)
        .map((r) => JSON.parse(r.payload) as { sequence: string; data: { n: number } });
      expect(mine.map((e) => e.data.n)).toEqual([...mine.map((e) => e.data.n)].sort((a, b) => a - b));
      expect(mine.map((e) => e.sequence)).toEqual(mine.map((_, i) => String(i + 1)));
    }
    store.markClosed();
  });

  it('deletes by id in any order — committed, in flight, repeated, unknown — and keeps its counts', async () => {
    const { o, store, batches } = hooked(openDatabase(mkdtempSync(join(tmpdir(), 'outbox-'))));
    await Promise.all(Array.from({ length: 300 }, (_, i) => o.enqueueEvent(fault(`lane-${i % 3}`, i))));
    await o.enqueueTelemetry('gateway', 'rpm_lane,lane=l v=1 1');
    const committed = batches.flat().map((r) => r.id);
    expect(store.hasQueued('mqtt')).toBe(true);
    expect(store.hasQueued('influx')).toBe(true);
    const inFlight = o.enqueueEvent(fault('lane-0', 999));
    o.flush();
    const pendingId = batches.at(-1)![0]!.id;
    // Far apart and near, out of order, one twice, one that never existed, one still being committed.
    const victims = [
      committed[250]!,
      committed[3]!,
      committed[4]!,
      committed[4]!,
      1_000_000,
      committed[5]!,
      pendingId,
    ];
    store.delete(victims);
    store.delete([committed[3]!]); // again: already gone, ignored
    expect(store.depth.rows).toBe(301 + 1 - 5);
    expect((await inFlight).committed).toBe(true);
    store.waitForWriter();
    const left = new Set(store.after('mqtt', 0, 1000).map((r) => r.id));
    expect(left.size).toBe(296);
    for (const id of victims) expect(left.has(id)).toBe(false);
    const onDisk = store.db.prepare('SELECT COUNT(*) AS n FROM outbox_messages').get() as { n: number };
    expect(onDisk.n).toBe(297); // 296 events and the telemetry line

    // Delivered to the last row: nothing left for the broker, telemetry still queued.
    store.delete([...left]);
    expect(store.hasQueued('mqtt')).toBe(false);
    expect(store.hasQueued('influx')).toBe(true);
    expect(store.depth.rows).toBe(1);
    store.markClosed();
  });
});
