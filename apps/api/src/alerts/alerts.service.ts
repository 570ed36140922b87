import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { MasterStore, parseSqlTime, sqlTime } from '@cacpq/db';
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
import { OpsEvents } from '../operations/ops-events';
import { GrowthService } from '../monitoring/growth.service';
import { MonitoringService } from '../monitoring/monitoring.service';
import { NUMBER_USER } from '../numbers/numbers.service';
import { AlertNotifier } from './alert-notifier';
import { AlertSettingsService } from './alert-settings.service';
import { businessMsBetween, type BusinessHours } from './business-hours';
import { WorkstationClocks } from './workstation-clocks';

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

interface AlertRow {
  id: number;
  rule: AlertRule;
  subject: string;
  severity: AlertSeverity;
  opened_at: string;
  resolved_at: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  message: string;
  resolution: string | null;
  details: string;
  last_evaluated_at: string;
  notified_at: string | null;
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
  constructor(
    private readonly store: MasterStore,
    private readonly settings: AlertSettingsService,
    private readonly monitoring: MonitoringService,
    private readonly growth: GrowthService,
    private readonly clocks: WorkstationClocks,
    private readonly notifier: AlertNotifier,
    private readonly ops: OpsEvents,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.runScheduled(new Date());
  }

  /** For the scheduler: an evaluation whose failure is logged, never thrown. */
  runScheduled(now: Date): void {
    this.evaluate(now).catch((err: unknown) => this.logger.error({ err }, 'alert evaluation failed'));
  }

  private get hub() {
    return this.store.hubDb;
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
    this.hub.transaction(() => {
      const openRows = this.hub.prepare('SELECT * FROM alerts WHERE resolved_at IS NULL').all() as AlertRow[];
      const open = new Map(openRows.map((r) => [`${r.rule}\u0000${r.subject}`, r]));
      const insert = this.hub.prepare(
        `INSERT INTO alerts (rule, subject, severity, opened_at, message, details, last_evaluated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      );
      const update = this.hub.prepare(`UPDATE alerts SET severity = ?, message = ?, details = ?, last_evaluated_at = ? WHERE id = ?`);
      const resolve = this.hub.prepare(`UPDATE alerts SET resolved_at = ?, resolution = ?, last_evaluated_at = ? WHERE id = ?`);
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
            if (row) update.run(f.severity, f.message, JSON.stringify(f.details), at, row.id);
            else
              openedIds.push(Number(insert.run(rule, f.subject, f.severity, at, f.message, JSON.stringify(f.details), at).lastInsertRowid));
          }
        }
        for (const row of openRows) {
          if (row.rule !== rule || firing.has(row.subject)) continue;
          const why =
            findings === 'disabled'
              ? `The ${rule} rule was disabled.`
              : (calm.get(row.subject)?.message ??
                `${describeSubject(row.subject)} is no longer being checked (no longer in the sync log).`);
          resolve.run(at, why, at, row.id);
          resolvedIds.push(row.id);
        }
      }
      // Open alerts of rules that could not be judged keep their state but say when they were last looked at.
    })();
    const opened = openedIds.map((id) => this.get(id));
    const resolved = resolvedIds.map((id) => this.get(id));
    for (const a of opened) this.logger.warn({ alert: a.id, rule: a.rule, subject: a.subject }, a.message);
    for (const a of resolved) this.logger.info({ alert: a.id, rule: a.rule, subject: a.subject }, `resolved: ${a.resolution}`);
    for (const a of opened) this.ops.alertOpened(a);
    for (const a of resolved) this.ops.alertResolved(a);
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
    const mark = this.hub.prepare('UPDATE alerts SET notified_at = ? WHERE id = ?');
    const events = [...opened.map((a) => ['alert.opened', a] as const), ...resolved.map((a) => ['alert.resolved', a] as const)];
    for (const [event, alert] of events) {
      try {
        if (await this.notifier.notify(event, alert, s)) mark.run(sqlTime(), alert.id);
      } catch (err) {
        this.logger.warn({ err, alertId: alert.id }, 'alert notification failed');
      }
    }
  }

  private countOpen(): number {
    return this.hub.prepare('SELECT COUNT(*) FROM alerts WHERE resolved_at IS NULL').pluck().get() as number;
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
    const last = this.store.serverDb.prepare('SELECT MAX(timestamp) FROM sync_log').pluck().get() as string | null;
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
    const b = this.hub
      .prepare(`SELECT name, created_at FROM backups WHERE status = 'verified' AND kind <> 'pre-restore' ORDER BY created_at DESC LIMIT 1`)
      .get() as { name: string; created_at: string } | undefined;
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
    const age = (now.getTime() - parseSqlTime(b.created_at).getTime()) / HOUR;
    const firing = age > hours;
    return [
      {
        subject: '',
        firing,
        severity: age > 2 * hours ? 'critical' : 'warning',
        message: `The last verified backup (${b.name}) is ${fmt(age)} hours old, ${firing ? 'over' : 'within'} the ${hours}-hour threshold.`,
        details: { lastVerifiedBackup: b.name, at: b.created_at, ageHours: round(age), thresholdHours: hours },
      },
    ];
  }

  /** The latest integrity job failed, or the health check is critical (a file missing, a check not ok). */
  private integrityRule(now: Date): Finding[] {
    const job = this.hub
      .prepare(
        `SELECT id, finished_at, status, error FROM jobs WHERE type = 'integrity' AND status IN ('succeeded', 'failed') ORDER BY id DESC LIMIT 1`,
      )
      .get() as { id: number; finished_at: string; status: string; error: string | null } | undefined;
    const health = this.monitoring.health(now);
    const problems: string[] = [];
    if (job?.status === 'failed')
      problems.push(`Integrity job ${job.id} failed at ${job.finished_at} UTC: ${sentence(job.error ?? 'no reason given')}`);
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
            ? `Integrity job ${job.id} passed at ${job.finished_at} UTC and the health check is ${health.status}.`
            : `No integrity check has failed and the health check is ${health.status}.`,
        details: {
          integrityJob: job ? { id: job.id, status: job.status, finishedAt: job.finished_at, error: job.error } : null,
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
      const rows = this.store.serverDb
        .prepare(`SELECT ${column} AS who, MAX(timestamp) AS last FROM sync_log WHERE ${column} IS NOT NULL GROUP BY ${column}`)
        .all() as { who: string; last: string }[];
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
    const rows = this.hub.prepare('SELECT * FROM workstation_copies WHERE detected_at >= ? ORDER BY id').all(since) as {
      client_id: string;
      new_client_id: string;
      reason: string;
      user: string | null;
      original_host: string | null;
      copy_host: string | null;
      detected_at: string;
    }[];
    return rows.map((r) => ({
      subject: `workstation:${r.new_client_id}`,
      firing: true,
      severity: 'warning',
      message: `A ${r.reason === 'rolled-back' ? 'older copy' : 'copy'} of workstation ${r.client_id}'s file (${r.user ?? 'unknown user'}) synced from ${r.copy_host ?? 'an unnamed PC'} at ${r.detected_at.slice(0, 16)} UTC, while ${r.client_id} is on ${r.original_host ?? 'an unnamed PC'}. The copy carries on as ${r.new_client_id} and its reserved numbers are void; check that both PCs should be syncing.`,
      details: { ...r, days },
    }));
  }

