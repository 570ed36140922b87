import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MigrationRequest, type JobView, type MigrationPreview } from '@cacpq/sync-protocol';
import type { Response } from 'express';
import { AuditService } from '../audit/audit.service';
import { ApiException } from '../common/api-exception';
import { Roles } from '../common/decorators';
import type { AppRequest } from '../common/request-context';
import { ZodPipe, openApiSchema } from '../common/zod';
import { SchemaMigrationsService } from './schema-migrations.service';

@ApiTags('schema')
@Controller('api/v1/schema/migrations')
export class SchemaMigrationsController {
  constructor(
    private readonly migrations: SchemaMigrationsService,
    private readonly audit: AuditService,
  ) {}

  @Post('preview')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({
    summary:
      'Preview an additive migration of the desktop app (what will be added, rows affected); nothing is changed. Drops, renames and type changes are refused.',
  })
  @ApiBody({ schema: openApiSchema(MigrationRequest) })
  preview(@Body(new ZodPipe(MigrationRequest)) body: MigrationRequest): MigrationPreview {
    return this.migrations.preview(body.sql);
  }

  @Post()
  @HttpCode(202)
  @Roles('admin')
  @ApiOperation({
    summary:
      'Apply an additive migration (confirm: true): a job takes a verified backup, applies it, and bumps the schema version; workstations follow at their next sync.',
  })
  @ApiBody({ schema: openApiSchema(MigrationRequest) })
  async apply(
    @Req() req: AppRequest,
    @Body(new ZodPipe(MigrationRequest)) body: MigrationRequest,
    @Res({ passthrough: true }) res: Response,
  ): Promise<JobView> {
    if (body.confirm !== true) {
      throw new ApiException(
        'CONFIRMATION_REQUIRED',
        'Applying a migration changes the master: preview it first, then send it again with "confirm": true.',
      );
    }
    const job = this.migrations.apply(body.sql, body.fileName, req.principal!.username);
    await this.audit.record(req, { action: 'schema.migrate', target: body.fileName ?? null, details: { job: job.id } });
    res.setHeader('Location', `/api/v1/jobs/${job.id}`);
    return job;
  }
}
