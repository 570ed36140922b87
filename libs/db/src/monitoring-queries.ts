/**
 * The monitoring statements, in one place: the API's monitoring endpoints run them and
 * `cacpq bench monitoring` runs the very same text as its baseline. Each is the guide's query (see
 * e2e/fixtures/guide-sql) with its fixed spans turned into parameters.
 */
export interface SqlRun {
  sql: string;
  args: unknown[];
}

export interface ActivityFilter {
  from: string;
  to: string;
  user?: string;
  clientId?: string;
  status?: string;
  limit: number;
  /** The previous page's last row (keyset paging in the listing's order: timestamp, then id). */
  after?: { id: number; timestamp: string };
}

export const MONITORING_SQL = {
  /** The timestamp of a page's last row, for the next page. */
  activityCursor: 'SELECT timestamp FROM sync_log WHERE id = ?',

  /** The guide's "Sync activity last 24 hours", for any range, filtered, one row past the page. */
  activity(q: ActivityFilter): SqlRun {
    const where = ['timestamp > ?', 'timestamp <= ?'];
    const args: unknown[] = [q.from, q.to];
    for (const [col, v] of [
      ['user', q.user],
      ['client_id', q.clientId],
      ['status', q.status],
    ] as const) {
      if (v === undefined) continue;
      where.push(`${col} = ?`);
      args.push(v);
    }
    if (q.after) {
      where.push('(timestamp < ? OR (timestamp = ? AND id < ?))');
      args.push(q.after.timestamp, q.after.timestamp, q.after.id);
    }
    return {
      sql: `SELECT id, datetime(timestamp) AS sync_time, status, records_pulled, records_pushed, conflicts, duration_ms, user, client_id, error
         FROM sync_log WHERE ${where.join(' AND ')} ORDER BY timestamp DESC, id DESC LIMIT ?`,
      args: [...args, q.limit + 1],
    };
  },

  /**
   * The guide's "Conflict summary last 7 days", for the last N days. Range totals name the
   * timestamp index: with full statistics (after the monthly ANALYZE) the planner was measured
   * skip-scanning the (user|client_id, timestamp) indexes instead, 2-3x slower.
   */
  conflictSummary(days: number): SqlRun {
    return {
      sql: `SELECT
            DATE(timestamp) as date,
            COUNT(*) as total_syncs,
            SUM(conflicts) as total_conflicts,
            ROUND(AVG(conflicts), 2) as avg_conflicts,
            SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END) as failed_syncs
        FROM sync_log INDEXED BY idx_sync_log_timestamp
        WHERE timestamp > datetime('now', ?)
        GROUP BY DATE(timestamp)
        ORDER BY date DESC`,
      args: [`-${days} days`],
    };
  },

  /** The guide's "Most active users (last 30 days)", for the last N days. */
  activeUsers(days: number): SqlRun {
    return {
      sql: `SELECT
            updated_by,
            COUNT(DISTINCT DATE(updated_at)) as active_days,
            COUNT(*) as total_changes
        FROM (
            SELECT updated_by, updated_at FROM components WHERE updated_at > datetime('now', @span)
            UNION ALL
            SELECT updated_by, updated_at FROM quotes WHERE updated_at > datetime('now', @span)
            UNION ALL
            SELECT updated_by, updated_at FROM projects WHERE updated_at > datetime('now', @span)
        )
        GROUP BY updated_by
        ORDER BY total_changes DESC`,
      args: [{ span: `-${days} days` }],
    };
  },

  /** Totals over a range (one row). */
  syncStats(from: string, to: string): SqlRun {
    return {
      sql: `SELECT COUNT(*) AS syncs,
            SUM(CASE WHEN status = 'error' THEN 0 ELSE 1 END) AS succeeded,
            SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END) AS failed,
            SUM(CASE WHEN conflicts > 0 THEN 1 ELSE 0 END) AS with_conflicts,
            AVG(duration_ms) AS avg_duration,
            SUM(records_pulled) AS pulled, SUM(records_pushed) AS pushed, SUM(conflicts) AS conflicts
         FROM sync_log INDEXED BY idx_sync_log_timestamp WHERE timestamp > ? AND timestamp <= ?`,
      args: [from, to],
    };
  },

  /** Per user and workstation: SQLite takes the bare `status` from the row holding MAX(timestamp). */
  workstations(): SqlRun {
    return {
      sql: `SELECT user, client_id, MAX(timestamp) AS last_sync, status AS last_status, COUNT(*) AS syncs
         FROM sync_log GROUP BY user, client_id ORDER BY last_sync DESC`,
      args: [],
    };
  },
};
