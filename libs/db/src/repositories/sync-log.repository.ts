import type Database from 'better-sqlite3';
import type { ConflictSummaryRow, SyncActivityPage } from '@cacpq/sync-protocol';
import { MONITORING_SQL, syncLogFilter, type SqlRun, type SyncLogFilter } from '../monitoring-queries';
import type { SyncLogRow } from '../entities/master.entities';
import { prepared } from '../statements';

// ============================================================================================
// Reads for monitoring and alerts (the monitoring endpoints, alert rules and metrics).
// The sync path's writes to sync_log are added beside these by the sync work; keep the two
// sections apart.
// ============================================================================================

/** One row of the activity listing. */
export type SyncActivityRow = SyncActivityPage['rows'][number];

/** Totals over a range of sync_log (one row). */
export interface SyncLogTotals {
  syncs: number;
  succeeded: number | null;
  failed: number | null;
  withConflicts: number | null;
  avgDurationMs: number | null;
  pulled: number | null;
  pushed: number | null;
  conflicts: number | null;
}

/** One sync as the timeline buckets it: its UTC hour and figures. */
export interface SyncTimelineRow {
  hour: string | null;
  status: string;
  conflicts: number;
  recordsPulled: number;
  recordsPushed: number;
  durationMs: number;
}

/** Per user and workstation: the last sync, its status, and how many. */
export interface SyncLogWorkstation {
  user: string | null;
  clientId: string | null;
  lastSync: string;
  lastStatus: string;
  syncs: number;
}

export interface SyncLogRepository {
  /** The newest sync's timestamp, or null before any. */
  lastSyncAt(): string | null;
  /** The last sync of each user (`user`) or workstation (`client_id`) the log names. */
  lastSeenBy(column: 'user' | 'client_id'): { who: string; last: string }[];
  /** The timestamp of one row (the activity listing's page cursor), or null when it is gone. */
  timestampOf(id: number): string | null;
  /** The activity listing over (from, to], newest first, at most `limit + 1` rows (one past the page). */
  activity(q: { from: string; to: string; limit: number; after?: { id: number; timestamp: string } } & SyncLogFilter): SyncActivityRow[];
  /** The guide's conflict summary, per day over the last N days. */
  conflictSummary(days: number): ConflictSummaryRow[];
  /** Totals over (from, to], optionally filtered. */
  totals(from: string, to: string, filters?: SyncLogFilter): SyncLogTotals;
  /** The rows of (from, to], oldest first, as the timeline needs them (streamed). */
  timeline(from: string, to: string, filters?: SyncLogFilter): IterableIterator<SyncTimelineRow>;
  /** Per user and workstation, most recent first. */
  workstations(): SyncLogWorkstation[];
}

/** The sync_log rows of (from, to] narrowed by the filters that are set, oldest first, through an index: percentiles need every duration. */
function timelineSql(filters: SyncLogFilter): SqlRun {
  const f = syncLogFilter(filters);
  return {
    sql: `SELECT strftime('%Y-%m-%d %H:00:00', timestamp) AS hour, status, conflicts, records_pulled, records_pushed, duration_ms
  FROM sync_log INDEXED BY ${f.index} WHERE ${['timestamp > ?', 'timestamp <= ?', ...f.where].join(' AND ')} ORDER BY timestamp`,
    args: f.args,
  };
}

export class SqliteSyncLogRepository implements SyncLogRepository {
  constructor(private readonly db: () => Database.Database) {}

  private stmt(sql: string): Database.Statement {
    return prepared(this.db(), sql);
  }

  lastSyncAt(): string | null {
    return (this.stmt('SELECT MAX(timestamp) AS last FROM sync_log').get() as { last: string | null }).last;
  }

  lastSeenBy(column: 'user' | 'client_id'): { who: string; last: string }[] {
    const col = column === 'user' ? 'user' : 'client_id';
    return this.stmt(`SELECT ${col} AS who, MAX(timestamp) AS last FROM sync_log WHERE ${col} IS NOT NULL GROUP BY ${col}`).all() as {
      who: string;
      last: string;
    }[];
  }

  timestampOf(id: number): string | null {
    return (this.stmt(MONITORING_SQL.activityCursor).get(id) as { timestamp: string } | undefined)?.timestamp ?? null;
  }

  activity(q: { from: string; to: string; limit: number; after?: { id: number; timestamp: string } } & SyncLogFilter): SyncActivityRow[] {
    const run = MONITORING_SQL.activity(q);
    // The guide's listing names the time column sync_time; the rest is the table's row.
    const rows = this.stmt(run.sql).all(...run.args) as (Omit<SyncLogRow, 'timestamp'> & { sync_time: string })[];
    return rows.map((r) => ({
      id: r.id,
      syncTime: r.sync_time,
      status: r.status,
      recordsPulled: r.records_pulled,
      recordsPushed: r.records_pushed,
      conflicts: r.conflicts,
      durationMs: r.duration_ms,
      user: r.user,
      clientId: r.client_id,
      error: r.error,
    }));
  }

  conflictSummary(days: number): ConflictSummaryRow[] {
    const run = MONITORING_SQL.conflictSummary(days);
    const rows = this.stmt(run.sql).all(...run.args) as {
      date: string;
      total_syncs: number;
      total_conflicts: number;
      avg_conflicts: number;
      failed_syncs: number;
    }[];
    return rows.map((r) => ({
      date: r.date,
      totalSyncs: r.total_syncs,
      totalConflicts: r.total_conflicts,
      avgConflicts: r.avg_conflicts,
      failedSyncs: r.failed_syncs,
    }));
  }

  totals(from: string, to: string, filters: SyncLogFilter = {}): SyncLogTotals {
    const run = MONITORING_SQL.syncStats(from, to, filters);
    const r = this.stmt(run.sql).get(...run.args) as {
      syncs: number;
      succeeded: number | null;
      failed: number | null;
      with_conflicts: number | null;
      avg_duration: number | null;
      pulled: number | null;
      pushed: number | null;
      conflicts: number | null;
    };
    return {
      syncs: r.syncs,
      succeeded: r.succeeded,
      failed: r.failed,
      withConflicts: r.with_conflicts,
      avgDurationMs: r.avg_duration,
      pulled: r.pulled,
      pushed: r.pushed,
      conflicts: r.conflicts,
    };
  }

  *timeline(from: string, to: string, filters: SyncLogFilter = {}): IterableIterator<SyncTimelineRow> {
    const run = timelineSql(filters);
    const rows = this.stmt(run.sql).iterate(from, to, ...run.args) as IterableIterator<{
      hour: string | null;
      status: string;
      conflicts: number;
      records_pulled: number;
      records_pushed: number;
      duration_ms: number;
    }>;
    for (const r of rows) {
      yield {
        hour: r.hour,
        status: r.status,
        conflicts: r.conflicts,
        recordsPulled: r.records_pulled,
        recordsPushed: r.records_pushed,
        durationMs: r.duration_ms,
      };
    }
  }

  workstations(): SyncLogWorkstation[] {
    const run = MONITORING_SQL.workstations();
    const rows = this.stmt(run.sql).all(...run.args) as {
      user: string | null;
      client_id: string | null;
      last_sync: string;
      last_status: string;
      syncs: number;
    }[];
    return rows.map((r) => ({ user: r.user, clientId: r.client_id, lastSync: r.last_sync, lastStatus: r.last_status, syncs: r.syncs }));
  }
}
