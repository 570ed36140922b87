import { connect } from 'node:net';
import { ADMIN_PASSWORD, sessionCaller, startTestServer, type Caller, type TestServer } from './harness';

let server: TestServer;
let admin: Caller;

beforeAll(async () => {
  server = await startTestServer({ MAX_BODY_BYTES: '4096' });
  admin = await sessionCaller(server, 'admin', ADMIN_PASSWORD);
});
afterAll(() => server.close());

type Case = [
  label: string,
  method: 'post' | 'patch' | 'get' | 'delete',
  path: string,
  build: (r: import('supertest').Test) => import('supertest').Test,
  status: number,
  code: string,
  sentence: RegExp,
];

const json = (body: string) => (r: import('supertest').Test) => r.set('Content-Type', 'application/json').send(body);

const CASES: Case[] = [
  ['malformed JSON', 'post', '/api/v1/users', json('{"username": "x",'), 400, 'MALFORMED_JSON', /not valid JSON/],
  ['a JSON string instead of an object', 'post', '/api/v1/users', json('"hello"'), 400, 'VALIDATION_FAILED', /must be a JSON object/],
  ['a JSON array', 'post', '/api/v1/users', json('[1,2]'), 400, 'VALIDATION_FAILED', /must be a JSON object/],
  ['null', 'post', '/api/v1/users', json('null'), 400, 'VALIDATION_FAILED', /must be a JSON object/],
  ['no body at all', 'post', '/api/v1/users', (r) => r, 400, 'VALIDATION_FAILED', /is required/],
  [
    'an unknown field',
    'post',
    '/api/v1/users',
    (r) => r.send({ username: 'eve', role: 'user', isRoot: true }),
    400,
    'VALIDATION_FAILED',
    /unknown field "isRoot"/,
  ],
  [
    'a wrong type',
    'post',
    '/api/v1/users',
    (r) => r.send({ username: 42, role: 'user' }),
    400,
    'VALIDATION_FAILED',
    /username must be a string \(got number\)/,
  ],
  [
    'an unknown role',
    'post',
    '/api/v1/users',
    (r) => r.send({ username: 'eve', role: 'root' }),
    400,
    'VALIDATION_FAILED',
    /role must be one of "admin", "manager", "user"/,
  ],
  [
    'a too short password',
    'post',
    '/api/v1/users',
    (r) => r.send({ username: 'eve', role: 'user', password: 'abc' }),
    400,
    'VALIDATION_FAILED',
    /password must be at least 10 characters/,
  ],
  [
    'a username with path characters',
    'post',
    '/api/v1/users',
    (r) => r.send({ username: '../etc/passwd', role: 'user' }),
    400,
    'VALIDATION_FAILED',
    /username may contain only/,
  ],
  [
    'an oversize body',
    'post',
    '/api/v1/users',
    (r) => r.send({ username: 'eve', role: 'user', password: 'x'.repeat(10_000) }),
    413,
    'PAYLOAD_TOO_LARGE',
    /larger than the 4096 bytes/,
  ],
  [
    'form-encoded instead of JSON',
    'post',
    '/api/v1/users',
    (r) => r.type('form').send('username=eve&role=user'),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    /Content-Type: application\/json/,
  ],
  [
    'text/plain',
    'post',
    '/api/v1/auth/login',
    (r) => r.set('Content-Type', 'text/plain').send('{"username":"a"}'),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    /application\/json/,
  ],
  [
    'an empty patch',
    'patch',
    '/api/v1/users/admin',
    (r) => r.send({}),
    400,
    'VALIDATION_FAILED',
    /at least one of role, disabled or password/,
  ],
  [
    'disabled as a string',
    'patch',
    '/api/v1/users/admin',
    (r) => r.send({ disabled: 'yes' }),
    400,
    'VALIDATION_FAILED',
    /disabled must be a boolean/,
  ],
  [
    'a bad username in the path',
    'patch',
    '/api/v1/users/..%2F..%2Fhub',
    (r) => r.send({ disabled: true }),
    400,
    'VALIDATION_FAILED',
    /Invalid path/,
  ],
  ['an unknown user', 'patch', '/api/v1/users/nobody', (r) => r.send({ disabled: true }), 404, 'NOT_FOUND', /no user named "nobody"/],
  ['a token id that is not a UUID', 'delete', '/api/v1/tokens/..%2F..%2Fetc', (r) => r, 400, 'VALIDATION_FAILED', /must be a token id/],
  [
    'an empty device name',
    'post',
    '/api/v1/users/admin/tokens',
    (r) => r.send({ device: '   ' }),
    400,
    'VALIDATION_FAILED',
    /device is required/,
  ],
  [
    'a login without a password',
    'post',
    '/api/v1/auth/login',
    (r) => r.send({ username: 'admin' }),
    400,
    'VALIDATION_FAILED',
    /password is required/,
  ],
  [
    'a 100 kB login',
    'post',
    '/api/v1/auth/login',
    (r) => r.send({ username: 'admin', password: 'p'.repeat(100_000) }),
    413,
    'PAYLOAD_TOO_LARGE',
    /larger than/,
  ],
  ['an audit limit that is not a number', 'get', '/api/v1/audit?limit=lots', (r) => r, 400, 'VALIDATION_FAILED', /Invalid query: limit/],
  ['an absurd audit limit', 'get', '/api/v1/audit?limit=1000000', (r) => r, 400, 'VALIDATION_FAILED', /limit/],
  ['an unknown audit filter', 'get', '/api/v1/audit?colour=red', (r) => r, 400, 'VALIDATION_FAILED', /unknown field "colour"/],
  ['an unknown route', 'get', '/api/v1/nothing-here', (r) => r, 404, 'NOT_FOUND', /There is no GET \/api\/v1\/nothing-here/],
  [
    'demo seeding without the confirmation text',
    'post',
    '/api/v1/demo/seed',
    (r) => r.send({ confirm: 'yes' }),
    400,
    'VALIDATION_FAILED',
    /confirm must be the text "seed-demo"/,
  ],
];

