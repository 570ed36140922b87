import { Body, Controller, Get, HttpCode, Inject, Param, Patch, Post, Query, Req, Res } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../common/tokens';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  BackupsQuery,
  CreateBackupRequest,
  DownloadQuery,
  JobsQuery,
  MAINTENANCE_JOBS,
  RestoreRequest,
  type BackupView,
  type JobView,
  type MaintenanceJob,
  type MaintenanceState,
  type RestorePreview,
  type ScheduleView,
} from '@cacpq/sync-protocol';
import type { Response } from 'express';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { AuditService } from '../audit/audit.service';
import { Roles } from '../auth/decorators';
import { ApiException } from '../common/api-exception';
import type { AppRequest } from '../common/request-context';
import { ZodPipe, openApiSchema } from '../common/zod';
import { SETTING_DEFAULTS, SettingsService, type SettingKey } from '../settings/settings.service';
import { BackupsService } from './backups.service';
import { CronSchedule } from './cron-schedule';
import { JobsService } from './jobs.service';
import { MaintenanceMode } from './maintenance-mode';
import { MaintenanceService } from './maintenance.service';
import { RestoreService } from './restore.service';
import { OperationsScheduler } from './scheduler.service';
import { entryStream, zipStream } from './zip';

const Id = (what: string) =>
  new ZodPipe(z.coerce.number().int(`must be a ${what} id (a whole number)`).min(1, `must be a ${what} id (a whole number)`), 'path');
const JobName = new ZodPipe(z.enum(MAINTENANCE_JOBS, { error: `must be one of ${MAINTENANCE_JOBS.join(', ')}` }), 'path');

