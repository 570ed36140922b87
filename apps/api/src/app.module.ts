import { Module, type DynamicModule, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import type { MasterStore } from '@cacpq/db';
import type { Logger } from 'pino';
import { AuditController } from './audit/audit.controller';
import { AuditService } from './audit/audit.service';
import { AuthController } from './auth/auth.controller';
import { AuthGuard } from './auth/auth.guard';
import { AuthService } from './auth/auth.service';
import { DeviceTokensService } from './auth/device-tokens.service';
import { LocalCliTokenService } from './auth/local-cli-token.service';
import { Revocations } from './auth/revocations';
import { SessionsService } from './auth/sessions.service';
import { DirectoryService } from './directory/directory.service';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { LOGGER } from './common/tokens';
import { AppConfig } from './config/app-config';
import { DemoController } from './demo/demo.controller';
import { DemoService } from './demo/demo.service';
import { HealthController } from './health/health.controller';
import { CoreModule } from './store/store.module';
import { UsersController } from './users/users.controller';
import { UsersService } from './users/users.service';
import { NumbersController } from './numbers/numbers.controller';
import { NumbersService } from './numbers/numbers.service';
import { SettingsService } from './settings/settings.service';
import { ConflictsController } from './sync/conflicts.controller';
import { ConflictsService } from './sync/conflicts.service';
import { SyncController } from './sync/sync.controller';
import { SyncCron } from './sync/sync.cron';
import { SyncEvents } from './sync/sync-events';
import { SyncGateway } from './sync/sync.gateway';
import { SyncLogService } from './sync/sync-log.service';
import { SyncService } from './sync/sync.service';
import { RefusalLog } from './sync/refusal-log';
import { RefusalsService } from './sync/refusals.service';
import { RefusalsController } from './sync/refusals.controller';
import { WorkstationIdentity } from './sync/workstation-identity';
import { BackupsService } from './operations/backups.service';
import { JobsService } from './operations/jobs.service';
import { MaintenanceMiddleware, MaintenanceMode } from './operations/maintenance-mode';
import { MaintenanceService } from './operations/maintenance.service';
import { BackupsController, JobsController, MaintenanceController } from './operations/operations.controller';
import { OpsEvents } from './operations/ops-events';
import { OpsGateway } from './operations/ops.gateway';
import { RestoreService } from './operations/restore.service';
import { OperationsScheduler } from './operations/scheduler.service';
import { MonitoringController } from './monitoring/monitoring.controller';
import { MonitoringService } from './monitoring/monitoring.service';
import { MetricsController } from './metrics/metrics.controller';
import { MetricsService } from './metrics/metrics.service';
import { SyncMetrics } from './metrics/sync-metrics';
import { GrowthService } from './monitoring/growth.service';
import { AlertNotifier } from './alerts/alert-notifier';
import { AlertSettingsService } from './alerts/alert-settings.service';
import { AlertsController } from './alerts/alerts.controller';
import { AlertsService } from './alerts/alerts.service';
import { WorkstationClocks } from './alerts/workstation-clocks';
import { ServerTls, ServerTlsController } from './tls/server-tls';

@Module({})
export class AppModule implements NestModule {
  /** While a restore or VACUUM holds the master, these answer 503 with Retry-After. */
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(MaintenanceMiddleware)
      .forRoutes('api/v1/sync/*path', 'api/v1/numbers/*path', 'api/v1/numbers', 'api/v1/conflicts/*path', 'api/v1/demo/*path');
  }

  static forRoot(deps: { config: AppConfig; store: MasterStore; logger: Logger; tls?: ServerTls }): DynamicModule {
    return {
      module: AppModule,
      imports: [CoreModule.forRoot(deps), ScheduleModule.forRoot()],
      controllers: [
        HealthController,
        AuthController,
        UsersController,
        AuditController,
        DemoController,
        SyncController,
        ConflictsController,
        RefusalsController,
        NumbersController,
        BackupsController,
        JobsController,
        MaintenanceController,
        MonitoringController,
        MetricsController,
        AlertsController,
        ServerTlsController,
      ],
      providers: [
        AuditService,
        Revocations,
        SessionsService,
        DeviceTokensService,
        LocalCliTokenService,
        DirectoryService,
        AuthService,
        UsersService,
        DemoService,
        SettingsService,
        SyncEvents,
        SyncLogService,
        SyncService,
        RefusalLog,
        RefusalsService,
        WorkstationIdentity,
        SyncCron,
        SyncGateway,
        ConflictsService,
        NumbersService,
        OpsEvents,
        OpsGateway,
        MaintenanceMode,
        JobsService,
        BackupsService,
        RestoreService,
        MaintenanceService,
        OperationsScheduler,
        MonitoringService,
        GrowthService,
        SyncMetrics,
        MetricsService,
        WorkstationClocks,
        AlertSettingsService,
        AlertNotifier,
        AlertsService,
        AuthGuard,
        { provide: ServerTls, useValue: deps.tls ?? new ServerTls(null, undefined) },
        { provide: APP_GUARD, useExisting: AuthGuard },
        { provide: APP_FILTER, useFactory: (logger: Logger) => new AllExceptionsFilter(logger), inject: [LOGGER] },
      ],
    };
  }
}
