import { SYNC_NAMESPACE } from '@cacpq/sync-protocol';
import { OnGatewayConnection, OnGatewayDisconnect, OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { AuthGuard } from '../auth/auth.guard';
import { Revocations } from '../auth/revocations';
import { enforceRevocations, presence, revokedDuringHandshake, socketAuthenticator } from '../auth/socket-auth';
import { AppConfig } from '../config/app-config';
import { DomainEvents } from '../events/domain-events';
import { SyncEvents } from './sync-events';

/**
 * `/sync` socket.io namespace: a workstation connects with its device token
 * (`auth: { token }`) or a dashboard session cookie, and receives `changes.available` pokes.
 */
@WebSocketGateway({ namespace: SYNC_NAMESPACE, cors: { origin: false } })
export class SyncGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect {
  constructor(
    private readonly events: SyncEvents,
    private readonly guard: AuthGuard,
    private readonly ops: DomainEvents,
    private readonly revocations: Revocations,
    private readonly config: AppConfig,
  ) {}

  afterInit(namespace: Namespace): void {
    namespace.use(socketAuthenticator(this.guard, this.revocations, this.config));
    enforceRevocations(namespace, this.revocations);
    this.events.attach(namespace);
  }

  /** Dashboards see workstations come and go. */
  handleConnection(socket: Socket): void {
    if (revokedDuringHandshake(socket, this.revocations)) return;
    socket.data.since = new Date().toISOString();
    this.ops.publish('workstation.connected', presence(socket));
  }

  handleDisconnect(socket: Socket): void {
    if (socket.data.since) this.ops.publish('workstation.gone', presence(socket));
  }
}
