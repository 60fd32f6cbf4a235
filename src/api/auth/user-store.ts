/**
 * Users, sessions and API tokens (SPEC §6, §8). Passwords are hashed with Argon2id
 * (@node-rs/argon2, its default parameters: 19 MiB, 2 passes). Session ids and API tokens are
 * 256-bit random strings handed to the client once; only their SHA-256 is stored, so a copy of
 * the database does not let anyone in.
 *
 * Sessions expire after an idle time and after an absolute lifetime; changing a user's password
 * or role, or disabling the user, ends that user's sessions.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { migrate, type Db } from '../../storage/database.js';
import { isRole, type Role } from '../ports.js';

export interface User {
  readonly username: string;
  readonly role: Role;
  readonly disabled: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface Principal {
  readonly username: string;
  readonly role: Role;
  /** How the request authenticated. */
  readonly via: 'session' | 'token';
}

export interface ApiTokenInfo {
  readonly id: number;
  readonly name: string;
  readonly username: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
}

export interface SessionOptions {
  /** Idle timeout in seconds. */
  readonly idleS: number;
  /** Absolute lifetime in seconds. */
  readonly absoluteS: number;
}

const MIGRATIONS = [
  `CREATE TABLE users (
    username TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    created_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL
  );
  CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_used_at TEXT
  );`,
];

/** Usernames appear in the audit log and in URLs: keep them plain. */
export const USERNAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
export const MIN_PASSWORD_LENGTH = 12;

interface UserRow {
  username: string;
  role: string;
  password_hash: string;
  disabled: number;
  created_at: string;
  updated_at: string;
}

