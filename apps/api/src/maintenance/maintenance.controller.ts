import { JobsQuery, MAINTENANCE_JOBS, type JobView, type MaintenanceJob, type MaintenanceState } from '@cacpq/sync-protocol';
import { Controller, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { AuditService } from '../audit/audit.service';
import { ApiException } from '../common/api-exception';
import { Roles } from '../common/decorators';
import type { AppRequest } from '../common/request-context';
import { ZodPipe } from '../common/zod';
import { JobsService } from '../jobs/jobs.service';
import { MaintenanceMode } from '../maintenance/maintenance-mode';
import { MaintenanceService } from '../maintenance/maintenance.service';

const JobName = new ZodPipe(z.enum(MAINTENANCE_JOBS, { error: `must be one of ${MAINTENANCE_JOBS.join(', ')}` }), 'path');

@ApiTags('maintenance')
@Controller('api/v1')
export class MaintenanceController {
  constructor(
    private readonly maintenance: MaintenanceService,
    private readonly mode: MaintenanceMode,
    private readonly jobs: JobsService,
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

  @Get('maintenance/state')
  @Roles('admin', 'manager')
  @ApiOperation({ summary: 'Whether the master is in maintenance mode (sync answers 503) and why.' })
  state(): MaintenanceState {
    return this.mode.state;
  }
}
