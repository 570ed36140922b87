import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import {
  MasterStore,
  SqliteAlertsRepository,
  SqliteBackupCatalogueRepository,
  SqliteJobsRepository,
  SqliteNumberUsesRepository,
  SqliteRefusalsRepository,
  SqliteWorkstationsRepository,
  SqliteSyncLogRepository,
  parseSqlTime,
  sqlTime,
  type AlertsRepository,
  type BackupCatalogueRepository,
  type JobsRepository,
  type NumberUsesRepository,
  type RefusalsRepository,
  type WorkstationsRepository,
  type SyncLogRepository,
} from '@cacpq/db';
import {
  ALERT_RULES,
  type AlertEvaluation,
  type AlertRule,
  type AlertSettings,
  type AlertSeverity,
  type AlertsQuery,
  type AlertView,
} from '@cacpq/sync-protocol';
import type { Logger } from 'pino';
import { ApiException } from '../common/api-exception';
import { LOGGER } from '../common/tokens';
import { SchemaService } from '../schema/schema.service';
import { DomainEvents } from '../events/domain-events';
import { GrowthService } from '../monitoring/growth.service';
import { MonitoringService } from '../monitoring/monitoring.service';
import { AlertNotifier } from './alert-notifier';
import { AlertSettingsService } from './alert-settings.service';
import { businessMsBetween, type BusinessHours } from './business-hours';
import { WorkstationClocks } from '../sync/workstation-clocks';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** One subject of one rule as judged now: firing or not, with the figure as a sentence. */
interface Finding {
  subject: string;
  firing: boolean;
  severity: AlertSeverity;
  message: string;
  details: Record<string, unknown>;
}

/**
 * The guide's alerts, evaluated on a schedule (`schedule.evaluate-alerts`, every five minutes by
 * default) and once at start: each rule judges its subjects against its threshold
 * (`alerts.*` settings); an alert opens when a subject crosses it and resolves when it no longer
 * does, at most one open alert per rule and subject. Opens and resolves are notified by webhook
 * and e-mail when configured.
 */
@Injectable()
export class AlertsService implements OnApplicationBootstrap {
  private readonly alerts: AlertsRepository;
  private readonly backups: BackupCatalogueRepository;
  private readonly jobs: JobsRepository;
  private readonly syncLog: SyncLogRepository;
  private readonly copies: WorkstationsRepository;
  private readonly numberUses: NumberUsesRepository;
  private readonly refusals: RefusalsRepository;

  constructor(
    private readonly store: MasterStore,
    private readonly settings: AlertSettingsService,
    private readonly monitoring: MonitoringService,
    private readonly growth: GrowthService,
    private readonly clocks: WorkstationClocks,
    private readonly notifier: AlertNotifier,
    private readonly schema: SchemaService,
    private readonly ops: DomainEvents,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.alerts = new SqliteAlertsRepository(() => store.hubDb);
    this.backups = new SqliteBackupCatalogueRepository(() => store.hubDb);
    this.jobs = new SqliteJobsRepository(() => store.hubDb);
    this.syncLog = new SqliteSyncLogRepository(() => store.serverDb);
    this.copies = new SqliteWorkstationsRepository(() => store.hubDb);
    this.numberUses = new SqliteNumberUsesRepository(() => store.hubDb);
    this.refusals = new SqliteRefusalsRepository(() => store.hubDb);
  }

  onApplicationBootstrap(): void {
    this.runScheduled(new Date());
  }

  /** For the scheduler: an evaluation whose failure is logged, never thrown. */
  runScheduled(now: Date): void {
    this.evaluate(now).catch((err: unknown) => this.logger.error({ err }, 'alert evaluation failed'));
  }

