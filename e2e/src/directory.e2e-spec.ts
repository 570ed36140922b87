import * as fs from 'node:fs';
import * as path from 'node:path';
import { ADMIN_PASSWORD, ROOT, adminSession, runToExit, session, startServer, tempDir, type ServerProcess } from './harness';
import { freePort } from './browser';
import { GROUPS, PEOPLE, SERVICE_DN, SERVICE_PASSWORD, groupDn, startLdapServer, type LdapServer } from './ldap-server';

// Sign-in with the company directory against a real OpenLDAP (slapd) on a loopback port: groups
// → roles at every sign-in, a directory user's session checked at its requests, their device
// tokens at every LDAP_TOKEN_CHECK_MINUTES, the local break-glass admin, the directory down or
// unreachable (503 with a sentence, never a 500), a bad configuration at start (exit 2), and the
// Active Directory way (sAMAccountName, memberOf, the userAccountControl disabled bit) over
// StartTLS and ldaps:// with a CA file.

type Call = (method: string, p: string, body?: unknown) => Promise<Response>;
interface Answer {
  status: number;
  code?: string;
  message?: string;
  body: Record<string, unknown>;
  headers: Headers;
}

/** The session check reuses a verdict for 2 s (SESSION_CHECK_MS): a request after this sees the directory as it is now. */
const AFTER_SESSION_CHECK = 2100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function answer(res: Response | Promise<Response>): Promise<Answer> {
  const r = await res;
  const text = await r.text();
  const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
  // Whatever the directory does, the server never answers 500.
  expect(r.status).not.toBe(500);
  return { status: r.status, code: body.code as string | undefined, message: body.message as string | undefined, body, headers: r.headers };
}

function login(url: string, username: string, password: string): Promise<Answer> {
  return answer(
    fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password }),
    }),
  );
}

const me = async (call: Call) => answer(call('GET', '/api/v1/auth/me'));
const bearer = (url: string, token: string, p = '/api/v1/auth/me') =>
  answer(fetch(`${url}${p}`, { headers: { Authorization: `Bearer ${token}` } }));

let ldap: LdapServer;
const servers: ServerProcess[] = [];
const dirs: string[] = [];

async function server(env: Record<string, string>): Promise<ServerProcess> {
  const dataDir = tempDir('directory');
  dirs.push(dataDir);
  const s = await startServer({ dataDir, env });
  servers.push(s);
  return s;
}

/** The directory of the main suite: groups searched under ou=groups (groupOfNames), DNs and a CN in the mapping. */
const groupSearchEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
  LDAP_URL: ldap.url,
  LDAP_BIND_DN: SERVICE_DN,
  LDAP_BIND_PASSWORD: SERVICE_PASSWORD,
  LDAP_USER_BASE: PEOPLE,
  LDAP_GROUP_BASE: GROUPS,
  LDAP_ADMIN_GROUPS: groupDn('cacpq-admins'),
  LDAP_MANAGER_GROUPS: 'cacpq-managers',
  LDAP_USER_GROUPS: `${groupDn('cacpq-users')};${groupDn('cacpq-workstations')}`,
  LDAP_TIMEOUT_MS: '1500',
  LDAP_TOKEN_CHECK_MINUTES: '60',
  LOGIN_MAX_FAILURES: '5',
  ...extra,
});

beforeAll(async () => {
  ldap = await startLdapServer({ tls: true });
  for (const g of ['cacpq-admins', 'cacpq-managers', 'cacpq-users', 'cacpq-workstations', 'accounting']) await ldap.addGroup(g);
  await ldap.addUser('ada', 'ada-domain-pw', { groups: ['cacpq-admins'] });
  await ldap.addUser('max', 'max-domain-pw', { groups: ['cacpq-managers'] });
  await ldap.addUser('ola', 'ola-domain-pw', { groups: ['accounting'] });
  await ldap.addUser('dina', 'dina-domain-pw', { groups: ['cacpq-admins'], disabled: true });
  await ldap.addUser('sam', 'sam-domain-pw', { groups: ['cacpq-managers'] });
  await ldap.addUser('sue', 'sue-domain-pw', { groups: ['cacpq-users'] });
  await ldap.addUser('rex', 'rex-domain-pw', { groups: ['cacpq-users'] });
  await ldap.addUser('tom', 'tom-domain-pw', { groups: ['cacpq-workstations'] });
  await ldap.addUser('lena', 'lena-domain-pw', { groups: ['cacpq-admins'] });
  await ldap.addUser('wes', 'wes-domain-pw', { groups: ['cacpq-users'] });
  await ldap.addUser('dan', 'dan-domain-pw', { groups: ['cacpq-managers'] });
});

