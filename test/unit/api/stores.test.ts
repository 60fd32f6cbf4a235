import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditStore } from '../../../src/storage/audit-store.js';
import { openDatabase, type Db } from '../../../src/storage/database.js';
import { OccupancyStore, type OccupancyProfile } from '../../../src/storage/occupancy-store.js';

const dirs: string[] = [];
function db(): Db {
  const dir = mkdtempSync(join(tmpdir(), 'rpm-store-'));
  dirs.push(dir);
  return openDatabase(dir);
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function record(lane: string, seq: number, startMs: number, alarm: boolean) {
  return {
    type: 'occupancy',
    lane,
    seq,
    start: new Date(startMs).toISOString(),
    end: new Date(startMs + 5000).toISOString(),
    device: { gammaAlarm: false, neutronAlarm: false },
    gamma: { alarm, maxSigma: alarm ? 9 : 1 },
    neutron: { alarm: false },
    assessment: { category: alarm ? 'threat' : 'background', disposition: alarm ? 'INVESTIGATE' : 'RELEASE' },
  };
}

describe('OccupancyStore', () => {
  it('filters, pages newest first, and keeps the profile compactly and exactly', () => {
    const t = Date.parse('2026-01-01T00:00:00Z');
    const store = new OccupancyStore(db(), { now: () => t });
    for (let i = 1; i <= 30; i++)
      store.add(record(i % 2 ? 'lane-1' : 'lane-2', i, t + i * 60_000, i % 5 === 0), null);
    expect(store.list({ limit: 10, offset: 0 }).total).toBe(30);
    expect(store.list<{ seq: number }>({ limit: 3, offset: 0 }).items.map((r) => r.seq)).toEqual([
      30, 29, 28,
    ]);
    expect(store.list({ lane: 'lane-1', limit: 100, offset: 0 }).total).toBe(15);
    expect(store.list({ alarm: true, limit: 100, offset: 0 }).total).toBe(6);
    expect(store.list({ disposition: 'RELEASE', limit: 100, offset: 0 }).total).toBe(24);
    expect(store.list({ from: t + 10 * 60_000, to: t + 20 * 60_000, limit: 100, offset: 0 }).total).toBe(10);

    const profile: OccupancyProfile = {
      t0: t,
      nSigma: 5.5,
      gammaChannelNames: ['a', 'b', 'c', 'd'],
      gamma: {
        channels: 4,
        intervalMs: 200,
        offsetsMs: [-1000, -800, 0, 200],
        counts: [
          [1, 2, 3, 4],
          [5, 6, 7, 8],
          [100000, 0, 9, 10],
          [11, 12, 13, 14],
        ],
        deviceAlarm: [false, false, true, true],
        preTrigger: [true, true, false, false],
        backgroundCps: [300.25, 310, 290, 305],
      },
      neutron: {
        channels: 1,
        intervalMs: 1000,
        offsetsMs: [0],
        counts: [[3]],
        deviceAlarm: [false],
        preTrigger: [false],
        backgroundCps: null,
      },
    };
    store.add(record('lane-1', 99, t, true), profile);
    expect(store.profile('lane-1', 99)).toEqual(profile);
    expect(store.profile('lane-1', 1)).toBeNull();
  });

  it('prunes occupancies older than the retention', () => {
    const now = Date.parse('2026-06-01T00:00:00Z');
    const store = new OccupancyStore(db(), { retainDays: 30, now: () => now });
    store.add(record('lane-1', 1, now - 10 * 86_400_000, false), null);
    store.add(record('lane-1', 2, now - 40 * 86_400_000, false), null);
    expect(store.prune()).toBe(1);
    expect(store.list<{ seq: number }>({ limit: 10, offset: 0 }).items.map((r) => r.seq)).toEqual([1]);
  });
});

describe('AuditStore', () => {
  it('appends with a hash chain and refuses updates and deletes', () => {
    const database = db();
    const audit = new AuditStore(database, () => Date.parse('2026-01-01T00:00:00Z'));
    audit.append({
      actor: 'tomas',
      role: 'technician',
      action: 'lane.config.update',
      target: 'lane/lane-1',
      before: { n: 6 },
      after: { n: 5 },
    });
    audit.append({
      actor: 'olga',
      role: 'operator',
      action: 'alarm.adjudicate',
      target: 'alarm/X',
      before: null,
      after: { code: 4 },
    });
    expect(audit.list({ limit: 10, offset: 0 }).items.map((e) => e.actor)).toEqual(['olga', 'tomas']);
    expect(audit.list({ target: 'lane/lane-1', limit: 10, offset: 0 }).items[0]).toMatchObject({
      before: { n: 6 },
      after: { n: 5 },
    });
    expect(audit.verify()).toBeNull();
    expect(() => database.prepare("UPDATE audit_log SET actor = 'mallory'").run()).toThrow(/append-only/);
    expect(() => database.prepare('DELETE FROM audit_log').run()).toThrow(/append-only/);
    // An edit behind the gateway's back (triggers dropped) shows in verify().
    database.exec('DROP TRIGGER audit_log_no_update');
    database.prepare('UPDATE audit_log SET after = \'{"code":1}\' WHERE id = 2').run();
    expect(audit.verify()).toBe(2);
  });
});
