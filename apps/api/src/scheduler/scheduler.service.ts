import { Inject, Injectable } from '@nestjs/common';
import { Cron } from '@nestjs/schedule';
import { MAINTENANCE_JOBS, type BackupKind, type MaintenanceJob, type ScheduleView } from '@cacpq/sync-protocol';
import type { Logger } from 'pino';
import { LOGGER } from '../common/tokens';
import { SettingsService, type SettingKey } from '../settings/settings.service';
import { GrowthService } from '../monitoring/growth.service';
import { AlertsService } from '../alerts/alerts.service';
import { BackupsService } from '../backups/backups.service';
import { CronSchedule, wallMinute } from '../common/cron-schedule';
import { JobsService } from '../jobs/jobs.service';
import { MaintenanceService } from '../maintenance/maintenance.service';

interface Entry {
  job: string;
  setting: SettingKey;
  start(now: Date): void;
}

/**
 * Fires the backup and maintenance schedules from the settings (`schedule.*`, five-field cron in
 * local time), once per matching minute, through the same job queue as manual runs.
 */
@Injectable()
export class OperationsScheduler {
  /** Per job, the wall-clock minute it last fired for. */
  private readonly fired = new Map<string, number>();
  private lastWall: number | null = null;
  private readonly entries: Entry[];

  constructor(
    private readonly settings: SettingsService,
    private readonly jobs: JobsService,
    backups: BackupsService,
    maintenance: MaintenanceService,
    growth: GrowthService,
    alerts: AlertsService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    const who = { trigger: 'schedule' as const, requestedBy: 'scheduler' };
    this.entries = [
      ...(['daily', 'weekly', 'monthly'] as BackupKind[]).map((kind) => ({
        job: `backup:${kind}`,
        setting: `schedule.backup.${kind}` as SettingKey,
        start: (now: Date) => backups.request(kind, who, now),
      })),
      ...MAINTENANCE_JOBS.map((job: MaintenanceJob) => ({
        job,
        setting: `schedule.${job}` as SettingKey,
        start: (now: Date) => {
          const refusal = maintenance.precheck(job);
          if (refusal) this.logger.warn({ job, refusal }, 'scheduled job will be refused');
          maintenance.request(job, who, now);
        },
      })),
      // Not a queued job: a sample takes a moment and must not wait behind a long backup.
      { job: 'sample-growth', setting: 'schedule.sample-growth' as SettingKey, start: (now: Date) => void growth.sample(now) },
      // Not queued either: an evaluation reads a few aggregates; its failures are logged by the service.
      { job: 'evaluate-alerts', setting: 'schedule.evaluate-alerts' as SettingKey, start: (now: Date) => alerts.runScheduled(now) },
    ];
  }

  @Cron('0 * * * * *')
  onMinute(): void {
    this.tick(new Date());
  }

  /**
   * Starts every job whose schedule matches a local wall-clock minute since the last tick (at
   * most three hours back; a longer gap is a stop, and missed runs are not made up), each at most
   * once per wall-clock minute: a 02:00 job still runs on the night the clocks skip 02:00-03:00,
   * and a 01:00 job runs once on the night 01:00-02:00 happens twice. Returns the jobs started.
   */
  tick(now: Date): string[] {
    const wall = wallMinute(now);
    const from = this.lastWall !== null && wall - this.lastWall <= 180 * 60_000 ? this.lastWall + 60_000 : wall;
    this.lastWall = Math.max(this.lastWall ?? wall, wall);
    const started: string[] = [];
    for (let w = from; w <= wall; w += 60_000) {
      for (const e of this.entries) {
        const schedule = this.schedule(e);
        if (!schedule?.matchesWall(w) || (this.fired.get(e.job) ?? -Infinity) >= w) continue;
        this.fired.set(e.job, w);
        try {
          e.start(now);
          started.push(e.job);
        } catch (err) {
          this.logger.error({ err, job: e.job }, 'scheduled job could not start');
        }
      }
    }
    return started;
  }

  private schedule(e: Entry): CronSchedule | null {
    try {
      return CronSchedule.parse(String(this.settings.get(e.setting)));
    } catch {
      return null;
    }
  }

  list(now: Date = new Date()): ScheduleView[] {
    const last = this.jobs.lastRuns();
    return this.entries.map((e) => {
      const s = this.schedule(e);
      const run = last.get(e.job);
      return {
        job: e.job,
        setting: e.setting,
        cron: String(this.settings.get(e.setting)),
        nextRun: s?.next(now)?.toISOString() ?? null,
        lastRun: run ? { id: run.id, status: run.status, finishedAt: run.finishedAt } : null,
      };
    });
  }
}