afterAll(async () => {
  for (const s of servers) await s.stop();
  await ldap?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('directory sign-in (groups searched under LDAP_GROUP_BASE)', () => {
  let main: ServerProcess;
  let admin: Call;

  beforeAll(async () => {
    main = await server(groupSearchEnv());
    admin = await adminSession(main.url);
  });

  it('a user in the admin group signs in with their domain password and gets admin rights; audited with source directory', async () => {
    const signed = await login(main.url, 'ada', 'ada-domain-pw');
    expect([signed.status, signed.body.user]).toEqual([200, { username: 'ada', role: 'admin' }]);
    const ada = await session(main.url, 'ada', 'ada-domain-pw');
    expect((await me(ada)).body).toEqual(expect.objectContaining({ user: { username: 'ada', role: 'admin' }, via: 'session' }));
    // Admin rights: the audit log, creating an account.
    expect((await answer(ada('GET', '/api/v1/audit?limit=5'))).status).toBe(200);
    expect((await answer(ada('POST', '/api/v1/users', { username: 'made-by-ada', role: 'user' }))).status).toBe(201);

    // The account in hub.db: from the directory, no password here.
    const users = (await answer(admin('GET', '/api/v1/users'))).body as unknown as {
      username: string;
      source: string;
      hasPassword: boolean;
      role: string;
    }[];
    expect(users.find((u) => u.username === 'ada')).toEqual(
      expect.objectContaining({ source: 'directory', hasPassword: false, role: 'admin' }),
    );
    expect(users.find((u) => u.username === 'admin')).toEqual(expect.objectContaining({ source: 'local', hasPassword: true }));

    const audit = (await answer(admin('GET', '/api/v1/audit?actor=ada&action=auth.login'))).body as unknown as {
      outcome: string;
      details: unknown;
    }[];
    expect(audit[0]).toEqual(expect.objectContaining({ outcome: 'ok', details: { source: 'directory' } }));
    const created = (await answer(admin('GET', '/api/v1/audit?action=user.create&actor=directory'))).body as unknown as {
      target: string;
      details: unknown;
    }[];
    expect(created).toEqual([
      expect.objectContaining({ target: 'ada', details: { role: 'admin', source: 'directory', dn: `uid=ada,${PEOPLE}` } }),
    ]);
  });

  it('gives the role of the groups at every sign-in, and GET /auth/me follows the group', async () => {
    const first = await login(main.url, 'max', 'max-domain-pw');
    expect(first.body.user).toEqual({ username: 'max', role: 'manager' }); // mapped by CN
    const max = await session(main.url, 'max', 'max-domain-pw');
    expect((await me(max)).body.user).toEqual({ username: 'max', role: 'manager' });
    const refused = await answer(max('POST', '/api/v1/users', { username: 'not-made', role: 'user' }));
    expect([refused.status, refused.code]).toEqual([403, 'FORBIDDEN']);

    // Moved to the admin group: the next sign-in is an admin; the open session follows at its next check.
    await ldap.moveUser('max', 'cacpq-managers', 'cacpq-admins');
    const again = await login(main.url, 'max', 'max-domain-pw');
    expect([again.status, again.body.user]).toEqual([200, { username: 'max', role: 'admin' }]);
    await sleep(AFTER_SESSION_CHECK);
    expect((await me(max)).body.user).toEqual({ username: 'max', role: 'admin' });
    expect((await answer(max('POST', '/api/v1/users', { username: 'made-by-max', role: 'user' }))).status).toBe(201);

    // Down to a user group.
    await ldap.moveUser('max', 'cacpq-admins', 'cacpq-workstations');
    const third = await login(main.url, 'max', 'max-domain-pw');
    expect(third.body.user).toEqual({ username: 'max', role: 'user' });
    const changes = (await answer(admin('GET', '/api/v1/audit?action=user.update&actor=directory'))).body as unknown as {
      target: string;
      details: Record<string, unknown>;
    }[];
    expect(changes.filter((c) => c.target === 'max').map((c) => [c.details.previousRole, c.details.role])).toEqual([
      ['admin', 'user'],
      ['manager', 'admin'],
    ]);
  });

  it('refuses a removed, disabled or unmapped directory user with a sentence; a wrong password is 401', async () => {
    const wrong = await login(main.url, 'ada', 'not-her-password');
    expect([wrong.status, wrong.code, wrong.message]).toEqual([401, 'INVALID_CREDENTIALS', 'Wrong username or password.']);
    const nobody = await login(main.url, 'nobody-here', 'whatever-pw');
    expect([nobody.status, nobody.code, nobody.message]).toEqual([401, 'INVALID_CREDENTIALS', 'Wrong username or password.']);
    // A name that tries to widen the search is one equality value: no such user.
    const injected = await login(main.url, '*)(uid=*', 'ada-domain-pw');
    expect([injected.status, injected.code]).toEqual([401, 'INVALID_CREDENTIALS']);
    const star = await login(main.url, '*', 'ada-domain-pw');
    expect([star.status, star.code]).toEqual([401, 'INVALID_CREDENTIALS']);

    // Found, the right password, but in no mapped group.
    const unmapped = await login(main.url, 'ola', 'ola-domain-pw');
    expect([unmapped.status, unmapped.code]).toEqual([403, 'FORBIDDEN']);
    expect(unmapped.message).toBe(
      'ola is in none of the directory groups that give access to this server; ask an administrator to add them to one.',
    );
    // The same with a wrong password tells nothing about the account.
    expect((await login(main.url, 'ola', 'wrong-password')).status).toBe(401);

    // Disabled in the directory (userAccountControl bit 2).
    const disabled = await login(main.url, 'dina', 'dina-domain-pw');
    expect([disabled.status, disabled.code, disabled.message]).toEqual([403, 'ACCOUNT_DISABLED', 'dina is disabled in the directory.']);

    // Signed in once, then taken out of every mapped group: refused, and the account here is disabled.
    expect((await login(main.url, 'sue', 'sue-domain-pw')).status).toBe(200);
    await ldap.removeFromGroup('cacpq-users', 'sue');
    const out = await login(main.url, 'sue', 'sue-domain-pw');
    expect([out.status, out.code]).toEqual([403, 'FORBIDDEN']);
    const users = (await answer(admin('GET', '/api/v1/users'))).body as unknown as { username: string; disabled: boolean }[];
    expect(users.find((u) => u.username === 'sue')?.disabled).toBe(true);
    // Back in the group: the next sign-in lets her in and enables the account again.
    await ldap.addToGroup('cacpq-users', 'sue');
    expect((await login(main.url, 'sue', 'sue-domain-pw')).body.user).toEqual({ username: 'sue', role: 'user' });

    // Deleted from the directory: like an unknown name.
    await ldap.addUser('gone', 'gone-domain-pw', { groups: ['cacpq-users'] });
    expect((await login(main.url, 'gone', 'gone-domain-pw')).status).toBe(200);
    await ldap.removeUser('gone');
    const deleted = await login(main.url, 'gone', 'gone-domain-pw');
    expect([deleted.status, deleted.code]).toEqual([401, 'INVALID_CREDENTIALS']);

    const denied = (await answer(admin('GET', '/api/v1/audit?action=auth.login&outcome=denied'))).body as unknown as {
      actor: string;
      details: Record<string, unknown>;
    }[];
    expect(denied.find((d) => d.actor === 'ola')?.details).toEqual({ source: 'directory', reason: 'no mapped group' });
    expect(denied.find((d) => d.actor === 'dina')?.details).toEqual({ source: 'directory', reason: 'disabled' });
  });

  it("ends a removed user's dashboard session at its next request, and a disabled one's", async () => {
    const sam = await session(main.url, 'sam', 'sam-domain-pw');
    expect((await me(sam)).status).toBe(200);
    await ldap.removeUser('sam');
    await sleep(AFTER_SESSION_CHECK);
    const ended = await me(sam);
    expect([ended.status, ended.code, ended.message]).toEqual([
      401,
      'UNAUTHENTICATED',
      'Your session has ended: sam is not in the directory any more.',
    ]);
    // The session is gone (not merely refused once).
    const after = await me(sam);
    expect([after.status, after.message]).toEqual([401, 'Your session is not valid any more; sign in again.']);

    const rex = await session(main.url, 'rex', 'rex-domain-pw');
    expect((await me(rex)).status).toBe(200);
    await ldap.setDisabled('rex', true);
    await sleep(AFTER_SESSION_CHECK);
    const write = await answer(rex('POST', '/api/v1/auth/logout'));
    expect([write.status, write.code, write.message]).toEqual([
      401,
      'UNAUTHENTICATED',
      'Your session has ended: rex is disabled in the directory.',
    ]);
    const audit = (await answer(admin('GET', '/api/v1/audit?action=user.update&actor=directory'))).body as unknown as {
      target: string;
      details: unknown;
    }[];
    expect(audit.find((a) => a.target === 'sam')?.details).toEqual({ disabled: true, source: 'directory', reason: 'not found' });
    expect(audit.find((a) => a.target === 'rex')?.details).toEqual({ disabled: true, source: 'directory', reason: 'disabled' });
  });

  it('keeps local accounts: one of the same name wins over the directory; no local password or role for directory users', async () => {
    // A local account named lena: her domain password does not open it.
    expect((await answer(admin('POST', '/api/v1/users', { username: 'lena', role: 'user', password: 'lena-local-pw' }))).status).toBe(201);
    expect((await login(main.url, 'lena', 'lena-domain-pw')).status).toBe(401);
    expect((await login(main.url, 'lena', 'lena-local-pw')).body.user).toEqual({ username: 'lena', role: 'user' });

    // A directory account has no password here, and its role follows the directory.
    expect((await login(main.url, 'wes', 'wes-domain-pw')).status).toBe(200);
    const setPassword = await answer(admin('PATCH', '/api/v1/users/wes', { password: 'a-local-password' }));
    expect([setPassword.status, setPassword.code, setPassword.message]).toEqual([
      400,
      'VALIDATION_FAILED',
      'wes signs in with the company directory and has no password here; change it in the directory.',
    ]);
    const setRole = await answer(admin('PATCH', '/api/v1/users/wes', { role: 'admin' }));
    expect([setRole.status, setRole.message]).toEqual([
      400,
      'The role of wes follows their directory groups; change their groups in the directory.',
    ]);
    const wes = await session(main.url, 'wes', 'wes-domain-pw');
    const own = await answer(wes('POST', '/api/v1/auth/password', { currentPassword: 'wes-domain-pw', newPassword: 'another-password-1' }));
    expect([own.status, own.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(own.message).toMatch(/^wes signs in with the company directory: change the password in the directory/);

    // An administrator may still disable a directory account here; that sticks whatever the directory says.
    expect((await answer(admin('PATCH', '/api/v1/users/wes', { disabled: true }))).status).toBe(200);
    const blocked = await login(main.url, 'wes', 'wes-domain-pw');
    expect([blocked.status, blocked.code]).toEqual([403, 'ACCOUNT_DISABLED']);
    expect((await answer(admin('PATCH', '/api/v1/users/wes', { disabled: false }))).status).toBe(200);
    expect((await login(main.url, 'wes', 'wes-domain-pw')).status).toBe(200);

    // The local admin is the break-glass account: directory admins do not replace it.
    const last = await answer(admin('PATCH', '/api/v1/users/admin', { disabled: true }));
    expect([last.status, last.code, last.message]).toEqual([
      409,
      'LAST_ADMIN',
      'admin is the only active local administrator; make another local admin first.',
    ]);
  });

  it('with the directory down: local admins sign in, directory users get a 503 sentence (not counted), sessions stay', async () => {
    const dan = await session(main.url, 'dan', 'dan-domain-pw');
    expect((await me(dan)).status).toBe(200);
    await ldap.down();
    try {
      expect((await login(main.url, 'admin', ADMIN_PASSWORD)).status).toBe(200);
      for (let i = 0; i < 7; i++) {
        const down = await login(main.url, 'dan', 'dan-domain-pw');
        expect([down.status, down.code]).toEqual([503, 'SERVICE_UNAVAILABLE']);
        expect(down.message).toBe(
          `The company directory at ${ldap.url} is unavailable: the connection was refused (is the address and port right, is the server running?). Directory accounts cannot sign in until it answers; local accounts still can.`,
        );
      }
      await sleep(AFTER_SESSION_CHECK);
      const during = await me(dan);
      expect([during.status, during.code]).toEqual([503, 'SERVICE_UNAVAILABLE']);
      expect(during.message).toContain(ldap.url);
    } finally {
      await ldap.start();
    }
    // Not signed out, and the attempts while it was down did not count against the limit (5).
    await sleep(AFTER_SESSION_CHECK);
    expect((await me(dan)).body.user).toEqual({ username: 'dan', role: 'manager' });
    expect((await login(main.url, 'dan', 'dan-domain-pw')).status).toBe(200);

    // A directory that accepts the connection and never answers: the same, after LDAP_TIMEOUT_MS.
    ldap.freeze();
    try {
      const started = Date.now();
      const hung = await login(main.url, 'dan', 'dan-domain-pw');
      expect([hung.status, hung.code]).toEqual([503, 'SERVICE_UNAVAILABLE']);
      expect(hung.message).toContain('no answer within 1500 ms (LDAP_TIMEOUT_MS)');
      expect(Date.now() - started).toBeLessThan(5000);
      expect((await login(main.url, 'admin', ADMIN_PASSWORD)).status).toBe(200);
    } finally {
      ldap.thaw();
    }
    expect((await login(main.url, 'dan', 'dan-domain-pw')).status).toBe(200);
    const audit = (await answer(admin('GET', '/api/v1/audit?action=auth.login&actor=dan&outcome=failed'))).body as unknown as {
      details: unknown;
    }[];
    expect(audit[0].details).toEqual({ source: 'directory', reason: 'directory unavailable' });
  });
});

describe("a directory user's device tokens", () => {
  it('are refused within LDAP_TOKEN_CHECK_MINUTES of the user leaving the directory, and work again once they are back', async () => {
    const s = await server(groupSearchEnv({ LDAP_TOKEN_CHECK_MINUTES: '0.05' })); // every 3 s
    const admin = await adminSession(s.url);
    await ldap.addUser('tess', 'tess-domain-pw', { groups: ['cacpq-workstations'] });
    expect((await login(s.url, 'tess', 'tess-domain-pw')).status).toBe(200);
    const issued = await answer(admin('POST', '/api/v1/users/tess/tokens', { device: 'TESS-PC' }));
    expect(issued.status).toBe(201);
    const token = issued.body.token as string;
    expect((await bearer(s.url, token)).body).toEqual(expect.objectContaining({ user: { username: 'tess', role: 'user' }, via: 'token' }));
    expect((await bearer(s.url, token, '/api/v1/sync/info')).status).toBe(200);

    await ldap.removeUser('tess');
    const removedAt = Date.now();
    let refused: Answer;
    for (;;) {
      refused = await bearer(s.url, token);
      if (refused.status !== 200 || Date.now() - removedAt > 15_000) break;
      await sleep(250);
    }
    expect([refused.status, refused.code, refused.message]).toEqual([403, 'ACCOUNT_DISABLED', 'The account tess is disabled.']);
    // Within one interval (3 s) and a little.
    expect(Date.now() - removedAt).toBeLessThan(3000 + 1500);
    const audit = (await answer(admin('GET', '/api/v1/audit?action=user.update&actor=directory'))).body as unknown as {
      target: string;
      details: unknown;
    }[];
    expect(audit.find((a) => a.target === 'tess')?.details).toEqual({ disabled: true, source: 'directory', reason: 'not found' });

    // Back in the directory: the next check enables the account, and the token works again.
    await ldap.addUser('tess', 'tess-domain-pw', { groups: ['cacpq-workstations'] });
    const backAt = Date.now();
    let back: Answer;
    for (;;) {
      back = await bearer(s.url, token);
      if (back.status === 200 || Date.now() - backAt > 15_000) break;
      await sleep(250);
    }
    expect(back.status).toBe(200);
    expect(Date.now() - backAt).toBeLessThan(3000 + 1500);
  });
});

describe('the Active Directory way: sAMAccountName, memberOf, group CNs, StartTLS with LDAP_CA_FILE', () => {
  let ad: ServerProcess;

  beforeAll(async () => {
    ad = await server({
      LDAP_URL: ldap.url,
      LDAP_STARTTLS: 'true',
      LDAP_CA_FILE: ldap.caFile!,
      LDAP_BIND_DN: SERVICE_DN,
      LDAP_BIND_PASSWORD: SERVICE_PASSWORD,
      LDAP_USER_BASE: PEOPLE,
      LDAP_USER_FILTER: '(&(objectClass=person)(sAMAccountName={username}))',
      LDAP_ADMIN_GROUPS: 'CACPQ-Admins',
      LDAP_MANAGER_GROUPS: 'cacpq-managers',
      LDAP_USER_GROUPS: 'cacpq-users; cacpq-workstations',
      LDAP_TIMEOUT_MS: '2000',
      LOGIN_MAX_FAILURES: '3',
    });
  });

  it('signs in by sAMAccountName in any case, reads the groups from memberOf, and refuses a disabled account', async () => {
    await ldap.addUser('ingrid', 'ingrid-domain-pw', { groups: ['cacpq-admins'] });
    const signed = await login(ad.url, 'INGRID', 'ingrid-domain-pw');
    expect([signed.status, signed.body.user]).toEqual([200, { username: 'ingrid', role: 'admin' }]);
    await ldap.moveUser('ingrid', 'cacpq-admins', 'cacpq-managers');
    expect((await login(ad.url, 'ingrid', 'ingrid-domain-pw')).body.user).toEqual({ username: 'ingrid', role: 'manager' });
    await ldap.setDisabled('ingrid', true);
    const disabled = await login(ad.url, 'ingrid', 'ingrid-domain-pw');
    expect([disabled.status, disabled.code, disabled.message]).toEqual([403, 'ACCOUNT_DISABLED', 'ingrid is disabled in the directory.']);
  });

  it('counts wrong domain passwords against the sign-in limit like local ones (429 with Retry-After)', async () => {
    await ldap.addUser('gus', 'gus-domain-pw', { groups: ['cacpq-users'] });
    for (let i = 0; i < 3; i++) {
      const wrong = await login(ad.url, 'gus', `guess-${i}`);
      expect([wrong.status, wrong.code, wrong.message]).toEqual([401, 'INVALID_CREDENTIALS', 'Wrong username or password.']);
    }
    const limited = await login(ad.url, 'gus', 'gus-domain-pw');
    expect([limited.status, limited.code]).toEqual([429, 'RATE_LIMITED']);
    expect(limited.message).toMatch(/^Too many failed sign-ins; try again in \d+ seconds\.$/);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another account from the same address is not locked out by gus's guesses.
    const admin = await adminSession(ad.url);
    const audit = (await answer(admin('GET', '/api/v1/audit?action=auth.login&actor=gus'))).body as unknown as {
      outcome: string;
      details: unknown;
    }[];
    expect(audit.map((a) => [a.outcome, a.details])).toEqual([
      ['denied', { reason: 'rate limited' }],
      ...[0, 1, 2].map(() => ['failed', { source: 'directory' }]),
    ]);
  });
});

describe('ldaps:// and an unreachable directory', () => {
  const ldapsEnv = (extra: Record<string, string>) => ({
    ...groupSearchEnv(),
    LDAP_URL: ldap.ldapsUrl!,
    LDAP_TIMEOUT_MS: '2000',
    ...extra,
  });

  it('signs in over ldaps:// with LDAP_CA_FILE; without it, the untrusted certificate (ldaps:// or StartTLS) is a 503 sentence', async () => {
    const trusted = await server(ldapsEnv({ LDAP_CA_FILE: ldap.caFile! }));
    expect((await login(trusted.url, 'ada', 'ada-domain-pw')).body.user).toEqual({ username: 'ada', role: 'admin' });
    const untrusted = await server(ldapsEnv({}));
    const refused = await login(untrusted.url, 'ada', 'ada-domain-pw');
    expect([refused.status, refused.code]).toEqual([503, 'SERVICE_UNAVAILABLE']);
    expect(refused.message).toMatch(
      new RegExp(
        `^The company directory at ${ldap.ldapsUrl!.replace(/[.]/g, '\\.')} is unavailable: its TLS certificate is not trusted \\(.+\\); set LDAP_CA_FILE`,
      ),
    );
    expect((await login(untrusted.url, 'admin', ADMIN_PASSWORD)).status).toBe(200);
    // StartTLS checks the certificate the same way (the AD suite above trusts it through LDAP_CA_FILE).
    const startTls = await server(groupSearchEnv({ LDAP_STARTTLS: 'true' }));
    const notTrusted = await login(startTls.url, 'ada', 'ada-domain-pw');
    expect([notTrusted.status, notTrusted.code]).toEqual([503, 'SERVICE_UNAVAILABLE']);
    expect(notTrusted.message).toContain('is unavailable: its TLS certificate is not trusted (');
  });

  it('answers a directory user 503 with a sentence when LDAP_URL points nowhere, and lets the local admin in', async () => {
    const nowhere = `ldap://127.0.0.1:${await freePort()}`;
    const s = await server({ ...groupSearchEnv(), LDAP_URL: nowhere });
    const res = await login(s.url, 'ada', 'ada-domain-pw');
    expect([res.status, res.code]).toEqual([503, 'SERVICE_UNAVAILABLE']);
    expect(res.message).toBe(
      `The company directory at ${nowhere} is unavailable: the connection was refused (is the address and port right, is the server running?). Directory accounts cannot sign in until it answers; local accounts still can.`,
    );
    expect((await login(s.url, 'admin', ADMIN_PASSWORD)).body.user).toEqual({ username: 'admin', role: 'admin' });
    // The service account's password wrong: the same kind of answer, saying so.
    const badBind = await server({ ...groupSearchEnv(), LDAP_BIND_PASSWORD: 'not-the-service-password' });
    const bind = await login(badBind.url, 'ada', 'ada-domain-pw');
    expect([bind.status, bind.code]).toEqual([503, 'SERVICE_UNAVAILABLE']);
    expect(bind.message).toContain('it refused the service account LDAP_BIND_DN (wrong DN or LDAP_BIND_PASSWORD)');
  });
});

describe('a bad directory configuration at start', () => {
  it.each([
    [
      { LDAP_URL: 'http://dc1.corp.example:389' },
      'LDAP_URL must be ldap://host:389 or ldaps://host:636, with no path (got "http://dc1.corp.example:389").',
    ],
    [{ LDAP_URL: 'ldap://dc1.corp.example/dc=corp' }, 'LDAP_URL must be ldap://host:389 or ldaps://host:636'],
    [{ LDAP_USER_BASE: '' }, 'LDAP_USER_BASE is required with LDAP_URL'],
    [{ LDAP_ADMIN_GROUPS: '', LDAP_MANAGER_GROUPS: '', LDAP_USER_GROUPS: '' }, 'must name at least one directory group'],
    [{ LDAP_USER_FILTER: '(uid=jdoe)' }, 'LDAP_USER_FILTER must contain {username}'],
    [{ LDAP_USER_FILTER: '(&(uid={username})' }, 'LDAP_USER_FILTER must be an LDAP filter in parentheses'],
    [{ LDAP_BIND_PASSWORD: '' }, 'LDAP_BIND_PASSWORD is required with LDAP_BIND_DN.'],
    [{ LDAP_STARTTLS: 'maybe' }, 'LDAP_STARTTLS must be true or false (got "maybe").'],
    [{ LDAP_CA_FILE: '/nonexistent/ca.pem', LDAP_STARTTLS: 'true' }, 'LDAP_CA_FILE cannot be read: /nonexistent/ca.pem (ENOENT).'],
    [{ LDAP_CA_FILE: path.join(ROOT, 'package.json'), LDAP_STARTTLS: 'true' }, 'LDAP_CA_FILE must be PEM certificates'],
    [{ LDAP_URL: 'ldaps://dc1.corp.example', LDAP_STARTTLS: 'true' }, 'LDAP_STARTTLS=true goes with an ldap:// URL'],
    [{ LDAP_TOKEN_CHECK_MINUTES: '0' }, 'LDAP_TOKEN_CHECK_MINUTES must be a number of minutes from 0.01 to 1440 (got "0").'],
    [{ LDAP_TIMEOUT_MS: 'soon' }, 'LDAP_TIMEOUT_MS must be a whole number from 100 to 120000 (got "soon").'],
  ])('exits 2 naming the variable: %j', (env, sentence) => {
    const dataDir = tempDir('directory-config');
    dirs.push(dataDir);
    const r = runToExit(dataDir, { ...groupSearchEnv(), LDAP_URL: 'ldap://dc1.corp.example:389', ...env });
    expect(r.code).toBe(2);
    expect(r.output).toContain(sentence);
    expect(r.output).toContain('The server was not started.');
  });
});