  /**
   * Judges every rule at `now`, opens and resolves alerts, and notifies (awaited, failures only
   * logged). Skipped while a restore or VACUUM holds the master.
   */
  async evaluate(now: Date = new Date()): Promise<AlertEvaluation> {
    const at = sqlTime(now);
    if (this.store.suspended) {
      this.logger.info({ reason: this.store.suspended }, 'alert evaluation skipped while the master is held');
      return { evaluatedAt: at, opened: [], resolved: [], open: this.countOpen() };
    }
    const s = this.settings.all();
    const judged = new Map<AlertRule, Finding[] | 'disabled'>();
    for (const rule of ALERT_RULES) {
      if (!s[`alerts.${rule}.enabled`]) {
        judged.set(rule, 'disabled');
        continue;
      }
      try {
        judged.set(rule, this.judge(rule, s, now));
      } catch (err) {
        // A rule that cannot be judged now leaves its alerts as they are.
        this.logger.warn({ err, rule }, 'alert rule could not be evaluated');
      }
    }
    const openedIds: number[] = [];
    const resolvedIds: number[] = [];
    this.alerts.transaction(() => {
      const openRows = this.alerts.open();
      const open = new Map(openRows.map((r) => [`${r.rule}\u0000${r.subject}`, r]));
      for (const [rule, findings] of judged) {
        const firing = new Set<string>();
        const calm = new Map<string, Finding>();
        if (findings !== 'disabled') {
          for (const f of findings) {
            if (!f.firing) {
              calm.set(f.subject, f);
              continue;
            }
            firing.add(f.subject);
            const row = open.get(`${rule}\u0000${f.subject}`);
            if (row) this.alerts.update(row.id, f, at);
            else
              openedIds.push(
                this.alerts.insert({ rule, subject: f.subject, severity: f.severity, message: f.message, details: f.details }, at),
              );
          }
        }
        for (const row of openRows) {
          if (row.rule !== rule || firing.has(row.subject)) continue;
          const why =
            findings === 'disabled'
              ? `The ${rule} rule was disabled.`
              : (calm.get(row.subject)?.message ??
                `${describeSubject(row.subject)} is no longer being checked (no longer in the sync log).`);
          this.alerts.resolve(row.id, why, at);
          resolvedIds.push(row.id);
        }
      }
      // Open alerts of rules that could not be judged keep their state but say when they were last looked at.
    });
    const opened = openedIds.map((id) => this.get(id));
    const resolved = resolvedIds.map((id) => this.get(id));
    for (const a of opened) this.logger.warn({ alert: a.id, rule: a.rule, subject: a.subject }, a.message);
    for (const a of resolved) this.logger.info({ alert: a.id, rule: a.rule, subject: a.subject }, `resolved: ${a.resolution}`);
    for (const a of opened) this.ops.publish('alert.opened', a);
    for (const a of resolved) this.ops.publish('alert.resolved', a);
    await this.notifyAll(opened, resolved, s);
    return {
      evaluatedAt: at,
      opened: opened.map((a) => this.get(a.id)),
      resolved: resolved.map((a) => this.get(a.id)),
      open: this.countOpen(),
    };
  }

  private async notifyAll(opened: AlertView[], resolved: AlertView[], s: AlertSettings): Promise<void> {
    if (!s['alerts.webhook.url'] && !(s['alerts.smtp.host'] && s['alerts.smtp.to'])) return;
    const events = [...opened.map((a) => ['alert.opened', a] as const), ...resolved.map((a) => ['alert.resolved', a] as const)];
    for (const [event, alert] of events) {
      try {
        if (await this.notifier.notify(event, alert, s)) this.alerts.markNotified(alert.id, sqlTime());
      } catch (err) {
        this.logger.warn({ err, alertId: alert.id }, 'alert notification failed');
      }
    }
  }

  private countOpen(): number {
    return this.alerts.countOpen();
  }

  // ---- rules ----------------------------------------------------------------------------

  private judge(rule: AlertRule, s: AlertSettings, now: Date): Finding[] {
    switch (rule) {
      case 'growth':
        return this.growthRule(s, now);
      case 'no-sync':
        return this.noSyncRule(s, now);
      case 'conflict-rate':
      case 'failure-rate':
        return this.rateRule(rule, s, now);
      case 'backup-age':
        return this.backupRule(s, now);
      case 'integrity':
        return this.integrityRule(now);
      case 'stale-user':
        return this.staleRule(s, now);
      case 'clock-skew':
        return this.clockRule(s);
      case 'workstation-copy':
        return this.copyRule(s, now);
      case 'duplicate-number':
        return this.duplicateNumberRule(s, now);
      case 'refused-changes':
        return this.refusedRule();
      case 'schema-ahead':
        return this.schemaAheadRule(s, now);
    }
  }

