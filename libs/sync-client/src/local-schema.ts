import type Database from 'better-sqlite3';
import { SYNC_COLUMN_NAMES, type TableInfo } from '@cacpq/sync-protocol';

/** Sync columns of every synced table (the workstation never sends them as values): the contract's. */
export { SYNC_COLUMN_NAMES };

export function dataColumns(table: TableInfo): string[] {
  return table.columns.map((c) => c.name).filter((n) => !(SYNC_COLUMN_NAMES as readonly string[]).includes(n));
}

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
const lit = (text: string) => `'${text.replace(/'/g, "''")}'`;

/**
 * Version of the SDK's tables and triggers in a workstation file. A file of an older version gets
 * the new tables and triggers when it is opened (its outbox kept): 2 records bases exactly.
 */
export const LOCAL_SCHEMA_VERSION = 2;

/** Tables the SDK keeps inside the workstation's own file, beside the data. */
export const SDK_TABLES = `
CREATE TABLE IF NOT EXISTS _sync_state (key TEXT PRIMARY KEY NOT NULL, value TEXT);
CREATE TABLE IF NOT EXISTS _sync_outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  table_name TEXT NOT NULL,
  row_id TEXT NOT NULL,
  op TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
  base_version INTEGER NOT NULL DEFAULT 0,
  changed TEXT NOT NULL DEFAULT '',
  -- files of version 1 only: the row's data columns before the edit, as JSON (15 significant digits)
  old_values TEXT,
  changed_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS _sync_outbox_row ON _sync_outbox(table_name, row_id);
-- Each changed column's value before an update, exactly as SQLite held it (no type affinity): the
-- base of a field-level merge. Every REAL, integers of any size, text with NUL and BLOBs round-trip.
CREATE TABLE IF NOT EXISTS _sync_outbox_base (
  seq INTEGER NOT NULL, col TEXT NOT NULL, value,
  PRIMARY KEY (seq, col)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS _sync_tombstones (
  table_name TEXT NOT NULL, row_id TEXT NOT NULL, seq INTEGER NOT NULL, deleted_at TEXT,
  PRIMARY KEY (table_name, row_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS _sync_pending (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, batch_id TEXT NOT NULL UNIQUE, rows TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS _sync_numbers (number TEXT PRIMARY KEY NOT NULL, kind TEXT NOT NULL, reserved_at TEXT NOT NULL, used_at TEXT);
-- Changes the server refused for what they are, held back (the quarantine) with the outbox entries
-- and bases they came from, until they are fixed here or an admin decides on the server.
CREATE TABLE IF NOT EXISTS _sync_held (
  seq INTEGER PRIMARY KEY,
  table_name TEXT NOT NULL,
  row_id TEXT NOT NULL,
  op TEXT NOT NULL,
  base_version INTEGER NOT NULL DEFAULT 0,
  changed TEXT NOT NULL DEFAULT '',
  old_values TEXT,
  changed_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS _sync_held_row ON _sync_held(table_name, row_id);
CREATE TABLE IF NOT EXISTS _sync_held_base (
  seq INTEGER NOT NULL, col TEXT NOT NULL, value,
  PRIMARY KEY (seq, col)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS _sync_quarantine (
  table_name TEXT NOT NULL,
  row_id TEXT NOT NULL,
  op TEXT NOT NULL,
  column_name TEXT,
  code TEXT NOT NULL,
  message TEXT NOT NULL,
  refusal_id INTEGER,
  held_at TEXT NOT NULL,
  PRIMARY KEY (table_name, row_id)) WITHOUT ROWID;
`;

/** Columns added to SDK tables of older files. */
const ADDED_COLUMNS: [table: string, column: string, decl: string][] = [
  ['_sync_numbers', 'record_table', 'TEXT'],
  ['_sync_numbers', 'record_id', 'TEXT'],
  ['_sync_numbers', 'registered_at', 'TEXT'],
];

