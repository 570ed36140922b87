import type Database from 'better-sqlite3';
import { prepared } from '../statements';

/** A `sync_refusals` row (hub.db): a change the server refused, kept until fixed or resolved. */
export interface RefusalRow {
  id: number;
  client_id: string;
  user: string;
  table_name: string;
  row_id: string;
  op: 'upsert' | 'delete';
  column_name: string | null;
  code: string;
  message: string;
  value: string | null;
  overridable: number;
  change: string | null;
  first_seen_at: string;
  last_seen_at: string;
  times: number;
  status: string;
  resolved_at: string | null;
  resolved_by: string | null;
  resolution: string | null;
}

/** What is stored of one refusal (the change as JSON text, or null when too large to keep). */
export interface RefusalWrite {
  user: string;
  op: 'upsert' | 'delete';
  column: string | null;
  code: string;
  message: string;
  value: string | null;
  overridable: boolean;
  change: string | null;
  at: string;
}

/** Refused changes waiting for an admin: one open row per workstation and master row. */
export interface RefusalsRepository {
  /** Runs several writes as one transaction. */
  transaction<T>(fn: () => T): T;
  openRows(): Pick<RefusalRow, 'client_id' | 'table_name' | 'row_id'>[];
  openId(clientId: string, table: string, rowId: string): number | undefined;
  insert(clientId: string, table: string, rowId: string, w: RefusalWrite): number;
  /** The same row refused again: the newest refusal, seen once more. */
  update(id: number, w: RefusalWrite): void;
  closeFixed(clientId: string, table: string, rowId: string, at: string, by: string, resolution: string): void;
  list(f: { status?: 'open' | 'resolved' | 'all'; before?: number; limit: number }): RefusalRow[];
  get(id: number): RefusalRow | undefined;
  change(id: number): string | null;
  /** Closes an open refusal; false when it was not open. */
  close(id: number, status: string, at: string, by: string, resolution: string): boolean;
  /** For the alert: how many wait, from how many workstations, the oldest since when. */
  openSummary(): { open: number; workstations: number; since: string | null };
}

export class SqliteRefusalsRepository implements RefusalsRepository {
  constructor(private readonly db: () => Database.Database) {}

  transaction<T>(fn: () => T): T {
    return this.db().transaction(fn)();
  }

  openRows(): Pick<RefusalRow, 'client_id' | 'table_name' | 'row_id'>[] {
    return prepared(this.db(), `SELECT client_id, table_name, row_id FROM sync_refusals WHERE status = 'open'`).all() as RefusalRow[];
  }

  openId(clientId: string, table: string, rowId: string): number | undefined {
    return prepared(this.db(), `SELECT id FROM sync_refusals WHERE client_id = ? AND table_name = ? AND row_id = ? AND status = 'open'`)
      .pluck()
      .get(clientId, table, rowId) as number | undefined;
  }

  insert(clientId: string, table: string, rowId: string, w: RefusalWrite): number {
    return Number(
      prepared(
        this.db(),
        `INSERT INTO sync_refusals (client_id, user, table_name, row_id, op, column_name, code, message, value, overridable, change, first_seen_at, last_seen_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(clientId, w.user, table, rowId, w.op, w.column, w.code, w.message, w.value, w.overridable ? 1 : 0, w.change, w.at, w.at)
        .lastInsertRowid,
    );
  }

  update(id: number, w: RefusalWrite): void {
    prepared(
      this.db(),
      `UPDATE sync_refusals SET user = ?, op = ?, column_name = ?, code = ?, message = ?, value = ?, overridable = ?, change = ?,
         last_seen_at = ?, times = times + 1 WHERE id = ?`,
    ).run(w.user, w.op, w.column, w.code, w.message, w.value, w.overridable ? 1 : 0, w.change, w.at, id);
  }

  closeFixed(clientId: string, table: string, rowId: string, at: string, by: string, resolution: string): void {
    prepared(
      this.db(),
      `UPDATE sync_refusals SET status = 'fixed', resolved_at = ?, resolved_by = ?, resolution = ?
       WHERE client_id = ? AND table_name = ? AND row_id = ? AND status = 'open'`,
    ).run(at, by, resolution, clientId, table, rowId);
  }

  list(f: { status?: 'open' | 'resolved' | 'all'; before?: number; limit: number }): RefusalRow[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (f.status === 'open') where.push(`status = 'open'`);
    if (f.status === 'resolved') where.push(`status <> 'open'`);
    if (f.before) {
      where.push('id < ?');
      args.push(f.before);
    }
    return prepared(
      this.db(),
      `SELECT * FROM sync_refusals ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
    ).all(...args, f.limit) as RefusalRow[];
  }

  get(id: number): RefusalRow | undefined {
    return prepared(this.db(), 'SELECT * FROM sync_refusals WHERE id = ?').get(id) as RefusalRow | undefined;
  }

  change(id: number): string | null {
    return (prepared(this.db(), 'SELECT change FROM sync_refusals WHERE id = ?').pluck().get(id) as string | null | undefined) ?? null;
  }

  close(id: number, status: string, at: string, by: string, resolution: string): boolean {
    return (
      prepared(
        this.db(),
        `UPDATE sync_refusals SET status = ?, resolved_at = ?, resolved_by = ?, resolution = ? WHERE id = ? AND status = 'open'`,
      ).run(status, at, by, resolution, id).changes > 0
    );
  }

  openSummary(): { open: number; workstations: number; since: string | null } {
    const r = prepared(
      this.db(),
      `SELECT COUNT(*) AS n, COUNT(DISTINCT client_id) AS ws, MIN(first_seen_at) AS since FROM sync_refusals WHERE status = 'open'`,
    ).get() as { n: number; ws: number; since: string | null };
    return { open: r.n, workstations: r.ws, since: r.since };
  }
}
