import { MigrationInterface, QueryRunner } from 'typeorm';

/*
 * Frozen DDL. Never edit: add a new migration instead.
 *
 * Indexes for the monitoring endpoints on a long history (measured with `cacpq bench monitoring`,
 * 1,000,000 sync_log rows over two years):
 * - sync-activity filtered by user, workstation or status reads one index range already in the
 *   listing's order (timestamp, then id: the rowid every index ends with), so a page costs the
 *   same whatever the history and however rare the filter value;
 * - workstations reads one covering index in (user, client_id) order instead of sorting the table;
 * - active-users reads updated_at and updated_by from the index without visiting the rows (quotes
 *   carry their line items).
 * Where the guide's index is a prefix of the one needed (status; updated_at), it is widened under
 * its own name rather than doubled: a second index on components, quotes and projects would cost
 * every push of those tables one more b-tree write.
 */
const UP = [
  // Widened in place: the guide's index was the prefix of these.
  'DROP INDEX IF EXISTS idx_sync_log_status',
  'CREATE INDEX IF NOT EXISTS idx_sync_log_status ON sync_log(status, timestamp)',
  'DROP INDEX IF EXISTS idx_components_updated_at',
  'CREATE INDEX IF NOT EXISTS idx_components_updated_at ON components(updated_at, updated_by)',
  'DROP INDEX IF EXISTS idx_quotes_updated_at',
  'CREATE INDEX IF NOT EXISTS idx_quotes_updated_at ON quotes(updated_at, updated_by)',
  'DROP INDEX IF EXISTS idx_projects_updated_at',
  'CREATE INDEX IF NOT EXISTS idx_projects_updated_at ON projects(updated_at, updated_by)',
  // New.
  'CREATE INDEX IF NOT EXISTS idx_sync_log_user_timestamp ON sync_log(user, timestamp)',
  'CREATE INDEX IF NOT EXISTS idx_sync_log_client_id_timestamp ON sync_log(client_id, timestamp)',
  'CREATE INDEX IF NOT EXISTS idx_sync_log_workstations ON sync_log(user, client_id, timestamp, status)',
];

const DOWN = [
  'DROP INDEX IF EXISTS idx_sync_log_workstations',
  'DROP INDEX IF EXISTS idx_sync_log_client_id_timestamp',
  'DROP INDEX IF EXISTS idx_sync_log_user_timestamp',
  'DROP INDEX IF EXISTS idx_projects_updated_at',
  'CREATE INDEX IF NOT EXISTS idx_projects_updated_at ON projects(updated_at)',
  'DROP INDEX IF EXISTS idx_quotes_updated_at',
  'CREATE INDEX IF NOT EXISTS idx_quotes_updated_at ON quotes(updated_at)',
  'DROP INDEX IF EXISTS idx_components_updated_at',
  'CREATE INDEX IF NOT EXISTS idx_components_updated_at ON components(updated_at)',
  'DROP INDEX IF EXISTS idx_sync_log_status',
  'CREATE INDEX IF NOT EXISTS idx_sync_log_status ON sync_log(status)',
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
