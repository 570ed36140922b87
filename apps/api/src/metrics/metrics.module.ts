import { Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { SyncMetrics } from './sync-metrics';
import { MaintenanceModule } from '../maintenance/maintenance.module';
import { JobsModule } from '../jobs/jobs.module';
import { SyncModule } from '../sync/sync.module';

/** Prometheus metrics: the sync figures come from domain events, the rest is read at scrape time. */
@Module({
  imports: [MaintenanceModule, JobsModule, SyncModule],
  providers: [SyncMetrics, MetricsService],
  controllers: [MetricsController],
})
export class MetricsModule {}
