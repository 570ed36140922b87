import Database from 'better-sqlite3';
import { verify as argon2Verify } from '@node-rs/argon2';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SyncClient, SyncError } from '@cacpq/sync-client';
import { ROUTES, missingFromTable } from '../../apps/api/test/route-table';
import { ADMIN_PASSWORD, ROOT, startServer, tempDir, type ServerProcess } from './harness';
import {
  anonymousCaller,
  call,
  login,
  raw,
  rawBytes,
  sessionCaller,
  signIn,
  tokenCaller,
  type Answer,
  type Caller,
  type Session,
} from './reliability-access/http';
import { scanForSecrets } from './reliability-access/secrets';
import { closeAll, connect, stillOpen, within } from './reliability-access/sockets';
import { io } from 'socket.io-client';

// Access, against the real server process: the route × role table over every OpenAPI route, CSRF,
// session cookie flags, the login rate limit, path traversal in backup ids and downloads (symbolic
// links included), revocation ending open socket connections, and secrets hashed at rest (the raw
// bytes of every file of the data directory and the server's log output scanned for them).

/** `RELIABILITY_LONG=1`: more guesses in parallel and more sockets racing their revocation (about a minute more). */
const LONG = process.env.RELIABILITY_LONG === '1';
const PARALLEL_GUESSES = LONG ? 300 : 30;
const RACING_SOCKETS = LONG ? 200 : 20;

const secrets: Record<string, string> = {};
const figures: Record<string, unknown> = { revocation: {} };
let server: ServerProcess;
let dataDir: string;
let outsideDir: string;
let url: string;
let admin: Caller;
const pw = (who: string) => `${who}-pw-${randomBytes(9).toString('base64url')}`;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const accounts: Record<string, { role: string; password: string | null }> = {};

async function createUser(username: string, role: 'user' | 'manager' | 'admin', password: string | null): Promise<void> {
  const res = await call(url, admin, 'POST', '/api/v1/users', { username, role, ...(password ? { password } : {}) });
  if (res.status !== 201) throw new Error(`creating ${username}: ${res.status} ${res.text}`);
  accounts[username] = { role, password };
  if (password) secrets[`password of ${username}`] = password;
}

async function issueToken(username: string, device: string): Promise<{ id: string; token: string }> {
  const res = await call(url, admin, 'POST', `/api/v1/users/${username}/tokens`, { device });
  if (res.status !== 201) throw new Error(`issuing a token for ${username}: ${res.status} ${res.text}`);
  secrets[`token ${username}/${device}`] = res.body.token;
  return res.body as { id: string; token: string };
}

async function session(username: string, password: string): Promise<Session> {
  const s = await signIn(url, username, password);
  secrets[`session of ${username} #${Object.keys(secrets).length}`] = s.secret;
  return s;
}

/** An error answer as the API promises: a code, a sentence, the status, a request id. */
function expectErrorBody(res: Answer, what: string): void {
  expect({ what, body: res.body }).toMatchObject({
    what,
    body: {
      statusCode: res.status,
      code: expect.stringMatching(/^[A-Z_]+$/),
      message: expect.stringMatching(/\.$/),
      requestId: expect.any(String),
    },
  });
}

beforeAll(async () => {
  dataDir = tempDir('access');
  outsideDir = tempDir('access-outside');
  server = await startServer({ dataDir, env: { LOG_LEVEL: 'debug' } });
  url = server.url;
  secrets['ADMIN_PASSWORD'] = ADMIN_PASSWORD;
  accounts.admin = { role: 'admin', password: ADMIN_PASSWORD };
  admin = sessionCaller('admin', await session('admin', ADMIN_PASSWORD));
});

