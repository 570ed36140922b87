import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dataDirLayout } from './data-dir';

/** Folder of the shipped legacy fixture (SQL text of the old desktop app's two files). */
export const LEGACY_FIXTURE_DIR = path.resolve(__dirname, '..', 'fixtures', 'legacy');

/**
 * Builds a data directory as the old desktop app left it on the NAS share: `database/server.db`
 * and `database/generated_numbers.db` with integer ids, no sync columns, journal_mode=delete.
 */
export function writeLegacyDataDir(dataDir: string, fixtureDir: string = LEGACY_FIXTURE_DIR): void {
  const layout = dataDirLayout(dataDir);
  fs.mkdirSync(layout.databaseDir, { recursive: true });
  for (const [file, sql] of [
    [layout.serverDb, 'server.sql'],
    [layout.numbersDb, 'generated_numbers.sql'],
  ] as const) {
    if (fs.existsSync(file)) throw new Error(`${file} exists already; the legacy fixture only writes new files.`);
    const db = new Database(file);
    try {
      db.exec(fs.readFileSync(path.join(fixtureDir, sql), 'utf8'));
    } finally {
      db.close();
    }
  }
}
