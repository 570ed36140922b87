import type Database from 'better-sqlite3';

/** Statements prepared once per open database handle (a restore reopens a file: a new handle, new statements). */
const cache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/**
 * `db.prepare(sql)`, done once per handle and SQL text. Preparing costs more than running the
 * small lookups a request makes (TypeORM prepares every query it runs), so the paths every
 * request takes keep their statements.
 */
export function prepared(db: Database.Database, sql: string): Database.Statement {
  let statements = cache.get(db);
  if (!statements) cache.set(db, (statements = new Map()));
  let statement = statements.get(sql);
  if (!statement) statements.set(sql, (statement = db.prepare(sql)));
  return statement;
}
