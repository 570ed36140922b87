import { MasterStore } from '@cacpq/db';
import { OPS_NAMESPACE, type OpsSnapshot, type Role } from '@cacpq/sync-protocol';
import { OnGatewayConnection, OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { AlertsService } from '../alerts/alerts.service';
import { AuthGuard } from '../auth/auth.guard';
import { Revocations } from '../auth/revocations';
import { enforceRevocations, presence, revokedDuringHandshake, socketAuthenticator } from '../auth/socket-auth';
import { AppConfig } from '../config/app-config';
import { DomainEvents, LIVE_EVENTS } from '../events/domain-events';
import { JobsService } from '../jobs/jobs.service';
import { MaintenanceMode } from '../maintenance/maintenance-mode';
import { MonitoringService } from '../monitoring/monitoring.service';
import { ConflictsService } from '../sync/conflicts.service';
import { SyncEvents } from '../sync/sync-events';

const OPS_ROLES: Role[] = ['admin', 'manager'];

/**
 * `/ops`: the dashboard's live feed for managers and admins. On connect one `snapshot`; then deltas:
 * `sync.finished`, `conflict.recorded`, `workstation.connected`/`gone`, `job.updated`,
 * `maintenance.changed`, `backups.changed`.
 */
@WebSocketGateway({ namespace: OPS_NAMESPACE, cors: { origin: false } })
export class OpsGateway implements OnGatewayInit, OnGatewayConnection {
  constructor(
    private readonly events: DomainEvents,
    private readonly guard: AuthGuard,
    private readonly store: MasterStore,
    private readonly maintenance: MaintenanceMode,
    private readonly jobs: JobsService,
    private readonly syncEvents: SyncEvents,
    private readonly monitoring: MonitoringService,
    private readonly alerts: AlertsService,
    private readonly conflicts: ConflictsService,
    private readonly revocations: Revocations,
    private readonly config: AppConfig,
  ) {}

  afterInit(namespace: Namespace): void {
    namespace.use(socketAuthenticator(this.guard, this.revocations, this.config, OPS_ROLES));
    enforceRevocations(namespace, this.revocations, OPS_ROLES);
    // The live feed: every domain event a dashboard shows, forwarded as it is published.
    for (const event of LIVE_EVENTS) {
      this.events.on(event, (...args: unknown[]) => namespace.emit(event, ...args));
    }
  }

  handleConnection(socket: Socket): void {
    if (revokedDuringHandshake(socket, this.revocations, OPS_ROLES)) return;
    socket.emit('snapshot', this.snapshot());
  }

  snapshot(): OpsSnapshot {
    const running = this.jobs.runningJob;
    let openConflicts: number | null = null;
    let last24h: OpsSnapshot['last24h'] = null;
    if (!this.store.suspended) {
      openConflicts = this.conflicts.openCount();
      const stats = this.monitoring.syncStats({});
      last24h = { syncs: stats.syncs, failed: stats.failed, conflicts: stats.conflicts };
    }
    return {
      at: new Date().toISOString(),
      maintenance: this.maintenance.state,
      runningJob: running === null ? null : this.jobs.get(running),
      workstations: this.syncEvents.sockets().map(presence),
      openConflicts,
      openAlerts: this.alerts.list({ status: 'open', limit: 100 }),
      last24h,
    };
  }
}
