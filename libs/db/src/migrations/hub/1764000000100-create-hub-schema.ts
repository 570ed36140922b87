import { MigrationInterface, QueryRunner } from 'typeorm';

/** Frozen DDL of hub.db v1: the server's own state. Never edit: add a migration. */
export class CreateHubSchema1764000000100 implements MigrationInterface {
  name = 'CreateHubSchema1764000000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "users" (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      username TEXT NOT NULL COLLATE NOCASE,
      role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'user')),
      password_hash TEXT,
      disabled BOOLEAN NOT NULL DEFAULT 0,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      last_login_at TEXT)`);
    await q.query(`CREATE UNIQUE INDEX idx_users_username ON users(username)`);
    await q.query(`CREATE TABLE "device_tokens" (
      id TEXT PRIMARY KEY NOT NULL,
      user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      device TEXT NOT NULL,
      token_hash TEXT NOT NULL,
      created_at TEXT NOT NULL,
      created_by TEXT NOT NULL,
      last_used_at TEXT,
      revoked_at TEXT,
      revoked_by TEXT)`);
    await q.query(`CREATE UNIQUE INDEX idx_device_tokens_hash ON device_tokens(token_hash)`);
    await q.query(`CREATE INDEX idx_device_tokens_user ON device_tokens(user_id)`);
    await q.query(`CREATE TABLE "sessions" (
      id TEXT PRIMARY KEY NOT NULL,
      user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      csrf_token TEXT NOT NULL,
      created_at TEXT NOT NULL,
      expires_at TEXT NOT NULL,
      last_seen_at TEXT NOT NULL,
      ip TEXT,
      user_agent TEXT)`);
    await q.query(`CREATE INDEX idx_sessions_expires_at ON sessions(expires_at)`);
    await q.query(`CREATE INDEX idx_sessions_user ON sessions(user_id)`);
    await q.query(`CREATE TABLE "audit_log" (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      timestamp TEXT NOT NULL,
      actor TEXT NOT NULL,
      actor_role TEXT,
      action TEXT NOT NULL,
      target TEXT,
      outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed')),
      details TEXT,
      ip TEXT,
      request_id TEXT)`);
    await q.query(`CREATE INDEX idx_audit_log_timestamp ON audit_log(timestamp)`);
    await q.query(`CREATE TABLE "settings" (
      key TEXT PRIMARY KEY NOT NULL,
      value TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      updated_by TEXT)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['settings', 'audit_log', 'sessions', 'device_tokens', 'users']) await q.query(`DROP TABLE "${t}"`);
  }
}
