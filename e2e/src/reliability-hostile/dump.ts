import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';

/**
 * A logical dump of an SQLite file as sha256 checksums: the schema, then every table's rows by
 * primary key with their SQLite types, one checksum per table (a difference names the table).
 * Taken with the server stopped.
 */
export function dumpChecksum(
  file: string,
  opts: { skipTables?: string[]; skipColumns?: RegExp; onlyTables?: string[]; where?: Record<string, string> } = {},
): Record<string, string> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  const out: Record<string, string> = {};
  try {
    const schema = createHash('sha256');
    const objects = db
      .prepare(`SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_stat%' ORDER BY type, name`)
      .all() as { type: string; name: string; sql: string | null }[];
    for (const o of objects) schema.update(`${o.type} ${o.name} ${o.sql ?? ''}\n`);
    out['(schema)'] = schema.digest('hex');
    for (const t of objects.filter((o) => o.type === 'table')) {
      if (opts.skipTables?.includes(t.name)) continue;
      if (opts.onlyTables && !opts.onlyTables.includes(t.name)) continue;
      const hash = createHash('sha256');
      const cols = (db.prepare(`SELECT name, pk FROM pragma_table_info(?)`).all(t.name) as { name: string; pk: number }[]).filter(
        (c) => !opts.skipColumns?.test(c.name),
      );
      const pk = cols.filter((c) => c.pk > 0).map((c) => `"${c.name}"`);
      const order = pk.length > 0 ? pk.join(', ') : cols.map((c) => `"${c.name}"`).join(', ');
      const select = cols.map((c) => `"${c.name}"`).join(', ');
      const where = opts.where?.[t.name] ? ` WHERE ${opts.where[t.name]}` : '';
      hash.update(`${select}${where}\n`);
      const rows = db.prepare(`SELECT ${select} FROM "${t.name}"${where} ORDER BY ${order}`).raw(true);
      for (const row of rows.iterate() as Iterable<unknown[]>) hash.update(`${row.map(literal).join('|')}\n`);
      out[t.name] = hash.digest('hex');
    }
    return out;
  } finally {
    db.close();
  }
}

function literal(v: unknown): string {
  if (v === null) return 'N';
  if (Buffer.isBuffer(v)) return `B${v.toString('hex')}`;
  if (typeof v === 'number' || typeof v === 'bigint') return `I${String(v)}`;
  return `T${JSON.stringify(v)}`;
}

export interface SyncLogFigures {
  rows: number;
  maxId: number;
  /** sha256 of every row with id <= maxId of an earlier reading. */
  upTo(id: number): string;
  newRows(afterId: number): { status: string; records_pushed: number; records_pulled: number; conflicts: number }[];
  hourly: { syncs: number; failed: number; pushed: number; pulled: number };
}

/** sync_log is written for every sync, failed ones too (the guide's failure rate): read it apart from the rest. */
export function readSyncLog(file: string): SyncLogFigures {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const { rows, maxId } = db.prepare('SELECT COUNT(*) AS rows, COALESCE(MAX(id), 0) AS maxId FROM sync_log').get() as {
      rows: number;
      maxId: number;
    };
    const all = db.prepare('SELECT * FROM sync_log ORDER BY id').all() as Record<string, unknown>[];
    const hourly = db
      .prepare(
        'SELECT COALESCE(SUM(syncs),0) AS syncs, COALESCE(SUM(failed),0) AS failed, COALESCE(SUM(pushed),0) AS pushed, COALESCE(SUM(pulled),0) AS pulled FROM sync_log_hourly',
      )
      .get() as SyncLogFigures['hourly'];
    return {
      rows,
      maxId,
      upTo: (id) =>
        createHash('sha256')
          .update(JSON.stringify(all.filter((r) => (r.id as number) <= id)))
          .digest('hex'),
      newRows: (afterId) => all.filter((r) => (r.id as number) > afterId) as ReturnType<SyncLogFigures['newRows']>,
      hourly,
    };
  } finally {
    db.close();
  }
}
