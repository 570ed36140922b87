import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import type { Logger } from 'pino';
import { LOGGER } from '../common/tokens';
import { SyncService } from './sync.service';

@Injectable()
export class SyncCron implements OnApplicationBootstrap {
  constructor(
    private readonly sync: SyncService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** At start too: a server that was off at 03:00 catches up. */
  onApplicationBootstrap(): void {
    this.purgeTombstones();
  }

  /** Daily: tombstones past the retention period go; a workstation away longer re-initialises. */
  @Cron(CronExpression.EVERY_DAY_AT_3AM)
  purgeTombstones(): void {
    try {
      const removed = this.sync.purgeTombstones();
      if (removed > 0) this.logger.info({ removed }, 'tombstones past retention purged');
    } catch (err) {
      // A restore or VACUUM holding the master at 03:00: the next day's run catches up.
      this.logger.warn({ err }, 'tombstone purge skipped');
    }
  }
}