@ApiTags('backups')
@Controller('api/v1/backups')
export class BackupsController {
  constructor(
    private readonly backups: BackupsService,
    private readonly restores: RestoreService,
    private readonly audit: AuditService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @Post()
  @HttpCode(202)
  @Roles('admin')
  @ApiOperation({ summary: 'Start a backup (manual by default); answers with its job.' })
  @ApiBody({ schema: openApiSchema(CreateBackupRequest) })
  async create(@Req() req: AppRequest, @Body(new ZodPipe(CreateBackupRequest)) body: CreateBackupRequest): Promise<JobView> {
    const job = this.backups.request(body.kind, { trigger: 'manual', requestedBy: req.principal!.username });
    await this.audit.record(req, { action: 'backup.start', target: body.kind, details: { jobId: job.id } });
    return job;
  }

  @Get()
  @Roles('admin', 'manager')
  @ApiOperation({ summary: 'The catalogue: verified backups (and found ones that failed verification, with why).' })
  list(@Query(new ZodPipe(BackupsQuery, 'query')) q: BackupsQuery): Promise<BackupView[]> {
    return this.backups.list(q);
  }

  @Get(':id')
  @Roles('admin', 'manager')
  @ApiOperation({ summary: 'One backup of the catalogue.' })
  get(@Param('id', Id('backup')) id: number): BackupView {
    return this.backups.get(id);
  }

  @Get(':id/preview')
  @Roles('admin')
  @ApiOperation({ summary: 'What a restore would do: date, rows per table in the backup against now, the confirmation phrase.' })
  async preview(@Req() req: AppRequest, @Param('id', Id('backup')) id: number): Promise<RestorePreview> {
    const preview = this.restores.preview(id);
    await this.audit.record(req, { action: 'backup.preview', target: preview.backup.name });
    return preview;
  }

  @Get(':id/download')
  @Roles('admin')
  @ApiOperation({ summary: 'Download a backup: the set as a zip (a monthly archive as it is), or one file with ?file=server|numbers.' })
  async download(
    @Req() req: AppRequest,
    @Param('id', Id('backup')) id: number,
    @Query(new ZodPipe(DownloadQuery, 'query')) q: DownloadQuery,
    @Res() res: Response,
  ): Promise<void> {
    const b = this.backups.get(id);
    const base = b.name.replace(/\//g, '_');
    // Resolved (404 when gone from disk) before anything is sent.
    const files = b.kind === 'monthly' ? [] : b.files.map((f) => ({ name: path.basename(f.path), file: this.backups.filePath(b, f.role) }));
    const zip = b.kind === 'monthly' ? this.backups.filePath(b) : null;
    await this.audit.record(req, { action: 'backup.download', target: b.name, details: { file: q.file ?? 'all' } });
    let body: NodeJS.ReadableStream;
    let close = () => undefined as void;
    if (zip && !q.file) {
      res.setHeader('Content-Type', 'application/zip');
      res.setHeader('Content-Disposition', `attachment; filename="${path.basename(zip)}"`);
      res.setHeader('Content-Length', String(fs.statSync(zip).size));
      body = fs.createReadStream(zip);
    } else if (zip) {
      const name = q.file === 'server' ? 'server.db' : 'generated_numbers.db';
      const entry = await entryStream(zip, name).catch((err: Error) => {
        throw new ApiException('BACKUP_NOT_RESTORABLE', `Archive ${b.name} cannot be read (${err.message}).`);
      });
      if (!entry) throw new ApiException('NOT_FOUND', `Archive ${b.name} has no ${name}.`);
      res.setHeader('Content-Type', 'application/vnd.sqlite3');
      res.setHeader('Content-Disposition', `attachment; filename="${base}_${name}"`);
      res.setHeader('Content-Length', String(entry.size));
      body = entry.stream;
      close = entry.close;
    } else if (q.file) {
      const file = this.backups.filePath(b, q.file);
      res.setHeader('Content-Type', 'application/vnd.sqlite3');
      res.setHeader('Content-Disposition', `attachment; filename="${path.basename(file)}"`);
      res.setHeader('Content-Length', String(fs.statSync(file).size));
      body = fs.createReadStream(file);
    } else {
      res.setHeader('Content-Type', 'application/zip');
      res.setHeader('Content-Disposition', `attachment; filename="${base}.zip"`);
      body = zipStream(files);
    }
    try {
      // A client that goes away, or a file damaged on disk, ends this response only.
      await pipeline(body, res);
    } catch (err) {
      this.logger.warn({ err, backup: b.name }, 'backup download ended early');
      if (!res.headersSent) throw new ApiException('BACKUP_NOT_RESTORABLE', `Backup ${b.name} could not be read from disk.`);
      res.destroy();
    } finally {
      close();
    }
  }

  @Post(':id/restore')
  @HttpCode(202)
  @Roles('admin')
  @ApiOperation({
    summary:
      'Restore from this backup (typed confirmation). Whole master: maintenance mode, pre-restore snapshot, verify, swap, new generation. With tables or ids: those rows, through sync.',
  })
  @ApiBody({ schema: openApiSchema(RestoreRequest) })
  async restore(
    @Req() req: AppRequest,
    @Param('id', Id('backup')) id: number,
    @Body(new ZodPipe(RestoreRequest)) body: RestoreRequest,
  ): Promise<JobView> {
    const target = this.backups.get(id).name;
    try {
      const job = this.restores.request(id, body, req.principal!);
      await this.audit.record(req, {
        action: 'backup.restore',
        target,
        details: { jobId: job.id, tables: body.tables ?? null, ids: body.ids ?? null },
      });
      return job;
    } catch (err) {
      await this.audit.record(req, {
        action: 'backup.restore',
        target,
        outcome: 'denied',
        details: { reason: err instanceof Error ? err.message : String(err) },
      });
      throw err;
    }
  }
}

@ApiTags('jobs')
@Controller('api/v1/jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Get()
  @Roles('admin', 'manager')
  @ApiOperation({ summary: 'Backup, restore and maintenance runs, newest first.' })
  list(@Query(new ZodPipe(JobsQuery, 'query')) q: JobsQuery): JobView[] {
    return this.jobs.list(q);
  }

  @Get(':id')
  @Roles('admin', 'manager')
  @ApiOperation({ summary: 'One job: status, progress, phase, result or error.' })
  get(@Param('id', Id('job')) id: number): JobView {
    return this.jobs.get(id);
  }
}

const SettingsPatch = z
  .record(z.string(), z.union([z.string(), z.number()]))
  .refine((o) => Object.keys(o).length > 0, 'give at least one setting');
type SettingsPatch = z.infer<typeof SettingsPatch>;

@ApiTags('maintenance')
@Controller('api/v1')
export class MaintenanceController {
  constructor(
    private readonly maintenance: MaintenanceService,
    private readonly mode: MaintenanceMode,
    private readonly jobs: JobsService,
    private readonly scheduler: OperationsScheduler,
    private readonly settings: SettingsService,
    private readonly audit: AuditService,
  ) {}

  @Post('maintenance/:job')
  @HttpCode(202)
  @Roles('admin')
  @ApiOperation({ summary: `Run a maintenance job now (${MAINTENANCE_JOBS.join(', ')}); answers with its job.` })
  async run(@Req() req: AppRequest, @Param('job', JobName) job: MaintenanceJob): Promise<JobView> {
    const refusal = this.maintenance.precheck(job);
    if (refusal) {
      await this.audit.record(req, { action: 'maintenance.run', target: job, outcome: 'denied', details: { reason: refusal } });
      throw new ApiException('INSUFFICIENT_DISK', refusal);
    }
    const started = this.maintenance.request(job, { trigger: 'manual', requestedBy: req.principal!.username });
    await this.audit.record(req, { action: 'maintenance.run', target: job, details: { jobId: started.id } });
    return started;
  }

  @Get('maintenance/runs')
  @Roles('admin', 'manager')
  @ApiOperation({ summary: 'Maintenance runs with start, end, result and details, newest first.' })
  runs(@Query(new ZodPipe(JobsQuery, 'query')) q: JobsQuery): JobView[] {
    if (q.type && !(MAINTENANCE_JOBS as readonly string[]).includes(q.type)) {
      throw new ApiException(
        'VALIDATION_FAILED',
        `type must be a maintenance job (${MAINTENANCE_JOBS.join(', ')}); backups and restores are under /api/v1/jobs.`,
      );
    }
    return this.jobs.list(q, MAINTENANCE_JOBS);
  }

  @Get('maintenance/schedules')
  @Roles('admin', 'manager')
  @ApiOperation({ summary: 'Each scheduled job: its cron, next run and last run.' })
  schedules(): ScheduleView[] {
    return this.scheduler.list();
  }

  @Get('maintenance/state')
  @Roles('admin', 'manager')
  @ApiOperation({ summary: 'Whether the master is in maintenance mode (sync answers 503) and why.' })
  state(): MaintenanceState {
    return this.mode.state;
  }

  @Get('settings')
  @Roles('admin', 'manager')
  @ApiOperation({
    summary: 'Run-time settings: schedules, retention, sync interval, number formats (managers read them; admins change them).',
  })
  getSettings(): Record<string, number | string> {
    return this.settings.all();
  }

  @Patch('settings')
  @Roles('admin')
  @ApiOperation({ summary: 'Change settings (schedules as five-field cron or "off", retention counts).' })
  async patchSettings(
    @Req() req: AppRequest,
    @Body(new ZodPipe(SettingsPatch)) body: SettingsPatch,
  ): Promise<Record<string, number | string>> {
    const checked = Object.entries(body).map(([key, value]) => [key, validateSetting(key, value)] as const);
    for (const [key, value] of checked) await this.settings.set(key as SettingKey, value as never, req.principal!.username);
    await this.audit.record(req, { action: 'settings.change', details: Object.fromEntries(checked) });
    return this.settings.all();
  }
}

const SETTING_RULES: Record<string, { min: number; max: number; what: string }> = {
  'retention.daily.days': { min: 1, max: 3650, what: 'days' },
  'retention.weekly.weeks': { min: 1, max: 520, what: 'weeks' },
  'retention.monthly.months': { min: 0, max: 1200, what: 'months (0 keeps all)' },
  'retention.pre-restore.days': { min: 1, max: 3650, what: 'days' },
  'maintenance.syncLog.days': { min: 1, max: 3650, what: 'days' },
  'maintenance.syncLog.maxRows': { min: 100, max: 10_000_000, what: 'rows' },
  'maintenance.archiveQuotes.years': { min: 1, max: 100, what: 'years' },
};

/** One setting's value checked (bad ones answer 400 with the reason; nothing is saved then). */
function validateSetting(key: string, value: string | number): string | number {
  if (key.startsWith('schedule.')) {
    if (!Object.hasOwn(SETTINGS_KNOWN, key)) throw new ApiException('VALIDATION_FAILED', `There is no setting ${key}.`);
    if (typeof value !== 'string') throw new ApiException('VALIDATION_FAILED', `${key} must be a cron expression or "off".`);
    try {
      CronSchedule.parse(value);
    } catch (err) {
      throw new ApiException('VALIDATION_FAILED', `${key}: ${(err as Error).message}`);
    }
    return value.trim();
  }
  // Own keys only: "constructor" or "toString" must not find Object.prototype's members.
  const rule = Object.hasOwn(SETTING_RULES, key) ? SETTING_RULES[key] : undefined;
  if (!rule) {
    throw new ApiException(
      'VALIDATION_FAILED',
      `${key} cannot be changed here: give schedule.* or one of ${Object.keys(SETTING_RULES).join(', ')} (the sync interval and number formats have their own endpoints).`,
    );
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < rule.min || value > rule.max) {
    throw new ApiException('VALIDATION_FAILED', `${key} must be a whole number of ${rule.what} from ${rule.min} to ${rule.max}.`);
  }
  return value;
}

const SETTINGS_KNOWN: Record<string, unknown> = SETTING_DEFAULTS;
