import { OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import { OPS_NAMESPACE } from '@cacpq/sync-protocol';
import type { Namespace } from 'socket.io';
import { AuthGuard } from '../auth/auth.guard';
import { socketAuthenticator } from '../sync/sync.gateway';
import { OpsEvents } from './ops-events';

/** `/ops`: job progress, maintenance mode and catalogue changes for managers' and admins' dashboards. */
@WebSocketGateway({ namespace: OPS_NAMESPACE, cors: { origin: false } })
export class OpsGateway implements OnGatewayInit {
  constructor(
    private readonly events: OpsEvents,
    private readonly guard: AuthGuard,
  ) {}

  afterInit(namespace: Namespace): void {
    namespace.use(socketAuthenticator(this.guard, ['admin', 'manager']));
    this.events.attach(namespace);
  }
}
