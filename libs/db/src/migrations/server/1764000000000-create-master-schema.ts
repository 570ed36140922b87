import { MigrationInterface, QueryRunner } from 'typeorm';

/*
 * Frozen DDL of the master schema, version 1. Never edit: add a new migration instead.
 * Column names follow the desktop app (camelCase data columns, snake_case sync columns as
 * the guide names them). Primary keys are TEXT so workstations can create ids offline;
 * an adopted legacy integer id is kept as its text form ('42'), which SQLite still matches
 * against `WHERE id = 42` through the column's TEXT affinity.
 * No foreign keys between synced tables: rows arrive from workstations in any order, and a
 * reference to a row another workstation has not pushed yet must not fail a whole batch.
 */
const SYNC = `updated_at DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')),
  updated_by TEXT,
  synced_at DATETIME,
  server_seq INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))`;

export const MASTER_TABLES_V1: Record<string, string> = {
  customers: `CREATE TABLE "customers" (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  type TEXT NOT NULL DEFAULT 'End User',
  contactName TEXT, email TEXT, phone TEXT, address TEXT, city TEXT, state TEXT, country TEXT,
  notes TEXT, createdAt DATETIME,
  ${SYNC})`,
  components: `CREATE TABLE "components" (
  id TEXT PRIMARY KEY NOT NULL,
  sku TEXT NOT NULL, name TEXT NOT NULL, description TEXT, category TEXT, vendor TEXT,
  manufacturer TEXT, partNumber TEXT, unitCost REAL, listPrice REAL, unit TEXT,
  leadTimeDays INTEGER, active INTEGER, notes TEXT, createdAt DATETIME,
  ${SYNC})`,
  sub_assemblies: `CREATE TABLE "sub_assemblies" (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL, description TEXT, category TEXT, items TEXT, laborHours REAL,
  totalCost REAL, createdAt DATETIME,
  ${SYNC})`,
  product_templates: `CREATE TABLE "product_templates" (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL, productLine TEXT, description TEXT, configuration TEXT, basePrice REAL,
  active INTEGER, createdAt DATETIME,
  ${SYNC})`,
  projects: `CREATE TABLE "projects" (
  id TEXT PRIMARY KEY NOT NULL,
  projectNumber TEXT, name TEXT NOT NULL, customer TEXT, customerId TEXT, status TEXT,
  salesperson TEXT, startDate DATETIME, dueDate DATETIME, notes TEXT, createdAt DATETIME,
  ${SYNC})`,
  quotes: `CREATE TABLE "quotes" (
  id TEXT PRIMARY KEY NOT NULL,
  quoteNumber TEXT, projectId TEXT, customer TEXT, customerId TEXT, title TEXT, status TEXT,
  revision INTEGER, currency TEXT, subtotal REAL, discountPct REAL, total REAL,
  validUntil DATETIME, lineItems TEXT, notes TEXT, createdBy TEXT, createdAt DATETIME,
  ${SYNC})`,
  manual_quotes: `CREATE TABLE "manual_quotes" (
  id TEXT PRIMARY KEY NOT NULL,
  quoteNumber TEXT, customer TEXT, description TEXT, amount REAL, status TEXT,
  preparedBy TEXT, notes TEXT, createdAt DATETIME,
  ${SYNC})`,
};

export const SYNC_LOG_V1 = `CREATE TABLE "sync_log" (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  timestamp DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')),
  status TEXT NOT NULL,
  records_pulled INTEGER NOT NULL DEFAULT 0,
  records_pushed INTEGER NOT NULL DEFAULT 0,
  conflicts INTEGER NOT NULL DEFAULT 0,
  duration_ms INTEGER NOT NULL DEFAULT 0,
  user TEXT,
  client_id TEXT,
  error TEXT)`;

