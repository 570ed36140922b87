import type Database from 'better-sqlite3';
import { sqlTime } from './time';

/**
 * The monitoring statements, in one place.
 *
 * - `GUIDE_SQL`: the guide's queries (see e2e/fixtures/guide-sql) with their fixed spans turned
 *   into parameters, run on the raw history. `cacpq bench monitoring` runs them as its baseline.
 * - `MONITORING_SQL`: what the endpoints run. The listing is the guide's query itself (an index
 *   range, see migration 1764300000000); the aggregates read the rollups of migration
 *   1764300000300 for whole hours or days and the raw rows only for a range's partial edges, so
 *   their cost no longer grows with the history. Tests compare their figures with `GUIDE_SQL`.
 */
export interface SqlRun {
  sql: string;
  args: unknown[];
}

/** One user, one workstation and/or one status of `sync_log`: the listing, statistics and timeline take them. */
export interface SyncLogFilter {
  user?: string;
  clientId?: string;
  status?: string;
}

/**
 * The `column = ?` conditions of the filters that are set, and the index that serves them with a
 * timestamp range: the narrowest one's (user, then workstation, then status; the timestamp index
 * without filters). Named, because with full statistics the planner was measured choosing worse.
 */
export function syncLogFilter(f: SyncLogFilter): { where: string[]; args: unknown[]; index: string } {
  const where: string[] = [];
  const args: unknown[] = [];
  for (const [col, v] of [
    ['user', f.user],
    ['client_id', f.clientId],
    ['status', f.status],
  ] as const) {
    if (v === undefined) continue;
    where.push(`${col} = ?`);
    args.push(v);
  }
  const index =
    f.user !== undefined
      ? 'idx_sync_log_user_timestamp'
      : f.clientId !== undefined
        ? 'idx_sync_log_client_id_timestamp'
        : f.status !== undefined
          ? 'idx_sync_log_status_timestamp'
          : 'idx_sync_log_timestamp';
  return { where, args, index };
}

export interface ActivityFilter extends SyncLogFilter {
  from: string;
  to: string;
  limit: number;
  /** The previous page's last row (keyset paging in the listing's order: timestamp, then id). */
  after?: { id: number; timestamp: string };
}

