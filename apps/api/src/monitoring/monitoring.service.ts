import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import {
  ACTIVITY_TABLES,
  MONITORING_SQL,
  MasterStore,
  daysAgo,
  freeBytes,
  parseSqlTime,
  prepared,
  refreshActivityRollup,
  syncLogFilter,
  type SqlRun,
  type SyncLogFilter,
  sqlTime,
} from '@cacpq/db';
import type Database from 'better-sqlite3';
import * as fs from 'node:fs';
import type {
  ActiveUserRow,
  ActiveUsersQuery,
  ConflictSummaryQuery,
  ConflictSummaryRow,
  MonitoringHealth,
  SyncActivityPage,
  SyncActivityQuery,
  SyncStats,
  SyncStatsQuery,
  SyncTimeline,
  SyncTimelineHour,
  SyncTimelineQuery,
  UserDayRow,
  UserDaysQuery,
  WorkstationRow,
} from '@cacpq/sync-protocol';
import { SYNC_TIMELINE_MAX_DAYS } from '@cacpq/sync-protocol';
import { ApiException } from '../common/api-exception';
import { MaintenanceMode } from '../operations/maintenance-mode';
import { WorkstationClocks } from '../alerts/workstation-clocks';
import { SyncEvents } from '../sync/sync-events';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** The sync_log rows of (from, to] narrowed by the filters that are set, oldest first, through an index: percentiles need every duration. */
function timelineSql(filters: SyncLogFilter): SqlRun {
  const f = syncLogFilter(filters);
  return {
    sql: `SELECT strftime('%Y-%m-%d %H:00:00', timestamp) AS hour, status, conflicts, records_pulled, records_pushed, duration_ms
  FROM sync_log INDEXED BY ${f.index} WHERE ${['timestamp > ?', 'timestamp <= ?', ...f.where].join(' AND ')} ORDER BY timestamp`,
    args: f.args,
  };
}

/** Nearest-rank percentile of ascending `sorted`: the ceil(p/100·n)-th value. */
function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(1, Math.ceil((p * sorted.length) / 100)) - 1];
}

/**
 * The guide's monitoring queries, answered with the statements of `MONITORING_SQL` (libs/db): the
 * listing from `sync_log`'s indexes, the aggregates from the rollups beside it. Plus health.
 */
@Injectable()
export class MonitoringService implements OnApplicationBootstrap {
  constructor(
    private readonly store: MasterStore,
    private readonly maintenance: MaintenanceMode,
    private readonly syncEvents: SyncEvents,
    private readonly clocks: WorkstationClocks,
  ) {}

  /**
   * Files, the latest quick/integrity check, the last verified backup, disk, uptime, SQLite,
   * generation, maintenance mode and connected workstations, with the guide's health-check
   * judgements (no backup in 24 h, integrity not ok) as sentences.
   */
  health(now: Date = new Date()): MonitoringHealth {
    const hub = this.store.hubDb;
    const hours = (at: string) => Math.round(((now.getTime() - parseSqlTime(at).getTime()) / 3_600_000) * 10) / 10;
    const backup = hub
      .prepare(
        `SELECT name, created_at, check_kind FROM backups WHERE status = 'verified' AND kind <> 'pre-restore' ORDER BY created_at DESC LIMIT 1`,
      )
      .get() as { name: string; created_at: string; check_kind: string } | undefined;
    const integrityJob = hub
      .prepare(
        `SELECT id, finished_at, status, error FROM jobs WHERE type = 'integrity' AND status IN ('succeeded', 'failed') ORDER BY id DESC LIMIT 1`,
      )
      .get() as { id: number; finished_at: string; status: string; error: string | null } | undefined;
    // A verified backup is a consistent copy of every page of the master that passed quick_check.
    const candidates = [
      ...(integrityJob
        ? [
            {
              result: integrityJob.status === 'succeeded' ? 'ok' : (integrityJob.error ?? 'failed'),
              at: integrityJob.finished_at,
              source: `integrity job ${integrityJob.id}`,
            },
          ]
        : []),
      ...(backup ? [{ result: 'ok', at: backup.created_at, source: `${backup.check_kind} of backup ${backup.name}` }] : []),
    ].sort((a, b) => (a.at < b.at ? 1 : -1));
    const quickCheck = candidates[0] ? { ...candidates[0], ageHours: hours(candidates[0].at) } : null;
    const files = this.store.files().map((f) => ({ name: f.name, present: fs.existsSync(f.path), bytes: f.bytes, walBytes: f.walBytes }));
    const maintenance = this.maintenance.state;
    const problems: string[] = [];
    let status: MonitoringHealth['status'] = 'ok';
    const raise = (level: 'warning' | 'critical', sentence: string) => {
      problems.push(sentence);
      if (level === 'critical' || status === 'ok') status = level;
    };
    for (const f of files) if (!f.present) raise('critical', `${f.name} is missing from the data directory.`);
    if (quickCheck && quickCheck.result !== 'ok') raise('critical', `The last integrity check did not pass: ${quickCheck.result}`);
    if (!backup) raise('warning', 'No verified backup has been taken yet.');
    else if (hours(backup.created_at) > 24)
      raise('warning', `The last verified backup (${backup.name}) is ${Math.floor(hours(backup.created_at))} hours old.`);
    const free = freeBytes(this.store.layout.root);
    if (free < 2 * files.reduce((a, f) => a + f.bytes + f.walBytes, 0)) {
      raise('warning', 'Free disk is under twice the databases: backups and VACUUM may be refused.');
    }
    return {
      status,
      problems,
      files,
      quickCheck,
      lastVerifiedBackup: backup ? { name: backup.name, at: backup.created_at, ageHours: hours(backup.created_at) } : null,
      freeDiskBytes: free,
      uptimeSeconds: Math.round(process.uptime()),
      sqliteVersion: this.store.sqliteVersion,
      generation: this.store.generation,
      maintenance: { active: maintenance.active, reason: maintenance.reason, since: maintenance.since },
      connectedWorkstations: this.syncEvents.connected,
    };
  }

