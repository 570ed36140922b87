import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Growth history: one row per database file per sample (hourly by default) with the file and WAL
 * sizes, page count and size, free pages, and rows and bytes per table (JSON), kept in hub.db so
 * that no restore rewrites it.
 */
export class AddSizeSamples1764300000100 implements MigrationInterface {
  name = 'AddSizeSamples1764300000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "size_samples" (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      taken_at TEXT NOT NULL,
      file TEXT NOT NULL,
      bytes INTEGER NOT NULL,
      wal_bytes INTEGER NOT NULL,
      page_size INTEGER NOT NULL,
      page_count INTEGER NOT NULL,
      freelist_count INTEGER NOT NULL,
      tables TEXT NOT NULL)`);
    await q.query(`CREATE INDEX idx_size_samples_file_taken ON size_samples(file, taken_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "size_samples"`);
  }
}
