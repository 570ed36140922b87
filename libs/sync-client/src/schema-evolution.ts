import type Database from 'better-sqlite3';
import { SYNC_COLUMN_NAMES, sqliteDeclaredType, type ColumnInfo, type SyncInfoResponse, type TableInfo } from '@cacpq/sync-protocol';
import { quoteIdent as q, triggerSql } from './local-schema';

function localColumns(db: Database.Database, table: string): string[] {
  return (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[]).map((r) => r.name);
}

function tableExists(db: Database.Database, table: string): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table) !== undefined;
}

export interface SchemaPlan {
  /** The tables as this workstation syncs them: the master's columns it has, plus its own newer ones. */
  tables: TableInfo[];
  /** DDL to run first (tables and columns the master has and this file lacks). */
  ddl: string[];
  /** What identifies the result: when it is unchanged, nothing needs doing. */
  fingerprint: string;
}

/**
 * How the workstation's file must change to follow the master's schema, and what it then syncs.
 *
 * - A table or column the master has and the file lacks is added (`CREATE TABLE` from the master's
 *   DDL, `ALTER TABLE … ADD COLUMN`), unless `apply` is false (an app that migrates its own file
 *   and has not yet): then the workstation syncs the columns it has and skips the rest.
 * - A column the file has and the master lacks (the app is newer than the master) is synced too:
 *   the server answers SCHEMA_AHEAD for it, and the change waits here until the master has it.
 * - A column an admin excluded on the master is neither sent nor received.
 *
 * Idempotent: a file the app already migrated gets no DDL.
 */
export function planSchema(db: Database.Database, info: Pick<SyncInfoResponse, 'tables' | 'schemaVersion'>, apply: boolean): SchemaPlan {
  const ddl: string[] = [];
  const tables: TableInfo[] = [];
  for (const t of info.tables) {
    const exists = tableExists(db, t.name);
    if (!exists) {
      if (!apply) continue;
      ddl.push(t.ddl, ...t.indexes.filter((i) => !/_server_seq ON /.test(i)));
      tables.push(t);
      continue;
    }
    const have = new Set(localColumns(db, t.name));
    const columns: ColumnInfo[] = [];
    for (const c of t.columns) {
      if (have.has(c.name)) columns.push(c);
      else if (apply) {
        ddl.push(`ALTER TABLE ${q(t.name)} ADD COLUMN ${q(c.name)} ${sqliteDeclaredType(c.type)}`.trimEnd());
        columns.push(c);
      }
    }
    const known = new Set([...t.columns.map((c) => c.name), ...(t.excluded ?? [])]);
    // Columns only this file has: the app's newer ones. Sent like the others; the master says SCHEMA_AHEAD until it has them.
    const newer = [...have].filter((c) => !known.has(c) && !(SYNC_COLUMN_NAMES as readonly string[]).includes(c));
    const syncAt = columns.findIndex((c) => (SYNC_COLUMN_NAMES as readonly string[]).includes(c.name) && c.name !== 'id');
    const extra: ColumnInfo[] = newer.map((name) => ({ name, type: 'any', nullable: true }));
    if (syncAt < 0) columns.push(...extra);
    else columns.splice(syncAt, 0, ...extra);
    tables.push({ ...t, columns });
  }
  const fingerprint = JSON.stringify([info.schemaVersion ?? null, apply, tables.map((t) => [t.name, t.columns.map((c) => c.name)])]);
  return { tables, ddl, fingerprint };
}

/** Runs the plan's DDL and puts the triggers right for every synced table, in one transaction. */
export function applySchemaPlan(db: Database.Database, plan: SchemaPlan): void {
  db.transaction(() => {
    for (const sql of plan.ddl) db.exec(sql);
    for (const t of plan.tables) db.exec(triggerSql(t));
  })();
}
