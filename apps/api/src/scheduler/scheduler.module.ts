import { Module } from '@nestjs/common';
import { OperationsScheduler } from './scheduler.service';
import { SchedulerController } from './scheduler.controller';
import { SettingsModule } from '../settings/settings.module';
import { JobsModule } from '../jobs/jobs.module';
import { BackupsModule } from '../backups/backups.module';
import { MaintenanceModule } from '../maintenance/maintenance.module';
import { MonitoringModule } from '../monitoring/monitoring.module';
import { AlertsModule } from '../alerts/alerts.module';

/** Runs backups, maintenance, growth samples and alert evaluation at their scheduled minutes. */
@Module({
  imports: [SettingsModule, JobsModule, BackupsModule, MaintenanceModule, MonitoringModule, AlertsModule],
  providers: [OperationsScheduler],
  controllers: [SchedulerController],
})
export class SchedulerModule {}
