import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Frozen DDL of generated_numbers.db v1. Adopts the old app's `generated_numbers` table in
 * place when there is one: every row is kept; numbers the old file-share sync issued twice are
 * kept too and marked with `duplicate_of` (the first row with that number), and from here on a
 * unique index makes a new duplicate impossible.
 */
export class CreateNumbersSchema1764000000200 implements MigrationInterface {
  name = 'CreateNumbersSchema1764000000200';

  async up(q: QueryRunner): Promise<void> {
    const [exists] = (await q.query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'generated_numbers'`)) as {
      name: string;
    }[];
    if (!exists) {
      await q.query(`CREATE TABLE "generated_numbers" (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        type TEXT NOT NULL,
        number TEXT NOT NULL,
        year INTEGER,
        sequence INTEGER,
        created_at DATETIME,
        created_by TEXT,
        client_id TEXT,
        status TEXT NOT NULL DEFAULT 'issued',
        duplicate_of INTEGER)`);
    } else {
      const have = new Set(((await q.query(`PRAGMA table_info("generated_numbers")`)) as { name: string }[]).map((c) => c.name));
      const add: Record<string, string> = {
        year: 'INTEGER',
        sequence: 'INTEGER',
        created_at: 'DATETIME',
        created_by: 'TEXT',
        client_id: 'TEXT',
        status: `TEXT NOT NULL DEFAULT 'issued'`,
        duplicate_of: 'INTEGER',
      };
      for (const [col, decl] of Object.entries(add)) {
        if (!have.has(col)) await q.query(`ALTER TABLE generated_numbers ADD COLUMN "${col}" ${decl}`);
      }
      await q.query(`UPDATE generated_numbers SET duplicate_of = (
          SELECT MIN(g2.id) FROM generated_numbers g2 WHERE g2.number = generated_numbers.number)
        WHERE id > (SELECT MIN(g3.id) FROM generated_numbers g3 WHERE g3.number = generated_numbers.number)`);
    }
    await q.query(`CREATE UNIQUE INDEX idx_generated_numbers_number ON generated_numbers(number) WHERE duplicate_of IS NULL`);
    await q.query(`CREATE INDEX idx_generated_numbers_type_seq ON generated_numbers(type, year, sequence)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS idx_generated_numbers_type_seq`);
    await q.query(`DROP INDEX IF EXISTS idx_generated_numbers_number`);
  }
}
