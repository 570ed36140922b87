import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ActiveUsersQuery,
  ConflictSummaryQuery,
  GrowthQuery,
  SyncActivityQuery,
  SyncStatsQuery,
  SyncTimelineQuery,
  UserDaysQuery,
  type ActiveUserRow,
  type ConflictSummaryRow,
  type GrowthReport,
  type MonitoringHealth,
  type SyncActivityPage,
  type SyncStats,
  type SyncTimeline,
  type UserDayRow,
  type WorkstationRow,
} from '@cacpq/sync-protocol';
import { Roles } from '../common/decorators';
import { ZodPipe } from '../common/zod';
import { GrowthService } from './growth.service';
import { MonitoringService } from './monitoring.service';

@ApiTags('monitoring')
@Controller('api/v1/monitoring')
@Roles('admin', 'manager')
export class MonitoringController {
  constructor(
    private readonly monitoring: MonitoringService,
    private readonly growthService: GrowthService,
  ) {}

  @Get('sync-activity')
  @ApiOperation({ summary: "The guide's sync activity listing: any range (default the last 24 h), by user, workstation, status; paged." })
  syncActivity(@Query(new ZodPipe(SyncActivityQuery, 'query')) q: SyncActivityQuery): SyncActivityPage {
    return this.monitoring.syncActivity(q);
  }

  @Get('conflict-summary')
  @ApiOperation({ summary: "The guide's conflict summary: per day, syncs, conflicts, average, failed (default 7 days)." })
  conflictSummary(@Query(new ZodPipe(ConflictSummaryQuery, 'query')) q: ConflictSummaryQuery): ConflictSummaryRow[] {
    return this.monitoring.conflictSummary(q);
  }

  @Get('active-users')
  @ApiOperation({ summary: "The guide's most active users: active days and changes per user (default 30 days)." })
  activeUsers(@Query(new ZodPipe(ActiveUsersQuery, 'query')) q: ActiveUsersQuery): ActiveUserRow[] {
    return this.monitoring.activeUsers(q);
  }

  @Get('sync-stats')
  @ApiOperation({
    summary: 'Success rate, conflict rate, average duration, records pulled/pushed and conflicts over a range (default 24 h).',
  })
  syncStats(@Query(new ZodPipe(SyncStatsQuery, 'query')) q: SyncStatsQuery): SyncStats {
    return this.monitoring.syncStats(q);
  }

  @Get('sync-timeline')
  @ApiOperation({
    summary:
      'Per UTC hour of a range (default the last 24 h, at most 31 days): syncs by status, p50/p95 duration, records pulled and pushed, conflicts.',
  })
  syncTimeline(@Query(new ZodPipe(SyncTimelineQuery, 'query')) q: SyncTimelineQuery): SyncTimeline {
    return this.monitoring.syncTimeline(q);
  }

  @Get('user-days')
  @ApiOperation({ summary: 'Changes to components, quotes and projects per person per day (default 30 days, at most 366).' })
  userDays(@Query(new ZodPipe(UserDaysQuery, 'query')) q: UserDaysQuery): UserDayRow[] {
    return this.monitoring.userDays(q);
  }

  @Get('health')
  @ApiOperation({
    summary:
      'Health: files and sizes, the latest integrity evidence and its age, last verified backup, free disk, uptime, SQLite, generation, maintenance mode, connected workstations.',
  })
  health(): MonitoringHealth {
    return this.monitoring.health();
  }

  @Get('growth')
  @ApiOperation({
    summary:
      'Growth history per file, rows and bytes per table, day-over-day change, projected MB a year against the guide (default 90 days).',
  })
  growth(@Query(new ZodPipe(GrowthQuery, 'query')) q: GrowthQuery): GrowthReport {
    return this.growthService.report(q);
  }

  @Get('workstations')
  @ApiOperation({ summary: 'Last sync, its status and sync count per user and workstation ("ensure all users are syncing").' })
  workstations(): WorkstationRow[] {
    return this.monitoring.workstations();
  }
}