afterAll(async () => {
  closeAll();
  if (server?.proc.exitCode === null) await server.stop();
  const out = path.join(ROOT, 'e2e', 'artifacts');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'reliability-access.json'), JSON.stringify(figures, null, 2) + '\n');
  process.stdout.write(`\nreliability-access figures: ${JSON.stringify(figures)}\n`);
  for (const d of [dataDir, outsideDir]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

describe('the route × role table over every endpoint', () => {
  it('answers each role as the table says on every route of the OpenAPI document, via token and session', async () => {
    await createUser('user1', 'user', pw('user1'));
    await createUser('manager1', 'manager', pw('manager1'));
    await createUser('target', 'user', null);
    const adminToken = await issueToken('admin', 'matrix');
    const callers: Caller[] = [
      anonymousCaller,
      tokenCaller('user', (await issueToken('user1', 'matrix')).token),
      sessionCaller('user', await session('user1', accounts.user1.password!)),
      tokenCaller('manager', (await issueToken('manager1', 'matrix')).token),
      sessionCaller('manager', await session('manager1', accounts.manager1.password!)),
      tokenCaller('admin', adminToken.token),
      sessionCaller('admin', await session('admin', ADMIN_PASSWORD)),
    ];

    const doc = (await call(url, tokenCaller('admin', adminToken.token), 'GET', '/api/docs/openapi.json')).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const operations = Object.values(doc.paths).reduce((n, methods) => n + Object.keys(methods).length, 0);
    expect(operations).toBeGreaterThan(50);
    // Every route the server describes is in the table (a new route must be added there).
    expect(missingFromTable(doc)).toEqual([]);

    const mismatches: string[] = [];
    let requests = 0;
    // In the table's order: the last route (logout) ends the sessions.
    for (const make of ROUTES) {
      for (const caller of callers) {
        const route = make();
        const res = await call(url, caller, route.method, route.path, route.body);
        requests++;
        const want = route.expect[caller.role];
        if (res.status !== want) mismatches.push(`${route.method} ${route.path} as ${caller.name}: ${res.status}, expected ${want}`);
        if (res.status >= 400) expectErrorBody(res, `${route.method} ${route.path} as ${caller.name}`);
        if (res.status === 403 && caller.role === 'user' && res.body?.code === 'FORBIDDEN') {
          expect(res.body.message).toMatch(/is a user\.$/);
        }
        if (typeof res.body?.token === 'string') secrets[`token from ${route.path} #${requests}`] = res.body.token;
      }
    }
    expect(mismatches).toEqual([]);
    figures.matrix = { routesInTable: ROUTES.length, openApiOperations: operations, callers: callers.length, requests };
  });

  it('refuses unknown tokens, malformed Authorization headers and forged session cookies on every guarded route with 401', async () => {
    const guarded = ROUTES.map((r) => r()).filter((r) => r.expect.anonymous === 401 && r.expect.admin !== 401);
    const forged: [Caller, string][] = [
      [{ ...anonymousCaller, name: 'unknown token', headers: () => ({ Authorization: 'Bearer cacpq_not-a-real-token' }) }, 'INVALID_TOKEN'],
      [
        {
          ...anonymousCaller,
          name: 'basic auth',
          headers: () => ({ Authorization: `Basic ${Buffer.from('admin:x').toString('base64')}` }),
        },
        'INVALID_TOKEN',
      ],
      [
        {
          ...anonymousCaller,
          name: 'forged cookie',
          headers: () => ({ Cookie: `cacpq_session=${randomBytes(32).toString('base64url')}` }),
        },
        'UNAUTHENTICATED',
      ],
    ];
    const wrong: string[] = [];
    for (const r of guarded) {
      for (const [caller, code] of forged) {
        const res = await call(url, caller, r.method, r.path, r.body);
        if (res.status !== 401 || res.body?.code !== code)
          wrong.push(`${r.method} ${r.path} with ${caller.name}: ${res.status} ${res.body?.code}`);
      }
    }
    expect(wrong).toEqual([]);
    figures.forgedCredentials = { routes: guarded.length, requests: guarded.length * forged.length };
  });
});

describe('CSRF', () => {
  it('refuses every session write without the X-CSRF-Token, and changes nothing', async () => {
    const s = await session('admin', ADMIN_PASSWORD);
    const noCsrf: Caller = { ...sessionCaller('admin', s), headers: () => ({ Cookie: s.cookie }) };
    // Every write that needs a signed-in caller (sign-in itself is public).
    const writes = ROUTES.map((r) => r()).filter((r) => r.method !== 'GET' && r.expect.anonymous === 401 && r.expect.admin !== 401);
    const wrong: string[] = [];
    for (const r of writes) {
      const res = await call(url, noCsrf, r.method, r.path, r.body);
      if (res.status !== 403 || res.body?.code !== 'CSRF_FAILED') wrong.push(`${r.method} ${r.path}: ${res.status} ${res.body?.code}`);
      else expectErrorBody(res, r.path);
    }
    expect(wrong).toEqual([]);
    // The refused logout did not end the session.
    expect((await call(url, sessionCaller('admin', s), 'GET', '/api/v1/auth/me')).status).toBe(200);
    figures.csrfRefusedWrites = writes.length;
  });

  it('refuses a wrong token, another session’s token and a foreign Origin; bearer tokens need no CSRF token', async () => {
    const [s, other] = [await session('admin', ADMIN_PASSWORD), await session('admin', ADMIN_PASSWORD)];
    const token = await issueToken('admin', 'csrf');
    const create = (caller: Caller, name: string, extra: Record<string, string> = {}) =>
      call(url, caller, 'POST', '/api/v1/users', { username: name, role: 'user' }, extra);
    const withCsrf = (csrf: string): Caller => ({
      ...sessionCaller('admin', s),
      headers: () => ({ Cookie: s.cookie, 'X-CSRF-Token': csrf }),
    });
    const refused: [string, Promise<Answer>][] = [
      ['wrong token', create(withCsrf(randomBytes(32).toString('base64url')), 'csrf-wrong')],
      ['empty token', create(withCsrf(''), 'csrf-empty')],
      ['the other session’s token', create(withCsrf(other.csrf), 'csrf-other')],
      ['the csrf cookie’s name as token', create(withCsrf('cacpq_csrf'), 'csrf-name')],
      ['foreign Origin', create(sessionCaller('admin', s), 'csrf-origin', { Origin: 'http://evil.example' })],
      ['Origin null', create(sessionCaller('admin', s), 'csrf-null', { Origin: 'null' })],
      ['same host, other port', create(sessionCaller('admin', s), 'csrf-port', { Origin: `http://127.0.0.1:${server.port + 1}` })],
      [
        'bearer token from a foreign Origin',
        create(tokenCaller('admin', token.token), 'csrf-bearer-origin', { Origin: 'http://evil.example' }),
      ],
    ];
    for (const [what, p] of refused) {
      const res = await p;
      expect({ what, status: res.status, code: res.body?.code }).toEqual({ what, status: 403, code: 'CSRF_FAILED' });
      expectErrorBody(res, what);
    }
    expect((await create(sessionCaller('admin', s), 'csrf-same-origin', { Origin: url })).status).toBe(201);
    expect((await create(tokenCaller('admin', token.token), 'csrf-bearer')).status).toBe(201);
    const names = ((await call(url, admin, 'GET', '/api/v1/users')).body as { username: string }[]).map((u) => u.username);
    expect(names.filter((n) => n.startsWith('csrf-')).sort()).toEqual(['csrf-bearer', 'csrf-same-origin']);
  });

  it('refuses a socket handshake carrying a session cookie from a foreign Origin', async () => {
    const s = await session('admin', ADMIN_PASSWORD);
    await expect(connect(url, '/ops', { cookie: s.cookie, origin: 'http://evil.example' })).rejects.toThrow(/Origin/);
    await expect(connect(url, '/sync', { cookie: s.cookie, origin: 'http://evil.example' })).rejects.toThrow(/Origin/);
    const same = await connect(url, '/ops', { cookie: s.cookie, origin: url });
    expect(same.socket.connected).toBe(true);
    closeAll();
  });
});

interface CookieSeen {
  name: string;
  value: string;
  attrs: Record<string, string | true>;
}
function parseSetCookie(header: string): CookieSeen {
  const [pair, ...attrs] = header.split(';').map((p) => p.trim());
  const eq = pair.indexOf('=');
  const out: CookieSeen = { name: pair.slice(0, eq), value: pair.slice(eq + 1), attrs: {} };
  for (const a of attrs) {
    const i = a.indexOf('=');
    out.attrs[(i < 0 ? a : a.slice(0, i)).toLowerCase()] = i < 0 ? true : a.slice(i + 1);
  }
  return out;
}
function cookiesOf(setCookie: string[]): Record<string, CookieSeen> {
  return Object.fromEntries(setCookie.map(parseSetCookie).map((c) => [c.name, c]));
}

describe('session cookies and the login rate limit', () => {
  let proxied: ServerProcess;
  let proxiedDir: string;
  beforeAll(async () => {
    proxiedDir = tempDir('access-proxied');
    proxied = await startServer({ dataDir: proxiedDir, env: { TRUST_PROXY: 'loopback' } });
  });
  afterAll(async () => {
    await proxied?.stop();
    fs.rmSync(proxiedDir, { recursive: true, force: true });
  });

  it('sets an HttpOnly, SameSite=Strict, Path=/ session cookie; Secure only behind a trusted HTTPS proxy; none on a failed sign-in', async () => {
    const plain = cookiesOf((await login(url, 'admin', ADMIN_PASSWORD)).setCookie);
    expect(Object.keys(plain).sort()).toEqual(['cacpq_csrf', 'cacpq_session']);
    expect(plain.cacpq_session.attrs).toMatchObject({ httponly: true, samesite: 'Strict', path: '/' });
    expect(Number(plain.cacpq_session.attrs['max-age'])).toBeGreaterThan(0);
    expect(plain.cacpq_session.attrs.secure).toBeUndefined();
    expect(plain.cacpq_csrf.attrs).toMatchObject({ samesite: 'Strict', path: '/' });
    expect(plain.cacpq_csrf.attrs.httponly).toBeUndefined();
    secrets['session cookie (flags test)'] = decodeURIComponent(plain.cacpq_session.value);

    // Without TRUST_PROXY a client's own X-Forwarded-Proto is not believed.
    const spoofed = cookiesOf((await login(url, 'admin', ADMIN_PASSWORD, { 'X-Forwarded-Proto': 'https' })).setCookie);
    expect(spoofed.cacpq_session.attrs.secure).toBeUndefined();

    // Behind a trusted proxy that terminated HTTPS: Secure on both cookies; plain HTTP through it: not.
    const https = cookiesOf((await login(proxied.url, 'admin', ADMIN_PASSWORD, { 'X-Forwarded-Proto': 'https' })).setCookie);
    expect(https.cacpq_session.attrs).toMatchObject({ secure: true, httponly: true, samesite: 'Strict', path: '/' });
    expect(https.cacpq_csrf.attrs).toMatchObject({ secure: true, samesite: 'Strict', path: '/' });
    const http = cookiesOf((await login(proxied.url, 'admin', ADMIN_PASSWORD, { 'X-Forwarded-Proto': 'http' })).setCookie);
    expect(http.cacpq_session.attrs.secure).toBeUndefined();

    const failed = await login(url, 'admin', 'not-the-password');
    expect([failed.status, failed.body.code, failed.setCookie]).toEqual([401, 'INVALID_CREDENTIALS', []]);
    await createUser('gone1', 'user', pw('gone1'));
    expect((await call(url, admin, 'PATCH', '/api/v1/users/gone1', { disabled: true })).status).toBe(200);
    const disabled = await login(url, 'gone1', accounts.gone1.password!);
    expect([disabled.status, disabled.body.code, disabled.setCookie]).toEqual([403, 'ACCOUNT_DISABLED', []]);

    // Signing out clears both cookies.
    const s = await session('admin', ADMIN_PASSWORD);
    const out = await fetch(`${url}/api/v1/auth/logout`, { method: 'POST', headers: { Cookie: s.cookie, 'X-CSRF-Token': s.csrf } });
    expect(out.status).toBe(204);
    const cleared = cookiesOf(out.headers.getSetCookie());
    for (const name of ['cacpq_session', 'cacpq_csrf']) {
      expect(cleared[name].value).toBe('');
      expect(new Date(String(cleared[name].attrs.expires)).getTime()).toBeLessThan(Date.now());
    }
    expect((await call(url, sessionCaller('admin', s), 'GET', '/api/v1/auth/me')).status).toBe(401);
  });

  it('answers repeated failed sign-ins with 429 and Retry-After, also for the right password, audited once per lock-out', async () => {
    const p = proxied.url;
    const padmin = sessionCaller('admin', await signIn(p, 'admin', ADMIN_PASSWORD));
    const victim = pw('victim');
    expect((await call(p, padmin, 'POST', '/api/v1/users', { username: 'victim', role: 'manager', password: victim })).status).toBe(201);
    const from = (ip: string) => ({ 'X-Forwarded-For': ip });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await login(p, 'victim', `guess-${i}`, from('10.0.0.1'))).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    const locked = await login(p, 'victim', victim, from('10.0.0.1'));
    expect([locked.status, locked.body.code, locked.setCookie]).toEqual([429, 'RATE_LIMITED', []]);
    const retryAfter = Number(locked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    expect(locked.body.message).toMatch(new RegExp(`try again in ${retryAfter} seconds\\.$`));
    // Another address is not locked out by this one's guesses.
    expect((await login(p, 'victim', victim, from('10.0.0.9'))).status).toBe(200);

    // Thirty guesses at once: exactly the limit is checked, the rest refused before the password is.
    const victim2 = pw('victim2');
    expect((await call(p, padmin, 'POST', '/api/v1/users', { username: 'victim2', role: 'user', password: victim2 })).status).toBe(201);
    const parallel = await Promise.all(
      Array.from({ length: PARALLEL_GUESSES }, (_, i) => login(p, 'victim2', `parallel-${i}`, from('10.0.0.2'))),
    );
    const counted = parallel.filter((r) => r.status === 401).length;
    expect([counted, parallel.filter((r) => r.status === 429).length]).toEqual([5, PARALLEL_GUESSES - 5]);

    // A spray over many names from one address stops at four times the limit, for every name.
    const spray: number[] = [];
    for (let i = 0; i < 23; i++) spray.push((await login(p, `spray-${i}`, 'x', from('10.0.0.3'))).status);
    expect(spray.filter((s) => s === 401).length).toBe(20);
    expect(spray.slice(20)).toEqual([429, 429, 429]);
    expect((await login(p, 'victim2', victim2, from('10.0.0.3'))).status).toBe(429);

    // One audit entry per lock-out of a name at an address, however many refusals followed.
    const audit = async (actor: string, ip: string) =>
      (
        (await call(p, padmin, 'GET', `/api/v1/audit?actor=${actor}&action=auth.login&outcome=denied`)).body as {
          ip: string;
          details: unknown;
        }[]
      ).filter((e) => e.ip === ip);
    expect(await audit('victim', '10.0.0.1')).toEqual([expect.objectContaining({ details: { reason: 'rate limited' } })]);
    expect(await audit('victim2', '10.0.0.2')).toEqual([expect.objectContaining({ details: { reason: 'rate limited' } })]);
    expect(await audit('victim2', '10.0.0.3')).toEqual([expect.objectContaining({ details: { reason: 'rate limited' } })]);

    // Without a trusted proxy, a forged X-Forwarded-For per guess does not make a new address.
    await createUser('victim3', 'user', pw('victim3'));
    const rotating: number[] = [];
    for (let i = 0; i < 8; i++) rotating.push((await login(url, 'victim3', `rot-${i}`, from(`10.1.0.${i}`))).status);
    expect(rotating).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    figures.rateLimit = {
      sequential: statuses.length + 1,
      parallel: parallel.length,
      parallelChecked: counted,
      spray: spray.length,
      forgedAddresses: rotating.length,
    };
  });
});

describe('path traversal in backup ids and downloads', () => {
  let adminToken: string;
  const leaks = (body: Buffer, markers: Buffer[]) => markers.some((m) => body.includes(m));

  async function backup(): Promise<{ id: number; name: string; files: { role: string; path: string }[] }> {
    const job = await call(url, admin, 'POST', '/api/v1/backups', {});
    expect(job.status).toBe(202);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const j = (await call(url, admin, 'GET', `/api/v1/jobs/${job.body.id}`)).body as { status: string };
      if (j.status === 'succeeded') break;
      if (j.status !== 'queued' && j.status !== 'running') throw new Error(`backup job ended ${JSON.stringify(j)}`);
      if (Date.now() > deadline) throw new Error('backup job did not finish in 60 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    const list = (await call(url, admin, 'GET', '/api/v1/backups')).body as {
      id: number;
      name: string;
      files: { role: string; path: string }[];
    }[];
    return list.reduce((a, b) => (b.id > a.id ? b : a));
  }

  it('refuses encoded, absolute, NUL and file-name ids with a 4xx and no file bytes', async () => {
    adminToken = (await issueToken('admin', 'traversal')).token;
    const b = await backup();
    const auth = { Authorization: `Bearer ${adminToken}` };
    // The control: a real download is answered with the file, so a leak would be seen.
    const real = await raw(server.port, 'GET', `/api/v1/backups/${b.id}/download?file=server`, auth);
    expect(real.status).toBe(200);
    expect(real.body.subarray(0, 16).toString('latin1')).toBe('SQLite format 3\0');
    const markers = [Buffer.from('SQLite format 3\0', 'latin1'), Buffer.from('root:x:0:0'), Buffer.from('PK\x03\x04', 'latin1')];

    const ids = [
      '..%2F..%2Fetc%2Fpasswd',
      '..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd',
      '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '%252e%252e%252fetc%252fpasswd',
      '..%5C..%5Chub%5Chub.db',
      '....%2F%2F....%2F%2Fetc%2Fpasswd',
      '%2Fetc%2Fpasswd',
      '%2F..%2F..%2Fhub%2Fhub.db',
      '..%2F..%2Fhub%2Fhub.db',
      '..%2Fdatabase%2Fserver.db',
      '..%2F..%2Fdatabase%2Fserver.db',
      'hub.db',
      'server.db',
      'generated_numbers.db',
      encodeURIComponent(b.name),
      encodeURIComponent(b.files[0].path),
      encodeURIComponent(path.join(dataDir, b.files[0].path)),
      `${b.id}%00`,
      `${b.id}%00.zip`,
      '%00',
      `${b.id}%2F..%2F..`,
      '0',
      '-1',
      '1.5',
      '99999999999999999999999',
      'Infinity',
      'NaN',
      '%20',
      `${b.id}%0d%0aX-Injected:%20yes`,
    ];
    const paths: [string, string][] = [];
    for (const id of ids) {
      for (const tail of ['/download', '/download?file=server', '/preview', '']) paths.push(['GET', `/api/v1/backups/${id}${tail}`]);
      paths.push(['POST', `/api/v1/backups/${id}/restore`]);
    }
    for (const q of ['..%2F..%2Fhub%2Fhub.db', '%2Fetc%2Fpasswd', 'server%00', 'server.db', '..', 'server&file=numbers', '']) {
      paths.push(['GET', `/api/v1/backups/${b.id}/download?file=${q}`]);
    }
    paths.push(['GET', `/api/v1/backups/${b.id}/download?file[]=server`]);
    // Paths that reach the server with their dot segments as sent (not normalised by a client).
    for (const p of [
      '/api/v1/backups/../../../../etc/passwd',
      `/api/v1/backups/${b.id}/../../../etc/passwd`,
      '/api/v1/backups//etc/passwd/download',
    ]) {
      paths.push(['GET', p]);
    }
    const wrong: string[] = [];
    for (const [method, p] of paths) {
      const res = await raw(server.port, method, p, method === 'POST' ? { ...auth, 'Content-Type': 'application/json' } : auth);
      const json = (() => {
        try {
          return JSON.parse(res.body.toString()) as { code?: string; message?: string };
        } catch {
          return null;
        }
      })();
      if (
        res.status < 400 ||
        res.status >= 500 ||
        leaks(res.body, markers) ||
        !json?.code ||
        !/\.$/.test(json.message ?? '') ||
        res.headers['x-injected']
      )
        wrong.push(`${method} ${p}: ${res.status} ${res.body.subarray(0, 80).toString()}`);
    }
    expect(wrong).toEqual([]);

    // A NUL byte on the wire: refused by the HTTP parser, nothing of a file sent.
    const nul = await rawBytes(
      server.port,
      Buffer.from(
        `GET /api/v1/backups/${b.id}\0/../../hub/hub.db/download HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminToken}\r\nConnection: close\r\n\r\n`,
        'latin1',
      ),
    );
    expect(nul.toString('latin1')).toMatch(/^HTTP\/1\.1 4\d\d /);
    expect(leaks(nul, markers)).toBe(false);
    figures.traversal = { requests: paths.length + 1 };
  });

  it('never serves a file through a symbolic link in the backup directories that points outside them', async () => {
    const auth = { Authorization: `Bearer ${adminToken}` };
    const marker = `OUTSIDE-${randomBytes(8).toString('hex')}`;
    const secretFile = path.join(outsideDir, 'outside-secret.txt');
    fs.writeFileSync(secretFile, `${marker}\nroot:x:0:0:root:/root:/bin/bash\n`);
    // A valid master copy outside the data directory, marked: it would verify as a backup.
    const source = await backup();
    const outsideDb = path.join(outsideDir, 'server.db');
    fs.copyFileSync(path.join(dataDir, source.files.find((f) => f.role === 'server')!.path), outsideDb);
    const db = new Database(outsideDb);
    db.exec(`CREATE TABLE outside_marker (t TEXT); INSERT INTO outside_marker VALUES ('${marker}')`);
    db.close();
    fs.mkdirSync(path.join(outsideDir, 'weekly-set'));
    fs.copyFileSync(outsideDb, path.join(outsideDir, 'weekly-set', 'server.db'));

    const backupsDir = path.join(dataDir, 'backups');
    const links: [string, string][] = [
      [path.join(backupsDir, 'daily', 'server_2020-01-02_030405.db'), secretFile],
      [path.join(backupsDir, 'daily', 'server_2020-01-03_030405.db'), path.join(dataDir, 'hub', 'hub.db')],
      [path.join(backupsDir, 'daily', 'server_2020-01-04_030405.db'), outsideDb],
      [path.join(backupsDir, 'manual', 'server_2020-01-06_030405.db'), outsideDb],
      [path.join(backupsDir, 'weekly', '2020-01-05'), path.join(outsideDir, 'weekly-set')],
      [path.join(dataDir, 'archives', 'CACPQ_2020-01.zip'), secretFile],
    ];
    for (const [link, target] of links) {
      fs.mkdirSync(path.dirname(link), { recursive: true });
      fs.symlinkSync(target, link);
    }
    const linkedNames = [
      'daily/2020-01-02_030405',
      'daily/2020-01-03_030405',
      'daily/2020-01-04_030405',
      'manual/2020-01-06_030405',
      'weekly/2020-01-05',
      'monthly/CACPQ_2020-01',
    ];

    // A set catalogued as a regular file, then swapped for a link (after the scan, before the download).
    const swapped = await backup();
    const list = (await call(url, admin, 'GET', '/api/v1/backups')).body as { id: number; name: string }[];
    expect(list.map((b) => b.name).filter((n) => linkedNames.includes(n))).toEqual([]);
    const swappedFile = path.join(dataDir, swapped.files.find((f) => f.role === 'server')!.path);
    fs.renameSync(swappedFile, path.join(outsideDir, 'swapped-away.db'));
    fs.symlinkSync(outsideDb, swappedFile);

    const markers = [Buffer.from(marker), Buffer.from('root:x:0:0')];
    const maxId = Math.max(...list.map((b) => b.id)) + 3;
    const wrong: string[] = [];
    let requests = 0;
    for (let id = 1; id <= maxId; id++) {
      for (const q of ['?file=server', '?file=numbers', '']) {
        const res = await raw(server.port, 'GET', `/api/v1/backups/${id}/download${q}`, auth);
        requests++;
        if (leaks(res.body, markers)) wrong.push(`backup ${id}${q}: leaked the outside file (${res.status})`);
        if (id === swapped.id && res.status < 400) wrong.push(`backup ${id}${q}: served through a symbolic link (${res.status})`);
        if (res.status >= 500) wrong.push(`backup ${id}${q}: ${res.status}`);
      }
    }
    expect(wrong).toEqual([]);
    const refused = await call(url, tokenCaller('admin', adminToken), 'GET', `/api/v1/backups/${swapped.id}/download?file=server`);
    expect(refused.status).toBe(404);
    expectErrorBody(refused, 'the swapped backup');
    figures.symlinks = { links: links.length + 1, downloads: requests };
  });
});

describe('revoked credentials end open socket connections at once', () => {
  it('a revoked token: the next request is 401, its /sync socket and the SDK watching with it are told and disconnected', async () => {
    const t1 = await issueToken('user1', 'laptop');
    const t2 = await issueToken('user1', 'desktop');
    const t3 = await issueToken('user1', 'sdk');
    const c1 = await connect(url, '/sync', { token: t1.token });
    const c2 = await connect(url, '/sync', { token: t2.token });
    const dir = tempDir('access-sdk');
    const client = await SyncClient.init({ file: path.join(dir, 'ws.db'), server: url, token: t3.token });
    const sdkError = new Promise<SyncError>((resolve) => client.on('error', (e) => e.code === 'REVOKED' && resolve(e)));
    // The dashboard feed says when the SDK's socket is in.
    const ops = await connect(url, '/ops', { cookie: (await session('admin', ADMIN_PASSWORD)).cookie });
    const sdkIn = new Promise<void>((resolve) =>
      ops.socket.on('workstation.connected', (w: { tokenId: string }) => w.tokenId === t3.id && resolve()),
    );
    client.start();
    await within(sdkIn, 10_000, 'the SDK’s socket');

    const t0 = Date.now();
    expect((await call(url, admin, 'DELETE', `/api/v1/tokens/${t1.id}`)).status).toBe(200);
    const next = await call(url, tokenCaller('user', t1.token), 'GET', '/api/v1/sync/info');
    expect([next.status, next.body.code]).toEqual([401, 'INVALID_TOKEN']);
    const ended = await within(c1.ended, 2000, 'the revoked token’s socket');
    expect(ended).toMatchObject({ revoked: { reason: 'token-revoked' }, reason: 'io server disconnect' });
    expect(await stillOpen(c2)).toBe(true);

    expect((await call(url, admin, 'DELETE', `/api/v1/tokens/${t3.id}`)).status).toBe(200);
    expect((await within(sdkError, 2000, 'the SDK’s revoked error')).message).toBe('This device token has been revoked.');
    expect(client.status().lastError).toBe('REVOKED: This device token has been revoked.');
    await client.close();
    fs.rmSync(dir, { recursive: true, force: true });
    (figures.revocation as Record<string, number>).tokenSocketEndedMs = ended.at - t0;
  });

  it('a disabled account: its token and session sockets on /sync and /ops end', async () => {
    await createUser('manager2', 'manager', pw('manager2'));
    const t = await issueToken('manager2', 'wallboard');
    const s = await session('manager2', accounts.manager2.password!);
    const conns = [
      await connect(url, '/sync', { token: t.token }),
      await connect(url, '/ops', { token: t.token }),
      await connect(url, '/ops', { cookie: s.cookie }),
    ];
    const t0 = Date.now();
    expect((await call(url, admin, 'PATCH', '/api/v1/users/manager2', { disabled: true })).status).toBe(200);
    const ends = await Promise.all(conns.map((c, i) => within(c.ended, 2000, `socket ${i} of the disabled account`)));
    for (const e of ends) expect(e).toMatchObject({ revoked: { reason: 'account-disabled' }, reason: 'io server disconnect' });
    expect((await call(url, tokenCaller('manager', t.token), 'GET', '/api/v1/sync/info')).body.code).toBe('ACCOUNT_DISABLED');
    (figures.revocation as Record<string, number>).disabledSocketsEndedMs = Math.max(...ends.map((e) => e.at - t0));
  });

  it('a signed-out session and a changed password end that session’s /ops socket, not the one that changed it', async () => {
    await createUser('manager3', 'manager', pw('manager3'));
    const [s1, s2, s3] = [
      await session('manager3', accounts.manager3.password!),
      await session('manager3', accounts.manager3.password!),
      await session('manager3', accounts.manager3.password!),
    ];
    const [c1, c2, c3] = [
      await connect(url, '/ops', { cookie: s1.cookie }),
      await connect(url, '/ops', { cookie: s2.cookie }),
      await connect(url, '/ops', { cookie: s3.cookie }),
    ];
    expect((await call(url, sessionCaller('manager', s1), 'POST', '/api/v1/auth/logout')).status).toBe(204);
    expect(await within(c1.ended, 2000, 'the signed-out session’s socket')).toMatchObject({ revoked: { reason: 'signed-out' } });
    const changed = pw('manager3-new');
    secrets['changed password of manager3'] = changed;
    const res = await call(url, sessionCaller('manager', s2), 'POST', '/api/v1/auth/password', {
      currentPassword: accounts.manager3.password,
      newPassword: changed,
    });
    expect(res.status).toBe(204);
    accounts.manager3.password = changed;
    expect(await within(c3.ended, 2000, 'the other session’s socket')).toMatchObject({ revoked: { reason: 'password-changed' } });
    expect(await stillOpen(c2)).toBe(true);
    closeAll();
  });
});

describe('revocation racing socket handshakes', () => {
  it('tokens revoked while their sockets connect: every socket that got in is told and ended, none stays', async () => {
    await createUser('racer', 'user', null);
    const tokens: { id: string; token: string }[] = [];
    for (let i = 0; i < RACING_SOCKETS; i++) tokens.push(await issueToken('racer', `race-${i}`));
    const started = Date.now();
    const sockets = tokens.map((t) => {
      const socket = io(`${url}/sync`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token: t.token } });
      const seen = { socket, connected: false, revoked: false, refused: false };
      socket.on('connect', () => (seen.connected = true));
      socket.on('revoked', () => (seen.revoked = true));
      socket.on('connect_error', () => (seen.refused = true));
      return seen;
    });
    try {
      // Each token revoked at a random moment of its socket's handshake (or just after it).
      await Promise.all(
        tokens.map(async (t) => {
          await new Promise((r) => setTimeout(r, Math.random() * 150));
          expect((await call(url, admin, 'DELETE', `/api/v1/tokens/${t.id}`)).status).toBe(200);
        }),
      );
      const deadline = Date.now() + 5000;
      while (sockets.some((s) => s.socket.connected || (!s.connected && !s.refused)) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const report = sockets.map((s, i) => ({
        i,
        connected: s.connected,
        revoked: s.revoked,
        refused: s.refused,
        open: s.socket.connected,
      }));
      expect(report.filter((r) => r.open)).toEqual([]);
      expect(report.filter((r) => r.connected && !r.revoked)).toEqual([]);
      expect(report.filter((r) => !r.connected && !r.refused)).toEqual([]);
      figures.revocationRace = {
        sockets: RACING_SOCKETS,
        gotInThenEnded: report.filter((r) => r.connected).length,
        refusedAtHandshake: report.filter((r) => r.refused).length,
        ms: Date.now() - started,
      };
    } finally {
      for (const s of sockets) s.socket.close();
    }
  });
});

