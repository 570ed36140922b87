import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { ScheduleView } from '@cacpq/sync-protocol';
import { Roles } from '../common/decorators';
import { OperationsScheduler } from './scheduler.service';

/** The scheduled jobs, listed under maintenance where the dashboard shows them. */
@ApiTags('maintenance')
@Controller('api/v1')
export class SchedulerController {
  constructor(private readonly scheduler: OperationsScheduler) {}

  @Get('maintenance/schedules')
  @Roles('admin', 'manager')
  @ApiOperation({ summary: 'Each scheduled job: its cron, next run and last run.' })
  schedules(): ScheduleView[] {
    return this.scheduler.list();
  }
}
