import type Database from 'better-sqlite3';
import { prepared } from '../statements';

/** A value as SQLite stores it, and a master row by column name. */
export type MasterValue = string | number | null | bigint | Buffer;
export type MasterRow = Record<string, MasterValue>;

/** Per-column versions of a master row (`sync_row_meta`): what field-level merging compares. */
export interface RowMeta {
  base_seq: number;
  base_time: string;
  field_seqs: Record<string, number>;
  field_times: Record<string, string>;
  /** Per column: the lost version a give-back wrote it from (absent once anyone edits it). */
  field_given: Record<string, number>;
}

/** A push's first answer, kept so that a retry of the same batch is answered the same (idempotency). */
export interface StoredBatch {
  request_hash: string;
  response: string;
  user: string;
}

export interface ConflictInsert {
  table: string;
  rowId: string;
  detectedAt: string;
  kind: string;
  columns: string[];
  winner: 'server' | 'client';
  serverVersion: string | null;
  clientVersion: string | null;
  serverUpdatedBy: string | null;
  serverUpdatedAt: string | null;
  clientUser: string;
  clientId: string;
  clientUpdatedAt: string;
  batchId: string;
}

/** A synced table as the snapshot writes it: its CREATE statement and the protocol's columns. */
export interface SnapshotTable {
  name: string;
  createSql: string;
  columns: string[];
}

/**
 * The master's synced rows and the sync engine's bookkeeping beside them: push idempotency
 * (`sync_batches`), per-column versions (`sync_row_meta`), what a restore left (`sync_restore_base`,
 * `sync_gone`), recorded conflicts, pull pages, the first-sync snapshot and tombstone purges. The
 * sync service decides; this writes. Table and column names come from the registry, never from a
 * request.
 */
export interface MasterRowsRepository {
  findBatch(clientId: string, batchId: string): StoredBatch | undefined;
  saveBatch(b: { clientId: string; batchId: string; requestHash: string; response: string; user: string; createdAt: string }): void;

  getRow(table: string, id: string): MasterRow | undefined;
  insertRow(table: string, id: string, values: Record<string, MasterValue>, sync: Record<string, MasterValue>): void;
  /** Writes these columns and the row's sync columns (time, user, synced, version, deleted). */
  updateRow(
    table: string,
    id: MasterValue,
    columns: string[],
    values: MasterValue[],
    sync: { updatedAt: string; user: string; syncedAt: string; seq: number; deleted: 0 | 1 },
  ): void;
  markDeleted(table: string, id: string, time: string, user: string, syncedAt: string, seq: number): void;

  getMeta(table: string, id: string): RowMeta | null;
  writeMeta(table: string, id: MasterValue, m: RowMeta): void;

  keepRestoreBase(table: string, id: MasterValue, rowJson: string): void;
  restoreBase(table: string, id: string): MasterRow | undefined;
  goneSeq(table: string, id: string): number | undefined;
  markGone(table: string, id: string, seq: number, time: string, user: string): void;
  forgetGone(table: string, id: string): void;

  insertConflict(c: ConflictInsert): number;

  /** Rows of one table changed in (cursor, until], oldest first, the protocol's columns only. */
  changesAfter(table: string, columns: string[], cursor: number, until: number, limit: number): MasterRow[];
  /** Copies the live rows of every table into a new SQLite file, with its `snapshot_info`; the caller holds the read transaction. */
  writeSnapshot(file: string, tables: SnapshotTable[], info: Record<string, string>): number;
  /** Deletes the tombstones (and their row versions) synced before `cutoff`: how many, and the highest version removed. */
  purgeTombstones(table: string, cutoff: string): { removed: number; maxSeq: number };
  /** Forgets push answers and restore deletes older than `cutoff`. */
  purgeBookkeeping(cutoff: string): void;

  /** Whether a synced table holds any row (live or deleted). */
  hasRows(table: string): boolean;
  /** The n-th live row (by id) matching a fixed SQL condition of the demo's own: demo data only. */
  nthLiveRow(table: string, where: string, offset: number): MasterRow | undefined;
}

/** server.db's synced rows on SQLite; every statement prepared once per open handle. */
export class SqliteMasterRowsRepository implements MasterRowsRepository {
  constructor(private readonly db: () => Database.Database) {}

  private st(sql: string): Database.Statement {
    return prepared(this.db(), sql);
  }

  findBatch(clientId: string, batchId: string): StoredBatch | undefined {
    return this.st('SELECT request_hash, response, user FROM sync_batches WHERE client_id = ? AND batch_id = ?').get(clientId, batchId) as
      StoredBatch | undefined;
  }

