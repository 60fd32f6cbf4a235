/**
 * The gateway's embedded database (SQLite through better-sqlite3): one file in the storage
 * directory, opened once, shared by every store (outbox, alarms, audit). Durability settings
 * are chosen here once: WAL journal, `synchronous = FULL` so a committed transaction survives
 * power loss (SPEC §4 "fsync'd").
 *
 * Each store declares its own schema as numbered migrations under its own name; `migrate`
 * applies the ones not yet applied, in order, each in a transaction.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

export function openDatabase(dir: string, file = 'gateway.sqlite'): Db {
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, file));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    store TEXT NOT NULL,
    version INTEGER NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (store, version)
  )`);
  return db;
}

/** Apply `migrations[i]` as version i + 1 of `store`, skipping those already applied. */
export function migrate(db: Db, store: string, migrations: readonly string[]): void {
  const applied = db
    .prepare('SELECT MAX(version) AS v FROM schema_migrations WHERE store = ?')
    .get(store) as {
    v: number | null;
  };
  const from = applied.v ?? 0;
  const record = db.prepare('INSERT INTO schema_migrations (store, version, applied_at) VALUES (?, ?, ?)');
  migrations.slice(from).forEach((sql, i) => {
    db.transaction(() => {
      db.exec(sql);
      record.run(store, from + i + 1, new Date().toISOString());
    })();
  });
}