  /** Changes the server refused, held back on their workstations, waiting for an admin. */
  private refusedRule(): Finding[] {
    const open = this.hub
      .prepare(
        `SELECT COUNT(*) AS n, COUNT(DISTINCT client_id) AS ws, MIN(first_seen_at) AS since FROM sync_refusals WHERE status = 'open'`,
      )
      .get() as { n: number; ws: number; since: string | null };
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
    const numbers = this.hub
      .prepare(`SELECT number FROM number_uses GROUP BY number HAVING COUNT(DISTINCT ${NUMBER_USER}) > 1 AND MAX(registered_at) >= ?`)
      .pluck()
      .all(since) as string[];
    const uses = this.hub.prepare('SELECT client_id, user, record_table, record_id, used_at FROM number_uses WHERE number = ? ORDER BY id');
    return numbers.map((number) => {
      const by = uses.all(number) as { client_id: string; user: string; record_table: string; record_id: string; used_at: string }[];
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
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.status === 'open') where.push('resolved_at IS NULL');
    if (q.status === 'resolved') where.push('resolved_at IS NOT NULL');
    if (q.rule) {
      where.push('rule = ?');
      args.push(q.rule);
    }
    if (q.before !== undefined) {
      where.push('id < ?');
      args.push(q.before);
    }
    const rows = this.hub
      .prepare(`SELECT * FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`)
      .all(...args, q.limit) as AlertRow[];
    return rows.map(toView);
  }

  get(id: number): AlertView {
    const row = this.hub.prepare('SELECT * FROM alerts WHERE id = ?').get(id) as AlertRow | undefined;
    if (!row) throw new ApiException('NOT_FOUND', `There is no alert ${id}.`);
    return toView(row);
  }

  acknowledge(id: number, by: string, now: Date = new Date()): AlertView {
    const a = this.get(id);
    if (a.acknowledgedAt) {
      throw new ApiException('ALREADY_EXISTS', `Alert ${id} was already acknowledged by ${a.acknowledgedBy} at ${a.acknowledgedAt} UTC.`);
    }
    this.hub
      .prepare('UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ? WHERE id = ? AND acknowledged_at IS NULL')
      .run(sqlTime(now), by, id);
    return this.get(id);
  }
}

function toView(r: AlertRow): AlertView {
  return {
    id: r.id,
    rule: r.rule,
    subject: r.subject,
    severity: r.severity,
    status: r.resolved_at ? 'resolved' : 'open',
    openedAt: r.opened_at,
    resolvedAt: r.resolved_at,
    acknowledgedAt: r.acknowledged_at,
    acknowledgedBy: r.acknowledged_by,
    message: r.message,
    resolution: r.resolution,
    details: JSON.parse(r.details) as Record<string, unknown>,
    lastEvaluatedAt: r.last_evaluated_at,
    notifiedAt: r.notified_at,
  };
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