  saveBatch(b: { clientId: string; batchId: string; requestHash: string; response: string; user: string; createdAt: string }): void {
    this.st('INSERT INTO sync_batches (client_id, batch_id, request_hash, response, user, created_at) VALUES (?, ?, ?, ?, ?, ?)').run(
      b.clientId,
      b.batchId,
      b.requestHash,
      b.response,
      b.user,
      b.createdAt,
    );
  }

  getRow(table: string, id: string): MasterRow | undefined {
    return this.st(`SELECT * FROM "${table}" WHERE id = ?`).get(id) as MasterRow | undefined;
  }

  /** Insert statements by table and column list, for the open handle: the hot path of a push of new rows builds no SQL text. */
  private inserts: { db: Database.Database | null; byColumns: Map<string, Database.Statement> } = { db: null, byColumns: new Map() };

  insertRow(table: string, id: string, values: Record<string, MasterValue>, sync: Record<string, MasterValue>): void {
    const db = this.db();
    if (this.inserts.db !== db) this.inserts = { db, byColumns: new Map() };
    const dataCols = Object.keys(values);
    const syncCols = Object.keys(sync);
    const key = `${table}\u0000${dataCols.join(',')}\u0000${syncCols.join(',')}`;
    let st = this.inserts.byColumns.get(key);
    if (!st) {
      const cols = ['id', ...dataCols, ...syncCols];
      st = prepared(db, `INSERT INTO "${table}" (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
      this.inserts.byColumns.set(key, st);
    }
    st.run(id, ...Object.values(values), ...Object.values(sync));
  }

  updateRow(
    table: string,
    id: MasterValue,
    columns: string[],
    values: MasterValue[],
    sync: { updatedAt: string; user: string; syncedAt: string; seq: number; deleted: 0 | 1 },
  ): void {
    const sets = [
      ...columns.map((c) => `"${c}" = ?`),
      'updated_at = ?',
      'updated_by = ?',
      'synced_at = ?',
      'server_seq = ?',
      'deleted = ?',
    ];
    this.st(`UPDATE "${table}" SET ${sets.join(', ')} WHERE id = ?`).run(
      ...values,
      sync.updatedAt,
      sync.user,
      sync.syncedAt,
      sync.seq,
      sync.deleted,
      id,
    );
  }

  markDeleted(table: string, id: string, time: string, user: string, syncedAt: string, seq: number): void {
    this.st(
      `UPDATE "${table}" SET deleted = 1, updated_at = max(updated_at, ?), updated_by = ?, synced_at = ?, server_seq = ? WHERE id = ?`,
    ).run(time, user, syncedAt, seq, id);
  }

  getMeta(table: string, id: string): RowMeta | null {
    const m = this.st(
      'SELECT base_seq, base_time, field_seqs, field_times, field_given FROM sync_row_meta WHERE table_name = ? AND row_id = ?',
    ).get(table, id) as { base_seq: number; base_time: string; field_seqs: string; field_times: string; field_given: string } | undefined;
    if (!m) return null;
    return {
      base_seq: m.base_seq,
      base_time: m.base_time,
      field_seqs: JSON.parse(m.field_seqs),
      field_times: JSON.parse(m.field_times),
      field_given: JSON.parse(m.field_given),
    };
  }

  writeMeta(table: string, id: MasterValue, m: RowMeta): void {
    this.st(
      `INSERT INTO sync_row_meta (table_name, row_id, base_seq, base_time, field_seqs, field_times, field_given) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(table_name, row_id) DO UPDATE SET field_seqs = excluded.field_seqs, field_times = excluded.field_times, field_given = excluded.field_given`,
    ).run(table, id, m.base_seq, m.base_time, JSON.stringify(m.field_seqs), JSON.stringify(m.field_times), JSON.stringify(m.field_given));
  }

  keepRestoreBase(table: string, id: MasterValue, rowJson: string): void {
    this.st('INSERT OR IGNORE INTO sync_restore_base (table_name, row_id, row_values) VALUES (?, ?, ?)').run(table, id, rowJson);
  }

  restoreBase(table: string, id: string): MasterRow | undefined {
    const kept = this.st('SELECT row_values FROM sync_restore_base WHERE table_name = ? AND row_id = ?').pluck().get(table, id) as
      string | undefined;
    return kept ? (JSON.parse(kept) as MasterRow) : undefined;
  }

  goneSeq(table: string, id: string): number | undefined {
    return this.st('SELECT seq FROM sync_gone WHERE table_name = ? AND row_id = ?').pluck().get(table, id) as number | undefined;
  }

  markGone(table: string, id: string, seq: number, time: string, user: string): void {
    this.st(
      `INSERT INTO sync_gone (table_name, row_id, seq, deleted_at, deleted_by) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(table_name, row_id) DO UPDATE SET seq = excluded.seq, deleted_at = excluded.deleted_at, deleted_by = excluded.deleted_by`,
    ).run(table, id, seq, time, user);
  }

  forgetGone(table: string, id: string): void {
    this.st('DELETE FROM sync_gone WHERE table_name = ? AND row_id = ?').run(table, id);
  }

  insertConflict(c: ConflictInsert): number {
    const info = this.st(
      `INSERT INTO sync_conflicts (table_name, row_id, detected_at, kind, columns, winner, server_version, client_version,
         server_updated_by, server_updated_at, client_user, client_id, client_updated_at, batch_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      c.table,
      c.rowId,
      c.detectedAt,
      c.kind,
      JSON.stringify(c.columns),
      c.winner,
      c.serverVersion,
      c.clientVersion,
      c.serverUpdatedBy,
      c.serverUpdatedAt,
      c.clientUser,
      c.clientId,
      c.clientUpdatedAt,
      c.batchId,
    );
    return Number(info.lastInsertRowid);
  }

  changesAfter(table: string, columns: string[], cursor: number, until: number, limit: number): MasterRow[] {
    const cols = columns.map((c) => `"${c}"`).join(', ');
    return this.st(`SELECT ${cols} FROM "${table}" WHERE server_seq > ? AND server_seq <= ? ORDER BY server_seq LIMIT ?`).all(
      cursor,
      until,
      limit,
    ) as MasterRow[];
  }

  writeSnapshot(file: string, tables: SnapshotTable[], info: Record<string, string>): number {
    const db = this.db();
    db.prepare('ATTACH DATABASE ? AS snap').run(file);
    try {
      return db.transaction(() => {
        let rows = 0;
        for (const t of tables) {
          db.exec(
            t.createSql.replace(
              /^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:"(?:[^"]|"")+"|\[[^\]]+\]|`[^`]+`|[^\s(]+)/i,
              `CREATE TABLE snap."${t.name.replace(/"/g, '""')}"`,
            ),
          );
          // By name: an adopted legacy table may hold extra columns of the old app, kept in the master only.
          const cols = t.columns.map((c) => `"${c}"`).join(', ');
          rows += db.prepare(`INSERT INTO snap."${t.name}" (${cols}) SELECT ${cols} FROM main."${t.name}" WHERE deleted = 0`).run().changes;
        }
        db.exec('CREATE TABLE snap.snapshot_info (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
        const insert = db.prepare('INSERT INTO snap.snapshot_info (key, value) VALUES (?, ?)');
        for (const [k, v] of Object.entries(info)) insert.run(k, v);
        return rows;
      })();
    } finally {
      db.exec('DETACH DATABASE snap');
    }
  }

  purgeTombstones(table: string, cutoff: string): { removed: number; maxSeq: number } {
    const top = this.st(`SELECT MAX(server_seq) AS m, COUNT(*) AS n FROM "${table}" WHERE deleted = 1 AND synced_at < ?`).get(cutoff) as {
      m: number | null;
      n: number;
    };
    if (!top.n) return { removed: 0, maxSeq: 0 };
    this.st(
      `DELETE FROM sync_row_meta WHERE table_name = ? AND row_id IN (SELECT id FROM "${table}" WHERE deleted = 1 AND synced_at < ?)`,
    ).run(table, cutoff);
    this.st(`DELETE FROM "${table}" WHERE deleted = 1 AND synced_at < ?`).run(cutoff);
    return { removed: top.n, maxSeq: top.m ?? 0 };
  }

  purgeBookkeeping(cutoff: string): void {
    this.st('DELETE FROM sync_batches WHERE created_at < ?').run(cutoff);
    this.st('DELETE FROM sync_gone WHERE deleted_at < ?').run(cutoff);
  }

  hasRows(table: string): boolean {
    return this.st(`SELECT 1 FROM "${table}" LIMIT 1`).get() !== undefined;
  }

  nthLiveRow(table: string, where: string, offset: number): MasterRow | undefined {
    return this.st(`SELECT * FROM "${table}" WHERE deleted = 0 AND ${where} ORDER BY id LIMIT 1 OFFSET ${Number(offset)}`).get() as
      MasterRow | undefined;
  }
}
