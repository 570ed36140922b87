import type Database from 'better-sqlite3';
import { prepared } from '../statements';

/** A `sync_conflicts` row: both versions of a concurrent edit, who and when, and its resolution. */
export interface ConflictRow {
  id: number;
  table_name: string;
  row_id: string;
  detected_at: string;
  kind: 'update' | 'delete-vs-update' | 'update-vs-delete';
  columns: string;
  winner: 'server' | 'client';
  server_version: string | null;
  client_version: string | null;
  server_updated_by: string | null;
  server_updated_at: string | null;
  client_user: string;
  client_id: string;
  client_updated_at: string;
  resolved_at: string | null;
  resolved_by: string | null;
  resolution: string | null;
}

export interface ConflictFilter {
  status?: 'open' | 'resolved' | 'all';
  table?: string;
  /** Paging: ids below this one. */
  before?: number;
  limit: number;
}

/** Recorded conflicts for review (the sync engine records them through the master rows repository). */
export interface ConflictsRepository {
  list(f: ConflictFilter): ConflictRow[];
  get(id: number): ConflictRow | undefined;
  resolve(id: number, at: string, by: string, resolution: string): void;
  openCount(): number;
}

export class SqliteConflictsRepository implements ConflictsRepository {
  constructor(private readonly db: () => Database.Database) {}

  list(f: ConflictFilter): ConflictRow[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (f.status === 'open') where.push('resolved_at IS NULL');
    if (f.status === 'resolved') where.push('resolved_at IS NOT NULL');
    if (f.table) {
      where.push('table_name = ?');
      args.push(f.table);
    }
    if (f.before) {
      where.push('id < ?');
      args.push(f.before);
    }
    return prepared(
      this.db(),
      `SELECT * FROM sync_conflicts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
    ).all(...args, f.limit) as ConflictRow[];
  }

  get(id: number): ConflictRow | undefined {
    return prepared(this.db(), 'SELECT * FROM sync_conflicts WHERE id = ?').get(id) as ConflictRow | undefined;
  }

  resolve(id: number, at: string, by: string, resolution: string): void {
    prepared(this.db(), 'UPDATE sync_conflicts SET resolved_at = ?, resolved_by = ?, resolution = ? WHERE id = ?').run(
      at,
      by,
      resolution,
      id,
    );
  }

  openCount(): number {
    return prepared(this.db(), 'SELECT COUNT(*) FROM sync_conflicts WHERE resolved_at IS NULL').pluck().get() as number;
  }
}
