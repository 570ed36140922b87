import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The request id a workstation sends with an allocation: a retry whose first answer was lost
 * (same user, same request id) gets the numbers already issued instead of new ones.
 */
export class AddNumberRequestIds1764400000200 implements MigrationInterface {
  name = 'AddNumberRequestIds1764400000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE generated_numbers ADD COLUMN request_id TEXT`);
    await q.query(`CREATE INDEX idx_generated_numbers_request ON generated_numbers(created_by, request_id) WHERE request_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS idx_generated_numbers_request`);
    await q.query(`ALTER TABLE generated_numbers DROP COLUMN request_id`);
  }
}
