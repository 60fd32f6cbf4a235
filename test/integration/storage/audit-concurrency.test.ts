/**
 * The audit log shares its database with the outbox, whose writer thread commits all the time.
 * An entry reads the chain's last hash and then writes: in a deferred transaction SQLite refuses
 * that write at once ("database is locked") whenever the other thread committed in between.
 * Here a second thread commits in a tight loop while this one appends: every append must land.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditStore } from '../../../src/storage/audit-store.js';
import { openDatabase } from '../../../src/storage/database.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

// A plain-JS writer (no TypeScript in the worker): its own connection, one commit per turn.
const WRITER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file);
db.pragma('journal_mode = WAL');
db.pragma('busy_timeout = 5000');
db.exec('CREATE TABLE IF NOT EXISTS noise (x INTEGER)');
const insert = db.prepare('INSERT INTO noise (x) VALUES (?)');
let stop = false;
parentPort.on('message', () => { stop = true; });
parentPort.postMessage('ready');
const loop = () => {
  for (let i = 0; i < 50 && !stop; i++) insert.run(i);
  if (stop) { db.close(); parentPort.postMessage('done'); } else setImmediate(loop);
};
loop();
`;

describe('AuditStore beside another writer', () => {
  it('appends every entry while another connection commits continuously', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rpm-audit-'));
    dirs.push(dir);
    const db = openDatabase(dir);
    const audit = new AuditStore(db);
    const worker = new Worker(WRITER, {
      eval: true,
      workerData: {
        file: join(dir, 'gateway.sqlite'),
        module: createRequire(import.meta.url).resolve('better-sqlite3'),
      },
    });
    await new Promise<void>((resolve) => worker.once('message', () => resolve()));
    let failures = 0;
    for (let i = 0; i < 400; i++) {
      try {
        audit.append({
          actor: 'tech',
          role: 'technician',
          action: 'lane.config.update',
          target: `lane/lane-${i}`,
          before: null,
          after: { i },
        });
      } catch {
        failures++;
      }
      // Let the writer thread's commits interleave with ours.
      if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const done = new Promise<void>((resolve) => worker.once('message', () => resolve()));
    worker.postMessage('stop');
    await done;
    await worker.terminate();
    expect(failures).toBe(0);
    expect(audit.list({ limit: 1000, offset: 0 }).total).toBe(400);
    expect(audit.verify()).toBeNull();
    db.close();
  });
});
