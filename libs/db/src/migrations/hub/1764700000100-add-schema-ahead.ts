import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tables and columns workstations pushed before the master had them (a newer app), per
 * workstation: the "App newer than the master" alert names them until the master has them. In
 * hub.db beside the refused changes: what workstations sent is the server's record, not the
 * master's data (a restore of the master keeps it; hostile pushes never write to server.db).
 */
export class AddSchemaAhead1764700000100 implements MigrationInterface {
  name = 'AddSchemaAhead1764700000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "schema_ahead" (
      client_id TEXT NOT NULL,
      table_name TEXT NOT NULL,
      column_name TEXT NOT NULL DEFAULT '',
      user TEXT NOT NULL,
      first_seen DATETIME NOT NULL,
      last_seen DATETIME NOT NULL,
      PRIMARY KEY (client_id, table_name, column_name)) WITHOUT ROWID`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "schema_ahead"`);
  }
}
