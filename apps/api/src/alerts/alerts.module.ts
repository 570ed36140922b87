import { Module } from '@nestjs/common';
import { AlertNotifier } from './alert-notifier';
import { AlertSettingsService } from './alert-settings.service';
import { AlertsController } from './alerts.controller';
import { AlertsService } from './alerts.service';
import { MonitoringModule } from '../monitoring/monitoring.module';
import { SchemaModule } from '../schema/schema.module';
import { SyncModule } from '../sync/sync.module';

/** Alert rules, their evaluation and notifications (webhook, e-mail). */
@Module({
  imports: [MonitoringModule, SyncModule, SchemaModule],
  providers: [AlertSettingsService, AlertNotifier, AlertsService],
  controllers: [AlertsController],
  exports: [AlertsService],
})
export class AlertsModule {}
