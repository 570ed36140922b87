import { Module } from '@nestjs/common';
import { OpsGateway } from './ops.gateway';
import { AuthModule } from '../auth/auth.module';
import { MaintenanceModule } from '../maintenance/maintenance.module';
import { JobsModule } from '../jobs/jobs.module';
import { SyncModule } from '../sync/sync.module';
import { MonitoringModule } from '../monitoring/monitoring.module';
import { AlertsModule } from '../alerts/alerts.module';

/** The dashboard's live feed (`/ops`): a snapshot on connect, then the domain events as they happen. */
@Module({
  imports: [AuthModule, MaintenanceModule, JobsModule, SyncModule, MonitoringModule, AlertsModule],
  providers: [OpsGateway],
})
export class LiveModule {}