export const GUIDE_SQL = {
  /** The timestamp of a page's last row, for the next page. */
  activityCursor: 'SELECT timestamp FROM sync_log WHERE id = ?',

  /** The guide's "Sync activity last 24 hours", for any range, filtered, one row past the page. */
  activity(q: ActivityFilter): SqlRun {
    const filter = syncLogFilter(q);
    const where = ['timestamp > ?', 'timestamp <= ?', ...filter.where];
    const args: unknown[] = [q.from, q.to, ...filter.args];
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

  /** Totals over a range (one row), optionally for one user, workstation and/or status. */
  syncStats(from: string, to: string, filters: SyncLogFilter = {}): SqlRun {
    const f = syncLogFilter(filters);
    return {
      sql: `SELECT COUNT(*) AS syncs,
            SUM(CASE WHEN status = 'error' THEN 0 ELSE 1 END) AS succeeded,
            SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END) AS failed,
            SUM(CASE WHEN conflicts > 0 THEN 1 ELSE 0 END) AS with_conflicts,
            AVG(duration_ms) AS avg_duration,
            SUM(records_pulled) AS pulled, SUM(records_pushed) AS pushed, SUM(conflicts) AS conflicts
         FROM sync_log INDEXED BY ${f.index} WHERE ${['timestamp > ?', 'timestamp <= ?', ...f.where].join(' AND ')}`,
      args: [from, to, ...f.args],
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

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** `datetime('now', '-N days')` as SQLite writes it (whole seconds), for a given now. */
export function daysAgo(days: number, now: number): string {
  return sqlTime(new Date(Math.floor((now - days * DAY_MS) / 1000) * 1000)).slice(0, 19);
}

/** The first whole hour after `t` (a bucket starting at `t` itself is not wholly after it). */
function nextHour(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS + HOUR_MS;
}

const hourKey = (ms: number) => sqlTime(new Date(ms)).slice(0, 13);

/** The rollup's figures for one hour bucket, or for one raw row (the same columns). */
const RAW_AS_HOURLY = `1 AS syncs, status = 'error' AS failed, conflicts > 0 AS with_conflicts, conflicts,
  records_pulled AS pulled, records_pushed AS pushed, duration_ms`;
const HOURLY = 'syncs, failed, with_conflicts, conflicts, pulled, pushed, duration_ms';

/**
 * Rows of (from, to] in the hourly rollup's shape: whole hours from `sync_log_hourly`, the partial
 * hours at either end from `sync_log` itself; `to` null is open-ended (the guide's "since").
 */
function hourlyRange(from: string, fromMs: number, to: string | null, toMs: number | null, day: boolean): SqlRun {
  const dayOfHour = day ? 'substr(hour, 1, 10) AS date, ' : '';
  const dayOfRow = day ? 'DATE(timestamp) AS date, ' : '';
  const raw = (where: string) => `SELECT ${dayOfRow}${RAW_AS_HOURLY} FROM sync_log INDEXED BY idx_sync_log_timestamp WHERE ${where}`;
  const first = nextHour(fromMs);
  const last = toMs === null ? null : Math.floor(toMs / HOUR_MS) * HOUR_MS;
  if (last !== null && first >= last) {
    return { sql: raw('timestamp > ? AND timestamp <= ?'), args: [from, to] };
  }
  const parts = [
    `SELECT ${dayOfHour}${HOURLY} FROM sync_log_hourly WHERE hour >= ?${last === null ? '' : ' AND hour < ?'}`,
    raw('timestamp > ? AND timestamp < ?'),
  ];
  const args: unknown[] = [hourKey(first), ...(last === null ? [] : [hourKey(last)]), from, sqlTime(new Date(first))];
  if (last !== null) {
    parts.push(raw('timestamp >= ? AND timestamp <= ?'));
    args.push(sqlTime(new Date(last)), to);
  }
  return { sql: parts.join('\nUNION ALL\n'), args };
}

/** '+' || updated_by, or '' for none: the rollup's key for who made a change. */
const WHO = `ifnull('+' || updated_by, '')`;
export const ACTIVITY_TABLES = ['components', 'quotes', 'projects'] as const;

export const MONITORING_SQL = {
  activityCursor: GUIDE_SQL.activityCursor,
  activity: GUIDE_SQL.activity,

  /** The guide's conflict summary for the last N days (as `GUIDE_SQL.conflictSummary`), from the hourly rollup. */
  conflictSummary(days: number, now = Date.now()): SqlRun {
    const from = daysAgo(days, now);
    const rows = hourlyRange(from, Date.parse(`${from.replace(' ', 'T')}Z`), null, null, true);
    return {
      sql: `SELECT date, SUM(syncs) AS total_syncs, SUM(conflicts) AS total_conflicts,
              ROUND(CAST(SUM(conflicts) AS REAL) / SUM(syncs), 2) AS avg_conflicts, SUM(failed) AS failed_syncs
            FROM (${rows.sql}) GROUP BY date ORDER BY date DESC`,
      args: rows.args,
    };
  },

  /**
   * Totals over (from, to] (as `GUIDE_SQL.syncStats`), from the hourly rollup. The rollup has no
   * user, workstation or status: filtered totals read the raw rows through the filter's index
   * (one person's or workstation's month is a few thousand rows).
   */
  syncStats(from: string, to: string, filters: SyncLogFilter = {}): SqlRun {
    if (syncLogFilter(filters).where.length > 0) return GUIDE_SQL.syncStats(from, to, filters);
    const ms = (t: string) => Date.parse(`${t.replace(' ', 'T')}Z`);
    const rows = hourlyRange(from, ms(from), to, ms(to), false);
    return {
      sql: `SELECT ifnull(SUM(syncs), 0) AS syncs, SUM(syncs) - SUM(failed) AS succeeded, SUM(failed) AS failed,
              SUM(with_conflicts) AS with_conflicts, CAST(SUM(duration_ms) AS REAL) / SUM(syncs) AS avg_duration,
              SUM(pulled) AS pulled, SUM(pushed) AS pushed, SUM(conflicts) AS conflicts
            FROM (${rows.sql})`,
      args: rows.args,
    };
  },

  /**
   * The guide's most active users over the last N days (as `GUIDE_SQL.activeUsers`): whole days
   * from `activity_daily` (bring it up to date first: `refreshActivityRollup`), the partial first
   * day from the tables' updated_at indexes.
   */
  activeUsers(days: number, now = Date.now()): SqlRun {
    const since = daysAgo(days, now);
    const edge = sqlTime(new Date(Math.floor(Date.parse(`${since.replace(' ', 'T')}Z`) / DAY_MS) * DAY_MS + DAY_MS)).slice(0, 10);
    return {
      sql: `SELECT CASE WHEN who = '' THEN NULL ELSE substr(who, 2) END AS updated_by,
              COUNT(DISTINCT day) AS active_days, SUM(n) AS total_changes
            FROM (
              SELECT who, day, changes AS n FROM activity_daily WHERE day >= @edge AND changes > 0
              ${ACTIVITY_TABLES.map(
                (t) => `UNION ALL SELECT ${WHO}, DATE(updated_at), 1 FROM ${t} WHERE updated_at > @since AND updated_at < @edge`,
              ).join('\n              ')}
            )
            GROUP BY who
            ORDER BY total_changes DESC`,
      args: [{ since, edge }],
    };
  },

  /** Per user and workstation (as `GUIDE_SQL.workstations`), from the rollup the sync_log triggers keep. */
  workstations(): SqlRun {
    return {
      sql: `SELECT user, client_id, last_sync, last_status, syncs FROM sync_log_workstations ORDER BY last_sync DESC`,
      args: [],
    };
  },
};

/**
 * Brings `activity_daily` up to date with every change to components, quotes and projects since
 * the last call: each row changed since (a server_seq above the table's mark) moves its count from
 * the day and person it was counted under to its current ones. The first call builds it whole.
 * Returns the rows taken in.
 */
export function refreshActivityRollup(db: Database.Database): number {
  return db.transaction(() => {
    let taken = 0;
    for (const t of ACTIVITY_TABLES) {
      const mark = (db.prepare('SELECT seq FROM activity_marks WHERE tbl = ?').get(t) as { seq: number } | undefined)?.seq ?? 0;
      const top = (db.prepare(`SELECT MAX(server_seq) AS m FROM "${t}"`).get() as { m: number | null }).m ?? 0;
      if (top <= mark) continue;
      const range = { t, mark, top };
      db.prepare(
        `UPDATE activity_daily SET changes = changes - d.n FROM (
           SELECT r.day, r.who, COUNT(*) AS n FROM "${t}" c JOIN activity_rows r ON r.tbl = @t AND r.id = c.id
            WHERE c.server_seq > @mark AND c.server_seq <= @top GROUP BY r.day, r.who) AS d
          WHERE activity_daily.day = d.day AND activity_daily.who = d.who`,
      ).run(range);
      taken += db
        .prepare(
          `INSERT INTO activity_rows (tbl, id, day, who)
           SELECT @t, id, ifnull(DATE(updated_at), ''), ${WHO} FROM "${t}" WHERE server_seq > @mark AND server_seq <= @top
           ON CONFLICT(tbl, id) DO UPDATE SET day = excluded.day, who = excluded.who`,
        )
        .run(range).changes;
      db.prepare(
        `INSERT INTO activity_daily (day, who, changes)
         SELECT ifnull(DATE(updated_at), ''), ${WHO}, COUNT(*) FROM "${t}" WHERE server_seq > @mark AND server_seq <= @top GROUP BY 1, 2
         ON CONFLICT(day, who) DO UPDATE SET changes = changes + excluded.changes`,
      ).run(range);
      db.prepare('INSERT INTO activity_marks (tbl, seq) VALUES (@t, @top) ON CONFLICT(tbl) DO UPDATE SET seq = excluded.seq').run(range);
    }
    return taken;
  })();
}
