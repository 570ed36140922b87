import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Sync integrity records, in hub.db so that no restore rewrites them:
 * - sync_refusals: every change a push was refused for, with the workstation's values, until an
 *   admin accepts, resubmits or discards it (or the workstation sends the row again, fixed);
 * - workstation_files: which copy of a workstation file speaks for each client id (its file id and
 *   monotonic sync counter), so a second copy is noticed at its first sync;
 * - workstation_copies: each copy noticed, with the new client id it was given;
 * - number_uses: numbers taken offline from a reserved block, registered at the next sync, so a
 *   number used by two records is flagged;
 * - generations: each generation of the master and the one it was restored from, with the last
 *   change of that history it kept: how far a workstation's history still agrees with the master's.
 */
export class AddSyncIntegrity1764500000100 implements MigrationInterface {
  name = 'AddSyncIntegrity1764500000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "sync_refusals" (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      client_id TEXT NOT NULL,
      user TEXT NOT NULL,
      table_name TEXT NOT NULL,
      row_id TEXT NOT NULL,
      op TEXT NOT NULL,
      column_name TEXT,
      code TEXT NOT NULL,
      message TEXT NOT NULL,
      value TEXT,
      overridable INTEGER NOT NULL DEFAULT 0,
      change TEXT,
      first_seen_at TEXT NOT NULL,
      last_seen_at TEXT NOT NULL,
      times INTEGER NOT NULL DEFAULT 1,
      status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'resubmitted', 'discarded', 'fixed')),
      resolved_at TEXT,
      resolved_by TEXT,
      resolution TEXT)`);
    await q.query(`CREATE UNIQUE INDEX idx_sync_refusals_open ON sync_refusals(client_id, table_name, row_id) WHERE status = 'open'`);
    await q.query(`CREATE INDEX idx_sync_refusals_status ON sync_refusals(status, id)`);
    await q.query(`CREATE TABLE "workstation_files" (
      client_id TEXT PRIMARY KEY NOT NULL,
      file_id TEXT NOT NULL,
      counter INTEGER NOT NULL,
      sync_id TEXT,
      host TEXT,
      user TEXT,
      retired_file_ids TEXT NOT NULL DEFAULT '[]',
      first_seen_at TEXT NOT NULL,
      last_seen_at TEXT NOT NULL)`);
    await q.query(`CREATE TABLE "workstation_copies" (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      client_id TEXT NOT NULL,
      new_client_id TEXT NOT NULL UNIQUE,
      reason TEXT NOT NULL,
      user TEXT,
      original_host TEXT,
      copy_host TEXT,
      detected_at TEXT NOT NULL)`);
    await q.query(`CREATE TABLE "number_uses" (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      number TEXT NOT NULL,
      kind TEXT NOT NULL,
      client_id TEXT NOT NULL,
      user TEXT NOT NULL,
      record_table TEXT NOT NULL DEFAULT '',
      record_id TEXT NOT NULL DEFAULT '',
      used_at TEXT NOT NULL,
      registered_at TEXT NOT NULL)`);
    await q.query(`CREATE UNIQUE INDEX idx_number_uses_once ON number_uses(number, client_id, record_table, record_id)`);
    await q.query(`CREATE TABLE "generations" (
      generation TEXT PRIMARY KEY NOT NULL,
      parent TEXT,
      restored_seq INTEGER,
      floor_seq INTEGER NOT NULL DEFAULT 0,
      created_at TEXT NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['generations', 'number_uses', 'workstation_copies', 'workstation_files', 'sync_refusals'])
      await q.query(`DROP TABLE "${t}"`);
  }
}
