import type Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import type { PushValue, ServerFeature, TableInfo, WorkstationClonedDetails } from '@cacpq/sync-protocol';
import { SyncError } from './errors';
import { LOCAL_SCHEMA_VERSION, dataColumns, installSdkTables, quoteIdent as q, triggerSql } from './local-schema';
import type { HeldChange, Row, StateKey, SyncSummary } from './types';
import { MAX_SAFE, fromWire, toWire } from './wire';

/**
 * The workstation's file as the SDK keeps it: its state (`_sync_state`), the outbox its triggers
 * fill, the changes held back, and the master's rows written into it. Nothing here speaks to the
 * server; the push, the pull and the re-initialisation work through it.
 */
export class LocalStore {
  private readonly stmts = new Map<string, Database.Statement>();
  private hasStateTable = false;
  /** The sync in progress (its counter and id go on every request), or null between syncs. */
  current: { id: string; counter: number } | null = null;

  constructor(readonly db: Database.Database) {}

  /** Whether the file has its state table yet (a new file gets it with its first state). */
  get hasState(): boolean {
    return this.hasStateTable;
  }

  /** The features the server announced were read again: forget what was cached. */
  forgetFeatures(): void {
    this.featureCache = null;
  }

  /** A file written by an older SDK: new tables, exact-base triggers, a file identity. Its outbox is kept as it is. */
  upgrade(): void {
    if (Number(this.getState('local_schema') ?? 1) >= LOCAL_SCHEMA_VERSION && this.getState('file_id')) return;
    this.db.transaction(() => {
      installSdkTables(this.db);
      for (const table of this.tables) this.db.exec(triggerSql(table));
      if (!this.getState('file_id')) this.setState('file_id', randomUUID());
      this.setState('local_schema', String(LOCAL_SCHEMA_VERSION));
    })();
  }