export class UserStore {
  /** A hash to verify against when the user does not exist, so timing does not reveal usernames. */
  private dummyHash: Promise<string> | null = null;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    migrate(db, 'users', MIGRATIONS);
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number }).n;
  }

  list(): User[] {
    return (this.db.prepare('SELECT * FROM users ORDER BY username').all() as UserRow[]).map(toUser);
  }

  get(username: string): User | null {
    const row = this.db.prepare('SELECT * FROM users WHERE username = ?').get(username) as
      UserRow | undefined;
    return row === undefined ? null : toUser(row);
  }

  async create(username: string, role: Role, password: string): Promise<User> {
    const passwordHash = await hash(password);
    const at = new Date(this.now()).toISOString();
    this.db
      .prepare(
        'INSERT INTO users (username, role, password_hash, disabled, created_at, updated_at) VALUES (?, ?, ?, 0, ?, ?)',
      )
      .run(username, role, passwordHash, at, at);
    return this.get(username)!;
  }

  /** Change role and/or disabled flag; ends the user's sessions. Returns null for an unknown user. */
  update(username: string, change: { role?: Role; disabled?: boolean }): User | null {
    const user = this.get(username);
    if (!user) return null;
    this.db.transaction(() => {
      this.db
        .prepare('UPDATE users SET role = ?, disabled = ?, updated_at = ? WHERE username = ?')
        .run(
          change.role ?? user.role,
          (change.disabled ?? user.disabled) ? 1 : 0,
          new Date(this.now()).toISOString(),
          username,
        );
      this.db.prepare('DELETE FROM sessions WHERE username = ?').run(username);
    })();
    return this.get(username);
  }

  async setPassword(username: string, password: string): Promise<boolean> {
    const passwordHash = await hash(password);
    const changed = this.db.transaction(() => {
      const n = this.db
        .prepare('UPDATE users SET password_hash = ?, updated_at = ? WHERE username = ?')
        .run(passwordHash, new Date(this.now()).toISOString(), username).changes;
      this.db.prepare('DELETE FROM sessions WHERE username = ?').run(username);
      return n;
    })();
    return changed > 0;
  }

  /** The user when the password matches and the user is enabled; null otherwise (same time either way). */
  async verifyPassword(username: string, password: string): Promise<User | null> {
    const row = this.db.prepare('SELECT * FROM users WHERE username = ?').get(username) as
      UserRow | undefined;
    if (row === undefined) {
      this.dummyHash ??= hash(randomBytes(16).toString('hex'));
      await verify(await this.dummyHash, password).catch(() => false);
      return null;
    }
    const ok = await verify(row.password_hash, password).catch(() => false);
    return ok && row.disabled === 0 ? toUser(row) : null;
  }

  /** Open a session; returns the session id to hand to the client (only its hash is stored). */
  openSession(username: string): string {
    const id = randomBytes(32).toString('base64url');
    const now = this.now();
    this.db
      .prepare('INSERT INTO sessions (id_hash, username, created_ms, last_seen_ms) VALUES (?, ?, ?, ?)')
      .run(digest(id), username, now, now);
    return id;
  }

  /** The principal of a live session, refreshing its idle timer; null when unknown or expired. */
  session(id: string, options: SessionOptions): Principal | null {
    const now = this.now();
    const row = this.db
      .prepare(
        `SELECT s.created_ms, s.last_seen_ms, u.username, u.role, u.disabled
         FROM sessions s JOIN users u ON u.username = s.username WHERE s.id_hash = ?`,
      )
      .get(digest(id)) as
      | { created_ms: number; last_seen_ms: number; username: string; role: string; disabled: number }
      | undefined;
    if (row === undefined) return null;
    if (
      row.disabled !== 0 ||
      !isRole(row.role) ||
      now - row.last_seen_ms > options.idleS * 1000 ||
      now - row.created_ms > options.absoluteS * 1000
    ) {
      this.closeSession(id);
      return null;
    }
    // Refresh at most every few seconds: every request of the console would otherwise write.
    if (now - row.last_seen_ms > 5_000) {
      this.db.prepare('UPDATE sessions SET last_seen_ms = ? WHERE id_hash = ?').run(now, digest(id));
    }
    return { username: row.username, role: row.role, via: 'session' };
  }

  closeSession(id: string): void {
    this.db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(digest(id));
  }

  /** Create an API token for bearer authentication; the token is returned once. */
  createToken(username: string, name: string): { token: string; info: ApiTokenInfo } {
    const token = `rpmg_${randomBytes(32).toString('base64url')}`;
    const at = new Date(this.now()).toISOString();
    const result = this.db
      .prepare('INSERT INTO api_tokens (username, name, token_hash, created_at) VALUES (?, ?, ?, ?)')
      .run(username, name, digest(token), at);
    return {
      token,
      info: { id: Number(result.lastInsertRowid), name, username, createdAt: at, lastUsedAt: null },
    };
  }

  tokens(username?: string): ApiTokenInfo[] {
    const rows = (
      username === undefined
        ? this.db.prepare('SELECT * FROM api_tokens ORDER BY id').all()
        : this.db.prepare('SELECT * FROM api_tokens WHERE username = ? ORDER BY id').all(username)
    ) as Array<{
      id: number;
      name: string;
      username: string;
      created_at: string;
      last_used_at: string | null;
    }>;
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      username: r.username,
      createdAt: r.created_at,
      lastUsedAt: r.last_used_at,
    }));
  }

  revokeToken(id: number, username?: string): boolean {
    const result =
      username === undefined
        ? this.db.prepare('DELETE FROM api_tokens WHERE id = ?').run(id)
        : this.db.prepare('DELETE FROM api_tokens WHERE id = ? AND username = ?').run(id, username);
    return result.changes > 0;
  }

  tokenPrincipal(token: string): Principal | null {
    const row = this.db
      .prepare(
        `SELECT t.id, u.username, u.role, u.disabled FROM api_tokens t
         JOIN users u ON u.username = t.username WHERE t.token_hash = ?`,
      )
      .get(digest(token)) as { id: number; username: string; role: string; disabled: number } | undefined;
    if (row === undefined || row.disabled !== 0 || !isRole(row.role)) return null;
    this.db
      .prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?')
      .run(new Date(this.now()).toISOString(), row.id);
    return { username: row.username, role: row.role, via: 'token' };
  }
}

function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function toUser(row: UserRow): User {
  return {
    username: row.username,
    role: isRole(row.role) ? row.role : 'viewer',
    disabled: row.disabled !== 0,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
