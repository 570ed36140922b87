import type Database from 'better-sqlite3';
import type { ActiveUserRow, UserDayRow } from '@cacpq/sync-protocol';
import { ACTIVITY_TABLES, MONITORING_SQL, daysAgo, refreshActivityRollup } from '../monitoring-queries';
import { prepared } from '../statements';
import { parseSqlTime, sqlTime } from '../time';

const DAY_MS = 86_400_000;

/** Who changed components, quotes and projects, per day: server.db's `activity_daily` rollup and the tables' updated_at. */
export interface ActivityRepository {
  /** Brings the rollup up to date with every change since the last call; returns the rows taken in. */
  refresh(): number;
  /** The guide's most active users over the last N days (refresh first). */
  activeUsers(days: number, now?: number): ActiveUserRow[];
  /** Changes per person per day over the last N days, oldest day first, then by person (refresh first). */
  userDays(days: number, now?: number): UserDayRow[];
}

export class SqliteActivityRepository implements ActivityRepository {
  constructor(private readonly db: () => Database.Database) {}

  refresh(): number {
    return refreshActivityRollup(this.db());
  }

  activeUsers(days: number, now = Date.now()): ActiveUserRow[] {
    const run = MONITORING_SQL.activeUsers(days, now);
    const rows = prepared(this.db(), run.sql).all(...run.args) as {
      updated_by: string | null;
      active_days: number;
      total_changes: number;
    }[];
    return rows.map((r) => ({ updatedBy: r.updated_by, activeDays: r.active_days, totalChanges: r.total_changes }));
  }

  userDays(days: number, now = Date.now()): UserDayRow[] {
    const since = daysAgo(days, now);
    const edge = sqlTime(new Date(Math.floor(parseSqlTime(since).getTime() / DAY_MS) * DAY_MS + DAY_MS)).slice(0, 10);
    const sql = `SELECT day, CASE WHEN who = '' THEN NULL ELSE substr(who, 2) END AS updated_by, SUM(n) AS changes
      FROM (
        SELECT day, who, changes AS n FROM activity_daily WHERE day >= @edge AND changes > 0
        ${ACTIVITY_TABLES.map(
          (t) =>
            `UNION ALL SELECT DATE(updated_at), ifnull('+' || updated_by, ''), 1 FROM "${t}" WHERE updated_at > @since AND updated_at < @edge`,
        ).join('\n        ')}
      )
      GROUP BY day, who
      ORDER BY day, who`;
    const rows = prepared(this.db(), sql).all({ since, edge }) as { day: string; updated_by: string | null; changes: number }[];
    return rows.map((r) => ({ day: r.day, updatedBy: r.updated_by, changes: r.changes }));
  }
}
