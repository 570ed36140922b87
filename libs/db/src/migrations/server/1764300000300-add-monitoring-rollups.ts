import { MigrationInterface, QueryRunner } from 'typeorm';

/*
 * Frozen DDL. Never edit: add a new migration instead.
 *
 * Rollups beside the history, so the monitoring endpoints answer long ranges and "every
 * workstation ever" in milliseconds after years of syncs (measured with `cacpq bench monitoring`,
 * 1,000,000 sync_log rows over two years):
 *
 * - sync_log_hourly: per UTC hour ('YYYY-MM-DD HH'), the sums conflict-summary and sync-stats need.
 *   A range is answered from the whole hours inside it plus the raw rows of its two partial edges.
 * - sync_log_workstations: per (user, client_id), the sync count and the latest row (id, time,
 *   status), the guide's "ensure all users are syncing" without counting the whole history.
 *
 * Both are kept by triggers on sync_log, so they are exact at every commit, whatever writes: one
 * row per sync, so a push pays a few microseconds for them. Deleting rows (the guide's pruning)
 * takes them out again.
 *
 * - activity_rows / activity_daily / activity_marks: the guide's "most active users" counts the
 *   current rows of components, quotes and projects by the day of their updated_at and their
 *   updated_by. Triggers on those tables would cost every pushed row; instead the rollup is brought
 *   up to date from server_seq (every change to a synced row takes a new one) when it is read
 *   (libs/db monitoring-queries.ts refreshActivityRollup), and only physical deletes (the tombstone
 *   purge, rare) take rows out through a trigger. activity_rows remembers each row's contribution
 *   (day, who) so a changed row moves from its old day to its new one.
 *
 * `who` is '+' || updated_by, or '' for no updated_by (NULL groups together, as in GROUP BY).
 */
const HOUR = (ts: string) => `ifnull(strftime('%Y-%m-%d %H', ${ts}), '')`;
const WS_KEY = (row: string) => `quote(${row}.user) || ' ' || quote(${row}.client_id)`;

const addRow = (row: string) => [
  `INSERT INTO sync_log_hourly (hour, syncs, failed, with_conflicts, conflicts, pulled, pushed, duration_ms)
   VALUES (${HOUR(`${row}.timestamp`)}, 1, ${row}.status = 'error', ${row}.conflicts > 0, ${row}.conflicts,
           ${row}.records_pulled, ${row}.records_pushed, ${row}.duration_ms)
   ON CONFLICT(hour) DO UPDATE SET syncs = syncs + 1, failed = failed + excluded.failed,
     with_conflicts = with_conflicts + excluded.with_conflicts, conflicts = conflicts + excluded.conflicts,
     pulled = pulled + excluded.pulled, pushed = pushed + excluded.pushed, duration_ms = duration_ms + excluded.duration_ms;`,
  `INSERT INTO sync_log_workstations (key, user, client_id, last_id, last_sync, last_status, syncs)
   VALUES (${WS_KEY(row)}, ${row}.user, ${row}.client_id, ${row}.id, ${row}.timestamp, ${row}.status, 1)
   ON CONFLICT(key) DO UPDATE SET syncs = syncs + 1,
     last_id = CASE WHEN excluded.last_sync >= last_sync THEN excluded.last_id ELSE last_id END,
     last_status = CASE WHEN excluded.last_sync >= last_sync THEN excluded.last_status ELSE last_status END,
     last_sync = max(excluded.last_sync, last_sync);`,
];

const removeRow = (row: string) => [
  `UPDATE sync_log_hourly SET syncs = syncs - 1, failed = failed - (${row}.status = 'error'),
     with_conflicts = with_conflicts - (${row}.conflicts > 0), conflicts = conflicts - ${row}.conflicts,
     pulled = pulled - ${row}.records_pulled, pushed = pushed - ${row}.records_pushed, duration_ms = duration_ms - ${row}.duration_ms
   WHERE hour = ${HOUR(`${row}.timestamp`)};`,
  `DELETE FROM sync_log_hourly WHERE hour = ${HOUR(`${row}.timestamp`)} AND syncs <= 0;`,
  `UPDATE sync_log_workstations SET syncs = syncs - 1 WHERE key = ${WS_KEY(row)};`,
  `DELETE FROM sync_log_workstations WHERE key = ${WS_KEY(row)} AND syncs <= 0;`,
  // The latest row went: the next latest (in an AFTER UPDATE trigger, the row as it now is).
  `UPDATE sync_log_workstations SET (last_id, last_sync, last_status) = (
     SELECT id, timestamp, status FROM sync_log WHERE user IS ${row}.user AND client_id IS ${row}.client_id
     ORDER BY timestamp DESC, id DESC LIMIT 1)
   WHERE key = ${WS_KEY(row)} AND last_id = ${row}.id;`,
];

