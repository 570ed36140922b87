import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the sync engine needs to give back a restore's lost versions without reverting later edits:
 * - sync_row_meta.field_given: per column, the lost version a give-back wrote it from (a later
 *   give-back of an older lost version is a stale copy; an edit since a give-back clears it);
 * - sync_restore_base: a row as the restore left it, kept at its first change after the restore
 *   (a lost version equal to it changed nothing that needs giving back);
 * - sync_gone: ids deleted while the master had no row for them (a lost-era row a workstation
 *   deleted), so that another workstation's give-back of that row does not bring it back.
 */
export class AddGiveBackState1764500000000 implements MigrationInterface {
  name = 'AddGiveBackState1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "sync_row_meta" ADD COLUMN field_given TEXT NOT NULL DEFAULT '{}'`);
    await q.query(`CREATE TABLE "sync_restore_base" (
      table_name TEXT NOT NULL,
      row_id TEXT NOT NULL,
      row_values TEXT NOT NULL,
      PRIMARY KEY (table_name, row_id)) WITHOUT ROWID`);
    await q.query(`CREATE TABLE "sync_gone" (
      table_name TEXT NOT NULL,
      row_id TEXT NOT NULL,
      seq INTEGER NOT NULL,
      deleted_at DATETIME NOT NULL,
      deleted_by TEXT NOT NULL,
      PRIMARY KEY (table_name, row_id)) WITHOUT ROWID`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "sync_gone"`);
    await q.query(`DROP TABLE "sync_restore_base"`);
    await q.query(`ALTER TABLE "sync_row_meta" DROP COLUMN field_given`);
  }
}
