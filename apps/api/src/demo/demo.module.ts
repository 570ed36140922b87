import { Module } from '@nestjs/common';
import { DemoController } from './demo.controller';
import { DemoService } from './demo.service';
import { UsersModule } from '../users/users.module';
import { SyncModule } from '../sync/sync.module';
import { MonitoringModule } from '../monitoring/monitoring.module';

/** Demo data for trying the dashboard. */
@Module({
  imports: [UsersModule, SyncModule, MonitoringModule],
  providers: [DemoService],
  controllers: [DemoController],
})
export class DemoModule {}