describe('secrets at rest', () => {
  it('finds no password, token or session secret in any file of the data directory or the log output, running and stopped', async () => {
    // More secrets on their way in: an admin's reset, a password change, a malformed login body.
    const reset = pw('user1-reset');
    expect((await call(url, admin, 'PATCH', '/api/v1/users/user1', { password: reset })).status).toBe(200);
    secrets['reset password of user1'] = reset;
    accounts.user1.password = reset;
    const bad = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: `{"username": "user1", "password": "${reset}"`,
    });
    expect(bad.status).toBe(400);
    await session('user1', reset);
    const job = await call(url, admin, 'POST', '/api/v1/backups', {});
    expect(job.status).toBe(202);
    for (let i = 0; i < 300; i++) {
      const j = (await call(url, admin, 'GET', `/api/v1/jobs/${job.body.id}`)).body as { status: string };
      if (j.status === 'succeeded') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    // The scanner finds a planted secret in each form it looks for (so a clean result means something).
    const canaryDir = tempDir('access-canary');
    fs.writeFileSync(
      path.join(canaryDir, 'a'),
      Buffer.concat([randomBytes(100), Buffer.from(Buffer.from(reset).toString('base64')), randomBytes(100)]),
    );
    fs.writeFileSync(path.join(canaryDir, 'b'), Buffer.from(Buffer.from(secrets['ADMIN_PASSWORD']).toString('hex')));
    const canary = scanForSecrets(canaryDir, { reset, admin: ADMIN_PASSWORD }).findings.map((f) => `${f.file} ${f.form}`);
    expect(canary).toEqual(expect.arrayContaining(['a base64', 'a base64 (unpadded)', 'b hex']));
    expect(canary.filter((f) => f.endsWith('utf8'))).toEqual([]);
    fs.rmSync(canaryDir, { recursive: true, force: true });

    const cliToken = path.join(dataDir, 'hub', 'local-cli.token');
    expect(fs.statSync(cliToken).mode & 0o777).toBe(0o600);
    const live = scanForSecrets(dataDir, secrets, { 'server log output': Buffer.from(server.output()) });
    expect(live.files).toEqual(expect.arrayContaining(['hub/hub.db', 'hub/hub.db-wal', 'database/server.db', 'server log output']));
    expect(live.findings).toEqual([]);

    expect(await server.stop()).toBe(0);
    expect(fs.existsSync(cliToken)).toBe(false);
    const stopped = scanForSecrets(dataDir, secrets, { 'server log output': Buffer.from(server.output()) });
    expect(stopped.files.some((f) => f.startsWith('backups/'))).toBe(true);
    expect(stopped.findings).toEqual([]);

    // What hub.db does hold: argon2id hashes of the passwords, sha256 digests of tokens and session cookies.
    const hub = new Database(path.join(dataDir, 'hub', 'hub.db'), { readonly: true });
    const users = hub.prepare('SELECT username, password_hash AS hash FROM users').all() as { username: string; hash: string | null }[];
    let checked = 0;
    for (const [username, a] of Object.entries(accounts)) {
      const row = users.find((u) => u.username === username)!;
      if (!a.password) {
        expect(row.hash).toBeNull();
        continue;
      }
      const m = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/.exec(row.hash ?? '');
      expect({ username, hash: m ? 'argon2id' : row.hash }).toEqual({ username, hash: 'argon2id' });
      expect({ username, verified: await argon2Verify(row.hash!, a.password) }).toEqual({ username, verified: true });
      checked++;
    }
    const tokenHashes = new Set(hub.prepare('SELECT token_hash FROM device_tokens').pluck().all() as string[]);
    const sessionIds = new Set(hub.prepare('SELECT id FROM sessions').pluck().all() as string[]);
    hub.close();
    const tokens = Object.entries(secrets).filter(([k]) => k.startsWith('token'));
    for (const [label, token] of tokens) expect({ label, stored: tokenHashes.has(sha256(token)) }).toEqual({ label, stored: true });
    for (const h of [...tokenHashes, ...sessionIds]) expect(h).toMatch(/^[0-9a-f]{64}$/);
    const liveSessions = Object.entries(secrets).filter(([k]) => k.startsWith('session') && sessionIds.has(sha256(secrets[k])));
    expect(liveSessions.length).toBeGreaterThan(3);
    figures.atRest = {
      secrets: Object.keys(secrets).length,
      forms: 7,
      running: { files: live.files.length, bytes: live.bytes },
      stopped: { files: stopped.files.length, bytes: stopped.bytes },
      argon2idHashesVerified: checked,
      tokenDigestsVerified: tokens.length,
      sessionDigestsFound: liveSessions.length,
    };
  });
});
