import { Injectable } from '@nestjs/common';
import type {
  AlertView,
  ConflictRecordedEvent,
  JobView,
  MaintenanceState,
  OpsServerEvents,
  SyncFinishedEvent,
  WorkstationPresence,
} from '@cacpq/sync-protocol';
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

  syncFinished(e: SyncFinishedEvent): void {
    this.send('sync.finished', e);
  }

  conflictRecorded(e: ConflictRecordedEvent): void {
    this.send('conflict.recorded', e);
  }

  workstationConnected(p: WorkstationPresence): void {
    this.send('workstation.connected', p);
  }

  workstationGone(p: WorkstationPresence): void {
    this.send('workstation.gone', p);
  }

  /** The refused changes waiting for an admin changed (one was recorded, fixed or resolved). */
  refusalsChanged(e: { open: number }): void {
    this.send('refusals.changed', e);
  }

  alertOpened(a: AlertView): void {
    this.send('alert.opened', a);
  }

  alertResolved(a: AlertView): void {
    this.send('alert.resolved', a);
  }
}
