import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { MONITORING_SQL, MasterStore, freeBytes, parseSqlTime, refreshActivityRollup, sqlTime } from '@cacpq/db';
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
  WorkstationRow,
} from '@cacpq/sync-protocol';
import { ApiException } from '../common/api-exception';
import { MaintenanceMode } from '../operations/maintenance-mode';
import { SyncEvents } from '../sync/sync-events';

const DAY_MS = 86_400_000;

/**
 * The guide's monitoring queries, answered with the statements of `MONITORING_SQL` (libs/db): the
 * listing from `sync_log`'s indexes, the aggregates from the rollups beside it. Plus health.
 */
@Injectable()
export class MonitoringService implements OnApplicationBootstrap {
  /** Statements prepared once per open database (a restore reopens it). */
  private readonly statements = new WeakMap<Database.Database, Map<string, Database.Statement>>();

  constructor(
    private readonly store: MasterStore,
    private readonly maintenance: MaintenanceMode,
    private readonly syncEvents: SyncEvents,
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
    const db = this.db;
    let cache = this.statements.get(db);
    if (!cache) this.statements.set(db, (cache = new Map()));
    let stmt = cache.get(sql);
    if (!stmt) cache.set(sql, (stmt = db.prepare(sql)));
    return stmt;
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
    const run = MONITORING_SQL.syncStats(from, to);
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
    return rows.map((r) => ({ user: r.user, clientId: r.client_id, lastSync: r.last_sync, lastStatus: r.last_status, syncs: r.syncs }));
  }
}