describe('bad input gets a 4xx with a code and a sentence, never a 500', () => {
  it.each(CASES)('%s', async (_label, method, path, build, status, code, sentence) => {
    const res = await build(admin.auth(server.http[method](path), method.toUpperCase()));
    expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
    expect(res.body.message).toMatch(sentence);
    expect(res.body.message).toMatch(/\.$/);
    expect(res.body.requestId).toEqual(res.headers['x-request-id']);
  });

  it('answers odd session cookies with 401, never a 500', async () => {
    for (const cookie of [
      'cacpq_session=j:{"a":1}',
      'cacpq_session=j:["a"]',
      'cacpq_session=j:123',
      'cacpq_session=%E0%A4%A',
      'cacpq_session=',
    ]) {
      const res = await server.http.get('/api/v1/auth/me').set('Cookie', cookie);
      expect([cookie, res.status, res.body.code]).toEqual([cookie, 401, 'UNAUTHENTICATED']);
    }
  });

  it('answers a body that claims a compression it does not have with 400', async () => {
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const res = await admin
        .auth(server.http.post('/api/v1/users'), 'POST')
        .set('Content-Type', 'application/json')
        .set('Content-Encoding', encoding)
        .send('{"username":"zed","role":"user"}');
      expect([encoding, res.status, res.body.code]).toEqual([encoding, 400, 'MALFORMED_JSON']);
      expect(res.body.message).toMatch(/^The request body could not be read: /);
    }
  });

  it('creates a user once when the same creation arrives many times at once; the rest get 409', async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        admin.auth(server.http.post('/api/v1/users'), 'POST').send({ username: 'racer', role: 'user', password: 'racer-password-1' }),
      ),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    expect(answers.filter((r) => r.status === 409).every((r) => r.body.code === 'ALREADY_EXISTS')).toBe(true);
    await admin.auth(server.http.patch('/api/v1/users/racer'), 'PATCH').send({ disabled: true }).expect(200);
  });

  it('changed nothing: the only account is still the admin and no user "eve" exists', async () => {
    const res = await admin.auth(server.http.get('/api/v1/users'), 'GET').expect(200);
    expect((res.body as { username: string }[]).map((u) => u.username)).toEqual(['admin', 'racer']);
  });

  it('answers a body that says it is too large with 413 at once, without waiting for it (it waited for every byte)', async () => {
    const http = server.app.getHttpServer() as import('node:http').Server;
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const port = (http.address() as import('node:net').AddressInfo).port;
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        let text = '';
        const timer = setTimeout(() => reject(new Error(`no answer in 3 s: ${text}`)), 3000);
        socket.on('data', (d: Buffer) => {
          text += d.toString();
          const head = text.indexOf('\r\n\r\n');
          const length = Number(/content-length: (\d+)/i.exec(text)?.[1]);
          if (head >= 0 && text.length >= head + 4 + length) {
            clearTimeout(timer);
            socket.destroy();
            resolve(text);
          }
        });
        // 10 MB announced, 20 bytes sent, and the rest never comes.
        socket.write(
          'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{"username":"admin",',
        );
      });
      expect(answer).toMatch(/^HTTP\/1\.1 413 /);
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({
        statusCode: 413,
        code: 'PAYLOAD_TOO_LARGE',
        message: 'The request body is larger than the 4096 bytes this server accepts.',
      });
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });

  it('keeps a sane incoming request id and replaces an unsafe one', async () => {
    const kept = await server.http.get('/api/health').set('X-Request-Id', 'ws-42.sync-7');
    expect(kept.headers['x-request-id']).toBe('ws-42.sync-7');
    const replaced = await server.http.get('/api/health').set('X-Request-Id', 'x'.repeat(500));
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

// Found by the hostile-input suite (e2e/src/reliability-hostile.e2e-spec.ts): names of
// Object.prototype's members were taken for known names.
describe('names of built-in object members are not names the server knows (hostile-input regressions)', () => {
  let generation: string;
  const push = (changes: unknown[]) =>
    admin.auth(server.http.post('/api/v1/sync/push'), 'POST').send({
      protocolVersion: 1,
      clientId: 'ws-hostile',
      batchId: `b-${Math.random().toString(36).slice(2)}`,
      generation,
      clientTime: new Date().toISOString(),
      changes,
    });
  const component = (id: string, baseVersion: number, extra: Record<string, unknown> = {}) => ({
    table: 'components',
    op: 'upsert',
    id,
    baseVersion,
    updatedAt: new Date().toISOString(),
    values: { sku: `SKU-${id}`, name: `Component ${id}`, category: 'Pumps', listPrice: 100 },
    ...extra,
  });
  const rowOf = (id: string) => server.store.serverDb.prepare('SELECT * FROM components WHERE id = ?').get(id) as Record<string, unknown>;

  beforeAll(async () => {
    generation = ((await admin.auth(server.http.get('/api/v1/sync/info'), 'GET').expect(200)).body as { generation: string }).generation;
  });

  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])(
    'a push whose changed names "%s" is refused with 400, on an existing row (was a 500) and on a new one (was applied)',
    async (name) => {
      const created = await push([component(`proto-${name}`, 0)]).expect(200);
      const version = (created.body as { results: { version: number }[] }).results[0].version;
      const before = rowOf(`proto-${name}`);

      const update = await push([component(`proto-${name}`, version, { changed: ['name', name] })]);
      expect({ status: update.status, code: update.body.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
      expect(update.body.message).toBe(`changes[0]: changed names "${name}", which is not in values.`);
      expect(rowOf(`proto-${name}`)).toEqual(before);

      const insert = await push([component(`proto-new-${name}`, 0, { changed: [name] })]);
      expect({ status: insert.status, code: insert.body.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
      expect(rowOf(`proto-new-${name}`)).toBeUndefined();
    },
  );

  it.each(['cursor=', 'cursor=%20', 'cursor=0&until=', 'cursor=0x10', 'cursor=1e3', 'cursor=0&limit=', 'cursor=0&cursor=0', 'cursor=+5'])(
    'a pull with %s is refused with 400 (an empty cursor was read as 0: a pull of everything)',
    async (query) => {
      const res = await admin.auth(server.http.get(`/api/v1/sync/pull?generation=${generation}&clientId=ws-hostile&${query}`), 'GET');
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
      expect(res.body.message).toMatch(
        /^Invalid query: (cursor|until|limit) must be a (whole number \(digits only\)|string \(got array\))\.$/,
      );
    },
  );

  it('a pull with digits still works', async () => {
    const res = await admin.auth(server.http.get(`/api/v1/sync/pull?generation=${generation}&clientId=ws-hostile&cursor=0&limit=5`), 'GET');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ generation, changes: expect.any(Array), hasMore: expect.any(Boolean) });
  });

  it.each<Record<string, unknown>>([
    { constructor: 1 },
    { toString: 5 },
    { valueOf: 7, 'retention.daily.days': 30 },
    { hasOwnProperty: 'x' },
  ])('PATCH /settings with %j is refused with 400 and saves nothing (was 200, saved)', async (patch) => {
    const before = server.store.hubDb.prepare('SELECT key, value FROM settings ORDER BY key').all();
    const res = await admin.auth(server.http.patch('/api/v1/settings'), 'PATCH').send(patch);
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect(res.body.message).toMatch(/cannot be changed here/);
    expect(server.store.hubDb.prepare('SELECT key, value FROM settings ORDER BY key').all()).toEqual(before);
  });
});
