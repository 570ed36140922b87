import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The learned sync schema's history and the admins' exclusions:
 * - sync_schema_versions: one row per schema version (what the master's tables and columns were,
 *   as JSON, and what changed, in sentences); the newest is what workstations build from;
 * - sync_schema_exclusions: tables (column '') and columns an admin keeps out of the sync.
 * Both live in server.db, so a backup and a restore carry the schema the data was written under.
 */
export class AddSyncSchema1764600000000 implements MigrationInterface {
  name = 'AddSyncSchema1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "sync_schema_versions" (
      version INTEGER PRIMARY KEY,
      recorded_at DATETIME NOT NULL,
      recorded_by TEXT NOT NULL,
      change TEXT NOT NULL,
      schema_json TEXT NOT NULL)`);
    await q.query(`CREATE TABLE "sync_schema_exclusions" (
      table_name TEXT NOT NULL,
      column_name TEXT NOT NULL DEFAULT '',
      excluded_at DATETIME NOT NULL,
      excluded_by TEXT NOT NULL,
      PRIMARY KEY (table_name, column_name)) WITHOUT ROWID`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "sync_schema_exclusions"`);
    await q.query(`DROP TABLE "sync_schema_versions"`);
  }
}