const ACTIVITY_TABLES = ['components', 'quotes', 'projects'];

const UP = [
  `CREATE TABLE IF NOT EXISTS sync_log_hourly (
     hour TEXT PRIMARY KEY NOT NULL,
     syncs INTEGER NOT NULL, failed INTEGER NOT NULL, with_conflicts INTEGER NOT NULL, conflicts INTEGER NOT NULL,
     pulled INTEGER NOT NULL, pushed INTEGER NOT NULL, duration_ms INTEGER NOT NULL) WITHOUT ROWID`,
  `CREATE TABLE IF NOT EXISTS sync_log_workstations (
     key TEXT PRIMARY KEY NOT NULL, user TEXT, client_id TEXT,
     last_id INTEGER NOT NULL, last_sync TEXT NOT NULL, last_status TEXT NOT NULL, syncs INTEGER NOT NULL) WITHOUT ROWID`,
  `DELETE FROM sync_log_hourly`,
  `DELETE FROM sync_log_workstations`,
  `INSERT INTO sync_log_hourly (hour, syncs, failed, with_conflicts, conflicts, pulled, pushed, duration_ms)
   SELECT ${HOUR('timestamp')}, COUNT(*), SUM(status = 'error'), SUM(conflicts > 0), SUM(conflicts),
          SUM(records_pulled), SUM(records_pushed), SUM(duration_ms)
   FROM sync_log GROUP BY 1`,
  // SQLite takes the bare columns from the row holding MAX(timestamp).
  `INSERT INTO sync_log_workstations (key, user, client_id, last_id, last_sync, last_status, syncs)
   SELECT quote(user) || ' ' || quote(client_id), user, client_id, id, MAX(timestamp), status, COUNT(*)
   FROM sync_log GROUP BY user, client_id`,
  `CREATE TRIGGER IF NOT EXISTS sync_log_rollup_insert AFTER INSERT ON sync_log BEGIN\n${addRow('new').join('\n')}\nEND`,
  `CREATE TRIGGER IF NOT EXISTS sync_log_rollup_delete AFTER DELETE ON sync_log BEGIN\n${removeRow('old').join('\n')}\nEND`,
  `CREATE TRIGGER IF NOT EXISTS sync_log_rollup_update AFTER UPDATE ON sync_log BEGIN\n${[...removeRow('old'), ...addRow('new')].join('\n')}\nEND`,

  `CREATE TABLE IF NOT EXISTS activity_rows (
     tbl TEXT NOT NULL, id TEXT NOT NULL, day TEXT NOT NULL, who TEXT NOT NULL, PRIMARY KEY (tbl, id)) WITHOUT ROWID`,
  `CREATE TABLE IF NOT EXISTS activity_daily (
     day TEXT NOT NULL, who TEXT NOT NULL, changes INTEGER NOT NULL, PRIMARY KEY (day, who)) WITHOUT ROWID`,
  // Zero: the first refresh builds the rollup from every row.
  `CREATE TABLE IF NOT EXISTS activity_marks (tbl TEXT PRIMARY KEY NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID`,
  ...ACTIVITY_TABLES.map((t) => `INSERT OR IGNORE INTO activity_marks (tbl, seq) VALUES ('${t}', 0)`),
  ...ACTIVITY_TABLES.map(
    (t) => `CREATE TRIGGER IF NOT EXISTS activity_forget_${t} AFTER DELETE ON "${t}" BEGIN
       UPDATE activity_daily SET changes = changes - 1
        WHERE (day, who) = (SELECT day, who FROM activity_rows WHERE tbl = '${t}' AND id = old.id);
       DELETE FROM activity_rows WHERE tbl = '${t}' AND id = old.id;
     END`,
  ),
];

const DOWN = [
  ...ACTIVITY_TABLES.map((t) => `DROP TRIGGER IF EXISTS activity_forget_${t}`),
  'DROP TABLE IF EXISTS activity_marks',
  'DROP TABLE IF EXISTS activity_daily',
  'DROP TABLE IF EXISTS activity_rows',
  'DROP TRIGGER IF EXISTS sync_log_rollup_update',
  'DROP TRIGGER IF EXISTS sync_log_rollup_delete',
  'DROP TRIGGER IF EXISTS sync_log_rollup_insert',
  'DROP TABLE IF EXISTS sync_log_workstations',
  'DROP TABLE IF EXISTS sync_log_hourly',
];

export class AddMonitoringRollups1764300000300 implements MigrationInterface {
  name = 'AddMonitoringRollups1764300000300';

  async up(q: QueryRunner): Promise<void> {
    for (const sql of UP) await q.query(sql);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const sql of DOWN) await q.query(sql);
  }
}
