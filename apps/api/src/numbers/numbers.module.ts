import { Module } from '@nestjs/common';
import { NumbersController } from './numbers.controller';
import { NumbersService } from './numbers.service';
import { SettingsModule } from '../settings/settings.module';
import { SyncModule } from '../sync/sync.module';

/** Quote and project numbers, allocated by the server only. */
@Module({
  imports: [SettingsModule, SyncModule],
  providers: [NumbersService],
  controllers: [NumbersController],
})
export class NumbersModule {}
