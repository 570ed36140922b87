import { Module } from '@nestjs/common';
import { MaintenanceController } from './maintenance.controller';
import { MaintenanceMode } from './maintenance-mode';
import { MaintenanceService } from './maintenance.service';
import { JobsModule } from '../jobs/jobs.module';
import { SettingsModule } from '../settings/settings.module';
import { SyncModule } from '../sync/sync.module';

/** Maintenance jobs (VACUUM, ANALYZE, purges, archiving) and maintenance mode, when sync waits. */
@Module({
  imports: [JobsModule, SettingsModule, SyncModule],
  providers: [MaintenanceMode, MaintenanceService],
  controllers: [MaintenanceController],
  exports: [MaintenanceMode, MaintenanceService],
})
export class MaintenanceModule {}