  /** Day-over-day growth of each file (the growth report's figure) over the threshold. */
  private growthRule(s: AlertSettings, now: Date): Finding[] {
    const limit = s['alerts.growth.pct'];
    return this.growth
      .report({ days: 2 }, now)
      .files.filter((f) => f.dayOverDayPct !== null)
      .map((f) => {
        const pct = f.dayOverDayPct!;
        const firing = pct > limit;
        return {
          subject: `file:${f.file}`,
          firing,
          severity: 'warning',
          message: `${f.file} grew ${fmt(pct)} % in a day, ${firing ? 'over' : 'within'} the ${fmt(limit)} % threshold.`,
          details: { file: f.file, dayOverDayPct: pct, thresholdPct: limit },
        };
      });
  }

  /**
   * No sync_log row for more than N hours of business time: only the time inside business hours
   * (days, start, end, in the configured zone) since the last sync counts, so a silent night or
   * weekend adds nothing, and the alert can only open during business hours.
   */
  private noSyncRule(s: AlertSettings, now: Date): Finding[] {
    const last = this.syncLog.lastSyncAt();
    if (!last) return [];
    const bh = this.settings.businessHours(s);
    const hours = s['alerts.no-sync.hours'];
    const lastAt = parseSqlTime(last);
    const silentMs = lastAt.getTime() < now.getTime() ? businessMsBetween(lastAt, now, bh, hours * HOUR + HOUR) : 0;
    const firing = silentMs > hours * HOUR;
    const since = `${localStamp(lastAt, bh)} ${bh.timeZone} time`;
    return [
      {
        subject: '',
        firing,
        severity: 'warning',
        message: firing
          ? `No workstation has synced for ${hm(silentMs)} of business hours (since ${since}), over the ${hours}-hour threshold.`
          : `The last sync was at ${since}, ${hm(silentMs)} of business hours ago, within the ${hours}-hour threshold.`,
        details: { lastSync: last, businessHoursSilent: round(silentMs / HOUR), thresholdHours: hours, ...describeHours(bh, s) },
      },
    ];
  }

  /** Share of syncs with conflicts (or failed) over the window, once it has enough syncs to judge. */
  private rateRule(rule: 'conflict-rate' | 'failure-rate', s: AlertSettings, now: Date): Finding[] {
    const windowHours = s['alerts.rates.windowHours'];
    const minSyncs = s['alerts.rates.minSyncs'];
    const limit = s[`alerts.${rule}.pct`];
    const stats = this.monitoring.syncStats({ from: new Date(now.getTime() - windowHours * HOUR).toISOString(), to: now.toISOString() });
    const count = rule === 'conflict-rate' ? Math.round((stats.conflictRate ?? 0) * stats.syncs) : stats.failed;
    const pct = stats.syncs ? (count / stats.syncs) * 100 : 0;
    const what = rule === 'conflict-rate' ? 'had conflicts' : 'failed';
    const enough = stats.syncs >= minSyncs;
    const firing = enough && pct > limit;
    return [
      {
        subject: '',
        firing,
        severity: 'warning',
        message: enough
          ? `${fmt(pct)} % of the ${stats.syncs} syncs in the last ${windowHours} hours ${what} (${count}), ${firing ? 'over' : 'within'} the ${fmt(limit)} % threshold.`
          : `Only ${stats.syncs} syncs in the last ${windowHours} hours, fewer than the ${minSyncs} needed to judge the rate.`,
        details: {
          syncs: stats.syncs,
          [rule === 'conflict-rate' ? 'withConflicts' : 'failed']: count,
          pct: round(pct),
          thresholdPct: limit,
          minSyncs,
          windowHours,
        },
      },
    ];
  }

  /** No verified backup (pre-restore snapshots aside) within the threshold. */
  private backupRule(s: AlertSettings, now: Date): Finding[] {
    const hours = s['alerts.backup-age.hours'];
    const b = this.backups.lastVerified();
    if (!b) {
      return [
        {
          subject: '',
          firing: true,
          severity: 'warning',
          message: `No verified backup has been taken yet (the threshold is ${hours} hours).`,
          details: { lastVerifiedBackup: null, thresholdHours: hours },
        },
      ];
    }
    const age = (now.getTime() - parseSqlTime(b.createdAt).getTime()) / HOUR;
    const firing = age > hours;
    return [
      {
        subject: '',
        firing,
        severity: age > 2 * hours ? 'critical' : 'warning',
        message: `The last verified backup (${b.name}) is ${fmt(age)} hours old, ${firing ? 'over' : 'within'} the ${hours}-hour threshold.`,
        details: { lastVerifiedBackup: b.name, at: b.createdAt, ageHours: round(age), thresholdHours: hours },
      },
    ];
  }

