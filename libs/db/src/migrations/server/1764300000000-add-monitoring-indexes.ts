import { MigrationInterface, QueryRunner } from 'typeorm';

/*
 * Frozen DDL. Never edit: add a new migration instead.
 *
 * Indexes for the monitoring endpoints on a long history (measured with `cacpq bench monitoring`,
 * 1,000,000 sync_log rows over two years). The guide's own indexes stay exactly as the guide
 * writes them; these are added beside them, on sync_log only (one row per sync, so a push writes
 * no more index entries for the synced tables than before):
 * - sync-activity filtered by user, workstation or status reads one index range already in the
 *   listing's order (timestamp, then id: the rowid every index ends with), so a page costs the
 *   same whatever the history and however rare the filter value;
 * - workstations reads one covering index in (user, client_id) order instead of sorting the table.
 */
const UP = [
  'CREATE INDEX IF NOT EXISTS idx_sync_log_status_timestamp ON sync_log(status, timestamp)',
  'CREATE INDEX IF NOT EXISTS idx_sync_log_user_timestamp ON sync_log(user, timestamp)',
  'CREATE INDEX IF NOT EXISTS idx_sync_log_client_id_timestamp ON sync_log(client_id, timestamp)',
  'CREATE INDEX IF NOT EXISTS idx_sync_log_workstations ON sync_log(user, client_id, timestamp, status)',
];

const DOWN = [
  'DROP INDEX IF EXISTS idx_sync_log_workstations',
  'DROP INDEX IF EXISTS idx_sync_log_client_id_timestamp',
  'DROP INDEX IF EXISTS idx_sync_log_user_timestamp',
  'DROP INDEX IF EXISTS idx_sync_log_status_timestamp',
];

export class AddMonitoringIndexes1764300000000 implements MigrationInterface {
  name = 'AddMonitoringIndexes1764300000000';

  async up(q: QueryRunner): Promise<void> {
    for (const sql of UP) await q.query(sql);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const sql of DOWN) await q.query(sql);
  }
}
