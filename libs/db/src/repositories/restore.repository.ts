import Database from 'better-sqlite3';
import { prepared } from '../statements';

/** What a restore reads of the master's synced tables. */
export interface RestoreRepository {
  /** Rows of a table (deleted ones too). */
  rowCount(table: string): number;
  /** Ids of a table's rows that are not deleted. */
  liveIds(table: string): string[];
}

export class SqliteRestoreRepository implements RestoreRepository {
  constructor(private readonly db: () => Database.Database) {}

  rowCount(table: string): number {
    return (prepared(this.db(), `SELECT COUNT(*) AS n FROM "${table}"`).get() as { n: number }).n;
  }

  liveIds(table: string): string[] {
    return (prepared(this.db(), `SELECT id FROM "${table}" WHERE deleted = 0`).all() as { id: string }[]).map((r) => r.id);
  }
}

/** A backup's server.db opened read-only, for the records a selective restore takes from it. */
export interface BackupServerFile {
  hasTable(table: string): boolean;
  /** The table's column names in the backup (a backup from before a migration lacks the newer ones). */
  columns(table: string): string[];
  hasRow(table: string, id: string): boolean;
  /** The id, `deleted` flag and the given data columns of a table's rows: all of them, or those with `id`. */
  rows(table: string, columns: readonly string[], id?: string): Record<string, unknown>[];
  close(): void;
}

/** Opens a backup's server.db read-only (throws as better-sqlite3 does when it cannot). */
export function openBackupServerFile(file: string): BackupServerFile {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  return {
    hasTable: (table) => !!prepared(db, `SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table),
    columns: (table) => (prepared(db, `SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[]).map((r) => r.name),
    hasRow: (table, id) => !!prepared(db, `SELECT 1 FROM "${table}" WHERE id = ?`).get(id),
    rows: (table, columns, id) => {
      const select = `SELECT id, deleted, ${columns.map((c) => `"${c}"`).join(', ')} FROM "${table}"`;
      return (id === undefined ? prepared(db, select).all() : prepared(db, `${select} WHERE id = ?`).all(id)) as Record<string, unknown>[];
    },
    close: () => db.close(),
  };
}
