import Database from 'better-sqlite3';
import * as path from 'node:path';

type Row = Record<string, unknown>;

export interface MasterState {
  /** Live rows per table, ordered by id (a workstation holds the same columns). */
  live: Record<string, Row[]>;
  /** Ids of tombstones per table. */
  tombstones: Record<string, Set<string>>;
  integrity: string;
}

/**
 * Reads the master of a stopped server straight from its file (not through the API it checks):
 * every synced table's rows and tombstones, and `PRAGMA integrity_check`.
 */
export function readMaster(dataDir: string, tables: string[]): MasterState {
  const db = new Database(path.join(dataDir, 'database', 'server.db'), { readonly: true, fileMustExist: true });
  try {
    const live: MasterState['live'] = {};
    const tombstones: MasterState['tombstones'] = {};
    for (const t of tables) {
      const rows = db.prepare(`SELECT * FROM "${t}" ORDER BY id`).all() as Row[];
      live[t] = rows.filter((r) => r.deleted === 0);
      tombstones[t] = new Set(rows.filter((r) => r.deleted === 1).map((r) => r.id as string));
    }
    const integrity = (db.prepare('PRAGMA integrity_check').all() as { integrity_check: string }[])
      .map((r) => r.integrity_check)
      .join('; ');
    return { live, tombstones, integrity };
  } finally {
    db.close();
  }
}

/** A workstation file as it holds the synced tables (ordered by id), its tombstones and what it has not pushed. */
export function readWorkstation(
  file: string,
  tables: string[],
): { rows: Record<string, Row[]>; tombstones: { table_name: string; row_id: string }[]; outbox: number; pending: number } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT * FROM "${t}" ORDER BY id`).all() as Row[]]));
    const tombstones = db.prepare('SELECT table_name, row_id FROM _sync_tombstones ORDER BY table_name, row_id').all() as {
      table_name: string;
      row_id: string;
    }[];
    const outbox = (db.prepare('SELECT COUNT(*) AS n FROM _sync_outbox').get() as { n: number }).n;
    const pending = (db.prepare('SELECT COUNT(*) AS n FROM _sync_pending').get() as { n: number }).n;
    return { rows, tombstones, outbox, pending };
  } finally {
    db.close();
  }
}
