import type Database from 'better-sqlite3';
import { SyncError } from './errors';
import { quoteIdent as q } from './local-schema';

// What taking over a workstation's legacy file does to its tables and rows: the id conversion the
// server made when it adopted the master, and the rules that decide each row's fate. Pure SQL on an
// open connection and pure functions; adopt.ts runs them on a copy and swaps it in.

/** `CREATE TABLE <name>` at the head of a DDL statement, however the name is quoted. */
const CREATE_HEAD = /^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:"(?:[^"]|"")+"|\[[^\]]+\]|`[^`]+`|[A-Za-z_][A-Za-z0-9_$]*)/i;

/** The master's DDL of a table, creating `name` instead. */
export function ddlCreating(ddl: string, name: string): string {
  if (!CREATE_HEAD.test(ddl))
    throw new SyncError('BAD_SCHEMA', `The server's DDL of a table does not start with CREATE TABLE: ${ddl.slice(0, 80)}`);
  return ddl.replace(CREATE_HEAD, `CREATE TABLE ${q(name)}`);
}

interface PragmaColumn {
  name: string;
  type: string;
  notnull: number;
  dflt_value: string | null;
  pk: number;
}

/**
 * Rebuilds a legacy table as the master's DDL gives it, the way the server adopted the master
 * (`adoptTable` in libs/db's create-master-schema migration), rule for rule:
 * - every row and column is kept; a column the DDL does not name (matched case-insensitively) is
 *   added as it was, local only;
 * - the integer id becomes its text form (`42` → `'42'`); a missing id, or one a legacy table
 *   without a key repeats, gets one made from the row number (`legacy-7`, `42~7`);
 * - `updated_at` falls back to `createdAt`, then now; `updated_by` to `legacy-import`; the old app's
 *   `deleted` and `synced_at` are kept; an empty value in a column that is now required becomes `''`;
 * - the old app's triggers on the table come back as they were: their SQL is returned, for the
 *   caller to create again once its own writes are done (the server's adoption writes nothing after).
 * One difference: `server_seq` is 0 here. A workstation's row takes the master's version during
 * reconciliation, or none (a row the master has not seen).
 */
export function convertLegacyTable(
  db: Database.Database,
  table: string,
  ddl: string,
): { rows: number; localOnly: string[]; triggers: string[] } {
  const legacy = db.prepare(`PRAGMA table_info(${q(table)})`).all() as PragmaColumn[];
  const triggers = db
    .prepare(`SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? AND sql IS NOT NULL`)
    .pluck()
    .all(table) as string[];
  const staging = `${table}__adopt`;
  db.exec(`DROP TABLE IF EXISTS ${q(staging)}`);
  db.exec(ddlCreating(ddl, staging));
  const targetCols = db.prepare(`PRAGMA table_info(${q(staging)})`).all() as PragmaColumn[];
  const targetByLower = new Map(targetCols.map((c) => [c.name.toLowerCase(), c.name]));
  const legacyByTarget = new Map<string, string>();
  const localOnly: string[] = [];
  for (const col of legacy) {
    const target = targetByLower.get(col.name.toLowerCase());
    if (target) {
      legacyByTarget.set(target, col.name);
    } else {
      db.exec(`ALTER TABLE ${q(staging)} ADD COLUMN ${q(col.name)} ${col.type || ''}`);
      legacyByTarget.set(col.name, col.name);
      localOnly.push(col.name);
    }
  }
  const target = new Set(targetCols.map((c) => c.name));
  const has = (c: string) => legacyByTarget.has(c);
  const src = (c: string) => q(legacyByTarget.get(c)!);
  const now = `strftime('%Y-%m-%d %H:%M:%f','now')`;
  const fallbackTime = has('createdAt') ? `COALESCE(${src('createdAt')}, ${now})` : now;
  const idPk = legacy.some((c) => c.name.toLowerCase() === 'id' && c.pk === 1);
  const exprs = new Map<string, string>();
  for (const t of legacyByTarget.keys()) exprs.set(t, src(t));
  const self = q(table);
  exprs.set(
    'id',
    !has('id')
      ? `'legacy-' || rowid`
      : idPk
        ? `COALESCE(CAST(${src('id')} AS TEXT), 'legacy-' || rowid)`
        : `CASE WHEN ${src('id')} IS NULL OR EXISTS (SELECT 1 FROM ${self} t2 WHERE CAST(t2.${src('id')} AS TEXT) = CAST(${self}.${src('id')} AS TEXT) AND t2.rowid < ${self}.rowid)
           THEN COALESCE(CAST(${src('id')} AS TEXT), 'legacy') || '~' || rowid ELSE CAST(${src('id')} AS TEXT) END`,
  );
  const sync: [string, string][] = [
    ['updated_at', has('updated_at') ? `COALESCE(${src('updated_at')}, ${fallbackTime})` : fallbackTime],
    ['updated_by', has('updated_by') ? `COALESCE(${src('updated_by')}, 'legacy-import')` : `'legacy-import'`],
    ['server_seq', '0'],
    ['deleted', has('deleted') ? `CASE WHEN ${src('deleted')} THEN 1 ELSE 0 END` : '0'],
  ];
  for (const [c, e] of sync) if (target.has(c)) exprs.set(c, e);
  for (const c of targetCols) {
    if (c.notnull && !c.pk && c.dflt_value === null && c.name !== 'id' && !['updated_at', 'server_seq', 'deleted'].includes(c.name)) {
      exprs.set(c.name, has(c.name) ? `COALESCE(${src(c.name)}, '')` : `''`);
    }
  }
  const cols = [...exprs.keys()];
  db.exec(`INSERT INTO ${q(staging)} (${cols.map(q).join(', ')}) SELECT ${cols.map((c) => exprs.get(c)).join(', ')} FROM ${self}`);
  const n = db.prepare(`SELECT COUNT(*) FROM ${self}`).pluck().get() as number;
  const m = db
    .prepare(`SELECT COUNT(*) FROM ${q(staging)}`)
    .pluck()
    .get() as number;
  if (n !== m) throw new SyncError('ADOPT_FAILED', `Converting ${table}: copied ${m} of ${n} rows.`);
  db.exec(`DROP TABLE ${self}`);
  db.exec(`ALTER TABLE ${q(staging)} RENAME TO ${self}`);
  return { rows: n, localOnly, triggers };
}

