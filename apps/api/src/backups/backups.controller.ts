import {
  BackupsQuery,
  CreateBackupRequest,
  DownloadQuery,
  RestoreRequest,
  type BackupView,
  type JobView,
  type RestorePreview,
} from '@cacpq/sync-protocol';
import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { z } from 'zod';
import { AuditService } from '../audit/audit.service';
import { BackupsService } from '../backups/backups.service';
import { RestoreService } from '../backups/restore.service';
import { entryStream, zipStream } from '../backups/zip';
import { ApiException } from '../common/api-exception';
import { Roles } from '../common/decorators';
import type { AppRequest } from '../common/request-context';
import { LOGGER } from '../common/tokens';
import { openApiSchema, ZodPipe } from '../common/zod';

const Id = (what: string) =>
  new ZodPipe(z.coerce.number().int(`must be a ${what} id (a whole number)`).min(1, `must be a ${what} id (a whole number)`), 'path');

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
