import { Module } from '@nestjs/common';
import { BackupsController } from './backups.controller';
import { BackupsService } from './backups.service';
import { RestoreService } from './restore.service';
import { JobsModule } from '../jobs/jobs.module';
import { SettingsModule } from '../settings/settings.module';
import { SyncModule } from '../sync/sync.module';
import { MaintenanceModule } from '../maintenance/maintenance.module';

/** Backups, their catalogue and retention, downloads, and restores (whole or selective). */
@Module({
  imports: [JobsModule, SettingsModule, SyncModule, MaintenanceModule],
  providers: [BackupsService, RestoreService],
  controllers: [BackupsController],
  exports: [BackupsService],
})
export class BackupsModule {}
