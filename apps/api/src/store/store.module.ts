import { Global, Inject, Module, OnApplicationShutdown, type DynamicModule } from '@nestjs/common';
import { MasterStore } from '@cacpq/db';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config';
import { LOGGER } from '../common/tokens';

/**
 * Provides the configuration, the logger and the already opened master store to every module,
 * and closes the store (checkpoint, close, release the lock) when the application shuts down,
 * after the HTTP server has stopped taking requests.
 */
@Global()
@Module({})
export class CoreModule implements OnApplicationShutdown {
  constructor(
    private readonly store: MasterStore,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  static forRoot(deps: { config: AppConfig; store: MasterStore; logger: Logger }): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: AppConfig, useValue: deps.config },
        { provide: MasterStore, useValue: deps.store },
        { provide: LOGGER, useValue: deps.logger },
      ],
      exports: [AppConfig, MasterStore, LOGGER],
    };
  }

  async onApplicationShutdown(signal?: string): Promise<void> {
    await this.store.close();
    this.logger.info({ signal }, 'master store closed: WAL checkpointed, data directory released');
  }
}
