import {
  anonymous,
  ADMIN_PASSWORD,
  makeUser,
  send,
  sessionCaller,
  startTestServer,
  tokenCaller,
  type Caller,
  type TestServer,
} from './harness';

type Role = 'anonymous' | 'user' | 'manager' | 'admin';
interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  body?: unknown;
  /** Expected status per caller role. */
  expect: Record<Role, number>;
}

const ANY_SIGNED_IN = (ok: number) => ({ anonymous: 401, user: ok, manager: ok, admin: ok });
const ADMIN_ONLY = (ok: number) => ({ anonymous: 401, user: 403, manager: 403, admin: ok });
const PUBLIC = (ok: number) => ({ anonymous: ok, user: ok, manager: ok, admin: ok });
const MANAGERS = (ok: number) => ({ anonymous: 401, user: 403, manager: ok, admin: ok });

let seq = 0;
const unique = () => `u${Date.now().toString(36)}${seq++}`;

/** Every route of the API, with what each role gets. A new route must be added here. */
const ROUTES: (() => Route)[] = [
  () => ({ method: 'GET', path: '/api/health', expect: PUBLIC(200) }),
  () => ({ method: 'GET', path: '/api/health/ready', expect: PUBLIC(200) }),
  () => ({ method: 'GET', path: '/api/docs/openapi.json', expect: ANY_SIGNED_IN(200) }),
  () => ({ method: 'GET', path: '/api/docs/openapi.yaml', expect: ANY_SIGNED_IN(200) }),
  () => ({ method: 'GET', path: '/api/docs/', expect: ANY_SIGNED_IN(200) }),
  () => ({ method: 'GET', path: '/api/docs-yaml', expect: ANY_SIGNED_IN(404) }),
  () => ({ method: 'GET', path: '/api/docs-json', expect: ANY_SIGNED_IN(404) }),
  () => ({ method: 'POST', path: '/api/v1/auth/login', body: { username: unique(), password: 'wrong-password' }, expect: PUBLIC(401) }),
  () => ({ method: 'GET', path: '/api/v1/auth/me', expect: ANY_SIGNED_IN(200) }),
  () => ({ method: 'POST', path: '/api/v1/auth/password', body: {}, expect: ANY_SIGNED_IN(400) }),
  () => ({ method: 'GET', path: '/api/v1/users', expect: MANAGERS(200) }),
  () => ({ method: 'POST', path: '/api/v1/users', body: { username: unique(), role: 'user' }, expect: ADMIN_ONLY(201) }),
  () => ({ method: 'PATCH', path: '/api/v1/users/target', body: { disabled: false }, expect: ADMIN_ONLY(200) }),
  () => ({ method: 'GET', path: '/api/v1/users/target/tokens', expect: MANAGERS(200) }),
  () => ({ method: 'POST', path: '/api/v1/users/target/tokens', body: { device: 'bench' }, expect: ADMIN_ONLY(201) }),
  () => ({ method: 'DELETE', path: '/api/v1/tokens/0b5e0f7e-0000-4000-8000-000000000000', expect: ADMIN_ONLY(404) }),
  () => ({ method: 'GET', path: '/api/v1/audit', expect: MANAGERS(200) }),
  () => ({ method: 'POST', path: '/api/v1/demo/seed', body: {}, expect: ADMIN_ONLY(400) }),
  () => ({ method: 'GET', path: '/api/v1/sync/info', expect: ANY_SIGNED_IN(200) }),
  () => ({ method: 'POST', path: '/api/v1/sync/push', body: {}, expect: ANY_SIGNED_IN(400) }),
  () => ({ method: 'GET', path: '/api/v1/sync/pull', expect: ANY_SIGNED_IN(400) }),
  () => ({ method: 'GET', path: '/api/v1/sync/snapshot', expect: ANY_SIGNED_IN(200) }),
  () => ({ method: 'PUT', path: '/api/v1/sync/settings', body: { intervalMinutes: 120 }, expect: ADMIN_ONLY(200) }),
  () => ({ method: 'GET', path: '/api/v1/conflicts', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/conflicts/999', expect: MANAGERS(404) }),
  () => ({ method: 'POST', path: '/api/v1/conflicts/999/resolve', body: { keep: 'winner' }, expect: ADMIN_ONLY(404) }),
  () => ({ method: 'GET', path: '/api/v1/numbers', expect: ANY_SIGNED_IN(200) }),
  () => ({ method: 'POST', path: '/api/v1/numbers/quote', expect: ANY_SIGNED_IN(201) }),
  () => ({ method: 'POST', path: '/api/v1/numbers/quote/reserve', body: { count: 2 }, expect: ANY_SIGNED_IN(201) }),
  () => ({ method: 'PUT', path: '/api/v1/numbers/quote/format', body: { format: 'Q{YYYY}-{SEQ:4}' }, expect: ADMIN_ONLY(200) }),
  () => ({ method: 'POST', path: '/api/v1/backups', body: { kind: 'hourly' }, expect: ADMIN_ONLY(400) }),
  () => ({ method: 'GET', path: '/api/v1/backups', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/backups/999', expect: MANAGERS(404) }),
  () => ({ method: 'GET', path: '/api/v1/backups/999/preview', expect: ADMIN_ONLY(404) }),
  () => ({ method: 'GET', path: '/api/v1/backups/999/download', expect: ADMIN_ONLY(404) }),
  () => ({ method: 'POST', path: '/api/v1/backups/999/restore', body: { confirm: 'restore nothing' }, expect: ADMIN_ONLY(404) }),
  () => ({ method: 'GET', path: '/api/v1/jobs', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/jobs/999', expect: MANAGERS(404) }),
  () => ({ method: 'POST', path: '/api/v1/maintenance/optimize', expect: ADMIN_ONLY(202) }),
  () => ({ method: 'GET', path: '/api/v1/maintenance/runs', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/maintenance/schedules', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/maintenance/state', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/settings', expect: MANAGERS(200) }),
  () => ({ method: 'PATCH', path: '/api/v1/settings', body: { 'retention.daily.days': 30 }, expect: ADMIN_ONLY(200) }),
  () => ({ method: 'GET', path: '/api/v1/monitoring/sync-activity', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/monitoring/conflict-summary', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/monitoring/active-users', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/monitoring/sync-stats', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/monitoring/workstations', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/monitoring/health', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/monitoring/growth', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/monitoring/sync-timeline', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/monitoring/user-days', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/alerts', expect: MANAGERS(200) }),
  () => ({ method: 'POST', path: '/api/v1/alerts/999999/acknowledge', expect: ADMIN_ONLY(404) }),
  () => ({ method: 'POST', path: '/api/v1/alerts/evaluate', expect: ADMIN_ONLY(200) }),
  () => ({ method: 'GET', path: '/api/v1/alerts/settings', expect: ADMIN_ONLY(200) }),
  () => ({ method: 'PATCH', path: '/api/v1/alerts/settings', body: { 'alerts.growth.pct': 50 }, expect: ADMIN_ONLY(200) }),
  () => ({ method: 'GET', path: '/metrics', expect: MANAGERS(200) }),
  // Logout last: it ends the caller's session.
  () => ({ method: 'POST', path: '/api/v1/auth/logout', expect: ANY_SIGNED_IN(204) }),
];

describe('route × role table', () => {
  let server: TestServer;
  const callers: Record<Exclude<Role, 'anonymous'>, { session: Caller; token: Caller }> = {} as never;

  beforeAll(async () => {
    server = await startTestServer();
    const admin = await sessionCaller(server, 'admin', ADMIN_PASSWORD);
    const adminToken = (await admin.auth(server.http.post('/api/v1/users/admin/tokens'), 'POST').send({ device: 'admin-pc' }).expect(201))
      .body as { token: string };
    callers.admin = { session: admin, token: tokenCaller('admin (token)', adminToken.token) };
    for (const role of ['user', 'manager'] as const) {
      const made = await makeUser(server, admin, `${role}1`, role);
      callers[role] = { session: made.session, token: made.token };
    }
    await admin.auth(server.http.post('/api/v1/users'), 'POST').send({ username: 'target', role: 'user' }).expect(201);
  });
  afterAll(() => server.close());

  const cases: [string, Role, 'session' | 'token' | 'none', () => Route][] = [];
  for (const route of ROUTES) {
    const r = route();
    for (const role of ['anonymous', 'user', 'manager', 'admin'] as Role[]) {
      const kinds = role === 'anonymous' ? (['none'] as const) : (['token', 'session'] as const);
      for (const kind of kinds) cases.push([`${r.method} ${r.path}`, role, kind, route]);
    }
  }

  it.each(cases)('%s as %s via %s', async (_label, role, kind, route) => {
    const r = route();
    const caller = role === 'anonymous' ? anonymous : callers[role][kind as 'session' | 'token'];
    const method = r.method.toLowerCase() as 'get' | 'post' | 'patch' | 'put' | 'delete';
    const res = await send(caller.auth(server.http[method](r.path), r.method), r.body);
    expect({ route: `${r.method} ${r.path}`, role, status: res.status }).toEqual({
      route: `${r.method} ${r.path}`,
      role,
      status: r.expect[role],
    });
    if (res.status >= 400) {
      expect(res.body).toMatchObject({ statusCode: res.status, code: expect.any(String), message: expect.stringMatching(/\.$/) });
    }
  });

  it('lists every route the server really has (checked against its OpenAPI description)', async () => {
    const doc = (await callers.admin.token.auth(server.http.get('/api/docs/openapi.json'), 'GET').expect(200)).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const table = ROUTES.map((r) => r());
    const missing: string[] = [];
    for (const [template, methods] of Object.entries(doc.paths)) {
      const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
      for (const method of Object.keys(methods)) {
        if (!table.some((r) => r.method === method.toUpperCase() && pattern.test(r.path)))
          missing.push(`${method.toUpperCase()} ${template}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('answers wrong passwords and unknown tokens with 401 on every guarded route', async () => {
    for (const route of ROUTES) {
      const r = route();
      if (r.expect.anonymous !== 401 || r.expect.admin === 401) continue;
      const method = r.method.toLowerCase() as 'get' | 'post' | 'patch' | 'put' | 'delete';
      const res = await send(server.http[method](r.path).set('Authorization', 'Bearer cacpq_not-a-real-token'), r.body);
      expect([r.path, res.status, res.body.code]).toEqual([r.path, 401, 'INVALID_TOKEN']);
    }
    const res = await server.http.post('/api/v1/auth/login').send({ username: 'admin', password: 'not-the-password' });
    expect([res.status, res.body.code]).toEqual([401, 'INVALID_CREDENTIALS']);
  });
});
