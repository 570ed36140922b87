import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import {
  MasterStore,
  SqliteActivityRepository,
  SqliteBackupCatalogueRepository,
  SqliteJobsRepository,
  SqliteSyncLogRepository,
  freeBytes,
  parseSqlTime,
  sqlTime,
  type ActivityRepository,
  type BackupCatalogueRepository,
  type JobsRepository,
  type SyncLogRepository,
} from '@cacpq/db';
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
import { MaintenanceMode } from '../maintenance/maintenance-mode';
import { WorkstationClocks } from '../sync/workstation-clocks';
import { SyncEvents } from '../sync/sync-events';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

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
  private readonly syncLog: SyncLogRepository;
  private readonly activity: ActivityRepository;
  private readonly backups: BackupCatalogueRepository;
  private readonly jobs: JobsRepository;

  constructor(
    private readonly store: MasterStore,
    private readonly maintenance: MaintenanceMode,
    private readonly syncEvents: SyncEvents,
    private readonly clocks: WorkstationClocks,
  ) {
    this.syncLog = new SqliteSyncLogRepository(() => store.serverDb);
    this.activity = new SqliteActivityRepository(() => store.serverDb);
    this.backups = new SqliteBackupCatalogueRepository(() => store.hubDb);
    this.jobs = new SqliteJobsRepository(() => store.hubDb);
  }

  /**
   * Files, the latest quick/integrity check, the last verified backup, disk, uptime, SQLite,
   * generation, maintenance mode and connected workstations, with the guide's health-check
   * judgements (no backup in 24 h, integrity not ok) as sentences.
   */
  health(now: Date = new Date()): MonitoringHealth {
    const hours = (at: string) => Math.round(((now.getTime() - parseSqlTime(at).getTime()) / 3_600_000) * 10) / 10;
    const backup = this.backups.lastVerified();
    const integrityJob = this.jobs.lastFinished('integrity');
    // A verified backup is a consistent copy of every page of the master that passed quick_check.
    const candidates = [
      ...(integrityJob
        ? [
            {
              result: integrityJob.status === 'succeeded' ? 'ok' : (integrityJob.error ?? 'failed'),
              at: integrityJob.finishedAt,
              source: `integrity job ${integrityJob.id}`,
            },
          ]
        : []),
      ...(backup ? [{ result: 'ok', at: backup.createdAt, source: `${backup.check} of backup ${backup.name}` }] : []),
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
    else if (hours(backup.createdAt) > 24)
      raise('warning', `The last verified backup (${backup.name}) is ${Math.floor(hours(backup.createdAt))} hours old.`);
    const free = freeBytes(this.store.layout.root);
    if (free < 2 * files.reduce((a, f) => a + f.bytes + f.walBytes, 0)) {
      raise('warning', 'Free disk is under twice the databases: backups and VACUUM may be refused.');
    }
    return {
      status,
      problems,
      files,
      quickCheck,
      lastVerifiedBackup: backup ? { name: backup.name, at: backup.createdAt, ageHours: hours(backup.createdAt) } : null,
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
      this.activity.refresh();
    } catch {
      // A master that is not open yet (maintenance) builds it at the first request instead.
    }
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
      const last = this.syncLog.timestampOf(q.before);
      if (last === null)
        throw new ApiException(
          'VALIDATION_FAILED',
          `before=${q.before} is not a sync_log row (it may have been pruned); start again from the first page.`,
        );
      after = { id: q.before, timestamp: last };
    }
    const rows = this.syncLog.activity({ from, to, user: q.user, clientId: q.clientId, status: q.status, limit: q.limit, after });
    const page = rows.slice(0, q.limit);
    return {
      from,
      to,
      rows: page,
      nextBefore: rows.length > q.limit ? page[page.length - 1].id : null,
    };
  }

  /** The guide's "Conflict summary last 7 days", for the last N days. */
  conflictSummary(q: ConflictSummaryQuery): ConflictSummaryRow[] {
    return this.syncLog.conflictSummary(q.days);
  }

  /** The guide's "Most active users (last 30 days)", for the last N days. */
  activeUsers(q: ActiveUsersQuery): ActiveUserRow[] {
    this.activity.refresh();
    return this.activity.activeUsers(q.days);
  }

  /** Success rate, average duration and totals over a range (default: the last 24 hours). */
  syncStats(q: SyncStatsQuery): SyncStats {
    const { from, to } = this.range(q, DAY_MS);
    const r = this.syncLog.totals(from, to, q);
    return {
      from,
      to,
      syncs: r.syncs,
      succeeded: r.succeeded ?? 0,
      failed: r.failed ?? 0,
      successRate: r.syncs ? (r.succeeded ?? 0) / r.syncs : null,
      conflictRate: r.syncs ? (r.withConflicts ?? 0) / r.syncs : null,
      avgDurationMs: r.avgDurationMs === null ? null : Math.round(r.avgDurationMs * 100) / 100,
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
    for (const r of this.syncLog.timeline(from, to, q)) {
      const bucket = r.hour === null ? undefined : hours.get(r.hour);
      if (!bucket) continue;
      statuses.add(r.status);
      bucket.syncs += 1;
      bucket.byStatus[r.status] = (bucket.byStatus[r.status] ?? 0) + 1;
      if (r.conflicts > 0) bucket.withConflicts += 1;
      bucket.conflicts += r.conflicts;
      bucket.recordsPulled += r.recordsPulled;
      bucket.recordsPushed += r.recordsPushed;
      bucket.durations.push(r.durationMs);
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
    this.activity.refresh();
    return this.activity.userDays(q.days, now);
  }

  /** Last sync, its status and the number of syncs per user and workstation, most recent first. */
  workstations(): WorkstationRow[] {
    const rows = this.syncLog.workstations();
    const clocks = new Map(this.clocks.all().map((c) => [c.clientId, c]));
    return rows.map((r) => {
      const clock = r.clientId ? clocks.get(r.clientId) : undefined;
      return {
        user: r.user,
        clientId: r.clientId,
        lastSync: r.lastSync,
        lastStatus: r.lastStatus,
        syncs: r.syncs,
        clockOffsetMs: clock?.skewMs ?? null,
        clockMeasuredAt: clock?.measuredAt ?? null,
      };
    });
  }
}
