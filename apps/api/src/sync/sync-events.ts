import { Inject, Injectable } from '@nestjs/common';
import type { SyncServerEvents } from '@cacpq/sync-protocol';
import type { Logger } from 'pino';
import type { Namespace, Socket } from 'socket.io';
import { LOGGER } from '../common/tokens';

/**
 * Pokes connected workstations after each commit so they pull at once. The gateway hands over
 * its namespace when socket.io starts; before that (or with no socket server) pokes are dropped:
 * workstations still sync on their schedule.
 */
@Injectable()
export class SyncEvents {
  private namespace: Namespace | null = null;

  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  attach(namespace: Namespace): void {
    this.namespace = namespace;
  }

  private emit<E extends keyof SyncServerEvents>(event: E, ...args: SyncServerEvents[E]): void {
    if (!this.namespace) return;
    this.namespace.emit(event, ...args);
    this.logger.debug({ event, workstations: this.namespace.sockets.size }, 'poked workstations');
  }

  /** Sockets connected to `/sync` right now (workstations, and dashboards that listen). */
  get connected(): number {
    return this.namespace?.sockets.size ?? 0;
  }

  /** The sockets themselves, for the dashboard's snapshot. */
  sockets(): Socket[] {
    return this.namespace ? [...this.namespace.sockets.values()] : [];
  }

  changesAvailable(generation: string, lastSeq: number): void {
    this.emit('changes.available', { generation, lastSeq });
  }

  /** After a restore: every connected workstation syncs at once and re-initialises. */
  generationChanged(generation: string): void {
    this.emit('generation.changed', { generation });
  }
}
