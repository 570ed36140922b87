import type Database from 'better-sqlite3';
import type { SyncLogRow } from '../entities/master.entities';
import { prepared } from '../statements';

/** A `sync_log` row as written: the guide's columns plus user, client id and error. */
export type SyncLogEntry = SyncLogRow;

/** A new `sync_log` row. */
export interface SyncLogInsert {
  at: string;
  status: string;
  pushed: number;
  pulled: number;
  conflicts: number;
  durationMs: number;
  user: string;
  clientId: string;
  error: string | null;
}

/**
 * The sync path's writes to `sync_log`: one row per sync, opened by its push or first pull page and
 * completed by the pages after it. (Reads for monitoring and alerts are in sync-log.repository.)
 */
export interface SyncLogWritesRepository {
  insert(e: SyncLogInsert): number;
  addPulled(id: number, rows: number, durationMs: number): void;
  markFailed(id: number, error: string, durationMs: number): void;
  durationOf(id: number): number;
  entry(id: number): SyncLogEntry | undefined;
}

export class SqliteSyncLogWritesRepository implements SyncLogWritesRepository {
  constructor(private readonly db: () => Database.Database) {}

  insert(e: SyncLogInsert): number {
    const info = prepared(
      this.db(),
      `INSERT INTO sync_log (timestamp, status, records_pulled, records_pushed, conflicts, duration_ms, user, client_id, error)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(e.at, e.status, e.pulled, e.pushed, e.conflicts, e.durationMs, e.user, e.clientId, e.error);
    return Number(info.lastInsertRowid);
  }

  addPulled(id: number, rows: number, durationMs: number): void {
    prepared(this.db(), 'UPDATE sync_log SET records_pulled = records_pulled + ?, duration_ms = ? WHERE id = ?').run(rows, durationMs, id);
  }

  markFailed(id: number, error: string, durationMs: number): void {
    prepared(this.db(), `UPDATE sync_log SET status = 'error', error = ?, duration_ms = ? WHERE id = ?`).run(error, durationMs, id);
  }

  durationOf(id: number): number {
    return (prepared(this.db(), 'SELECT duration_ms FROM sync_log WHERE id = ?').pluck().get(id) as number | undefined) ?? 0;
  }

  entry(id: number): SyncLogEntry | undefined {
    return prepared(this.db(), 'SELECT * FROM sync_log WHERE id = ?').get(id) as SyncLogEntry | undefined;
  }
}
