import { X509Certificate, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import type { BrowserContext, Page, Response as PageResponse } from 'playwright-core';
import { Agent, fetch as undiciFetch } from 'undici';
import { selfSignedCertificate, selfSignedFiles } from '../../apps/api/src/tls/tls-material';
import { NAV } from '../../apps/web/src/lib/nav';
import { ARTIFACTS, LAN_HOST, dashboardSuite, expectText, freePort, lanUrl, launchBrowser, signIn, startDashboard } from './browser';
import { ADMIN_PASSWORD, runToExit, startServer, tempDir, type ServerProcess } from './harness';
import { Workstation, cacpq, cacpqAsync } from './workstations';

/**
 * The dashboard as admins meet it: from their own PC, by the NAS's name, over plain HTTP on the LAN
 * and over the server's own HTTPS. Chromium reaches `nas.test`, mapped to loopback: a browser that
 * reached the server as localhost would exempt it from HTTPS upgrades and hide what breaks.
 */

/** The body's background when the dashboard's stylesheet applied (--bg); the browser default is transparent. */
const STYLED_BACKGROUND = 'rgb(244, 246, 248)';

interface PageVisit {
  label: string;
  href: string;
  background: string;
  sheets: number;
  navDisplay: string;
}

/** Visits every page of the sidebar, in order, and reads what shows the stylesheet applied. */
async function visitEverySidebarPage(page: Page, base: string): Promise<PageVisit[]> {
  const visits: PageVisit[] = [];
  for (const { label, href } of NAV) {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true }).click();
    await page.waitForURL(`${base}${href}`);
    await page.locator('main h1').first().waitFor();
    visits.push({
      label,
      href,
      ...(await page.evaluate(() => ({
        background: getComputedStyle(document.body).backgroundColor,
        sheets: document.styleSheets.length,
        navDisplay: getComputedStyle(document.querySelector('nav[aria-label="Main"]')!).display,
      }))),
    });
  }
  return visits;
}

/** The live socket at work: the Overview's sync count goes up on the `sync.finished` event, not on its 60 s refresh. */
async function expectLiveSyncCount(page: Page, sync: () => Promise<unknown>): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview', exact: true }).click();
  const figure = page.getByTestId('figure-syncs');
  const before = Number((await expectText(figure, { matches: /^\d[\d,]*$/ })).replace(/,/g, ''));
  await sync();
  await expectText(figure, { matches: new RegExp(`^(?!${before.toLocaleString()}$)\\d[\\d,]*$`) }, 10_000);
}

function watchResponses(page: Page): { documents: PageResponse[]; errors: string[] } {
  const seen = { documents: [] as PageResponse[], errors: [] as string[] };
  page.on('response', (res) => {
    if (res.request().resourceType() === 'document') seen.documents.push(res);
    if (res.status() >= 500) seen.errors.push(`${res.status()} ${res.url()}`);
  });
  page.on('console', (msg) => {
    if (/Mixed Content|ERR_SSL|upgrade-insecure|Strict-Transport/i.test(msg.text())) seen.errors.push(`console: ${msg.text()}`);
  });
  return seen;
}

describe('the dashboard from another PC over plain HTTP', () => {
  const suite = dashboardSuite('lan-http', { demo: true });

  it('signs in by the LAN name; every sidebar page is styled; nothing fails; live updates arrive', async () => {
    expect(suite.url).toBe(`http://${LAN_HOST}:${suite.server.port}`);
    const page = await suite.browser.newPage();
    const seen = watchResponses(page);
    await suite.signIn(page, 'admin', ADMIN_PASSWORD);
    expect(page.url()).toBe(`${suite.url}/`);

    // No answer sends the browser to https: neither the pages nor the API.
    for (const doc of seen.documents) {
      const headers = await doc.allHeaders();
      expect({ url: doc.url(), hsts: headers['strict-transport-security'] }).toEqual({ url: doc.url(), hsts: undefined });
      expect(headers['content-security-policy'] ?? '').not.toMatch(/upgrade-insecure-requests/);
    }
    const visits = await visitEverySidebarPage(page, suite.url);
    expect(visits.map((v) => v.href)).toEqual(NAV.map((n) => n.href));
    for (const v of visits)
      expect({ page: v.label, background: v.background, styled: v.sheets > 0 }).toEqual({
        page: v.label,
        background: STYLED_BACKGROUND,
        styled: true,
      });
    await page.screenshot({ path: path.join(ARTIFACTS, 'lan-http-accounts.png') });

    const token = (await (await suite.call('POST', '/api/v1/users/admin/tokens', { device: 'lan-pc' })).json()) as { token: string };
    const ws = await Workstation.initAsync('lan-pc', suite.dir, suite.server.url, token.token);
    await expectLiveSyncCount(page, () => ws.syncAsync());
    expect(await page.getByTestId('tls-mode').textContent()).toBe('Plain HTTP');
    expect(suite.failedRequests).toEqual([]);
    expect(seen.errors).toEqual([]);
    await page.close();
  });
});

