import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tables of the sync engine, inside server.db so they commit with the rows they describe:
 * - sync_batches: the first answer to each (client id, batch id), so a retried push applies nothing twice;
 * - sync_row_meta: per row, the server version and time of each column's last change (field-level merge);
 * - sync_conflicts: both full versions of every conflict, who and when, and how it was resolved.
 */
export class AddSyncEngineTables1764100000000 implements MigrationInterface {
  name = 'AddSyncEngineTables1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "sync_batches" (
      client_id TEXT NOT NULL,
      batch_id TEXT NOT NULL,
      request_hash TEXT NOT NULL,
      response TEXT NOT NULL,
      user TEXT NOT NULL,
      created_at DATETIME NOT NULL,
      PRIMARY KEY (client_id, batch_id)) WITHOUT ROWID`);
    await q.query(`CREATE INDEX idx_sync_batches_created_at ON sync_batches(created_at)`);
    await q.query(`CREATE TABLE "sync_row_meta" (
      table_name TEXT NOT NULL,
      row_id TEXT NOT NULL,
      base_seq INTEGER NOT NULL,
      base_time DATETIME NOT NULL,
      field_seqs TEXT NOT NULL DEFAULT '{}',
      field_times TEXT NOT NULL DEFAULT '{}',
      PRIMARY KEY (table_name, row_id)) WITHOUT ROWID`);
    await q.query(`CREATE TABLE "sync_conflicts" (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      table_name TEXT NOT NULL,
      row_id TEXT NOT NULL,
      detected_at DATETIME NOT NULL,
      kind TEXT NOT NULL,
      columns TEXT NOT NULL,
      winner TEXT NOT NULL CHECK (winner IN ('server', 'client')),
      server_version TEXT,
      client_version TEXT,
      server_updated_by TEXT,
      server_updated_at DATETIME,
      client_user TEXT NOT NULL,
      client_id TEXT NOT NULL,
      client_updated_at DATETIME NOT NULL,
      batch_id TEXT NOT NULL,
      resolved_at DATETIME,
      resolved_by TEXT,
      resolution TEXT)`);
    await q.query(`CREATE INDEX idx_sync_conflicts_open ON sync_conflicts(resolved_at, id)`);
    await q.query(`CREATE INDEX idx_sync_conflicts_row ON sync_conflicts(table_name, row_id)`);
    await q.query(`INSERT OR IGNORE INTO sync_state (key, value) VALUES ('restored_seq', '0'), ('purged_seq', '0')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "sync_conflicts"`);
    await q.query(`DROP TABLE "sync_row_meta"`);
    await q.query(`DROP TABLE "sync_batches"`);
    await q.query(`DELETE FROM sync_state WHERE key IN ('restored_seq', 'purged_seq')`);
  }
}
