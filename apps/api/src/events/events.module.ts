import { Global, Module } from '@nestjs/common';
import { DomainEvents } from './domain-events';

/** The domain event bus every feature publishes to and subscribes on (global: a publisher must not know its listeners). */
@Global()
@Module({
  providers: [DomainEvents],
  exports: [DomainEvents],
})
export class EventsModule {}
