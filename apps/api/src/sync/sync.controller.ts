import { Body, Controller, Get, Header, HttpCode, Post, Put, Query, Req, Res } from '@nestjs/common';
import { MasterStore } from '@cacpq/db';
import type { Response } from 'express';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { SyncLogService } from './sync-log.service';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  PullQuery,
  PushRequest,
  RefusalStatusQuery,
  ReportRefusalRequest,
  SnapshotQuery,
  SyncSettings,
  type PullResponse,
  type RefusalOutcome,
  type SyncInfoResponse,
} from '@cacpq/sync-protocol';
import { AuditService } from '../audit/audit.service';
import { CurrentPrincipal, Roles } from '../common/decorators';
import type { AppRequest, Principal } from '../common/request-context';
import { ZodPipe, openApiSchema } from '../common/zod';
import { SettingsService } from '../settings/settings.service';
import { parsePush } from './push-validation';
import { RefusalsService } from './refusals.service';
import { PullService } from './pull.service';
import { PushService } from './push.service';
import { SyncService } from './sync.service';
import { WorkstationIdentity } from './workstation-identity';

const gzip = promisify(zlib.gzip);

@ApiTags('sync')
@Controller('api/v1/sync')
export class SyncController {
  constructor(
    private readonly sync: SyncService,
    private readonly pushes: PushService,
    private readonly pulls: PullService,
    private readonly settings: SettingsService,
    private readonly audit: AuditService,
    private readonly store: MasterStore,
    private readonly log: SyncLogService,
    private readonly identity: WorkstationIdentity,
    private readonly refusals: RefusalsService,
  ) {}

  @Get('info')
  @ApiOperation({ summary: 'Protocol version, generation, server time, synced tables and columns, the workstation sync interval.' })
  info(@Req() req: AppRequest): SyncInfoResponse {
    if (req.principal) this.identity.observe(req, req.principal);
    return this.sync.info();
  }

  @Post('push')
  @HttpCode(200)
  @ApiOperation({ summary: 'Push a batch of upserts and deletes: all or nothing, idempotent by (clientId, batchId), per-row outcome.' })
  @ApiBody({ schema: openApiSchema(PushRequest) })
  @Header('Content-Type', 'application/json; charset=utf-8')
  push(@CurrentPrincipal() who: Principal, @Req() req: AppRequest, @Body() body: unknown): string {
    const parsed = parsePush(body);
    this.identity.observe(req, who);
    // The answer's JSON text, as kept for replays: a PushResponse.
    return this.pushes.push(parsed, who, req.rawBody, req.receivedAt).json;
  }

  @Get('pull')
  @ApiOperation({ summary: 'Changes after a cursor, in pages up to a bound fixed at the first page; tombstones included.' })
  pull(@CurrentPrincipal() who: Principal, @Req() req: AppRequest, @Query(new ZodPipe(PullQuery, 'query')) q: PullQuery): PullResponse {
    this.identity.observe(req, who);
    return this.pulls.pull(q, who);
  }

  @Get('refusals')
  @ApiOperation({ summary: "A workstation asks what became of the changes it holds back; resolved ones come with the master's row." })
  refusalOutcomes(
    @CurrentPrincipal() who: Principal,
    @Req() req: AppRequest,
    @Query(new ZodPipe(RefusalStatusQuery, 'query')) q: RefusalStatusQuery,
  ): RefusalOutcome[] {
    this.identity.observe(req, who);
    return this.refusals.outcomes(who, q);
  }

  @Post('refusals')
  @HttpCode(200)
  @ApiOperation({ summary: 'A workstation reports changes it holds back that the server never saw (a row too large to send).' })
  @ApiBody({ schema: openApiSchema(ReportRefusalRequest) })
  reportRefusals(
    @CurrentPrincipal() who: Principal,
    @Req() req: AppRequest,
    @Body(new ZodPipe(ReportRefusalRequest)) body: ReportRefusalRequest,
  ): { ids: (number | null)[] } {
    this.identity.observe(req, who);
    return this.refusals.report(who, body);
  }

  @Get('snapshot')
  @ApiOperation({
    summary: 'First sync of a new workstation: every live row as a gzip-compressed SQLite file (headers X-Snapshot-Seq, X-Generation).',
  })
  async snapshotFile(
    @CurrentPrincipal() who: Principal,
    @Query(new ZodPipe(SnapshotQuery, 'query')) q: SnapshotQuery,
    @Req() req: AppRequest,
    @Res() res: Response,
  ): Promise<void> {
    this.identity.observe(req, who);
    // The first sync of a workstation is a sync like any other: one sync_log row, timed from here.
    const startedAt = Date.now();
    const clientId = q.clientId ?? 'unknown-workstation';
    let snap: ReturnType<PullService['snapshot']>;
    try {
      snap = this.pulls.snapshot(path.join(this.store.layout.root, 'tmp'));
    } catch (err) {
      this.log.recordError({ user: who.username, clientId, startedAt, error: err });
      throw err;
    }
    try {
      const gz = await gzip(await fs.promises.readFile(snap.file));
      // With the workstation's sync id, a snapshot fetched again (the first answer was cut) is still one sync.
      this.log.recordPull({ user: who.username, clientId, syncId: q.syncId, page: 'snapshot', pulled: snap.rows, startedAt, done: true });
      res.setHeader('Content-Type', 'application/gzip');
      res.setHeader('X-Snapshot-Seq', String(snap.lastSeq));
      res.setHeader('X-Generation', snap.generation);
      res.setHeader('X-Snapshot-Rows', String(snap.rows));
      res.end(gz);
    } finally {
      await fs.promises.rm(snap.file, { force: true });
    }
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
