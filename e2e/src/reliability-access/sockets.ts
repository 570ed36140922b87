import type { RevokedEvent } from '@cacpq/sync-protocol';
import { io, type Socket } from 'socket.io-client';

export interface Conn {
  socket: Socket;
  /** Resolves when the server ends the connection: the `revoked` event it sent first, the disconnect reason, when. */
  ended: Promise<{ revoked: RevokedEvent | null; reason: string; at: number }>;
}

const open: Socket[] = [];

/** Connects to `/sync` or `/ops` with a token or a session cookie; rejects with the server's refusal. */
export async function connect(
  url: string,
  namespace: '/sync' | '/ops',
  auth: { cookie?: string; token?: string; origin?: string },
): Promise<Conn> {
  const headers: Record<string, string> = {};
  if (auth.cookie) headers.Cookie = auth.cookie;
  if (auth.origin) headers.Origin = auth.origin;
  const socket = io(`${url}${namespace}`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    extraHeaders: headers,
    ...(auth.token ? { auth: { token: auth.token } } : {}),
  });
  open.push(socket);
  let revoked: RevokedEvent | null = null;
  socket.on('revoked', (e: RevokedEvent) => (revoked = e));
  const ended = new Promise<{ revoked: RevokedEvent | null; reason: string; at: number }>((resolve) =>
    socket.on('disconnect', (reason) => resolve({ revoked, reason, at: Date.now() })),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no connect within 5 s')), 5000);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('connect_error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  return { socket, ended };
}

export function closeAll(): void {
  for (const s of open.splice(0)) s.close();
}

export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Still connected after a moment in which a revocation aimed at it would have arrived. */
export async function stillOpen(c: Conn, ms = 300): Promise<boolean> {
  await new Promise((r) => setTimeout(r, ms));
  return c.socket.connected;
}
