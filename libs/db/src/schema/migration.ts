import Database from 'better-sqlite3';
import { convertLearnedTables, isEngineTable, learnSchema, type LearnedSchema } from './learned-schema';

/**
 * Additive migrations of the desktop app, applied on the server: only `CREATE TABLE`,
 * `ALTER TABLE … ADD COLUMN` and `CREATE INDEX`. Each is tried on a schema-only copy of the master
 * first; anything that would drop, rename or change what is there is refused with the two-step way
 * to do it. Transaction statements and `PRAGMA user_version` (common in app migration files) are
 * ignored.
 */

export type MigrationStepKind = 'create-table' | 'add-column' | 'create-index';

export interface PlannedStep {
  kind: MigrationStepKind;
  sql: string;
  table: string;
  column?: string;
  index?: string;
  rowsAffected: number;
  alreadyApplied: boolean;
}

/** Why a migration cannot be taken: `invalid` (SQLite cannot read it) or `refused` (not additive). */
export class MigrationProblem extends Error {
  constructor(
    readonly kind: 'invalid' | 'refused',
    message: string,
  ) {
    super(message);
  }
}

/** The statements of an SQL text, split at semicolons outside quotes, brackets and comments; comments dropped. */
export function splitSql(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    const next = text[i + 1];
    if (ch === '-' && next === '-') {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end;
      cur += ' ';
      continue;
    }
    if (ch === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
      cur += ' ';
      continue;
    }
    const close = ch === "'" ? "'" : ch === '"' ? '"' : ch === '`' ? '`' : ch === '[' ? ']' : null;
    if (close) {
      let j = i + 1;
      for (;;) {
        const k = text.indexOf(close, j);
        if (k < 0) {
          j = text.length;
          break;
        }
        // A doubled quote inside a quoted text or name is the quote itself.
        if (close !== ']' && text[k + 1] === close) {
          j = k + 2;
          continue;
        }
        j = k + 1;
        break;
      }
      cur += text.slice(i, j);
      i = j;
      continue;
    }
    if (ch === ';') {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
      i++;
      continue;
    }
    cur += ch;
    i++;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

const IDENT = String.raw`("(?:[^"]|"")+"|\[[^\]]+\]|` + '`[^`]+`' + String.raw`|[A-Za-z_][\w$]*)`;
const unquote = (name: string) =>
  name.startsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : /^[[`]/.test(name) ? name.slice(1, -1) : name;

const TWO_STEP =
  'Make the change in two steps that never take anything away while workstations run both app versions: add the new table or column (this migration may do that) and let the app write both; once every workstation runs the new app, stop syncing the old one (exclude it on the Sync schema page). Drops, renames and type changes are never applied to a synced master.';

interface Parsed {
  kind: MigrationStepKind | 'ignore';
  table?: string;
  column?: string;
  index?: string;
  ifNotExists?: boolean;
}

/** What one statement is; a statement that is not additive is refused with a sentence. */
export function classifyStatement(sql: string, n: number): Parsed {
  const s = sql.replace(/\s+/g, ' ').trim();
  const where = `Statement ${n} (${s.length > 80 ? `${s.slice(0, 77)}…` : s})`;
  if (/^(BEGIN|COMMIT|END|SAVEPOINT|RELEASE)\b/i.test(s)) return { kind: 'ignore' };
  if (/^PRAGMA\s+(\w+\.)?user_version\s*=/i.test(s)) return { kind: 'ignore' };
  let m = new RegExp(String.raw`^CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?${IDENT}\s*\(`, 'i').exec(s);
  if (m) return { kind: 'create-table', table: unquote(m[2]), ifNotExists: !!m[1] };
  if (/^CREATE\s+(TEMP|TEMPORARY)\s/i.test(s))
    throw new MigrationProblem('refused', `${where}: a temporary table is not part of the master.`);
  if (/^CREATE\s+TABLE\b.*\bAS\s+SELECT\b/i.test(s))
    throw new MigrationProblem('refused', `${where}: CREATE TABLE … AS SELECT copies data; create the table with its columns instead.`);
  m = new RegExp(String.raw`^ALTER\s+TABLE\s+${IDENT}\s+ADD\s+(COLUMN\s+)?${IDENT}`, 'i').exec(s);
  if (m) return { kind: 'add-column', table: unquote(m[1]), column: unquote(m[3]) };
  m = new RegExp(String.raw`^ALTER\s+TABLE\s+${IDENT}\s+RENAME\b`, 'i').exec(s);
  if (m)
    throw new MigrationProblem(
      'refused',
      `${where} renames ${unquote(m[1])} or one of its columns, which workstations still use. ${TWO_STEP}`,
    );
  m = new RegExp(String.raw`^ALTER\s+TABLE\s+${IDENT}\s+DROP\b`, 'i').exec(s);
  if (m) throw new MigrationProblem('refused', `${where} drops a column of ${unquote(m[1])}, which workstations still send. ${TWO_STEP}`);
  m = new RegExp(String.raw`^CREATE\s+(UNIQUE\s+)?INDEX\s+(IF\s+NOT\s+EXISTS\s+)?${IDENT}\s+ON\s+${IDENT}`, 'i').exec(s);
  if (m) return { kind: 'create-index', index: unquote(m[3]), table: unquote(m[4]), ifNotExists: !!m[2] };
  if (/^DROP\s/i.test(s)) throw new MigrationProblem('refused', `${where} drops something workstations still use. ${TWO_STEP}`);
  if (/^(INSERT|UPDATE|DELETE|REPLACE|UPSERT|WITH)\b/i.test(s))
    throw new MigrationProblem(
      'refused',
      `${where} changes data, not the schema. Data changes made on the server would not reach workstations as edits; make them in the app, where they sync like any edit.`,
    );
  if (/^CREATE\s+(TRIGGER|VIEW|VIRTUAL)\b/i.test(s))
    throw new MigrationProblem(
      'refused',
      `${where}: only tables, columns and indexes are applied on the server; triggers and views stay in the app's own file.`,
    );
  throw new MigrationProblem(
    'refused',
    `${where} is not an additive change; the server applies only CREATE TABLE, ALTER TABLE … ADD COLUMN and CREATE INDEX.`,
  );
}

/** A schema-only copy of the master's app tables and their indexes, in memory. */
function scratchCopy(db: Database.Database): Database.Database {
  const scratch = new Database(':memory:');
  const objects = db
    .prepare(
      `SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL AND type IN ('table', 'index') ORDER BY type = 'index', rowid`,
    )
    .all() as { type: string; name: string; tbl_name: string; sql: string }[];
  for (const o of objects) {
    if (isEngineTable(o.tbl_name)) continue;
    scratch.exec(o.sql);
  }
  return scratch;
}

/**
 * Checks a migration against the master without changing it: each statement classified, then all
 * of them run on a schema-only copy (a syntax error names the statement and SQLite's words), and
 * the result compared with the master (nothing taken away or changed). Returns the steps with the
 * rows each touches; throws {@link MigrationProblem}.
 */
export function planMigration(db: Database.Database, text: string): PlannedStep[] {
  const statements = splitSql(text);
  if (statements.length === 0) throw new MigrationProblem('invalid', 'The migration holds no SQL statement.');
  const parsed = statements.map((sql, i) => ({ sql, ...classifyStatement(sql, i + 1) }));
  const scratch = scratchCopy(db);
  try {
    const before = learnSchema(scratch);
    const steps: PlannedStep[] = [];
    for (const [i, p] of parsed.entries()) {
      if (p.kind === 'ignore') continue;
      const table = p.table!;
      if (isEngineTable(table)) {
        throw new MigrationProblem(
          'refused',
          `Statement ${i + 1} touches ${table}, a table of the sync engine; the migration may change app tables only.`,
        );
      }
      const exists = scratch.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table) !== undefined;
      let alreadyApplied = false;
      if (p.kind === 'create-table' && exists) {
        // Applied already (the app migrated the master's copy, or this file was applied): fine if it declares the same columns.
        const probe = new Database(':memory:');
        try {
          probe.exec(p.sql.replace(/IF\s+NOT\s+EXISTS\s+/i, ''));
          const name = (probe.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).get() as { name: string }).name;
          const want = probe.prepare(`SELECT name, type FROM pragma_table_info(?)`).all(name) as { name: string; type: string }[];
          const have = new Map(
            (scratch.prepare(`SELECT name, type FROM pragma_table_info(?)`).all(table) as { name: string; type: string }[]).map((c) => [
              c.name === 'id' ? 'id' : c.name,
              c.type,
            ]),
          );
          const differs = want.filter(
            (c) => c.name !== 'id' && have.has(c.name) && have.get(c.name)!.toUpperCase() !== c.type.toUpperCase(),
          );
          const missing = want.filter((c) => !have.has(c.name));
          if (differs.length > 0) {
            throw new MigrationProblem(
              'refused',
              `Statement ${i + 1} declares ${table} with ${differs.map((c) => `${c.name} ${c.type || '(no type)'} (the master has ${have.get(c.name) || 'no type'})`).join(', ')}: that would change a column's type. ${TWO_STEP}`,
            );
          }
          if (missing.length > 0) {
            throw new MigrationProblem(
              'refused',
              `Statement ${i + 1} creates ${table}, which the master has already without ${missing.map((c) => c.name).join(', ')}; add ${missing.length === 1 ? 'that column' : 'those columns'} with ALTER TABLE ${table} ADD COLUMN instead.`,
            );
          }
        } catch (err) {
          if (err instanceof MigrationProblem) throw err;
          throw new MigrationProblem('invalid', `Statement ${i + 1} is not valid SQL: ${(err as Error).message}.`);
        } finally {
          probe.close();
        }
        alreadyApplied = true;
      } else if (p.kind === 'add-column' && exists) {
        alreadyApplied =
          (scratch.prepare(`SELECT 1 FROM pragma_table_info(?) WHERE name = ?`).get(table, p.column) as unknown) !== undefined;
      } else if (p.kind === 'create-index') {
        alreadyApplied = scratch.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?`).get(p.index) !== undefined;
      }
      if (!alreadyApplied) {
        try {
          scratch.exec(p.sql);
        } catch (err) {
          throw new MigrationProblem('invalid', `Statement ${i + 1} could not be applied: ${(err as Error).message}. Nothing was changed.`);
        }
      }
      const rows = exists ? (db.prepare(`SELECT COUNT(*) AS n FROM "${table.replace(/"/g, '""')}"`).get() as { n: number }).n : 0;
      steps.push({
        kind: p.kind,
        sql: p.sql,
        table,
        ...(p.column ? { column: p.column } : {}),
        ...(p.index ? { index: p.index } : {}),
        rowsAffected: rows,
        alreadyApplied,
      });
    }
    // Nothing there before may be gone or different afterwards.
    const after = learnSchema(scratch);
    assertAdditive(before, after);
    return steps;
  } finally {
    scratch.close();
  }
}

function assertAdditive(before: LearnedSchema, after: LearnedSchema): void {
  for (const t of before.tables) {
    const now = after.tables.find((x) => x.name === t.name);
    if (!now) throw new MigrationProblem('refused', `The migration would remove the table ${t.name}. ${TWO_STEP}`);
    for (const c of t.columns) {
      const n = now.columns.find((x) => x.name === c.name);
      if (!n) throw new MigrationProblem('refused', `The migration would remove the column ${t.name}.${c.name}. ${TWO_STEP}`);
      if (n.declaredType !== c.declaredType)
        throw new MigrationProblem(
          'refused',
          `The migration would change ${t.name}.${c.name} from ${c.declaredType} to ${n.declaredType}. ${TWO_STEP}`,
        );
    }
  }
}

/**
 * Applies planned steps to the master in one transaction (those not applied already), then gives
 * new tables the sync columns. Returns the tables converted. The caller has a verified backup.
 */
export function applyMigration(db: Database.Database, steps: readonly PlannedStep[]): string[] {
  return db
    .transaction(() => {
      for (const s of steps) if (!s.alreadyApplied) db.exec(s.sql);
      return convertLearnedTables(db);
    })
    .immediate();
}
