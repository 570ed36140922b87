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
import { ROLES, ROUTES, missingFromTable, type Role, type Route } from './route-table';

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
    for (const role of ROLES) {
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
    const missing = missingFromTable(doc);
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