/** The guide's recommended indexes, verbatim, plus the pull cursor index per synced table. */
export const MASTER_INDEXES_V1 = [
  'CREATE INDEX IF NOT EXISTS idx_components_sku ON components(sku)',
  'CREATE INDEX IF NOT EXISTS idx_components_category ON components(category)',
  'CREATE INDEX IF NOT EXISTS idx_components_vendor ON components(vendor)',
  'CREATE INDEX IF NOT EXISTS idx_components_updated_at ON components(updated_at)',
  'CREATE INDEX IF NOT EXISTS idx_quotes_customer ON quotes(customer)',
  'CREATE INDEX IF NOT EXISTS idx_quotes_created_at ON quotes(createdAt)',
  'CREATE INDEX IF NOT EXISTS idx_quotes_updated_at ON quotes(updated_at)',
  'CREATE INDEX IF NOT EXISTS idx_projects_customer ON projects(customer)',
  'CREATE INDEX IF NOT EXISTS idx_projects_updated_at ON projects(updated_at)',
  'CREATE INDEX IF NOT EXISTS idx_customers_name ON customers(name)',
  'CREATE INDEX IF NOT EXISTS idx_sync_log_timestamp ON sync_log(timestamp)',
  'CREATE INDEX IF NOT EXISTS idx_sync_log_status ON sync_log(status)',
  ...Object.keys(MASTER_TABLES_V1).map((t) => `CREATE INDEX IF NOT EXISTS idx_${t}_server_seq ON ${t}(server_seq)`),
];

const SYNC_STATE_V1 = `CREATE TABLE "sync_state" (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)`;

interface ColumnInfo {
  name: string;
  type: string;
}

async function columnsOf(q: QueryRunner, table: string): Promise<ColumnInfo[]> {
  return (await q.query(`PRAGMA table_info("${table}")`)) as ColumnInfo[];
}

/**
 * Creates the master schema on an empty file, or adopts a legacy desktop-app database in
 * place: every legacy table is rebuilt with the v1 layout, keeping every row and every column
 * (columns the registry does not know stay in the table, unsynced). Legacy rows get a server
 * sequence in their table order so a new workstation's first pull sees all of them.
 * The caller has taken a verified backup before this runs.
 */
export class CreateMasterSchema1764000000000 implements MigrationInterface {
  name = 'CreateMasterSchema1764000000000';

  async up(q: QueryRunner): Promise<void> {
    const existing = new Set<string>(
      ((await q.query(`SELECT name FROM sqlite_master WHERE type = 'table'`)) as { name: string }[]).map((r) => r.name),
    );
    await q.query(SYNC_STATE_V1);
    let seq = 0;
    for (const [table, ddl] of Object.entries(MASTER_TABLES_V1)) {
      if (!existing.has(table)) {
        await q.query(ddl);
        continue;
      }
      seq = await adoptTable(q, table, ddl, seq);
    }
    if (existing.has('sync_log')) {
      await adoptSyncLog(q);
    } else {
      await q.query(SYNC_LOG_V1);
    }
    for (const sql of MASTER_INDEXES_V1) await q.query(sql);
    await q.query(`INSERT INTO sync_state (key, value) VALUES ('last_seq', ?)`, [String(seq)]);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of Object.keys(MASTER_TABLES_V1)) await q.query(`DROP TABLE IF EXISTS "${table}"`);
    await q.query(`DROP TABLE IF EXISTS "sync_log"`);
    await q.query(`DROP TABLE IF EXISTS "sync_state"`);
  }
}

