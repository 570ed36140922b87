import { OnGatewayConnection, OnGatewayDisconnect, OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import { SYNC_NAMESPACE, type WorkstationPresence } from '@cacpq/sync-protocol';
import type { Role } from '@cacpq/db';
import type { Namespace, Socket } from 'socket.io';
import { AuthGuard } from '../auth/auth.guard';
import { ApiException } from '../common/api-exception';
import type { AppRequest } from '../common/request-context';
import { OpsEvents } from '../operations/ops-events';
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
    private readonly ops: OpsEvents,
  ) {}

  afterInit(namespace: Namespace): void {
    namespace.use(socketAuthenticator(this.guard));
    this.events.attach(namespace);
  }

  /** Dashboards see workstations come and go. */
  handleConnection(socket: Socket): void {
    socket.data.since = new Date().toISOString();
    this.ops.workstationConnected(presence(socket));
  }

  handleDisconnect(socket: Socket): void {
    this.ops.workstationGone(presence(socket));
  }
}

export function presence(socket: Socket): WorkstationPresence {
  const p = socket.data.principal as AppRequest['principal'];
  return {
    socketId: socket.id,
    user: p?.username ?? 'unknown',
    role: p?.role ?? 'unknown',
    tokenId: p?.tokenId ?? null,
    since: (socket.data.since as string | undefined) ?? new Date().toISOString(),
  };
}

/** socket.io middleware: a device token (`auth: { token }`) or a session cookie, optionally limited to roles. */
export function socketAuthenticator(guard: AuthGuard, roles?: Role[]): (socket: Socket, next: (err?: Error) => void) => void {
  return (socket, next) => {
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    const req = socket.request as unknown as AppRequest;
    if (typeof token === 'string') req.headers.authorization = `Bearer ${token}`;
    req.cookies = parseCookies(req.headers.cookie);
    guard.authenticate(req).then(
      () => {
        if (roles && !roles.includes(req.principal!.role)) {
          next(new Error(`This stream is for ${roles.join(' and ')} accounts.`));
          return;
        }
        socket.data.principal = req.principal;
        next();
      },
      (err: unknown) =>
        next(new Error(err instanceof ApiException ? (err.getResponse() as { message: string }).message : 'authentication failed')),
    );
  };
}

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      out[part.slice(0, eq).trim()] = decodeURIComponent(raw);
    } catch {
      out[part.slice(0, eq).trim()] = raw;
    }
  }
  return out;
}
