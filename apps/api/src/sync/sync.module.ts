import { Module } from '@nestjs/common';
import { ConflictsController } from './conflicts.controller';
import { ConflictsService } from './conflicts.service';
import { PullService } from './pull.service';
import { RefusalLog } from './refusal-log';
import { RefusalsController } from './refusals.controller';
import { RefusalsService } from './refusals.service';
import { SyncController } from './sync.controller';
import { SyncCron } from './sync.cron';
import { SyncEvents } from './sync-events';
import { SyncGateway } from './sync.gateway';
import { SyncLogService } from './sync-log.service';
import { SyncService } from './sync.service';
import { AdminWritesService } from './admin-writes.service';
import { GiveBackService } from './give-back.service';
import { PushService } from './push.service';
import { RowWriter } from './row-writer';
import { WorkstationClocks } from './workstation-clocks';
import { WorkstationIdentity } from './workstation-identity';
import { AuthModule } from '../auth/auth.module';
import { SchemaModule } from '../schema/schema.module';
import { SettingsModule } from '../settings/settings.module';

/** The sync protocol: push, pull and snapshot, conflicts, refused changes, the workstations and their pokes. */
@Module({
  imports: [AuthModule, SettingsModule, SchemaModule],
  providers: [
    SyncEvents,
    SyncLogService,
    RowWriter,
    SyncService,
    PushService,
    GiveBackService,
    PullService,
    AdminWritesService,
    RefusalLog,
    RefusalsService,
    WorkstationIdentity,
    WorkstationClocks,
    SyncCron,
    SyncGateway,
    ConflictsService,
  ],
  controllers: [SyncController, ConflictsController, RefusalsController],
  exports: [SyncService, PushService, AdminWritesService, SyncEvents, WorkstationIdentity, WorkstationClocks, ConflictsService],
})
export class SyncModule {}