  /** The latest integrity job failed, or the health check is critical (a file missing, a check not ok). */
  private integrityRule(now: Date): Finding[] {
    const job = this.jobs.lastFinished('integrity');
    const health = this.monitoring.health(now);
    const problems: string[] = [];
    if (job?.status === 'failed')
      problems.push(`Integrity job ${job.id} failed at ${job.finishedAt} UTC: ${sentence(job.error ?? 'no reason given')}`);
    if (health.status === 'critical') problems.push(...health.problems);
    const firing = problems.length > 0;
    return [
      {
        subject: '',
        firing,
        severity: 'critical',
        message: firing
          ? `Integrity is not ok: ${problems.map(sentence).join(' ')}`
          : job
            ? `Integrity job ${job.id} passed at ${job.finishedAt} UTC and the health check is ${health.status}.`
            : `No integrity check has failed and the health check is ${health.status}.`,
        details: {
          integrityJob: job ? { id: job.id, status: job.status, finishedAt: job.finishedAt, error: job.error } : null,
          health: health.status,
          problems,
        },
      },
    ];
  }

  /** Each user and each workstation in the sync log that has not synced for N days. */
  private staleRule(s: AlertSettings, now: Date): Finding[] {
    const days = s['alerts.stale-user.days'];
    const out: Finding[] = [];
    for (const [kind, column] of [
      ['user', 'user'],
      ['workstation', 'client_id'],
    ] as const) {
      const rows = this.syncLog.lastSeenBy(column);
      for (const r of rows) {
        const idle = (now.getTime() - parseSqlTime(r.last).getTime()) / DAY;
        const firing = idle > days;
        const who = kind === 'user' ? `User ${r.who}` : `Workstation ${r.who}`;
        out.push({
          subject: `${kind}:${r.who}`,
          firing,
          severity: 'warning',
          message: `${who} last synced ${fmt(idle)} days ago (${r.last.slice(0, 16)} UTC), ${firing ? 'over' : 'within'} the ${days}-day threshold.`,
          details: { [kind]: r.who, lastSync: r.last, idleDays: round(idle), thresholdDays: days },
        });
      }
    }
    return out;
  }

  /** Each workstation whose clock, at its last push, was off from the server's by more than the tolerance. */
  private clockRule(s: AlertSettings): Finding[] {
    const tolerance = s['alerts.clock-skew.toleranceMinutes'];
    return this.clocks.all().map((c) => {
      const minutes = Math.abs(c.skewMs) / 60_000;
      const firing = minutes > tolerance;
      return {
        subject: `workstation:${c.clientId}`,
        firing,
        severity: 'warning',
        message: `Workstation ${c.clientId}'s clock was ${fmt(minutes)} minutes ${c.skewMs >= 0 ? 'ahead of' : 'behind'} the server's at its last push (${c.measuredAt.slice(0, 16)} UTC), ${firing ? 'over' : 'within'} the ${tolerance}-minute tolerance.`,
        details: { clientId: c.clientId, user: c.user, skewMs: c.skewMs, measuredAt: c.measuredAt, toleranceMinutes: tolerance },
      };
    });
  }

  /** Each copy of a workstation file noticed within the period: one alert naming both PCs. */
  private copyRule(s: AlertSettings, now: Date): Finding[] {
    const days = s['alerts.workstation-copy.days'];
    const since = sqlTime(new Date(now.getTime() - days * DAY));
    const rows = this.copies.copiesSince(since);
    return rows.map((r) => ({
      subject: `workstation:${r.new_client_id}`,
      firing: true,
      severity: 'warning',
      message: `A ${r.reason === 'rolled-back' ? 'older copy' : 'copy'} of workstation ${r.client_id}'s file (${r.user ?? 'unknown user'}) synced from ${r.copy_host ?? 'an unnamed PC'} at ${r.detected_at.slice(0, 16)} UTC, while ${r.client_id} is on ${r.original_host ?? 'an unnamed PC'}. The copy carries on as ${r.new_client_id} and its reserved numbers are void; check that both PCs should be syncing.`,
      details: { ...r, days },
    }));
  }

