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

/**
 * Writes the old desktop app's local database of one PC (alice's) as the SMB setup left it
 * (`workstation.sql`, see generate.js): the master's tables with `updated_at`/`updated_by`/`synced_at`,
 * the master's rows up to its last sync, then offline work: a new customer, project and quote (the
 * last two under ids other PCs used meanwhile), three edited components and a customer, one
 * component deleted.
 */
export function writeLegacyWorkstation(file: string, fixtureDir: string = LEGACY_FIXTURE_DIR): void {
  if (fs.existsSync(file)) throw new Error(`${file} exists already; the legacy fixture only writes new files.`);
  const db = new Database(file);
  try {
    db.exec(fs.readFileSync(path.join(fixtureDir, 'workstation.sql'), 'utf8'));
  } finally {
    db.close();
  }
}

/** The last SMB sync of the workstation fixture: its rows' `synced_at`. */
export const LEGACY_WORKSTATION_LAST_SYNC = '2023-04-11 17:30:00';