  /** Prepared once per SQL text: the hot loops run the same few statements thousands of times. */
  stmt(sql: string): Database.Statement {
    let st = this.stmts.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.stmts.set(sql, st);
    }
    return st;
  }

  getState(key: StateKey): string | null {
    if (!this.hasStateTable) {
      this.hasStateTable = !!this.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sync_state'`).get();
      if (!this.hasStateTable) return null;
    }
    return (this.stmt('SELECT value FROM _sync_state WHERE key = ?').get(key) as { value: string | null } | undefined)?.value ?? null;
  }

  setState(key: StateKey, value: string | null): void {
    if (!this.hasStateTable) {
      this.db.exec('CREATE TABLE IF NOT EXISTS _sync_state (key TEXT PRIMARY KEY NOT NULL, value TEXT)');
      this.hasStateTable = true;
    }
    if (value === null) this.stmt('DELETE FROM _sync_state WHERE key = ?').run(key);
    else
      this.stmt('INSERT INTO _sync_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  /**
   * A sync starts: the file's sync counter goes up by one, written with a full fsync before the first
   * request, so it never goes back after a power cut. A copy of this file shows itself by a counter
   * the server has seen already.
   */
  beginSync(id: string): void {
    const counter = Number(this.getState('sync_counter') ?? 0) + 1;
    this.db.pragma('synchronous = FULL');
    try {
      this.setState('sync_counter', String(counter));
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
    this.current = { id, counter };
  }

  private tablesCache: TableInfo[] | null = null;
  private featureCache: Set<string> | null = null;

  /** Whether the server announced a feature (an older server gets only what it understands). */
  serverHas(feature: ServerFeature): boolean {
    this.featureCache ??= new Set(JSON.parse(this.getState('features') ?? '[]') as string[]);
    return this.featureCache.has(feature);
  }

  get tables(): TableInfo[] {
    this.tablesCache ??= JSON.parse(this.getState('tables') ?? '[]') as TableInfo[];
    return this.tablesCache;
  }

  /** The tables this workstation syncs from now on (after a schema change): every cached statement over them goes. */
  setTables(tables: TableInfo[]): void {
    this.setState('tables', JSON.stringify(tables));
    this.tablesCache = null;
    this.columnCache.clear();
    this.dataColumnCache.clear();
    this.rowStatements.clear();
    this.upserts.clear();
    this.untypedCache.clear();
  }

  /** A synced table, or undefined when this file does not sync it (a table newer than this app). */
  findTable(name: string): TableInfo | undefined {
    return this.tables.find((x) => x.name === name);
  }

  /**
   * Changes held back because the master's schema lacked their table or column (SCHEMA_AHEAD) go
   * back into the outbox: the schema changed, they may go through now. Returns how many rows.
   */
  releaseSchemaAhead(): number {
    const rows = this.stmt(`SELECT table_name, row_id FROM _sync_quarantine WHERE code = 'SCHEMA_AHEAD'`).all() as {
      table_name: string;
      row_id: string;
    }[];
    if (rows.length === 0) return 0;
    this.db.transaction(() => {
      for (const r of rows) this.release(r.table_name, r.row_id, true);
    })();
    return rows.length;
  }

  table(name: string): TableInfo {
    const t = this.tables.find((x) => x.name === name);
    if (!t) throw new SyncError('UNKNOWN_TABLE', `The local file has no synced table ${name}.`);
    return t;
  }

  /** Runs `fn` with change capture off: what the server sends is not sent back. */
  applying<T>(fn: () => T): T {
    return this.db.transaction(() => {
      this.stmt(`INSERT OR REPLACE INTO _sync_state (key, value) VALUES ('applying', '1')`).run();
      try {
        return fn();
      } finally {
        this.stmt(`DELETE FROM _sync_state WHERE key = 'applying'`).run();
      }
    })();
  }

  heldCount(): number {
    return (this.stmt('SELECT COUNT(*) AS n FROM _sync_quarantine').get() as { n: number }).n;
  }

  /** The changes held back on this workstation, oldest first: what the server refused, and why. */
  quarantine(): HeldChange[] {
    return (
      this.stmt('SELECT * FROM _sync_quarantine ORDER BY held_at, table_name, row_id').all() as {
        table_name: string;
        row_id: string;
        op: 'upsert' | 'delete';
        column_name: string | null;
        code: string;
        message: string;
        refusal_id: number | null;
        held_at: string;
      }[]
    ).map((r) => ({
      table: r.table_name,
      id: r.row_id,
      op: r.op,
      column: r.column_name,
      code: r.code,
      message: r.message,
      refusalId: r.refusal_id,
      heldAt: r.held_at,
    }));
  }

  /**
   * This file is a copy of another workstation's (a re-imaged PC, an old copy put back): it takes
   * the new client id the server gave and a new file identity; its unused reserved numbers are void
   * (the other copy holds the same ones). Batches sent under the old id are built again.
   */
  reidentify(d: WorkstationClonedDetails): SyncSummary['reidentified'] {
    const from = this.getState('client_id') ?? d.clientId;
    this.db.transaction(() => {
      this.setState('client_id', d.newClientId);
      this.setState('file_id', randomUUID());
      this.setState('sync_counter', '0');
      this.stmt('DELETE FROM _sync_numbers WHERE used_at IS NULL').run();
      this.stmt('DELETE FROM _sync_pending').run();
    })();
    return { from, to: d.newClientId, reason: d.reason };
  }

  recordResult(status: 'success' | 'error', error: string | null): void {
    this.setState('last_sync_at', new Date().toISOString());
    this.setState('last_status', status);
    this.setState('last_error', error);
  }

  /** Each changed column's value before this workstation's first edit of it, per row, exactly (outbox and held entries). */
  bases(
    entries: { seq: number; table_name: string; row_id: string; changed: string; old_values: string | null }[],
  ): Map<string, Record<string, PushValue>> {
    const out = new Map<string, Record<string, PushValue>>();
    if (entries.length === 0) return out;
    const exact = new Map<number, Record<string, unknown>>();
    const lo = Math.min(...entries.map((e) => e.seq));
    const hi = Math.max(...entries.map((e) => e.seq));
    for (const source of ['_sync_outbox_base', '_sync_held_base']) {
      const rows = this.stmt(`SELECT seq, col, value FROM ${source} WHERE seq >= ? AND seq <= ?`).safeIntegers(true).all(lo, hi) as {
        seq: bigint;
        col: string;
        value: unknown;
      }[];
      for (const r of rows) {
        const seq = Number(r.seq);
        let m = exact.get(seq);
        if (!m) exact.set(seq, (m = {}));
        m[r.col] = r.value;
      }
    }
    for (const e of [...entries].sort((a, b) => a.seq - b.seq)) {
      const key = `${e.table_name}\u0000${e.row_id}`;
      let base = out.get(key);
      if (!base) out.set(key, (base = {}));
      // Files of version 1: the JSON the old trigger wrote (15 significant digits for REALs).
      const old = exact.get(e.seq) ?? (e.old_values ? (JSON.parse(e.old_values) as Record<string, unknown>) : {});
      for (const c of e.changed.split(',')) if (c && !(c in base) && c in old) base[c] = toWire(old[c]);
    }
    return out;
  }

  /** The row's values as the wire carries them: exact (a BLOB or an integer beyond 2^53 read again, tagged). */
  readRow(table: TableInfo, id: string): Record<string, PushValue> | undefined {
    const row = this.rowStatement(table).get(id) as Record<string, unknown> | undefined;
    if (!row) return undefined;
    let exact: Record<string, unknown> | null = null;
    for (const k in row) {
      const v = row[k];
      if (typeof v === 'number' ? v > MAX_SAFE || v < -MAX_SAFE : v !== null && typeof v === 'object') {
        exact ??= this.rowStatement(table).safeIntegers(true).get(id) as Record<string, unknown>;
        this.rowStatement(table).safeIntegers(false);
        row[k] = toWire(exact[k]);
      }
    }
    return row as Record<string, PushValue>;
  }

  /** The largest body this workstation sends: the server's limit, less room for the envelope. */
  get maxBodyBytes(): number {
    const limit = Number(this.getState('max_body_bytes') ?? 0);
    return limit > 0 ? Math.floor(limit * 0.95) : Number.POSITIVE_INFINITY;
  }

  /**
   * Holds back every change of a row the server refused for what it is: its outbox entries and bases
   * move to the quarantine, with the server's reason, until the row is edited here again or an
   * admin decides on the server.
   */
  hold(items: Omit<HeldChange, 'heldAt'>[]): HeldChange[] {
    const at = new Date().toISOString();
    const held: HeldChange[] = [];
    this.db.transaction(() => {
      for (const it of items) {
        this.stmt(`INSERT OR REPLACE INTO _sync_held SELECT * FROM _sync_outbox WHERE table_name = ? AND row_id = ?`).run(it.table, it.id);
        this.stmt(
          `INSERT OR REPLACE INTO _sync_held_base SELECT b.* FROM _sync_outbox_base b JOIN _sync_outbox o ON o.seq = b.seq WHERE o.table_name = ? AND o.row_id = ?`,
        ).run(it.table, it.id);
        this.stmt(`DELETE FROM _sync_outbox_base WHERE seq IN (SELECT seq FROM _sync_outbox WHERE table_name = ? AND row_id = ?)`).run(
          it.table,
          it.id,
        );
        this.stmt('DELETE FROM _sync_outbox WHERE table_name = ? AND row_id = ?').run(it.table, it.id);
        this.stmt(
          `INSERT OR REPLACE INTO _sync_quarantine (table_name, row_id, op, column_name, code, message, refusal_id, held_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(it.table, it.id, it.op, it.column, it.code, it.message, it.refusalId, at);
        held.push({ ...it, heldAt: at });
      }
    })();
    return held;
  }

  /** A held row edited here again goes back into the outbox with everything it held: its new edit may be the fix. */
  releaseEdited(): void {
    if (this.heldCount() === 0) return;
    const edited = this.stmt(
      `SELECT q.table_name, q.row_id FROM _sync_quarantine q WHERE EXISTS (SELECT 1 FROM _sync_outbox o WHERE o.table_name = q.table_name AND o.row_id = q.row_id)`,
    ).all() as { table_name: string; row_id: string }[];
    if (edited.length === 0) return;
    this.db.transaction(() => {
      for (const r of edited) this.release(r.table_name, r.row_id, true);
    })();
  }

  /** Ends a row's quarantine: its held entries go back into the outbox, or are dropped (an admin decided). */
  release(table: string, id: string, back: boolean): void {
    if (back) {
      this.stmt(
        `INSERT OR REPLACE INTO _sync_outbox_base SELECT b.* FROM _sync_held_base b JOIN _sync_held h ON h.seq = b.seq WHERE h.table_name = ? AND h.row_id = ?`,
      ).run(table, id);
      this.stmt('INSERT OR REPLACE INTO _sync_outbox SELECT * FROM _sync_held WHERE table_name = ? AND row_id = ?').run(table, id);
    }
    this.stmt(`DELETE FROM _sync_held_base WHERE seq IN (SELECT seq FROM _sync_held WHERE table_name = ? AND row_id = ?)`).run(table, id);
    this.stmt('DELETE FROM _sync_held WHERE table_name = ? AND row_id = ?').run(table, id);
    this.stmt('DELETE FROM _sync_quarantine WHERE table_name = ? AND row_id = ?').run(table, id);
  }

  /**
   * Values the master stores in another form than this workstation sent them (a date-time in
   * SQLite's): written here too, but for columns edited again since the batch was built.
   */
  writeStored(table: string, id: string, stored: Record<string, unknown>, afterSeq: number): void {
    const edited = new Set(
      (
        this.stmt('SELECT changed FROM _sync_outbox WHERE table_name = ? AND row_id = ? AND seq > ?')
          .pluck()
          .all(table, id, afterSeq) as string[]
      ).flatMap((c) => c.split(',')),
    );
    const known = new Set(this.dataColumnNames(this.table(table)));
    const cols = Object.keys(stored).filter((c) => known.has(c) && !edited.has(c));
    if (cols.length === 0) return;
    this.stmt(`UPDATE ${q(table)} SET ${cols.map((c) => `${q(c)} = ?`).join(', ')} WHERE id = ?`).run(
      ...cols.map((c) => fromWire(stored[c])),
      id,
    );
  }

  // ---------------------------------------------------------------- applying the master's rows

  /** Whether pulled rows can be written straight: nothing pending, and which rows are held back. */
  quickApplyFlags(): { noPending: boolean; noTombstones: boolean; held: Set<string> | null } {
    const heldRows =
      this.heldCount() > 0
        ? (this.stmt('SELECT table_name, row_id FROM _sync_quarantine').all() as { table_name: string; row_id: string }[])
        : [];
    return {
      noPending: !this.stmt('SELECT 1 FROM _sync_outbox LIMIT 1').get(),
      noTombstones: !this.stmt('SELECT 1 FROM _sync_tombstones LIMIT 1').get(),
      held: heldRows.length > 0 ? new Set(heldRows.map((r) => `${r.table_name}\u0000${r.row_id}`)) : null,
    };
  }

  /**
   * Writes the master's version of a row locally. Columns with local changes not yet pushed (or held
   * back) are kept (they go up at the next push, based on this version); a server delete of a row
   * with local changes waits for that push, where the server records the conflict.
   */
  /** Returns whether the row now stands at `seq` here (false when a local delete not yet pushed kept it deleted). */
  applyRow(
    table: TableInfo,
    values: Row,
    seq: number,
    deleted: boolean,
    skipUpTo = 0,
    quick: { noPending: boolean; noTombstones: boolean; held: Set<string> | null } = { noPending: false, noTombstones: false, held: null },
  ): boolean {
    const id = values.id as string;
    const checkHeld = !quick.noPending || quick.held?.has(`${table.name}\u0000${id}`) === true;
    const pending = !checkHeld
      ? []
      : (this.stmt(
          `SELECT op, changed FROM _sync_outbox WHERE table_name = ? AND row_id = ? AND seq > ?
           UNION ALL SELECT op, changed FROM _sync_held WHERE table_name = ? AND row_id = ?`,
        ).all(table.name, id, skipUpTo, table.name, id) as {
          op: string;
          changed: string;
        }[]);
    if (deleted) {
      if (pending.length > 0) return false;
      this.stmt(`DELETE FROM ${q(table.name)} WHERE id = ?`).run(id);
      this.stmt('INSERT OR REPLACE INTO _sync_tombstones (table_name, row_id, seq, deleted_at) VALUES (?, ?, ?, ?)').run(
        table.name,
        id,
        seq,
        (values.updated_at as string) ?? null,
      );
      return true;
    }
    // A row deleted here and not yet pushed stays deleted: the delete goes up and the server decides.
    if (pending.some((p) => p.op === 'delete')) return false;
    const keep =
      pending.length === 0
        ? null
        : new Set(
            pending.some((p) => p.op !== 'update') ? dataColumns(table) : pending.flatMap((p) => p.changed.split(',').filter(Boolean)),
          );
    const cols = this.columnNames(table);
    const untyped = this.untypedColumns(table);
    const args = new Array<unknown>(cols.length);
    for (let i = 0; i < cols.length; i++) {
      const c = cols[i];
      const v = c === 'server_seq' ? seq : values[c];
      // A BLOB or an integer beyond 2^53 of legacy data arrives tagged: written as SQLite holds it.
      args[i] = v === undefined ? null : v !== null && typeof v === 'object' ? fromWire(v) : v;
      // A whole number in a column without a declared type stays an INTEGER (a JS number binds as REAL).
      if (untyped !== null && untyped[i] && typeof v === 'number' && Number.isSafeInteger(v)) args[i] = BigInt(v);
    }
    this.upsertStatement(table, keep).run(...args);
    if (!quick.noTombstones) this.stmt('DELETE FROM _sync_tombstones WHERE table_name = ? AND row_id = ?').run(table.name, id);
    if (pending.length > 0) {
      this.stmt('UPDATE _sync_outbox SET base_version = ? WHERE table_name = ? AND row_id = ? AND seq > ?').run(
        seq,
        table.name,
        id,
        skipUpTo,
      );
    }
    return true;
  }

  private readonly columnCache = new Map<string, string[]>();
  private readonly dataColumnCache = new Map<string, string[]>();
  private readonly rowStatements = new Map<string, Database.Statement>();

  dataColumnNames(table: TableInfo): string[] {
    let cols = this.dataColumnCache.get(table.name);
    if (!cols) {
      cols = dataColumns(table);
      this.dataColumnCache.set(table.name, cols);
    }
    return cols;
  }

  rowStatement(table: TableInfo): Database.Statement {
    let st = this.rowStatements.get(table.name);
    if (!st) {
      // Exactly the data columns: the row read is the `values` object sent.
      st = this.db.prepare(`SELECT ${this.dataColumnNames(table).map(q).join(', ')} FROM ${q(table.name)} WHERE id = ?`);
      this.rowStatements.set(table.name, st);
    }
    return st;
  }

  private readonly untypedCache = new Map<string, boolean[] | null>();

  /** Per column (in {@link columnNames} order): no declared type (`any`); null when the table has none. */
  untypedColumns(table: TableInfo): boolean[] | null {
    let flags = this.untypedCache.get(table.name);
    if (flags === undefined) {
      flags = table.columns.some((c) => c.type === 'any') ? table.columns.map((c) => c.type === 'any') : null;
      this.untypedCache.set(table.name, flags);
    }
    return flags;
  }

  columnNames(table: TableInfo): string[] {
    let cols = this.columnCache.get(table.name);
    if (!cols) {
      cols = table.columns.map((c) => c.name);
      this.columnCache.set(table.name, cols);
    }
    return cols;
  }

  private readonly upserts = new Map<string, Database.Statement>();

  /** The upsert of a pulled row; columns with unpushed local changes (`keep`) are left as they are. */
  upsertStatement(table: TableInfo, keep: Set<string> | null): Database.Statement {
    const key = `${table.name}\u0000${keep ? [...keep].sort().join(',') : '*'}`;
    let st = this.upserts.get(key);
    if (!st) {
      const cols = this.columnNames(table);
      const assign = cols.filter((c) => c !== 'id' && !keep?.has(c));
      st = this.db.prepare(`INSERT INTO ${q(table.name)} (${cols.map(q).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})
        ON CONFLICT(id) DO UPDATE SET ${assign.map((c) => `${q(c)} = excluded.${q(c)}`).join(', ')}`);
      this.upserts.set(key, st);
    }
    return st;
  }
}
