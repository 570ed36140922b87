import Database from 'better-sqlite3';
import { MASTER_INDEXES_V1, MASTER_TABLES_V1 } from '../migrations/server/1764000000000-create-master-schema';
import { ID_COLUMN, SYNC_COLUMNS, SYNCED_TABLES, type ColumnDef, type ColumnType } from '../registry';

/**
 * The sync schema, learned from the master itself: every table of `server.db` that is not the
 * engine's, with every column and its declared type. The registry's rules (allowed values, lengths,
 * server-owned columns) are optional per-column rules on top; they no longer decide what syncs.
 */

/** A column as the master declares it, with the rules that apply to it. */
export interface LearnedColumn extends ColumnDef {
  /** The type the master's DDL declares (`TEXT`, `INTEGER`, ``…). */
  readonly declaredType: string;
  /** Excluded by an admin: kept in the table, never synced. */
  readonly excluded?: boolean;
  /** The DDL gives it a default: a new row may leave it out. */
  readonly hasDefault?: boolean;
}

export interface LearnedTable {
  readonly name: string;
  readonly label: string;
  /** Syncs to workstations: it has a usable key, the sync columns, and no admin excluded it. */
  readonly synced: boolean;
  /** Why it does not sync, as a sentence (absent when it does). */
  readonly reason?: string;
  /** Excluded by an admin (it could sync otherwise). */
  readonly excluded: boolean;
  /** Every column, in table order: id, data columns (excluded ones marked), sync columns. */
  readonly columns: readonly LearnedColumn[];
  /** The master's CREATE TABLE statement. */
  readonly ddl: string;
  /** The master's CREATE INDEX statements for the table. */
  readonly indexes: readonly string[];
}

export interface LearnedSchema {
  readonly tables: readonly LearnedTable[];
}

/** An admin's exclusion: a whole table (`column` null) or one column. */
export interface SchemaExclusion {
  readonly table: string;
  readonly column: string | null;
}

const SYNC_NAMES = new Set([ID_COLUMN.name, ...SYNC_COLUMNS.map((c) => c.name)]);

/** Tables of `server.db` that belong to the server, never to the app: not learned, never synced. */
const ENGINE_TABLES = new Set(['sync_log', 'sync_state', 'archived_quotes', 'activity_daily', 'activity_marks', 'activity_rows']);

/** True for SQLite's own tables, the sync engine's (`sync_*`), the SDK's (`_sync_*`) and the server's bookkeeping. */
export function isEngineTable(name: string): boolean {
  const lower = name.toLowerCase();
  return (
    ENGINE_TABLES.has(lower) ||
    lower.startsWith('sqlite_') ||
    lower.startsWith('sync_') ||
    lower.startsWith('_sync_') ||
    lower.startsWith('_cacpq_') ||
    lower.endsWith('__adopt')
  );
}

/**
 * The protocol type of a declared SQLite type, by SQLite's own affinity rules (section 3.1 of its
 * datatype page), with dates and booleans recognised by name: what a value pushed to it must be.
 */
export function columnTypeOf(declared: string): ColumnType {
  const t = declared.toUpperCase();
  if (t.includes('BOOL')) return 'boolean';
  if (t.includes('INT')) return 'integer';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'text';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'real';
  if (t.includes('DATE') || t.includes('TIME')) return 'datetime';
  if (t.includes('JSON')) return 'json';
  if (t.includes('NUMERIC') || t.includes('DECIMAL')) return 'real';
  // No declared type, BLOB, or anything else: any text or number (binary data is still refused).
  return 'any';
}

