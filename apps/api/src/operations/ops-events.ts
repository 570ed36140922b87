import { Injectable } from '@nestjs/common';
import type { JobView, MaintenanceState, OpsServerEvents } from '@cacpq/sync-protocol';
import { EventEmitter } from 'node:events';
import type { Namespace } from 'socket.io';

/**
 * Progress and state of backups, restores and maintenance, to the dashboard's `/ops` socket.io
 * namespace and to in-process listeners (tests, the scheduler).
 */
@Injectable()
export class OpsEvents extends EventEmitter {
  private namespace: Namespace | null = null;

  attach(namespace: Namespace): void {
    this.namespace = namespace;
  }

  private send<E extends keyof OpsServerEvents>(event: E, ...args: OpsServerEvents[E]): void {
    this.namespace?.emit(event, ...args);
    this.emit(event, ...args);
  }

  jobUpdated(job: JobView): void {
    this.send('job.updated', job);
  }

  maintenanceChanged(state: MaintenanceState): void {
    this.send('maintenance.changed', state);
  }

  backupsChanged(reason: string): void {
    this.send('backups.changed', { reason });
  }
}
