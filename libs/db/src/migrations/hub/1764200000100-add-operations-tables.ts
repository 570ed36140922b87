import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Backups and maintenance, in hub.db (which no restore replaces):
 * - backups: the catalogue; a backup is listed only once verified (or, for a file found on
 *   disk, once checked: then with status `failed` and the reason if it did not verify);
 * - jobs: every backup, restore and maintenance run with start, end, result and details.
 */
export class AddOperationsTables1764200000100 implements MigrationInterface {
  name = 'AddOperationsTables1764200000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "jobs" (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      type TEXT NOT NULL,
      params TEXT NOT NULL DEFAULT '{}',
      trigger TEXT NOT NULL,
      requested_by TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'refused', 'interrupted')),
      queued_at TEXT NOT NULL,
      started_at TEXT,
      finished_at TEXT,
      duration_ms INTEGER,
      progress REAL NOT NULL DEFAULT 0,
      phase TEXT,
      result TEXT,
      error TEXT)`);
    await q.query(`CREATE INDEX idx_jobs_type_id ON jobs(type, id)`);
    await q.query(`CREATE INDEX idx_jobs_status ON jobs(status)`);
    await q.query(`CREATE TABLE "backups" (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      name TEXT NOT NULL UNIQUE,
      kind TEXT NOT NULL,
      origin TEXT NOT NULL CHECK (origin IN ('server', 'found')),
      created_at TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('verified', 'failed')),
      check_kind TEXT NOT NULL,
      verified_at TEXT NOT NULL,
      problem TEXT,
      bytes INTEGER NOT NULL,
      files TEXT NOT NULL,
      fingerprint TEXT NOT NULL,
      job_id INTEGER)`);
    await q.query(`CREATE INDEX idx_backups_kind_created ON backups(kind, created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "backups"`);
    await q.query(`DROP TABLE "jobs"`);
  }
}