describe('HTTPS built in: a self-signed certificate, trusted by its fingerprint', () => {
  let dir: string;
  let dataDir: string;
  let dashboard: Awaited<ReturnType<typeof startDashboard>>;
  let server: ServerProcess;
  let browser: BrowserContext;
  let httpPort: number;
  let fingerprint: string;
  let certPem: string;
  let https: (url: string, init?: Parameters<typeof undiciFetch>[1]) => ReturnType<typeof undiciFetch>;
  const failed: string[] = [];

  beforeAll(async () => {
    dir = tempDir('lan-https');
    dataDir = path.join(dir, 'data');
    dashboard = await startDashboard();
    httpPort = await freePort();
    server = await startServer({
      dataDir,
      env: { WEB_URL: dashboard.url, TLS: 'self-signed', TLS_NAMES: LAN_HOST, HTTP_PORT: String(httpPort) },
    });
    certPem = fs.readFileSync(selfSignedFiles(dataDir).cert, 'utf8');
    const cert = new X509Certificate(certPem);
    fingerprint = cert.fingerprint256;
    // Node trusts the server the way a workstation given --ca would.
    const dispatcher = new Agent({ connect: { ca: certPem } });
    https = (url, init) => undiciFetch(url, { ...init, dispatcher });
    // The browser trusts it the way an admin does who compared the fingerprint: by its public key.
    const spki = createHash('sha256')
      .update(cert.publicKey.export({ type: 'spki', format: 'der' }))
      .digest('base64');
    browser = await launchBrowser({ trustSpki: [spki] });
    browser.on('requestfailed', (r) => {
      if (r.failure()?.errorText !== 'net::ERR_ABORTED') failed.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`);
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await dashboard?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('prints the fingerprint at start; plain HTTP on the same port and on HTTP_PORT redirects to HTTPS', async () => {
    expect(server.url).toBe(`https://127.0.0.1:${server.port}`);
    expect(server.output()).toContain(`SHA-256 fingerprint: ${fingerprint}`);
    expect(server.output()).toMatch(/Made a self-signed certificate for .*nas\.test/);
    const plain = (port: number, p: string, method = 'GET') =>
      new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path: p, method, headers: { Host: `${LAN_HOST}:${port}` } }, (res) => {
          res.resume();
          resolve(res);
        });
        req.on('error', reject);
        req.end(method === 'GET' ? undefined : '{}');
      });
    const same = await plain(server.port, '/login?next=%2F');
    expect(same.statusCode).toBe(301);
    expect(same.headers.location).toBe(`https://${LAN_HOST}:${server.port}/login?next=%2F`);
    expect(same.headers['strict-transport-security']).toBeUndefined();
    const post = await plain(server.port, '/api/v1/auth/login', 'POST');
    expect(post.statusCode).toBe(308);
    const other = await plain(httpPort, '/alerts');
    expect(other.statusCode).toBe(301);
    expect(other.headers.location).toBe(`https://${LAN_HOST}:${server.port}/alerts`);

    const health = await https(`${server.url}/api/health`);
    expect(health.status).toBe(200);
    expect(health.headers.get('strict-transport-security')).toBe('max-age=31536000');
  });

  it('in Chromium by the LAN name: http redirects, sign-in, every page styled, nothing fails, Secure cookie, live updates, the fingerprint shown', async () => {
    const base = lanUrl(server.port, 'https');
    const page = await browser.newPage();
    const seen = watchResponses(page);
    // Typed by habit: http:// on the HTTPS port lands on https://.
    await page.goto(`${lanUrl(server.port)}/`);
    await page.waitForURL(`${base}/login?next=%2F`);
    await signIn(browser, page, base, 'admin', ADMIN_PASSWORD);
    await page.waitForURL(`${base}/`);
    await page.getByTestId('overview').waitFor();
    const documents = seen.documents.filter((d) => d.url().startsWith('https:'));
    expect(documents.length).toBeGreaterThan(0);
    for (const doc of documents) expect((await doc.allHeaders())['strict-transport-security']).toBe('max-age=31536000');

    const session = (await browser.cookies(base)).find((c) => c.name === 'cacpq_session');
    expect(session).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Strict' });

    const visits = await visitEverySidebarPage(page, base);
    for (const v of visits)
      expect({ page: v.label, background: v.background, styled: v.sheets > 0 }).toEqual({
        page: v.label,
        background: STYLED_BACKGROUND,
        styled: true,
      });

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview', exact: true }).click();
    await expectText(page.getByTestId('tls-fingerprint'), { is: fingerprint });
    await expectText(page.getByTestId('tls-mode'), { contains: 'self-signed' });
    await page.getByTestId('server-connection').screenshot({ path: path.join(ARTIFACTS, 'https-connection.png') });

    // A workstation over HTTPS, pinned; the Overview hears of its sync over the wss:// socket.
    const call = await httpsSession(https, server.url);
    const token = (await (await call('POST', '/api/v1/users/admin/tokens', { device: 'tls-pc' })).json()) as { token: string };
    const file = path.join(dir, 'tls-pc.db');
    const init = await cacpqAsync([
      'client',
      'init',
      '--server',
      server.url,
      '--token',
      token.token,
      '--db',
      file,
      '--fingerprint',
      fingerprint,
    ]);
    expect(init).toMatchObject({ status: 0, stderr: '' });
    await expectLiveSyncCount(page, async () => {
      const r = await cacpqAsync(['client', 'sync', '--db', file]);
      expect(r).toMatchObject({ status: 0, stderr: '' });
    });
    expect(failed).toEqual([]);
    expect(seen.errors).toEqual([]);
    await page.close();
  });

  it('cacpq client: init and sync pinned by --fingerprint; a wrong fingerprint is refused naming both, and nothing is sent', async () => {
    const call = await httpsSession(https, server.url);
    const issue = async (device: string) =>
      ((await (await call('POST', '/api/v1/users/admin/tokens', { device })).json()) as { token: string }).token;
    const fileA = path.join(dir, 'pinned-a.db');
    const tokenA = await issue('pinned-a');
    // Given as people copy it: lower case, no colons.
    const typed = fingerprint.replace(/:/g, '').toLowerCase();
    const init = cacpq(['client', 'init', '--server', server.url, '--token', tokenA, '--db', fileA, '--fingerprint', typed]);
    expect(init).toMatchObject({ status: 0, stderr: '' });
    const a = new Workstation('pinned-a', fileA);
    const status = cacpq(['client', 'status', '--db', fileA]);
    expect(status.stdout).toContain(`certificate:   pinned, SHA-256 ${fingerprint}`);
    a.sql(`INSERT INTO customers (id, name, type) VALUES ('c-tls-1', 'Over TLS', 'OEM');`);
    expect(a.sync()).toMatch(/^synced: pushed 1,/);

    // Without the pin, the certificate is not trusted: refused, with the fingerprint to compare.
    const fileB = path.join(dir, 'unpinned.db');
    const unpinned = cacpq(['client', 'init', '--server', server.url, '--token', await issue('unpinned'), '--db', fileB]);
    expect(unpinned.status).toBe(1);
    expect(unpinned.stderr).toContain('TLS_UNTRUSTED');
    expect(unpinned.stderr).toContain(`Its SHA-256 fingerprint is ${fingerprint}`);
    expect(fs.existsSync(fileB)).toBe(false);

    // The file keeps its pin; a wrong one given now is refused and the local change stays pending.
    a.sql(`INSERT INTO customers (id, name, type) VALUES ('c-tls-2', 'Never sent', 'OEM');`);
    const wrong = `${fingerprint.slice(0, -2)}${fingerprint.endsWith('00') ? '01' : '00'}`;
    const refused = cacpq(['client', 'sync', '--db', fileA, '--fingerprint', wrong]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('TLS_FINGERPRINT_MISMATCH');
    expect(refused.stderr).toContain(`presented a certificate with SHA-256 fingerprint ${fingerprint}`);
    expect(refused.stderr).toContain(`not the pinned ${wrong}`);
    expect(refused.stderr).toContain('nothing was sent');
    // What the master holds, as another pinned workstation's first snapshot shows it.
    const fileD = path.join(dir, 'witness.db');
    const witness = cacpq([
      'client',
      'init',
      '--server',
      server.url,
      '--token',
      await issue('witness'),
      '--db',
      fileD,
      '--fingerprint',
      fingerprint,
    ]);
    expect(witness).toMatchObject({ status: 0, stderr: '' });
    const ids = new Workstation('witness', fileD).dump(['customers']).customers.map((r) => r.id);
    expect(ids).toContain('c-tls-1');
    expect(ids).not.toContain('c-tls-2');
    expect(cacpq(['client', 'status', '--db', fileA]).stdout).toMatch(/pending:\s+1 changes/);
    // The kept pin still works: the held change goes now.
    expect(a.sync()).toMatch(/^synced: pushed 1,/);

    // --ca instead: the certificate verified as a CA, with its name checked (localhost is in it).
    const fileC = path.join(dir, 'ca.db');
    const caFile = path.join(dir, 'server-ca.pem');
    fs.writeFileSync(caFile, certPem);
    const byCa = cacpq([
      'client',
      'init',
      '--server',
      `https://localhost:${server.port}`,
      '--token',
      await issue('ca-pc'),
      '--db',
      fileC,
      '--ca',
      caFile,
    ]);
    expect(byCa).toMatchObject({ status: 0, stderr: '' });
    // The admin command line takes the same options.
    const who = cacpq(['whoami', '--url', server.url, '--token', tokenA, '--fingerprint', fingerprint]);
    expect(who).toMatchObject({ status: 0 });
    expect(who.stdout).toContain('admin');
    const bad = cacpq(['whoami', '--url', server.url, '--token', tokenA, '--fingerprint', 'AB:CD']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--fingerprint must be the server's SHA-256 fingerprint");
  });

  it('cacpq client watch over HTTPS: the live socket is pinned too, and pokes arrive over it', async () => {
    const { spawn } = await import('node:child_process');
    const fileA = path.join(dir, 'pinned-a.db');
    const child = spawn(
      process.execPath,
      [path.join(__dirname, '..', '..', 'tools', 'bin', 'cacpq.js'), 'client', 'watch', '--db', fileA],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const waitFor = async (re: RegExp) => {
      const deadline = Date.now() + 20_000;
      while (!re.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(out).toMatch(re);
    };
    try {
      await waitFor(/synced: pushed \d+, pulled \d+/);
      // The schedule is two hours away: only a poke over the wss:// socket makes it sync again.
      await new Promise((r) => setTimeout(r, 1000));
      const witness = new Workstation('witness', path.join(dir, 'witness.db'));
      witness.sql(`INSERT INTO customers (id, name, type) VALUES ('c-tls-poke', 'Poked', 'OEM');`);
      expect(witness.sync()).toMatch(/^synced: pushed 1,/);
      await waitFor(/synced: pushed 0, pulled [1-9]/);
      expect(out).not.toMatch(/failed|TLS_/);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    expect(new Workstation('pinned-a', fileA).dump(['customers']).customers.map((r) => r.id)).toContain('c-tls-poke');
  });

  it('a wrong fingerprint: the connection is closed after the handshake, before a single byte of the request', async () => {
    // A server that is not the NAS (its own certificate), counting what reaches it past the handshake.
    const impostor = await selfSignedCertificate(path.join(dir, 'impostor'), []);
    let received = 0;
    let connections = 0;
    const fake = tls.createServer({ cert: impostor.cert, key: impostor.key }, (socket) => {
      socket.on('data', (d: Buffer) => (received += d.length));
      socket.on('error', () => undefined);
    });
    fake.on('connection', () => connections++);
    fake.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    const port = (fake.address() as net.AddressInfo).port;
    try {
      const file = path.join(dir, 'impostor.db');
      const r = await cacpqAsync([
        'client',
        'init',
        '--server',
        `https://127.0.0.1:${port}`,
        '--token',
        'cacpq_secret-token',
        '--db',
        file,
        '--fingerprint',
        fingerprint,
      ]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`presented a certificate with SHA-256 fingerprint ${impostor.fingerprint}, not the pinned ${fingerprint}`);
      expect(connections).toBeGreaterThan(0);
      expect(received).toBe(0);
      expect(fs.existsSync(file)).toBe(false);
    } finally {
      fake.close();
    }
  });
});

describe('start-up that makes nothing when it fails', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('startup');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a certificate that does not match its key, a missing file, and bad settings: exit 2 with a sentence, no data directory', async () => {
    const a = await selfSignedCertificate(path.join(dir, 'cert-a'), []);
    const b = await selfSignedCertificate(path.join(dir, 'cert-b'), []);
    const notADir = path.join(dir, 'a-file');
    fs.writeFileSync(notADir, 'x');
    const cases: [Record<string, string>, RegExp][] = [
      [{ TLS_CERT: a.certFile, TLS_KEY: b.keyFile }, /TLS_KEY \(.*\) is not the key of the certificate in TLS_CERT/],
      [{ TLS_CERT: path.join(dir, 'missing.crt'), TLS_KEY: a.keyFile }, /TLS_CERT names .*missing\.crt, which does not exist\./],
      [{ TLS: 'on', TLS_CERT: a.certFile }, /needs both TLS_CERT and TLS_KEY/],
      [{ TZ: 'Europe/Atlantis' }, /TZ must be a time zone name such as Europe\/Berlin/],
      [{ DATA_DIR: '' }, /DATA_DIR is set but empty/],
      [{ DATA_DIR: notADir }, /DATA_DIR names .*a-file, which is a file, not a directory\./],
      [{ PORT: 'abc' }, /PORT must be a whole number from 0 to 65535 \(got "abc"\)/],
    ];
    for (const [env, sentence] of cases) {
      const dataDir = path.join(dir, `data-${Object.keys(env).join('-')}`);
      const r = runToExit(dataDir, env);
      expect({ env, code: r.code, sentence: sentence.test(r.output) }).toEqual({ env, code: 2, sentence: true });
      expect(r.output).not.toMatch(/at \w+ \(|TypeError|stack/);
      if (!('DATA_DIR' in env)) expect({ env, made: fs.existsSync(dataDir) }).toEqual({ env, made: false });
    }
  });

  it('a port in use: exit 1 naming it, nothing made; the next start makes the admin and prints its one-time password', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    const dataDir = path.join(dir, 'fresh');
    try {
      const r = runToExit(dataDir, { PORT: String(port), ADMIN_PASSWORD: '' });
      expect(r.code).toBe(1);
      expect(r.output).toContain(`Not started: port ${port} on 127.0.0.1 is already in use; set PORT to a free port.`);
      expect(r.output).not.toContain('First start');
      expect(fs.existsSync(dataDir)).toBe(false);
    } finally {
      busy.close();
    }
    const server = await startServer({ dataDir, env: { ADMIN_PASSWORD: '' } });
    try {
      const m = /created the administrator account "admin" with the password {2}(\S+) {2}\(shown only this once/.exec(server.output());
      expect(m).not.toBeNull();
      const login = await fetch(`${server.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: m![1] }),
      });
      expect(login.status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it('npm start: the dashboard takes a free loopback port when PORT+1 is busy; PORT=abc is named', async () => {
    const port = await freePort();
    const blocker = net.createServer();
    await new Promise<void>((resolve, reject) => {
      blocker.once('error', reject);
      blocker.listen(port + 1, '127.0.0.1', resolve);
    }).catch(() => undefined); // if port+1 is someone else's already, it is busy all the same
    const { spawn } = await import('node:child_process');
    const start = path.join(__dirname, '..', '..', 'tools', 'bin', 'start.js');
    const child = spawn(process.execPath, [start], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: path.join(dir, 'npm-start'),
        ADMIN_PASSWORD,
        LOG_LEVEL: 'error',
        WEB_PORT: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 120_000;
      while (!out.includes('listening: open') && child.exitCode === null && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 200));
      expect(out).toContain(`listening: open http://127.0.0.1:${port}/`);
      // The dashboard answers through the server: its sign-in page, styled by its own stylesheet.
      let page = '';
      for (let i = 0; i < 100 && !page.includes('Sign in'); i++) {
        const res = await fetch(`http://127.0.0.1:${port}/login`).catch(() => null);
        page = res && res.status === 200 ? await res.text() : '';
        if (!page.includes('Sign in')) await new Promise((r) => setTimeout(r, 300));
      }
      expect(page).toContain('Sign in');
      expect(out).not.toContain('dashboard stopped');
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      blocker.close();
    }
    const bad = cacpqStart({ PORT: 'abc' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('PORT must be a whole number from 0 to 65535 (got "abc")');
    expect(bad.stderr).not.toContain('WEB_PORT');
  });
});

function cacpqStart(env: Record<string, string>): { status: number | null; stderr: string } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'tools', 'bin', 'start.js')], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stderr: r.stderr };
}

/** An admin session over HTTPS (the test's fetch trusts the server's certificate). */
async function httpsSession(
  https: (url: string, init?: Parameters<typeof undiciFetch>[1]) => ReturnType<typeof undiciFetch>,
  url: string,
): Promise<(method: string, p: string, body?: unknown) => ReturnType<typeof undiciFetch>> {
  const login = await https(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
  });
  expect(login.status).toBe(200);
  const cookie = login.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const { csrfToken } = (await login.json()) as { csrfToken: string };
  return (method, p, body) =>
    https(`${url}${p}`, {
      method,
      headers: { Cookie: cookie, 'X-CSRF-Token': csrfToken, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
}
