import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrate, openDatabase } from '../../../src/storage/database.js';

describe('openDatabase / migrate', () => {
  it('applies each store’s migrations once, in order, across reopenings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'db-'));
    const db = openDatabase(dir);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    migrate(db, 'things', ['CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT)']);
    db.prepare('INSERT INTO things (name) VALUES (?)').run('a');
    db.close();

    const again = openDatabase(dir);
    migrate(again, 'things', [
      'CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT)',
      'ALTER TABLE things ADD COLUMN size INTEGER DEFAULT 0',
    ]);
    expect(again.prepare('SELECT name, size FROM things').all()).toEqual([{ name: 'a', size: 0 }]);
    expect(again.prepare('SELECT store, version FROM schema_migrations').all()).toEqual([
      { store: 'things', version: 1 },
      { store: 'things', version: 2 },
    ]);
    again.close();
  });

  it('rolls back a failing migration whole', () => {
    const dir = mkdtempSync(join(tmpdir(), 'db-'));
    const db = openDatabase(dir);
    expect(() =>
      migrate(db, 'bad', ['CREATE TABLE ok (id INTEGER); CREATE TABLE ok (id INTEGER)']),
    ).toThrow();
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'ok'").all()).toEqual([]);
    expect(db.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get()).toEqual({ n: 0 });
  });
});