/** Creates the SDK's tables, and brings those of an older file up to date. */
export function installSdkTables(db: Database.Database): void {
  db.exec(SDK_TABLES);
  for (const [table, column, decl] of ADDED_COLUMNS) {
    const has = (db.prepare(`SELECT 1 FROM pragma_table_info(?) WHERE name = ?`).get(table, column) as unknown) !== undefined;
    if (!has) db.exec(`ALTER TABLE ${q(table)} ADD COLUMN ${q(column)} ${decl}`);
  }
}

/** While this row exists, the triggers do not capture: the SDK is applying the server's changes. */
const NOT_APPLYING = `(SELECT 1 FROM _sync_state WHERE key = 'applying') IS NULL`;
const NOW = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;

/**
 * Plain-SQL triggers that copy every local change of a synced table into the outbox, whoever
 * writes the file (the desktop app, the sqlite3 shell). Updates record which data columns changed
 * and, in `_sync_outbox_base`, each one's value before the edit, exactly as SQLite held it.
 */
export function triggerSql(table: TableInfo): string {
  const t = table.name;
  const cols = dataColumns(table);
  const changedExpr = cols.map((c) => `(CASE WHEN OLD.${q(c)} IS NOT NEW.${q(c)} THEN ${lit(`,${c}`)} ELSE '' END)`).join(' || ');
  const allCols = lit(cols.join(','));
  // Inside a trigger, last_insert_rowid() is the outbox row just written (WITHOUT ROWID inserts leave it alone).
  const bases = cols
    .map(
      (c) =>
        `  INSERT INTO _sync_outbox_base (seq, col, value) SELECT last_insert_rowid(), ${lit(c)}, OLD.${q(c)} WHERE OLD.${q(c)} IS NOT NEW.${q(c)};`,
    )
    .join('\n');
  return `
DROP TRIGGER IF EXISTS ${q(`_sync_${t}_insert`)};
CREATE TRIGGER ${q(`_sync_${t}_insert`)} AFTER INSERT ON ${q(t)} WHEN ${NOT_APPLYING}
BEGIN
  INSERT INTO _sync_outbox (table_name, row_id, op, base_version, changed, changed_at)
  VALUES (${lit(t)}, NEW.id, 'insert', COALESCE(NEW.server_seq, 0), ${allCols}, ${NOW});
END;
DROP TRIGGER IF EXISTS ${q(`_sync_${t}_update`)};
CREATE TRIGGER ${q(`_sync_${t}_update`)} AFTER UPDATE ON ${q(t)} WHEN ${NOT_APPLYING} AND (${changedExpr}) <> ''
BEGIN
  INSERT INTO _sync_outbox (table_name, row_id, op, base_version, changed, changed_at)
  VALUES (${lit(t)}, NEW.id, 'update', COALESCE(OLD.server_seq, 0), substr(${changedExpr}, 2), ${NOW});
${bases}
END;
DROP TRIGGER IF EXISTS ${q(`_sync_${t}_delete`)};
CREATE TRIGGER ${q(`_sync_${t}_delete`)} AFTER DELETE ON ${q(t)} WHEN ${NOT_APPLYING}
BEGIN
  INSERT INTO _sync_outbox (table_name, row_id, op, base_version, changed, changed_at)
  VALUES (${lit(t)}, OLD.id, 'delete', COALESCE(OLD.server_seq, 0), '', ${NOW});
END;`;
}

/** Creates the data tables (from the master's DDL), the SDK tables and the triggers. */
export function installLocalSchema(db: Database.Database, tables: TableInfo[]): void {
  installSdkTables(db);
  for (const table of tables) {
    const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table.name);
    if (!exists) db.exec(table.ddl);
    // The master's indexes, but not the pull cursor's (server_seq): only the server pulls by it,
    // and every local write would pay to keep it.
    for (const index of table.indexes) if (!/_server_seq ON /.test(index)) db.exec(index);
    db.exec(triggerSql(table));
  }
  db.prepare(`INSERT INTO _sync_state (key, value) VALUES ('local_schema', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(
    String(LOCAL_SCHEMA_VERSION),
  );
}

export { q as quoteIdent };
