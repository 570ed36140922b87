import { JobsQuery, type JobView } from '@cacpq/sync-protocol';
import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Roles } from '../common/decorators';
import { ZodPipe } from '../common/zod';
import { JobsService } from '../jobs/jobs.service';

const Id = (what: string) =>
  new ZodPipe(z.coerce.number().int(`must be a ${what} id (a whole number)`).min(1, `must be a ${what} id (a whole number)`), 'path');

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