interface PragmaColumn {
  name: string;
  type: string;
  notnull: number;
  dflt_value: string | null;
  pk: number;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

function tableColumns(db: Database.Database, table: string): PragmaColumn[] {
  return db.prepare(`SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)`).all(table) as PragmaColumn[];
}

/** Why a table cannot sync by its key, or null when its key is usable (one column named `id`). */
export function keyProblem(columns: readonly { name: string; type: string; pk: number }[]): string | null {
  const keys = columns.filter((c) => c.pk > 0);
  if (keys.length === 0)
    return 'it has no primary key: a workstation could not tell its rows apart. Give it an id column as its primary key.';
  if (keys.length > 1) {
    return `its primary key spans ${keys.length} columns (${keys.map((k) => k.name).join(', ')}); the sync needs one column named id.`;
  }
  if (keys[0].name.toLowerCase() !== 'id') return `its primary key is "${keys[0].name}"; the sync needs the key column to be named id.`;
  const type = columnTypeOf(keys[0].type);
  if (type !== 'text' && type !== 'integer' && type !== 'any')
    return `its key "id" is declared ${keys[0].type}; the sync needs text or integer keys.`;
  return null;
}

/** True when the table already has the shape the sync engine writes: a text `id` key and every sync column. */
export function hasSyncShape(columns: readonly PragmaColumn[]): boolean {
  const id = columns.find((c) => c.name === 'id');
  if (!id || id.pk !== 1 || columns.filter((c) => c.pk > 0).length !== 1 || columnTypeOf(id.type) !== 'text') return false;
  const names = new Set(columns.map((c) => c.name));
  return SYNC_COLUMNS.every((c) => names.has(c.name));
}

/** The registry's rule for a column of a table it knows, if any. */
function registryRule(table: string, column: string): ColumnDef | undefined {
  return SYNCED_TABLES.find((t) => t.name === table)?.dataColumns.find((c) => c.name === column);
}

/**
 * Reads the sync schema from the master: what syncs, with every column's type and rules, and what
 * does not, with the reason. Pure reading; cheap (a few PRAGMAs per table), run at start and after
 * every schema change, never on the sync path.
 */
export function learnSchema(db: Database.Database, exclusions: readonly SchemaExclusion[] = []): LearnedSchema {
  const rows = db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL ORDER BY name`).all() as {
    name: string;
    sql: string;
  }[];
  const excludedTables = new Set(exclusions.filter((e) => e.column === null).map((e) => e.table));
  const excludedColumns = new Set(exclusions.filter((e) => e.column !== null).map((e) => `${e.table}\u0000${e.column}`));
  // The guide's tables first, in the registry's order (what workstations and the dashboard always showed), then the others by name.
  const order = (name: string) => {
    const i = SYNCED_TABLES.findIndex((t) => t.name === name);
    return i < 0 ? SYNCED_TABLES.length : i;
  };
  rows.sort((a, b) => order(a.name) - order(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const tables: LearnedTable[] = [];
  for (const { name, sql } of rows) {
    if (isEngineTable(name)) continue;
    const pragma = tableColumns(db, name);
    const indexes = (
      db.prepare(`SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name`).all(name) as {
        sql: string;
      }[]
    )
      // As workstations run them on files that may have them already.
      .map((r) =>
        r.sql.replace(
          /^CREATE\s+(UNIQUE\s+)?INDEX\s+(?!IF\s+NOT\s+EXISTS)/i,
          (_m, u: string | undefined) => `CREATE ${u ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS `,
        ),
      );
    const label = SYNCED_TABLES.find((t) => t.name === name)?.label ?? name;
    const key = keyProblem(pragma);
    const shaped = key === null && hasSyncShape(pragma);
    const columns: LearnedColumn[] = pragma.map((c) => {
      if (c.name === ID_COLUMN.name) return { ...ID_COLUMN, declaredType: c.type };
      const sync = SYNC_COLUMNS.find((s) => s.name === c.name);
      if (sync) return { ...sync, declaredType: c.type };
      const rule = registryRule(name, c.name);
      const base: LearnedColumn = rule
        ? { ...rule, declaredType: c.type }
        : { name: c.name, type: columnTypeOf(c.type), nullable: c.notnull === 0, declaredType: c.type };
      const excluded = excludedColumns.has(`${name}\u0000${c.name}`);
      return { ...base, ...(c.dflt_value !== null && !rule ? { hasDefault: true } : {}), ...(excluded ? { excluded: true } : {}) };
    });
    const excluded = excludedTables.has(name);
    const reason =
      key !== null
        ? `Not synced: ${key}`
        : !shaped
          ? 'Not synced yet: the table has no sync columns; it is converted when the server next starts or a migration is applied.'
          : excluded
            ? 'Not synced: an admin excluded it.'
            : undefined;
    tables.push({ name, label, synced: reason === undefined, ...(reason ? { reason } : {}), excluded, columns, ddl: sql, indexes });
  }
  return { tables };
}

/** The data columns of a learned table that sync (not the key, not the sync columns, not excluded). */
export function syncedDataColumns(table: LearnedTable): LearnedColumn[] {
  return table.columns.filter((c) => !SYNC_NAMES.has(c.name) && !c.excluded);
}

/** What a schema is, for comparing two: everything but labels. */
export function schemaFingerprint(schema: LearnedSchema): string {
  return JSON.stringify(
    schema.tables.map((t) => [
      t.name,
      t.synced,
      t.reason ?? null,
      t.columns.map((c) => [c.name, c.declaredType, c.nullable, c.excluded === true]),
      t.indexes,
    ]),
  );
}

/** Sentences for what changed from one schema to the next (the history an admin reads). */
export function describeSchemaChange(before: LearnedSchema | null, after: LearnedSchema): string[] {
  if (!before) return [`Learned ${after.tables.filter((t) => t.synced).length} synced tables from the master.`];
  const lines: string[] = [];
  const old = new Map(before.tables.map((t) => [t.name, t]));
  for (const t of after.tables) {
    const was = old.get(t.name);
    if (!was) {
      lines.push(t.synced ? `Table ${t.name} added (${t.columns.length} columns).` : `Table ${t.name} found; ${t.reason}`);
      continue;
    }
    if (was.synced !== t.synced) lines.push(t.synced ? `Table ${t.name} now syncs.` : `Table ${t.name}: ${t.reason}`);
    const oldCols = new Map(was.columns.map((c) => [c.name, c]));
    for (const c of t.columns) {
      const o = oldCols.get(c.name);
      if (!o) lines.push(`Column ${t.name}.${c.name} added (${c.declaredType || 'no declared type'}).`);
      else if (o.excluded !== c.excluded) lines.push(`Column ${t.name}.${c.name} ${c.excluded ? 'excluded' : 'included again'}.`);
    }
    for (const c of was.columns) if (!t.columns.some((n) => n.name === c.name)) lines.push(`Column ${t.name}.${c.name} is gone.`);
    for (const i of t.indexes) if (!was.indexes.includes(i)) lines.push(`Index added on ${t.name}: ${i}`);
  }
  for (const t of before.tables) if (!after.tables.some((n) => n.name === t.name)) lines.push(`Table ${t.name} is gone.`);
  return lines;
}

/**
 * Gives a table with a usable key but without the sync columns the shape the engine writes, as
 * adopting a legacy master does for the guide's tables: the key becomes text (an integer id keeps its
 * value, `42` → `'42'`), the sync columns are added, every row gets a server sequence after `lastSeq`,
 * and the table's indexes and triggers come back. Every row and column stays. Returns the new last
 * sequence. Call inside a transaction; the caller has a verified backup.
 */
export function convertTable(db: Database.Database, table: string, lastSeq: number): number {
  const columns = tableColumns(db, table);
  const problem = keyProblem(columns);
  if (problem) throw new Error(`${table} cannot be converted: ${problem}`);
  const keep = (
    db.prepare(`SELECT sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND tbl_name = ? AND sql IS NOT NULL`).all(table) as {
      sql: string;
    }[]
  ).map((r) => r.sql);
  const names = new Set(columns.map((c) => c.name));
  const defs = columns.map((c) => {
    if (c.pk > 0) return `${quote('id')} TEXT PRIMARY KEY NOT NULL`;
    const notNull = c.notnull ? ' NOT NULL' : '';
    const dflt = c.dflt_value !== null ? ` DEFAULT ${c.dflt_value}` : '';
    return `${quote(c.name)}${c.type ? ` ${c.type}` : ''}${notNull}${dflt}`;
  });
  const sync = [
    `updated_at DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now'))`,
    'updated_by TEXT',
    'synced_at DATETIME',
    'server_seq INTEGER NOT NULL DEFAULT 0',
    'deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))',
  ].filter((d) => !names.has(d.split(' ')[0]));
  const staging = `${table}__adopt`;
  db.exec(`CREATE TABLE ${quote(staging)} (\n  ${[...defs, ...sync].join(',\n  ')})`);
  const key = columns.find((c) => c.pk > 0)!.name;
  const now = `strftime('%Y-%m-%d %H:%M:%f','now')`;
  const exprs = new Map<string, string>();
  for (const c of columns) exprs.set(c.pk > 0 ? 'id' : c.name, c.pk > 0 ? `CAST(${quote(key)} AS TEXT)` : quote(c.name));
  const created = columns.find((c) => c.name.toLowerCase() === 'createdat');
  if (!names.has('updated_at')) exprs.set('updated_at', created ? `COALESCE(${quote(created.name)}, ${now})` : now);
  if (!names.has('updated_by')) exprs.set('updated_by', `'legacy-import'`);
  // By key: a WITHOUT ROWID table has no rowid; an integer key follows insertion order anyway.
  exprs.set('server_seq', `${lastSeq} + ROW_NUMBER() OVER (ORDER BY ${quote(key)})`);
  if (!names.has('deleted')) exprs.set('deleted', '0');
  const cols = [...exprs.keys()];
  db.exec(
    `INSERT INTO ${quote(staging)} (${cols.map(quote).join(', ')}) SELECT ${cols.map((c) => exprs.get(c)).join(', ')} FROM ${quote(table)}`,
  );
  const { n } = db.prepare(`SELECT COUNT(*) AS n FROM ${quote(table)}`).get() as { n: number };
  const { m } = db.prepare(`SELECT COUNT(*) AS m FROM ${quote(staging)}`).get() as { m: number };
  if (n !== m) throw new Error(`Converting ${table}: copied ${m} of ${n} rows; nothing was changed.`);
  db.exec(`DROP TABLE ${quote(table)}`);
  db.exec(`ALTER TABLE ${quote(staging)} RENAME TO ${quote(table)}`);
  for (const sql of keep) db.exec(sql);
  db.exec(`CREATE INDEX IF NOT EXISTS ${quote(`idx_${table}_server_seq`)} ON ${quote(table)}(server_seq)`);
  return lastSeq + n;
}

/**
 * Converts every app table that has a usable key but not the sync columns yet (a legacy table the
 * registry never named, or one a migration just created). Returns the tables converted.
 */
export function convertLearnedTables(db: Database.Database): string[] {
  const done: string[] = [];
  const rows = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL ORDER BY name`).all() as {
    name: string;
  }[];
  let lastSeq = Number(
    (db.prepare(`SELECT value FROM sync_state WHERE key = 'last_seq'`).get() as { value: string } | undefined)?.value ?? 0,
  );
  for (const { name } of rows) {
    if (isEngineTable(name)) continue;
    const columns = tableColumns(db, name);
    if (keyProblem(columns) !== null || hasSyncShape(columns)) continue;
    lastSeq = convertTable(db, name, lastSeq);
    done.push(name);
  }
  if (done.length > 0) {
    db.prepare(`INSERT INTO sync_state (key, value) VALUES ('last_seq', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(
      String(lastSeq),
    );
  }
  return done;
}

/**
 * The guide's schema as a new, empty master learns it (the tables of the first migration): for
 * unit tests and tools that check values without a master at hand.
 */
export function guideSchema(): LearnedSchema {
  const db = new Database(':memory:');
  try {
    for (const ddl of Object.values(MASTER_TABLES_V1)) db.exec(ddl);
    for (const sql of MASTER_INDEXES_V1.filter((i) => !/ON sync_log\(/.test(i))) db.exec(sql);
    return learnSchema(db);
  } finally {
    db.close();
  }
}
