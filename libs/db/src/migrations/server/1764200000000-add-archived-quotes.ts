import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `archived_quotes`: quotes older than the archive age, moved out of the synced `quotes` table by
 * the archive job (the guide's quarterly cleanup), with when and by which job. A table of that
 * name left by the guide's `CREATE TABLE archived_quotes AS SELECT * FROM quotes` is kept as
 * `archived_quotes_legacy` and its rows are copied in (columns the two share).
 */
export class AddArchivedQuotes1764200000000 implements MigrationInterface {
  name = 'AddArchivedQuotes1764200000000';

  async up(q: QueryRunner): Promise<void> {
    const legacy = (await q.query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'archived_quotes'`)) as unknown[];
    if (legacy.length > 0) await q.query(`ALTER TABLE "archived_quotes" RENAME TO "archived_quotes_legacy"`);
    await q.query(`CREATE TABLE "archived_quotes" (
      id TEXT PRIMARY KEY NOT NULL,
      quoteNumber TEXT, projectId TEXT, customer TEXT, customerId TEXT, title TEXT, status TEXT,
      revision INTEGER, currency TEXT, subtotal REAL, discountPct REAL, total REAL,
      validUntil DATETIME, lineItems TEXT, notes TEXT, createdBy TEXT, createdAt DATETIME,
      updated_at DATETIME, updated_by TEXT, synced_at DATETIME, server_seq INTEGER, deleted INTEGER,
      archived_at DATETIME NOT NULL,
      archive_job INTEGER)`);
    await q.query(`CREATE INDEX idx_archived_quotes_created_at ON archived_quotes(createdAt)`);
    if (legacy.length > 0) {
      const cols = ((await q.query(`PRAGMA table_info("archived_quotes_legacy")`)) as { name: string }[]).map((c) => c.name);
      const shared = [
        'id',
        'quoteNumber',
        'projectId',
        'customer',
        'customerId',
        'title',
        'status',
        'revision',
        'currency',
        'subtotal',
        'discountPct',
        'total',
        'validUntil',
        'lineItems',
        'notes',
        'createdBy',
        'createdAt',
        'updated_at',
        'updated_by',
        'synced_at',
      ].filter((c) => cols.includes(c));
      if (shared.includes('id')) {
        const list = shared.map((c) => `"${c}"`).join(', ');
        await q.query(
          `INSERT OR IGNORE INTO archived_quotes (${list}, archived_at) SELECT ${shared
            .map((c) => (c === 'id' ? 'CAST(id AS TEXT)' : `"${c}"`))
            .join(', ')}, strftime('%Y-%m-%d %H:%M:%f', 'now') FROM archived_quotes_legacy WHERE id IS NOT NULL`,
        );
      }
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "archived_quotes"`);
  }
}
