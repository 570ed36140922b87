import type { RevokedEvent, WorkstationPresence } from '@cacpq/sync-protocol';
import type { Role } from '@cacpq/db';
import type { Namespace, Socket } from 'socket.io';
import { ApiException } from '../common/api-exception';
import type { AppRequest, Principal } from '../common/request-context';
import type { AppConfig } from '../config/app-config';
import { type AuthGuard, foreignOrigin } from './auth.guard';
import type { Revocation, Revocations } from './revocations';

/**
 * Signing in on socket.io (`/sync`, `/ops`): the same credentials and revocations as HTTP, for
 * every gateway.
 */

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
export function socketAuthenticator(
  guard: AuthGuard,
  revocations: Revocations,
  config: AppConfig,
  roles?: Role[],
): (socket: Socket, next: (err?: Error) => void) => void {
  return (socket, next) => {
    // Revocations published from here on are checked again when the socket joins.
    socket.data.revocationMark = revocations.mark;
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    const req = socket.request as unknown as AppRequest;
    // A page of another site opening a socket with the browser's cookie (WebSockets have no CORS).
    const refused = foreignOrigin(req.headers, config.trustProxy);
    if (refused) {
      next(new Error(refused));
      return;
    }
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

/**
 * Ends, at once, every socket of the namespace whose credentials a revocation concerns: the
 * client is told why (`revoked`) and disconnected by the server, so it does not reconnect.
 */
export function enforceRevocations(namespace: Namespace, revocations: Revocations, roles?: Role[]): void {
  revocations.subscribe((r) => {
    for (const socket of [...namespace.sockets.values()]) if (ends(socket, r, roles)) endSocket(socket, r);
  });
}

/** A revocation published while this socket's handshake was being checked ends it as it joins. */
export function revokedDuringHandshake(socket: Socket, revocations: Revocations, roles?: Role[]): boolean {
  for (const r of revocations.since(socket.data.revocationMark as number)) {
    if (ends(socket, r, roles)) {
      endSocket(socket, r);
      return true;
    }
  }
  return false;
}

function ends(socket: Socket, r: Revocation, roles: Role[] | undefined): boolean {
  const p = socket.data.principal as Principal | undefined;
  if (!p || !r.matches(p)) return false;
  if (r.reason !== 'role-changed') return true;
  // A new role: the connection keeps going unless this stream needs another one.
  p.role = r.role!;
  return roles !== undefined && !roles.includes(r.role!);
}

function endSocket(socket: Socket, r: Revocation): void {
  const event: RevokedEvent = { reason: r.reason, message: r.message };
  socket.emit('revoked', event);
  socket.disconnect();
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
