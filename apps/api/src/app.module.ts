import { Module, type DynamicModule, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import type { MasterStore } from '@cacpq/db';
import type { Logger } from 'pino';
import { AlertsModule } from './alerts/alerts.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { BackupsModule } from './backups/backups.module';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { LOGGER } from './common/tokens';
import { AppConfig } from './config/app-config';
import { DemoModule } from './demo/demo.module';
import { EventsModule } from './events/events.module';
import { HealthModule } from './health/health.module';
import { JobsModule } from './jobs/jobs.module';
import { LiveModule } from './live/live.module';
import { MaintenanceMiddleware } from './maintenance/maintenance-mode';
import { MaintenanceModule } from './maintenance/maintenance.module';
import { MetricsModule } from './metrics/metrics.module';
import { MonitoringModule } from './monitoring/monitoring.module';
import { NumbersModule } from './numbers/numbers.module';
import { SchedulerModule } from './scheduler/scheduler.module';
import { SchemaModule } from './schema/schema.module';
import { SchemaMigrationsModule } from './schema-migrations/schema-migrations.module';
import { SettingsModule } from './settings/settings.module';
import { CoreModule } from './store/store.module';
import { SyncModule } from './sync/sync.module';
import { ServerTls, ServerTlsController } from './tls/server-tls';
import { UsersModule } from './users/users.module';

/**
 * The application: one module per feature, each exporting only what others use. Core (config,
 * store, logger), the domain events and the audit log are global; everything else is imported
 * where it is needed, and the feature folders form no cycle (checked by tools/bin/check-structure.js).
 */
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
      imports: [
        CoreModule.forRoot(deps),
        ScheduleModule.forRoot(),
        EventsModule,
        AuditModule,
        HealthModule,
        AuthModule,
        UsersModule,
        SettingsModule,
        SchemaModule,
        SyncModule,
        NumbersModule,
        JobsModule,
        BackupsModule,
        SchemaMigrationsModule,
        MaintenanceModule,
        SchedulerModule,
        MonitoringModule,
        MetricsModule,
        AlertsModule,
        LiveModule,
        DemoModule,
      ],
      controllers: [ServerTlsController],
      providers: [
        { provide: ServerTls, useValue: deps.tls ?? new ServerTls(null, undefined) },
        { provide: APP_FILTER, useFactory: (logger: Logger) => new AllExceptionsFilter(logger), inject: [LOGGER] },
      ],
    };
  }
}