  /** Tables and columns workstations send that the master lacks (their app is newer): one alert each, until the master has it. */
  private schemaAheadRule(s: AlertSettings, now: Date): Finding[] {
    const days = s['alerts.schema-ahead.days'];
    return this.schema.stillAhead(sqlTime(new Date(now.getTime() - days * DAY))).map((r) => {
      const what = r.column !== null ? `the column ${r.table}.${r.column}` : `the table ${r.table}`;
      return {
        subject: `workstation:${r.clientId}:${r.table}${r.column !== null ? `.${r.column}` : ''}`,
        firing: true,
        severity: 'warning',
        message: `Workstation ${r.clientId} (${r.user}) sends ${what}, which the master does not have yet: its app is newer than the master's schema. Its changes wait on the workstation, nothing is lost; apply the app's migration on the Sync schema page (or cacpq schema apply) and they go through at its next sync.`,
        details: { ...r, days },
      };
    });
  }

  /** Changes the server refused, held back on their workstations, waiting for an admin. */
  private refusedRule(): Finding[] {
    const summary = this.refusals.openSummary();
    const open = { n: summary.open, ws: summary.workstations, since: summary.since };
    const firing = open.n > 0;
    return [
      {
        subject: '',
        firing,
        severity: 'warning',
        message: firing
          ? `${open.n} change${open.n === 1 ? '' : 's'} from ${open.ws} workstation${open.ws === 1 ? '' : 's'} ${open.n === 1 ? 'was' : 'were'} refused by the master and ${open.n === 1 ? 'is' : 'are'} held back (the oldest since ${open.since!.slice(0, 16)} UTC): take, fix or discard ${open.n === 1 ? 'it' : 'them'} on the Refused changes page.`
          : 'No refused change waits for an admin.',
        details: { open: open.n, workstations: open.ws, since: open.since },
      },
    ];
  }

  /** Numbers that two records use, registered within the period (two copies of one file spent one reserved block). */
  private duplicateNumberRule(s: AlertSettings, now: Date): Finding[] {
    const days = s['alerts.duplicate-number.days'];
    const since = sqlTime(new Date(now.getTime() - days * DAY));
    const numbers = this.numberUses.usedMoreThanOnceSince(since);
    return numbers.map((number) => {
      const by = this.numberUses.usesOf(number);
      // One use per record (two copies of a file hold the same record); where they are and who.
      const records = new Map<string, string[]>();
      for (const u of by) {
        const what = u.record_id ? `${u.record_table} ${u.record_id}` : `a record on ${u.client_id}`;
        records.set(what, [...(records.get(what) ?? []), `${u.client_id} (${u.user})`]);
      }
      const list = [...records].map(([what, where]) => `${what} on ${[...new Set(where)].join(' and ')}`);
      return {
        subject: `number:${number}`,
        firing: true,
        severity: 'critical',
        message: `Number ${number} is used by ${records.size} records: ${list.join('; ')}. Give all but one a new number.`,
        details: { number, uses: by },
      };
    });
  }

  // ---- listing and acknowledgement ------------------------------------------------------

  list(q: AlertsQuery): AlertView[] {
    return this.alerts.list(q);
  }

  get(id: number): AlertView {
    const alert = this.alerts.get(id);
    if (!alert) throw new ApiException('NOT_FOUND', `There is no alert ${id}.`);
    return alert;
  }

  acknowledge(id: number, by: string, now: Date = new Date()): AlertView {
    const a = this.get(id);
    if (a.acknowledgedAt) {
      throw new ApiException('ALREADY_EXISTS', `Alert ${id} was already acknowledged by ${a.acknowledgedBy} at ${a.acknowledgedAt} UTC.`);
    }
    this.alerts.acknowledge(id, by, sqlTime(now));
    return this.get(id);
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** A figure for a sentence: at most one decimal. */
function fmt(n: number): string {
  return String(Math.round(n * 10) / 10);
}

/** 4 h 01 min */
function hm(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

function sentence(s: string): string {
  const t = s.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

function describeSubject(subject: string): string {
  const [kind, name] = subject.split(/:(.*)/s);
  return name ? `${kind[0].toUpperCase()}${kind.slice(1)} ${name}` : 'The server';
}

function describeHours(bh: BusinessHours, s: AlertSettings): Record<string, unknown> {
  return {
    businessDays: s['alerts.businessHours.days'],
    businessStart: s['alerts.businessHours.start'],
    businessEnd: s['alerts.businessHours.end'],
    timeZone: bh.timeZone,
  };
}

/** `2026-11-20 17:00` in the business hours' zone. */
function localStamp(at: Date, bh: BusinessHours): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone: bh.timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  ) as Record<string, string>;
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}