  /** Builds the activity rollup at start (once, on a master that has never had it), not at the first request. */
  onApplicationBootstrap(): void {
    try {
      refreshActivityRollup(this.db);
    } catch {
      // A master that is not open yet (maintenance) builds it at the first request instead.
    }
  }

  private get db() {
    return this.store.serverDb;
  }

  private stmt(sql: string): Database.Statement {
    return prepared(this.db, sql);
  }

  /** `from`/`to` as stored timestamps; `from` defaults to `defaultSpanMs` before `to`; an inverted range is a 400. */
  private range(q: { from?: string; to?: string }, defaultSpanMs: number): { from: string; to: string } {
    const to = q.to ? new Date(q.to) : new Date();
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - defaultSpanMs);
    if (from.getTime() >= to.getTime()) {
      throw new ApiException(
        'VALIDATION_FAILED',
        `The range is inverted or empty: from (${from.toISOString()}) must be before to (${to.toISOString()}).`,
      );
    }
    return { from: sqlTime(from), to: sqlTime(to) };
  }

  /** The guide's "Sync activity last 24 hours", for any range, filtered and paged (newest first). */
  syncActivity(q: SyncActivityQuery): SyncActivityPage {
    const { from, to } = this.range(q, DAY_MS);
    let after: { id: number; timestamp: string } | undefined;
    if (q.before !== undefined) {
      // Keyset paging in the listing's own order (timestamp, then id), from the previous page's last row.
      const last = this.stmt(MONITORING_SQL.activityCursor).get(q.before) as { timestamp: string } | undefined;
      if (!last)
        throw new ApiException(
          'VALIDATION_FAILED',
          `before=${q.before} is not a sync_log row (it may have been pruned); start again from the first page.`,
        );
      after = { id: q.before, timestamp: last.timestamp };
    }
    const run = MONITORING_SQL.activity({ from, to, user: q.user, clientId: q.clientId, status: q.status, limit: q.limit, after });
    const rows = this.stmt(run.sql).all(...run.args) as {
      id: number;
      sync_time: string;
      status: string;
      records_pulled: number;
      records_pushed: number;
      conflicts: number;
      duration_ms: number;
      user: string | null;
      client_id: string | null;
      error: string | null;
    }[];
    const page = rows.slice(0, q.limit);
    return {
      from,
      to,
      rows: page.map((r) => ({
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
      })),
      nextBefore: rows.length > q.limit ? page[page.length - 1].id : null,
    };
  }

  /** The guide's "Conflict summary last 7 days", for the last N days. */
  conflictSummary(q: ConflictSummaryQuery): ConflictSummaryRow[] {
    const run = MONITORING_SQL.conflictSummary(q.days);
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

  /** The guide's "Most active users (last 30 days)", for the last N days. */
  activeUsers(q: ActiveUsersQuery): ActiveUserRow[] {
    refreshActivityRollup(this.db);
    const run = MONITORING_SQL.activeUsers(q.days);
    const rows = this.stmt(run.sql).all(...run.args) as { updated_by: string | null; active_days: number; total_changes: number }[];
    return rows.map((r) => ({ updatedBy: r.updated_by, activeDays: r.active_days, totalChanges: r.total_changes }));
  }

  /** Success rate, average duration and totals over a range (default: the last 24 hours). */
  syncStats(q: SyncStatsQuery): SyncStats {
    const { from, to } = this.range(q, DAY_MS);
    const run = MONITORING_SQL.syncStats(from, to, q);
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
      from,
      to,
      syncs: r.syncs,
      succeeded: r.succeeded ?? 0,
      failed: r.failed ?? 0,
      successRate: r.syncs ? (r.succeeded ?? 0) / r.syncs : null,
      conflictRate: r.syncs ? (r.with_conflicts ?? 0) / r.syncs : null,
      avgDurationMs: r.avg_duration === null ? null : Math.round(r.avg_duration * 100) / 100,
      recordsPulled: r.pulled ?? 0,
      recordsPushed: r.pushed ?? 0,
      conflicts: r.conflicts ?? 0,
    };
  }

  /**
   * Per UTC hour of (from, to] (default the last 24 hours, at most SYNC_TIMELINE_MAX_DAYS): syncs
   * by status, conflicts, records pulled and pushed, p50/p95 duration. From the raw rows of the
   * range (one pass of the timestamp index), since percentiles cannot come from the hourly sums.
   */
  syncTimeline(q: SyncTimelineQuery): SyncTimeline {
    const { from, to } = this.range(q, DAY_MS);
    const fromMs = parseSqlTime(from).getTime();
    const toMs = parseSqlTime(to).getTime();
    if (toMs - fromMs > SYNC_TIMELINE_MAX_DAYS * DAY_MS) {
      const days = Math.ceil(((toMs - fromMs) / DAY_MS) * 10) / 10;
      throw new ApiException(
        'VALIDATION_FAILED',
        `The range spans ${days} days; the sync timeline covers at most ${SYNC_TIMELINE_MAX_DAYS} days: move from and to closer together.`,
      );
    }
    const hours = new Map<string, SyncTimelineHour & { durations: number[] }>();
    for (let h = Math.floor(fromMs / HOUR_MS) * HOUR_MS; h <= toMs; h += HOUR_MS) {
      const hour = sqlTime(new Date(h)).slice(0, 19);
      hours.set(hour, {
        hour,
        syncs: 0,
        byStatus: {},
        withConflicts: 0,
        conflicts: 0,
        recordsPulled: 0,
        recordsPushed: 0,
        p50DurationMs: null,
        p95DurationMs: null,
        durations: [],
      });
    }
    const statuses = new Set<string>();
    const timeline = timelineSql(q);
    const rows = this.stmt(timeline.sql).iterate(from, to, ...timeline.args) as IterableIterator<{
      hour: string | null;
      status: string;
      conflicts: number;
      records_pulled: number;
      records_pushed: number;
      duration_ms: number;
    }>;
    for (const r of rows) {
      const bucket = r.hour === null ? undefined : hours.get(r.hour);
      if (!bucket) continue;
      statuses.add(r.status);
      bucket.syncs += 1;
      bucket.byStatus[r.status] = (bucket.byStatus[r.status] ?? 0) + 1;
      if (r.conflicts > 0) bucket.withConflicts += 1;
      bucket.conflicts += r.conflicts;
      bucket.recordsPulled += r.records_pulled;
      bucket.recordsPushed += r.records_pushed;
      bucket.durations.push(r.duration_ms);
    }
    return {
      from,
      to,
      statuses: [...statuses].sort(),
      hours: [...hours.values()].map(({ durations, ...hour }) => {
        durations.sort((a, b) => a - b);
        return { ...hour, p50DurationMs: percentile(durations, 50), p95DurationMs: percentile(durations, 95) };
      }),
    };
  }

  /**
   * Changes per person per day over the last N days (the guide's "most active users" by day):
   * whole days from `activity_daily` (brought up to date first), the partial first day from the
   * tables' updated_at indexes. Oldest day first, then by person.
   */
  userDays(q: UserDaysQuery, now = Date.now()): UserDayRow[] {
    refreshActivityRollup(this.db);
    const since = daysAgo(q.days, now);
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
    const rows = this.stmt(sql).all({ since, edge }) as { day: string; updated_by: string | null; changes: number }[];
    return rows.map((r) => ({ day: r.day, updatedBy: r.updated_by, changes: r.changes }));
  }

  /** Last sync, its status and the number of syncs per user and workstation, most recent first. */
  workstations(): WorkstationRow[] {
    const run = MONITORING_SQL.workstations();
    const rows = this.stmt(run.sql).all(...run.args) as {
      user: string | null;
      client_id: string | null;
      last_sync: string;
      last_status: string;
      syncs: number;
    }[];
    const clocks = new Map(this.clocks.all().map((c) => [c.clientId, c]));
    return rows.map((r) => {
      const clock = r.client_id ? clocks.get(r.client_id) : undefined;
      return {
        user: r.user,
        clientId: r.client_id,
        lastSync: r.last_sync,
        lastStatus: r.last_status,
        syncs: r.syncs,
        clockOffsetMs: clock?.skewMs ?? null,
        clockMeasuredAt: clock?.measuredAt ?? null,
      };
    });
  }
}