async function adoptTable(q: QueryRunner, table: string, ddl: string, seqBefore: number): Promise<number> {
  const legacy = (await q.query(`PRAGMA table_info("${table}")`)) as (ColumnInfo & { pk: number })[];
  const triggers = (await q.query(`SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? AND sql IS NOT NULL`, [
    table,
  ])) as {
    sql: string;
  }[];
  const staging = `${table}__adopt`;
  await q.query(ddl.replace(`CREATE TABLE "${table}"`, `CREATE TABLE "${staging}"`));
  const targetCols = (await q.query(`PRAGMA table_info("${staging}")`)) as {
    name: string;
    notnull: number;
    dflt_value: string | null;
    pk: number;
  }[];
  // SQLite column names are case-insensitive: legacy "SKU" is our "sku".
  const targetByLower = new Map(targetCols.map((c) => [c.name.toLowerCase(), c.name]));
  const legacyByTarget = new Map<string, string>();
  for (const col of legacy) {
    const target = targetByLower.get(col.name.toLowerCase());
    if (target) {
      legacyByTarget.set(target, col.name);
    } else {
      // A column only the legacy app had: kept as it was, not synced.
      await q.query(`ALTER TABLE "${staging}" ADD COLUMN "${col.name}" ${col.type || ''}`);
      legacyByTarget.set(col.name, col.name);
    }
  }
  const has = (c: string) => legacyByTarget.has(c);
  const src = (c: string) => `"${legacyByTarget.get(c)}"`;
  const now = `strftime('%Y-%m-%d %H:%M:%f','now')`;
  const fallbackTime = has('createdAt') ? `COALESCE(${src('createdAt')}, ${now})` : now;
  const idPk = legacy.some((c) => c.name.toLowerCase() === 'id' && c.pk === 1);
  const exprs = new Map<string, string>();
  for (const target of legacyByTarget.keys()) exprs.set(target, src(target));
  // The id keeps its value as text; a missing or repeated legacy id gets one from the rowid.
  exprs.set(
    'id',
    !has('id')
      ? `'legacy-' || rowid`
      : idPk
        ? `COALESCE(CAST(${src('id')} AS TEXT), 'legacy-' || rowid)`
        : `CASE WHEN ${src('id')} IS NULL OR EXISTS (SELECT 1 FROM "${table}" t2 WHERE CAST(t2.${src('id')} AS TEXT) = CAST("${table}".${src('id')} AS TEXT) AND t2.rowid < "${table}".rowid)
           THEN COALESCE(CAST(${src('id')} AS TEXT), 'legacy') || '~' || rowid ELSE CAST(${src('id')} AS TEXT) END`,
  );
  exprs.set('updated_at', has('updated_at') ? `COALESCE(${src('updated_at')}, ${fallbackTime})` : fallbackTime);
  exprs.set('updated_by', has('updated_by') ? `COALESCE(${src('updated_by')}, 'legacy-import')` : `'legacy-import'`);
  exprs.set('server_seq', `${seqBefore} + ROW_NUMBER() OVER (ORDER BY rowid)`);
  exprs.set('deleted', has('deleted') ? `CASE WHEN ${src('deleted')} THEN 1 ELSE 0 END` : '0');
  if (has('synced_at')) exprs.set('synced_at', src('synced_at'));
  // A value the old app left empty in a column that is now required becomes '' rather than failing the adoption.
  for (const c of targetCols) {
    if (c.notnull && !c.pk && c.dflt_value === null && c.name !== 'id' && !['updated_at', 'server_seq', 'deleted'].includes(c.name)) {
      exprs.set(c.name, has(c.name) ? `COALESCE(${src(c.name)}, '')` : `''`);
    }
  }
  const cols = [...exprs.keys()];
  await q.query(
    `INSERT INTO "${staging}" (${cols.map((c) => `"${c}"`).join(', ')})
     SELECT ${cols.map((c) => exprs.get(c)).join(', ')} FROM "${table}"`,
  );
  const [{ n }] = (await q.query(`SELECT COUNT(*) AS n FROM "${table}"`)) as { n: number }[];
  const [{ m }] = (await q.query(`SELECT COUNT(*) AS m FROM "${staging}"`)) as { m: number }[];
  if (n !== m) throw new Error(`Adopting ${table}: copied ${m} of ${n} rows; nothing was changed.`);
  await q.query(`DROP TABLE "${table}"`);
  await q.query(`ALTER TABLE "${staging}" RENAME TO "${table}"`);
  // The old app's own triggers on the table come back as they were.
  for (const t of triggers) await q.query(t.sql);
  return seqBefore + n;
}

async function adoptSyncLog(q: QueryRunner): Promise<void> {
  const have = new Set((await columnsOf(q, 'sync_log')).map((c) => c.name));
  const add: Record<string, string> = {
    records_pulled: 'INTEGER NOT NULL DEFAULT 0',
    records_pushed: 'INTEGER NOT NULL DEFAULT 0',
    conflicts: 'INTEGER NOT NULL DEFAULT 0',
    duration_ms: 'INTEGER NOT NULL DEFAULT 0',
    user: 'TEXT',
    client_id: 'TEXT',
    error: 'TEXT',
  };
  for (const [col, decl] of Object.entries(add)) {
    if (!have.has(col)) await q.query(`ALTER TABLE sync_log ADD COLUMN "${col}" ${decl}`);
  }
}
