import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The highest number ever issued per kind and year, kept in hub.db: a restore of
 * generated_numbers.db can never lower a sequence below a number already handed out.
 */
export class AddNumberHighWater1764100000100 implements MigrationInterface {
  name = 'AddNumberHighWater1764100000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "number_high_water" (
      kind TEXT NOT NULL,
      year INTEGER NOT NULL,
      sequence INTEGER NOT NULL,
      updated_at TEXT NOT NULL,
      PRIMARY KEY (kind, year)) WITHOUT ROWID`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "number_high_water"`);
  }
}
