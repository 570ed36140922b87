import type { AddressInfo } from 'node:net';
import type { RevokedEvent } from '@cacpq/sync-protocol';
import { io, type Socket } from 'socket.io-client';
import { AuthGuard } from '../src/auth/auth.guard';
import { DeviceTokensService } from '../src/auth/device-tokens.service';
import { ADMIN_PASSWORD, makeUser, sessionCaller, startTestServer, type Caller, type TestServer } from './harness';

// Revoking a token, disabling an account, signing out or changing a password ends the socket.io
// connections made with those credentials at once (a `revoked` event, then a server disconnect).

let server: TestServer;
let base: string;
let admin: Caller;
const sockets: Socket[] = [];

beforeAll(async () => {
  server = await startTestServer();
  await server.app.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${(server.app.getHttpServer().address() as AddressInfo).port}`;
  admin = await sessionCaller(server, 'admin', ADMIN_PASSWORD);
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await server.close();
});

interface Conn {
  socket: Socket;
  /** Resolves with the `revoked` event and the disconnect reason when the server ends it. */
  ended: Promise<{ revoked: RevokedEvent | null; reason: string }>;
}

async function connect(namespace: '/sync' | '/ops', auth: { cookie?: string; token?: string; origin?: string }): Promise<Conn> {
  const socket = io(`${base}${namespace}`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    extraHeaders: { ...(auth.cookie ? { Cookie: auth.cookie } : {}), ...(auth.origin ? { Origin: auth.origin } : {}) },
    ...(auth.token ? { auth: { token: auth.token } } : {}),
  });
  sockets.push(socket);
  let revoked: RevokedEvent | null = null;
  socket.on('revoked', (e: RevokedEvent) => (revoked = e));
  const ended = new Promise<{ revoked: RevokedEvent | null; reason: string }>((resolve) =>
    socket.on('disconnect', (reason) => resolve({ revoked, reason })),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return { socket, ended };
}

/** Still connected after a round trip through the server: a later event would have arrived by now. */
async function stillOpen(c: Conn): Promise<boolean> {
  await new Promise((r) => setTimeout(r, 150));
  return c.socket.connected;
}

function within<T>(p: Promise<T>, ms = 2000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

async function login(username: string, password: string) {
  const res = await server.http.post('/api/v1/auth/login').send({ username, password }).expect(200);
  const cookie = ([] as string[])
    .concat(res.headers['set-cookie'] ?? [])
    .map((c) => c.split(';')[0])
    .join('; ');
  return { cookie, csrf: (res.body as { csrfToken: string }).csrfToken };
}

async function issue(username: string, device: string): Promise<{ id: string; token: string }> {
  const res = await admin
    .auth(server.http.post(`/api/v1/users/${username}/tokens`), 'POST')
    .send({ device })
    .expect(201);
  return res.body as { id: string; token: string };
}

describe('revocation ends open socket connections at once', () => {
  it('a revoked device token: its /sync socket ends, the same user’s other token stays, HTTP refuses it', async () => {
    await makeUser(server, admin, 'rita', 'user');
    const [a, b] = [await issue('rita', 'laptop'), await issue('rita', 'desktop')];
    const ca = await connect('/sync', { token: a.token });
    const cb = await connect('/sync', { token: b.token });
    await admin.auth(server.http.delete(`/api/v1/tokens/${a.id}`), 'DELETE').expect(200);
    expect(await within(ca.ended)).toEqual({
      revoked: { reason: 'token-revoked', message: 'This device token has been revoked.' },
      reason: 'io server disconnect',
    });
    expect(await stillOpen(cb)).toBe(true);
    const res = await server.http.get('/api/v1/sync/info').set('Authorization', `Bearer ${a.token}`);
    expect([res.status, res.body.code]).toEqual([401, 'INVALID_TOKEN']);
    // And it cannot come back.
    await expect(connect('/sync', { token: a.token })).rejects.toThrow(/revoked/);
  });

  it('a manager’s token on /ops', async () => {
    await makeUser(server, admin, 'mara', 'manager');
    const t = await issue('mara', 'wallboard');
    const c = await connect('/ops', { token: t.token });
    await admin.auth(server.http.delete(`/api/v1/tokens/${t.id}`), 'DELETE').expect(200);
    expect((await within(c.ended)).revoked?.reason).toBe('token-revoked');
  });

  it('a disabled account: its token and session sockets on /sync and /ops end', async () => {
    const made = await makeUser(server, admin, 'dora', 'manager');
    const t = await issue('dora', 'pc');
    const s = await login('dora', made.password);
    const conns = [
      await connect('/sync', { token: t.token }),
      await connect('/ops', { token: t.token }),
      await connect('/ops', { cookie: s.cookie }),
      await connect('/sync', { cookie: s.cookie }),
    ];
    await admin.auth(server.http.patch('/api/v1/users/dora'), 'PATCH').send({ disabled: true }).expect(200);
    for (const c of conns) {
      expect(await within(c.ended)).toEqual({
        revoked: { reason: 'account-disabled', message: 'The account dora has been disabled.' },
        reason: 'io server disconnect',
      });
    }
  });

  it('a session signed out: its /ops socket ends, the same account’s other session stays', async () => {
    const made = await makeUser(server, admin, 'sam', 'manager');
    const [s1, s2] = [await login('sam', made.password), await login('sam', made.password)];
    const [c1, c2] = [await connect('/ops', { cookie: s1.cookie }), await connect('/ops', { cookie: s2.cookie })];
    await server.http.post('/api/v1/auth/logout').set('Cookie', s1.cookie).set('X-CSRF-Token', s1.csrf).expect(204);
    expect((await within(c1.ended)).revoked).toEqual({ reason: 'signed-out', message: 'This session was signed out.' });
    expect(await stillOpen(c2)).toBe(true);
  });

  it('a password changed: the other sessions’ sockets end, the changing one and device tokens stay; an admin reset ends all sessions', async () => {
    const made = await makeUser(server, admin, 'pia', 'manager');
    const t = await issue('pia', 'pc');
    const [s1, s2] = [await login('pia', made.password), await login('pia', made.password)];
    const [c1, c2, ct] = [
      await connect('/ops', { cookie: s1.cookie }),
      await connect('/ops', { cookie: s2.cookie }),
      await connect('/sync', { token: t.token }),
    ];
    await server.http
      .post('/api/v1/auth/password')
      .set('Cookie', s1.cookie)
      .set('X-CSRF-Token', s1.csrf)
      .send({ currentPassword: made.password, newPassword: 'pia-new-password-456' })
      .expect(204);
    expect((await within(c2.ended)).revoked?.reason).toBe('password-changed');
    expect(await stillOpen(c1)).toBe(true);
    await admin.auth(server.http.patch('/api/v1/users/pia'), 'PATCH').send({ password: 'pia-reset-password-789' }).expect(200);
    expect((await within(c1.ended)).revoked?.reason).toBe('password-changed');
    expect(await stillOpen(ct)).toBe(true);
  });

  it('a manager made a user: the /ops stream ends, the /sync one goes on with the new role', async () => {
    const made = await makeUser(server, admin, 'ray', 'manager');
    const s = await login('ray', made.password);
    const ops = await connect('/ops', { cookie: s.cookie });
    const sync = await connect('/sync', { cookie: s.cookie });
    await admin.auth(server.http.patch('/api/v1/users/ray'), 'PATCH').send({ role: 'user' }).expect(200);
    expect((await within(ops.ended)).revoked).toEqual({ reason: 'role-changed', message: 'The account ray is now a user.' });
    expect(await stillOpen(sync)).toBe(true);
  });

  it('a token revoked while its socket’s handshake is being checked: the socket ends as it joins', async () => {
    await makeUser(server, admin, 'hal', 'user');
    const t = await issue('hal', 'pc');
    const guard = server.app.get(AuthGuard);
    const real = guard.authenticate.bind(guard);
    // The token checks out, then is revoked before the socket has joined the namespace.
    const spy = jest.spyOn(guard, 'authenticate').mockImplementationOnce(async (req) => {
      await real(req);
      await server.app.get(DeviceTokensService).revoke(t.id, 'admin');
    });
    try {
      const socket = io(`${base}/sync`, { transports: ['websocket'], reconnection: false, auth: { token: t.token } });
      sockets.push(socket);
      const revoked = new Promise<RevokedEvent>((resolve) => socket.on('revoked', resolve));
      const reason = new Promise<string>((resolve) => socket.on('disconnect', resolve));
      expect((await within(revoked)).reason).toBe('token-revoked');
      expect(await within(reason)).toBe('io server disconnect');
    } finally {
      spy.mockRestore();
    }
  });
});

describe('socket handshakes from another site', () => {
  it('refuses a foreign Origin on /ops and /sync, whatever the credentials; accepts this server’s own and none', async () => {
    const made = await makeUser(server, admin, 'olga', 'manager');
    const s = await login('olga', made.password);
    const t = await issue('olga', 'pc');
    for (const ns of ['/ops', '/sync'] as const) {
      for (const origin of ['http://evil.example', 'null', `${base.replace('127.0.0.1', 'localhost')}`]) {
        await expect(connect(ns, { cookie: s.cookie, origin })).rejects.toThrow(
          `Cross-site request refused: Origin ${origin} is not this server.`,
        );
        await expect(connect(ns, { token: t.token, origin })).rejects.toThrow(/Cross-site request refused/);
      }
      expect((await connect(ns, { cookie: s.cookie, origin: base })).socket.connected).toBe(true);
      expect((await connect(ns, { cookie: s.cookie })).socket.connected).toBe(true);
    }
  });
});
