import { Module } from '@nestjs/common';
import { GrowthService } from './growth.service';
import { MonitoringController } from './monitoring.controller';
import { MonitoringService } from './monitoring.service';
import { MaintenanceModule } from '../maintenance/maintenance.module';
import { SyncModule } from '../sync/sync.module';

/** Sync statistics, user activity and growth, read from the master for the dashboard. */
@Module({
  imports: [MaintenanceModule, SyncModule],
  providers: [MonitoringService, GrowthService],
  controllers: [MonitoringController],
  exports: [MonitoringService, GrowthService],
})
export class MonitoringModule {}
