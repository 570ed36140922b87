import { randomBytes, scryptSync } from 'node:crypto';
import * as fs from 'node:fs';
import { ADMIN_PASSWORD, makeUser, sessionCaller, startTestServer, tokenCaller, type Caller, type TestServer } from './harness';

describe('accounts and access', () => {
  let server: TestServer;
  let admin: Caller;

  beforeAll(async () => {
    server = await startTestServer({ LOGIN_MAX_FAILURES: '3' });
    admin = await sessionCaller(server, 'admin', ADMIN_PASSWORD);
  });
  afterAll(() => server.close());

  it('creates the first admin from ADMIN_PASSWORD, audited', async () => {
    const audit = await admin.auth(server.http.get('/api/v1/audit?action=user.create'), 'GET').expect(200);
    expect(audit.body).toEqual([
      expect.objectContaining({
        actor: 'system',
        target: 'admin',
        outcome: 'ok',
        details: expect.objectContaining({ passwordFrom: 'ADMIN_PASSWORD' }),
      }),
    ]);
  });

  it('sets an httpOnly, SameSite=Strict session cookie and a readable CSRF cookie', async () => {
    const res = await server.http.post('/api/v1/auth/login').send({ username: 'admin', password: ADMIN_PASSWORD }).expect(200);
    const cookies = ([] as string[]).concat(res.headers['set-cookie']);
    const session = cookies.find((c) => c.startsWith('cacpq_session='))!;
    const csrf = cookies.find((c) => c.startsWith('cacpq_csrf='))!;
    expect(session).toMatch(/; HttpOnly/);
    expect(session).toMatch(/; SameSite=Strict/);
    expect(session).toMatch(/; Path=\//);
    expect(session).not.toMatch(/; Secure/); // plain http on loopback; COOKIE_SECURE=true forces it
    expect(csrf).not.toMatch(/HttpOnly/);
    expect(csrf.split(';')[0].split('=')[1]).toBe(res.body.csrfToken);
  });

  it('sends security headers on API answers', async () => {
    const res = await server.http.get('/api/health').expect(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('refuses a cookie-authenticated write without the CSRF token, and a cross-site one', async () => {
    const login = await server.http.post('/api/v1/auth/login').send({ username: 'admin', password: ADMIN_PASSWORD }).expect(200);
    const cookie = ([] as string[])
      .concat(login.headers['set-cookie'])
      .map((c) => c.split(';')[0])
      .join('; ');
    const missing = await server.http.post('/api/v1/users').set('Cookie', cookie).send({ username: 'mallory', role: 'admin' });
    expect([missing.status, missing.body.code]).toEqual([403, 'CSRF_FAILED']);
    const wrong = await server.http
      .post('/api/v1/users')
      .set('Cookie', cookie)
      .set('X-CSRF-Token', 'guess')
      .send({ username: 'mallory', role: 'admin' });
    expect([wrong.status, wrong.body.code]).toEqual([403, 'CSRF_FAILED']);
    const crossSite = await server.http
      .post('/api/v1/users')
      .set('Cookie', cookie)
      .set('X-CSRF-Token', login.body.csrfToken)
      .set('Origin', 'http://evil.example')
      .send({ username: 'mallory', role: 'admin' });
    expect([crossSite.status, crossSite.body.code]).toEqual([403, 'CSRF_FAILED']);
    const users = await admin.auth(server.http.get('/api/v1/users'), 'GET').expect(200);
    expect((users.body as { username: string }[]).map((u) => u.username)).not.toContain('mallory');
  });

  it('ends the session on logout', async () => {
    const caller = await sessionCaller(server, 'admin', ADMIN_PASSWORD);
    await caller.auth(server.http.get('/api/v1/auth/me'), 'GET').expect(200);
    await caller.auth(server.http.post('/api/v1/auth/logout'), 'POST').expect(204);
    const after = await caller.auth(server.http.get('/api/v1/auth/me'), 'GET');
    expect([after.status, after.body.code]).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('rate-limits failed logins per user and address with Retry-After, even for the right password', async () => {
    await makeUser(server, admin, 'victim', 'user');
    for (let i = 0; i < 3; i++) {
      const res = await server.http.post('/api/v1/auth/login').send({ username: 'victim', password: `wrong-${i}-password` });
      expect(res.status).toBe(401);
    }
    const blocked = await server.http.post('/api/v1/auth/login').send({ username: 'victim', password: 'victim-password-123' });
    expect([blocked.status, blocked.body.code]).toEqual([429, 'RATE_LIMITED']);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(blocked.body.message).toMatch(/try again in \d+ seconds\./);
  });

  it('holds the limit when wrong passwords arrive all at once, and audits the lock-out once', async () => {
    await makeUser(server, admin, 'parallel', 'user');
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        server.http
          .post('/api/v1/auth/login')
          .set('X-Forwarded-For', '9.9.9.9')
          .send({ username: 'parallel', password: `guess-${i}-password` }),
      ),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((x) => x === 401).length).toBeLessThanOrEqual(3);
    expect(statuses.filter((x) => x === 429).length).toBeGreaterThanOrEqual(27);
    const audit = await admin.auth(server.http.get('/api/v1/audit?actor=parallel&action=auth.login&limit=100'), 'GET').expect(200);
    const denied = (audit.body as { outcome: string }[]).filter((e) => e.outcome === 'denied');
    expect(denied).toHaveLength(1);
  });

  it('signs out the other sessions of an account whose password was changed, not the one that changed it', async () => {
    const made = await makeUser(server, admin, 'twosessions', 'manager');
    const other = await sessionCaller(server, 'twosessions', made.password);
    await made.session
      .auth(server.http.post('/api/v1/auth/password'), 'POST')
      .send({ currentPassword: made.password, newPassword: 'another-new-password' })
      .expect(204);
    await made.session.auth(server.http.get('/api/v1/auth/me'), 'GET').expect(200);
    const after = await other.auth(server.http.get('/api/v1/auth/me'), 'GET');
    expect([after.status, after.body.code]).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('tells anonymous callers only whether the server is ready; sizes and paths need a manager or admin', async () => {
    const anon = await server.http.get('/api/health/ready').expect(200);
    expect(anon.body.dataDir).toBeUndefined();
    expect(anon.body.files[0]).toEqual({ name: 'server.db', open: true });
    const full = await admin.auth(server.http.get('/api/health/ready'), 'GET').expect(200);
    expect(full.body.dataDir).toBe(server.dataDir);
    expect(full.body.files[0]).toEqual({ name: 'server.db', open: true, bytes: expect.any(Number), walBytes: expect.any(Number) });
  });

  it('acts with the token owner role, and refuses a revoked token at once', async () => {
    const made = await makeUser(server, admin, 'mgr', 'manager');
    const me = await made.token.auth(server.http.get('/api/v1/auth/me'), 'GET').expect(200);
    expect(me.body).toEqual({ user: { username: 'mgr', role: 'manager' }, via: 'token', csrfToken: null });
    const revoked = await admin.auth(server.http.delete(`/api/v1/tokens/${made.tokenId}`), 'DELETE').expect(200);
    expect(revoked.body.revokedAt).toEqual(expect.any(String));
    const after = await made.token.auth(server.http.get('/api/v1/auth/me'), 'GET');
    expect([after.status, after.body.code, after.body.message]).toEqual([401, 'INVALID_TOKEN', 'This device token has been revoked.']);
  });

  it('shuts a disabled account out of its sessions and tokens, and lets it back when enabled', async () => {
    const made = await makeUser(server, admin, 'leaver', 'manager');
    await admin.auth(server.http.patch('/api/v1/users/leaver'), 'PATCH').send({ disabled: true }).expect(200);
    for (const caller of [made.session, made.token]) {
      const res = await caller.auth(server.http.get('/api/v1/auth/me'), 'GET');
      expect(res.status).toBeGreaterThanOrEqual(401);
      expect(res.status).toBeLessThanOrEqual(403);
    }
    const login = await server.http.post('/api/v1/auth/login').send({ username: 'leaver', password: made.password });
    expect([login.status, login.body.code]).toEqual([403, 'ACCOUNT_DISABLED']);
    await admin.auth(server.http.patch('/api/v1/users/leaver'), 'PATCH').send({ disabled: false }).expect(200);
    await made.token.auth(server.http.get('/api/v1/auth/me'), 'GET').expect(200);
  });

  it('never demotes or disables the last active administrator', async () => {
    const res = await admin.auth(server.http.patch('/api/v1/users/admin'), 'PATCH').send({ role: 'manager' });
    expect([res.status, res.body.code]).toEqual([409, 'LAST_ADMIN']);
    const dup = await admin.auth(server.http.post('/api/v1/users'), 'POST').send({ username: 'ADMIN', role: 'user' });
    expect([dup.status, dup.body.code]).toEqual([409, 'ALREADY_EXISTS']);
  });

  it('changes a password: the old one stops working, the new one works', async () => {
    const made = await makeUser(server, admin, 'pat', 'manager');
    await made.session
      .auth(server.http.post('/api/v1/auth/password'), 'POST')
      .send({ currentPassword: made.password, newPassword: 'a-brand-new-password' })
      .expect(204);
    await server.http.post('/api/v1/auth/login').send({ username: 'pat', password: made.password }).expect(401);
    await server.http.post('/api/v1/auth/login').send({ username: 'pat', password: 'a-brand-new-password' }).expect(200);
  });

  it('rate-limits wrong current passwords on a password change like sign-ins, even for the right one, and audits the lock-out once', async () => {
    const made = await makeUser(server, admin, 'guessed', 'manager');
    const change = (currentPassword: string) =>
      made.session.auth(server.http.post('/api/v1/auth/password'), 'POST').send({ currentPassword, newPassword: 'taken-over-password' });
    for (let i = 0; i < 3; i++) {
      const res = await change(`guess-${i}-password`);
      expect([res.status, res.body.code]).toEqual([401, 'INVALID_CREDENTIALS']);
    }
    const blocked = await change(made.password);
    expect([blocked.status, blocked.body.code]).toEqual([429, 'RATE_LIMITED']);
    expect(blocked.body.message).toMatch(/^Too many wrong current passwords; try again in \d+ seconds\.$/);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect((await change(made.password)).status).toBe(429);
    // The same account from the same address: sign-in is held back too, and the password did not change.
    const login = await server.http.post('/api/v1/auth/login').send({ username: 'guessed', password: made.password });
    expect([login.status, login.body.code]).toEqual([429, 'RATE_LIMITED']);
    const audit = await admin.auth(server.http.get('/api/v1/audit?action=auth.password&limit=100'), 'GET').expect(200);
    const mine = (audit.body as { target: string | null; outcome: string; details: string | null }[]).filter((e) => e.target === 'guessed');
    expect(mine.map((e) => e.outcome).sort()).toEqual(['denied', 'failed', 'failed', 'failed']);
  });

  it('stores passwords as argon2id hashes and tokens as sha256, never in clear (checked in the file)', async () => {
    const made = await makeUser(server, admin, 'hashcheck', 'user');
    const token = (await admin.auth(server.http.post('/api/v1/users/hashcheck/tokens'), 'POST').send({ device: 'x' }).expect(201)).body
      .token as string;
    server.store.hubDb.pragma('wal_checkpoint(TRUNCATE)');
    const bytes = Buffer.concat([fs.readFileSync(server.store.layout.hubDb)]);
    expect(bytes.includes(Buffer.from(made.password))).toBe(false);
    expect(bytes.includes(Buffer.from(token))).toBe(false);
    const rows = server.store.hubDb.prepare(`SELECT password_hash FROM users WHERE username = 'hashcheck'`).get() as {
      password_hash: string;
    };
    expect(rows.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it("hashes an earlier version's scrypt password again with argon2id at the next sign-in, and audits it", async () => {
    const made = await makeUser(server, admin, 'oldhash', 'user');
    const salt = randomBytes(16);
    const key = scryptSync(made.password, salt, 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    const old = `scrypt$32768$8$1$${salt.toString('base64url')}$${key.toString('base64url')}`;
    server.store.hubDb.prepare(`UPDATE users SET password_hash = ? WHERE username = 'oldhash'`).run(old);
    expect(server.store.hubDb.prepare(`SELECT password_hash FROM users WHERE username = 'oldhash'`).pluck().get()).toBe(old);
    await server.http.post('/api/v1/auth/login').send({ username: 'oldhash', password: made.password }).expect(200);
    expect(server.store.hubDb.prepare(`SELECT password_hash FROM users WHERE username = 'oldhash'`).pluck().get()).toMatch(/^\$argon2id\$/);
    await server.http.post('/api/v1/auth/login').send({ username: 'oldhash', password: made.password }).expect(200);
    const audit = (await admin.auth(server.http.get('/api/v1/audit?action=auth.rehash'), 'GET').expect(200)).body as { target: string }[];
    expect(audit.filter((e) => e.target === 'oldhash')).toHaveLength(1);
  });

  it('audits account and admin actions with who, what and the outcome', async () => {
    const res = await admin.auth(server.http.get('/api/v1/audit?limit=200'), 'GET').expect(200);
    const actions = new Set((res.body as { action: string; outcome: string }[]).map((e) => `${e.action}:${e.outcome}`));
    for (const expected of [
      'auth.login:ok',
      'auth.login:failed',
      'auth.login:denied',
      'user.create:ok',
      'user.update:ok',
      'token.issue:ok',
      'token.revoke:ok',
      'auth.logout:ok',
      'auth.password:ok',
    ]) {
      expect(actions).toContain(expected);
    }
  });

  it('denies a manager an admin action, audited as denied', async () => {
    const made = await makeUser(server, admin, 'nosy', 'manager');
    const res = await made.token.auth(server.http.post('/api/v1/users'), 'POST').send({ username: 'sneaky', role: 'admin' });
    expect([res.status, res.body.message]).toEqual([403, 'This needs the admin role; nosy is a manager.']);
    const audit = await admin.auth(server.http.get('/api/v1/audit?actor=nosy&action=access.denied'), 'GET').expect(200);
    expect(audit.body[0]).toMatchObject({ outcome: 'denied', target: 'POST /api/v1/users' });
  });

  it('lets a manager read accounts, tokens and the audit log, but change none of them', async () => {
    const made = await makeUser(server, admin, 'reader', 'manager');
    const users = (await made.token.auth(server.http.get('/api/v1/users'), 'GET').expect(200)).body as { username: string }[];
    expect(users.map((u) => u.username)).toEqual(expect.arrayContaining(['admin', 'reader']));
    const tokens = (await made.token.auth(server.http.get('/api/v1/users/reader/tokens'), 'GET').expect(200)).body as object[];
    expect(tokens).toHaveLength(1);
    expect(JSON.stringify(tokens)).not.toContain('"token"');
    await made.token.auth(server.http.get('/api/v1/audit?limit=5'), 'GET').expect(200);
    await made.token.auth(server.http.patch('/api/v1/users/reader'), 'PATCH').send({ role: 'admin' }).expect(403);
    await made.token.auth(server.http.post('/api/v1/users/reader/tokens'), 'POST').send({ device: 'x' }).expect(403);
    await made.token.auth(server.http.delete(`/api/v1/tokens/${(tokens[0] as { id: string }).id}`), 'DELETE').expect(403);
  });

  it('filters the audit log by outcome and by time (from inclusive, to exclusive)', async () => {
    const all = (await admin.auth(server.http.get('/api/v1/audit?limit=1000'), 'GET').expect(200)).body as {
      id: number;
      timestamp: string;
      outcome: string;
    }[];
    expect(all.length).toBeGreaterThan(3);
    const denied = (await admin.auth(server.http.get('/api/v1/audit?outcome=denied&limit=1000'), 'GET').expect(200)).body as typeof all;
    expect(denied.map((e) => e.id)).toEqual(all.filter((e) => e.outcome === 'denied').map((e) => e.id));
    expect(denied.length).toBeGreaterThan(0);

    // A window around the middle entry, from its own instant up to the next entry's.
    const asc = [...all].reverse();
    const mid = asc[Math.floor(asc.length / 2)];
    const iso = (t: string) => `${t.replace(' ', 'T')}Z`;
    const later = asc.find((e) => e.timestamp > mid.timestamp);
    const url = `/api/v1/audit?limit=1000&from=${iso(mid.timestamp)}${later ? `&to=${iso(later.timestamp)}` : ''}`;
    const window = (await admin.auth(server.http.get(url), 'GET').expect(200)).body as typeof all;
    expect(window.map((e) => e.id).sort((a, b) => a - b)).toEqual(
      asc.filter((e) => e.timestamp >= mid.timestamp && (!later || e.timestamp < later.timestamp)).map((e) => e.id),
    );
    expect(window.map((e) => e.id)).toContain(mid.id);
    if (later) expect(window.map((e) => e.id)).not.toContain(later.id);

    const future = (await admin.auth(server.http.get('/api/v1/audit?from=2999-01-01T00:00:00Z'), 'GET').expect(200)).body as object[];
    expect(future).toEqual([]);
    await admin.auth(server.http.get('/api/v1/audit?from=yesterday'), 'GET').expect(400);
    await admin.auth(server.http.get('/api/v1/audit?outcome=maybe'), 'GET').expect(400);
  });

  it('accepts the local command-line token written to the data directory, as admin', async () => {
    const token = fs.readFileSync(server.store.layout.localCliTokenFile, 'utf8').trim();
    expect(fs.statSync(server.store.layout.localCliTokenFile).mode & 0o777).toBe(0o600);
    const me = await tokenCaller('cli', token).auth(server.http.get('/api/v1/auth/me'), 'GET').expect(200);
    expect(me.body.user).toEqual({ username: 'local-cli', role: 'admin' });
  });
});

describe('cookie flags behind TLS', () => {
  it('marks the cookies Secure when COOKIE_SECURE=true', async () => {
    const server = await startTestServer({ COOKIE_SECURE: 'true' });
    try {
      const res = await server.http.post('/api/v1/auth/login').send({ username: 'admin', password: ADMIN_PASSWORD }).expect(200);
      for (const c of ([] as string[]).concat(res.headers['set-cookie'])) expect(c).toMatch(/; Secure/);
    } finally {
      await server.close();
    }
  });
});
