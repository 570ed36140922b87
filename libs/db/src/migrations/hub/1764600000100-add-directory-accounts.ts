import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Accounts from the company directory (LDAP / Active Directory): where an account signs in
 * (`local`, with its own password or device tokens only, or `directory`, with its domain
 * password), the entry it was last found at, and why the directory last refused it (null while
 * the directory lets it in). An account the directory refused is disabled with that reason, so a
 * later sign-in or check that finds it allowed again enables it; an administrator's own disabling
 * leaves the reason null and sticks.
 */
export class AddDirectoryAccounts1764600000100 implements MigrationInterface {
  name = 'AddDirectoryAccounts1764600000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "users" ADD COLUMN source TEXT NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'directory'))`);
    await q.query(`ALTER TABLE "users" ADD COLUMN directory_dn TEXT`);
    await q.query(`ALTER TABLE "users" ADD COLUMN directory_refusal TEXT`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const c of ['directory_refusal', 'directory_dn', 'source']) await q.query(`ALTER TABLE "users" DROP COLUMN ${c}`);
  }
}