/** What is known of one local row against the master's row of the same id. */
export interface RowFacts {
  /** The master has a live row with this id. */
  onMaster: boolean;
  /** Every data column equals the master's. */
  equal: boolean;
  /** The old app's soft-delete flag (`deleted`) is set. */
  deletedHere: boolean;
  /** The file records when each row was last synced (a `synced_at` column). */
  syncKnown: boolean;
  /** ... and this row never was (`synced_at` NULL). */
  neverSynced: boolean;
  /** Edited here since its last SMB sync (`updated_at` after `synced_at`); true when the file cannot tell. */
  changedHere: boolean;
  /** The master's row changed since this row's last SMB sync; true when the file cannot tell. */
  changedOnMaster: boolean;
  /** Both rows have a creation time and they differ. */
  createdDiffers: boolean;
}

export type RowDecision =
  /** Equal to the master's: it takes the master's row and version. */
  | 'unchanged'
  /** Changed on the master only: it takes the master's row. */
  | 'take-master'
  /** A record the master lacks: pushed as new under its id. */
  | 'insert'
  /** The master uses its id for another record: moved to a new id and pushed as new. */
  | 'rekey'
  /** Edited here, the master unchanged since: pushed with the master's values as its exact base. */
  | 'update'
  /** Edited here and on the master: pushed without a base, so the server's per-column last-write-wins decides and records each overlap as a conflict. */
  | 'update-without-base'
  /** Deleted here (soft delete): the delete is pushed, based on the master's version when it had not changed since. */
  | 'delete'
  | 'delete-without-base'
  /** Deleted here and not a record of the master's: removed, nothing to push. */
  | 'drop'
  /** Synced once, edited here since, and gone from the master: pushed as an edit of a row it had, which the server keeps as a conflict if the master deleted it. */
  | 'edited-gone'
  /** Synced once, not edited here since, gone from the master (deleted there): removed here too. */
  | 'deleted-on-master';

/**
 * The fate of one local row (see the README's "Switching over from the SMB setup"). A local row and
 * the master's row of the same id are **different records** when their data differ and the local one
 * was never synced (`synced_at` NULL in a file that has the column) or both have a `createdAt` and
 * the two differ: two PCs made the same integer id offline. Then the local one moves to a new id and
 * neither overwrites the other.
 */
export function decideRow(f: RowFacts): RowDecision {
  if (!f.onMaster) {
    if (f.deletedHere) return 'drop';
    if (!f.syncKnown || f.neverSynced) return 'insert';
    return f.changedHere ? 'edited-gone' : 'deleted-on-master';
  }
  if (!f.equal && (f.neverSynced || f.createdDiffers)) return f.deletedHere ? 'drop' : 'rekey';
  if (f.deletedHere) return f.changedOnMaster ? 'delete-without-base' : 'delete';
  if (f.equal) return 'unchanged';
  if (!f.changedHere) return 'take-master';
  return f.changedOnMaster ? 'update-without-base' : 'update';
}

/**
 * Whether a master row this file does not hold was deleted here: only when the file can tell. The
 * file records its syncs (`synced_at`); the master's row last changed (`synced_at`, else
 * `updated_at`) no later than the file's last sync, so that sync brought it here; and the table's
 * AUTOINCREMENT counter has reached its id (the file issued or received it). Otherwise the row is
 * one the file never had, and it comes in from the master.
 */
export function deletedHere(f: {
  id: string;
  /** julianday of the master row's last change. */
  masterChanged: number | null;
  /** julianday of the file's last SMB sync (the latest `synced_at`), null when it has none. */
  lastSync: number | null;
  /** The table's AUTOINCREMENT counter in the legacy file; null when the table has none. */
  seqLimit: number | null;
}): boolean {
  if (f.lastSync === null || f.masterChanged === null || f.masterChanged > f.lastSync) return false;
  if (f.seqLimit === null) return true;
  return /^-?\d+$/.test(f.id) && Number(f.id) <= f.seqLimit;
}
