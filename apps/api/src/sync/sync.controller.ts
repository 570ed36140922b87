import { Body, Controller, Get, HttpCode, Post, Put, Query, Req } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { PullQuery, PushRequest, SyncSettings, type PullResponse, type PushResponse, type SyncInfoResponse } from '@cacpq/sync-protocol';
import { AuditService } from '../audit/audit.service';
import { CurrentPrincipal, Roles } from '../auth/decorators';
import type { AppRequest, Principal } from '../common/request-context';
import { ZodPipe, openApiSchema } from '../common/zod';
import { SettingsService } from '../settings/settings.service';
import { SyncService } from './sync.service';

@ApiTags('sync')
@Controller('api/v1/sync')
export class SyncController {
  constructor(
    private readonly sync: SyncService,
    private readonly settings: SettingsService,
    private readonly audit: AuditService,
  ) {}

  @Get('info')
  @ApiOperation({ summary: 'Protocol version, generation, server time, synced tables and columns, the workstation sync interval.' })
  info(): SyncInfoResponse {
    return this.sync.info();
  }

  @Post('push')
  @HttpCode(200)
  @ApiOperation({ summary: 'Push a batch of upserts and deletes: all or nothing, idempotent by (clientId, batchId), per-row outcome.' })
  @ApiBody({ schema: openApiSchema(PushRequest) })
  push(@CurrentPrincipal() who: Principal, @Body(new ZodPipe(PushRequest)) body: PushRequest): PushResponse {
    return this.sync.push(body, who);
  }

  @Get('pull')
  @ApiOperation({ summary: 'Changes after a cursor, in pages up to a bound fixed at the first page; tombstones included.' })
  pull(@CurrentPrincipal() who: Principal, @Query(new ZodPipe(PullQuery, 'query')) q: PullQuery): PullResponse {
    return this.sync.pull(q, who);
  }

  @Put('settings')
  @Roles('admin')
  @ApiOperation({ summary: "Set the workstations' sync interval (the guide's sync:setSchedule)." })
  @ApiBody({ schema: openApiSchema(SyncSettings) })
  async setSettings(@Req() req: AppRequest, @Body(new ZodPipe(SyncSettings)) body: SyncSettings): Promise<SyncSettings> {
    await this.settings.set('sync.intervalMinutes', body.intervalMinutes, req.principal!.username);
    await this.audit.record(req, { action: 'sync.settings', details: { intervalMinutes: body.intervalMinutes } });
    return { intervalMinutes: this.settings.get('sync.intervalMinutes') };
  }
}
