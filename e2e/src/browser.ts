import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { ROOT, adminSession, startServer, tempDir, type ServerProcess } from './harness';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { dashboardCommand } = require('../../tools/bin/web-server') as {
  dashboardCommand(root: string, where: { port: number; host: string }): { args: string[]; env: Record<string, string> };
};

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = path.join(ROOT, 'e2e', 'artifacts');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** The built Next.js dashboard as a real process on a loopback port. */
export async function startDashboard(): Promise<{ url: string; proc: ChildProcess; stop(): Promise<void> }> {
  if (!fs.existsSync(path.join(ROOT, 'apps', 'web', '.next', 'BUILD_ID'))) {
    throw new Error('apps/web is not built: run "npm run build" first.');
  }
  const port = await freePort();
  // The standalone server (as `npm start` and the web image run it), or `next start` for a build without it.
  const dashboard = dashboardCommand(ROOT, { port, host: '127.0.0.1' });
  const proc = spawn(process.execPath, dashboard.args, {
    cwd: ROOT,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...dashboard.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`the dashboard exited with ${proc.exitCode}:\n${out}`);
    try {
      const res = await fetch(`${url}/login`);
      if (res.status === 200) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`the dashboard did not start in 60 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  return {
    url,
    proc,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The name the browser reaches the server by, as an admin's PC reaches the NAS: Chromium maps it to
 * loopback. Browsers treat `localhost` and `127.0.0.1` as secure and exempt them from HTTPS upgrades,
 * so a test by those names passes where a real admin's browser fails.
 */
export const LAN_HOST = 'nas.test';

/** The address a browser opens for a server on loopback port `port`: by the LAN name. */
export function lanUrl(port: number, scheme: 'http' | 'https' = 'http'): string {
  return `${scheme}://${LAN_HOST}:${port}`;
}

export interface BrowserOptions {
  /**
   * Base64 SHA-256 hashes of certificates' public keys (SPKI) the browser trusts, as an admin
   * trusts a NAS's self-signed certificate: by what it is, not by a CA.
   */
  trustSpki?: string[];
}

/** Real Chromium, headless, in a fresh profile, talking only to loopback; `nas.test` is loopback. */
export async function launchBrowser(opts: BrowserOptions = {}): Promise<BrowserContext> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM} (apt-get install -y chromium).`);
  return chromium.launchPersistentContext(tempDir('chromium'), {
    executablePath: CHROMIUM,
    viewport: { width: 1366, height: 860 },
    args: [
      `--host-resolver-rules=MAP ${LAN_HOST} 127.0.0.1`,
      ...(opts.trustSpki?.length ? [`--ignore-certificate-errors-spki-list=${opts.trustSpki.join(',')}`] : []),
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Signs in through the login page, from a clean cookie jar. */
export async function signIn(browser: BrowserContext, page: Page, url: string, username: string, password: string): Promise<void> {
  await browser.clearCookies();
  await page.goto(`${url}/`);
  await page.waitForURL(/\/login\?next=%2F$/);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export interface CanvasPixels {
  width: number;
  height: number;
  /** Pixels that are not transparent. */
  painted: number;
  /** Painted pixels within 10 of `rgb` on every channel (0 when no colour was asked for). */
  coloured: number;
}

/**
 * Waits until the chart in `[data-testid=testId]` has drawn (a canvas with a size and painted pixels),
 * then counts its pixels: how many are painted, and how many are in the series colour `rgb`.
 */
export async function canvasPixels(page: Page, testId: string, rgb?: [number, number, number]): Promise<CanvasPixels> {
  const handle = await page.waitForFunction(
    ({ id, rgb }) => {
      const canvas = document.querySelector<HTMLCanvasElement>(`[data-testid="${id}"] canvas`);
      if (!canvas || canvas.width === 0 || canvas.height === 0) return null;
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = 0;
      let coloured = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] === 0) continue;
        painted++;
        if (rgb && Math.abs(data[i] - rgb[0]) < 10 && Math.abs(data[i + 1] - rgb[1]) < 10 && Math.abs(data[i + 2] - rgb[2]) < 10)
          coloured++;
      }
      return painted > 0 ? { width: canvas.width, height: canvas.height, painted, coloured } : null;
    },
    { id: testId, rgb: rgb ?? null },
  );
  return (await handle.jsonValue()) as CanvasPixels;
}

/** What a text should be: exactly `is`, or `contains` a part, or `matches` a pattern. */
export type TextExpectation = { is: string } | { contains: string } | { matches: RegExp };

function describeExpectation(want: TextExpectation): string {
  if ('is' in want) return `to be ${JSON.stringify(want.is)}`;
  if ('contains' in want) return `to contain ${JSON.stringify(want.contains)}`;
  return `to match ${want.matches}`;
}

function meets(text: string, want: TextExpectation): boolean {
  if ('is' in want) return text === want.is;
  if ('contains' in want) return text.includes(want.contains);
  return want.matches.test(text);
}

/**
 * Waits until the text of `locator` meets `want`, and returns it. The pages fill in their figures
 * after their requests answer (a tile shows "—" until then), so reading the text once races the
 * page; this reads it again every 100 ms, and on timeout fails with the last text it saw.
 */
export async function expectText(locator: Locator, want: TextExpectation, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last: string | null = null;
  for (;;) {
    last = await locator.textContent({ timeout: Math.max(1, deadline - Date.now()) }).catch(() => null);
    if (last !== null && meets(last, want)) return last;
    if (Date.now() >= deadline) {
      throw new Error(
        `expected the text of ${String(locator)} ${describeExpectation(want)}, but after ${timeoutMs} ms it was ${JSON.stringify(last)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Waits until `locator` is enabled (or, with `enabled` false, disabled). A control's state can follow
 * a state update that lands a task after what the test waited for: a list's loading flag is set by an
 * effect after the render that shows the new page, so a button can still turn disabled (loading) and
 * enabled again (answered) after the page number showed. Reading it once races that; this reads it
 * again every 100 ms, and on timeout fails with the last state it saw.
 */
export async function expectEnabled(locator: Locator, enabled = true, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: boolean | null = null;
  for (;;) {
    last = await locator.isEnabled({ timeout: Math.max(1, deadline - Date.now()) }).catch(() => null);
    if (last === enabled) return;
    if (Date.now() >= deadline) {
      const seen = last === null ? 'not found' : last ? 'enabled' : 'disabled';
      throw new Error(`expected ${String(locator)} to be ${enabled ? 'enabled' : 'disabled'}, but after ${timeoutMs} ms it was ${seen}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface DashboardSuiteOptions {
  /** The server's extra environment (fault pauses), beside WEB_URL. */
  env?: Record<string, string>;
  /** Seeds the demo data (a tenth of the size, one month) before the tests. */
  demo?: boolean;
  /** Accounts made by the admin before the tests: username, role and, to sign in, a password. */
  users?: [username: string, role: string, password?: string][];
}

export interface DashboardSuite {
  /** The server's address as the browser opens it: by the LAN name (`http://nas.test:PORT`). */
  url: string;
  /** Requests the browser could not complete (DNS, TLS, refused, cut), aborted navigations aside. */
  failedRequests: string[];
  /** The suite's temporary directory: the server's data is `dataDir` inside it, workstations may go beside. */
  dir: string;
  dataDir: string;
  dashboard: Awaited<ReturnType<typeof startDashboard>>;
  /** The server process; a test that restarts it assigns the new one here, so it is the one stopped. */
  server: ServerProcess;
  browser: BrowserContext;
  /** The admin's API session. */
  call: Awaited<ReturnType<typeof adminSession>>;
  /** Signs in through the login page and waits for the Overview. */
  signIn(page: Page, username: string, password: string): Promise<void>;
  /** Follows the sidebar link `label`, waits for `pathname` and for the page's `ready` element. */
  open(page: Page, label: string, pathname: string, ready: string): Promise<void>;
}

/**
 * What every browser suite needs, started in `beforeAll` and stopped in `afterAll`: the built
 * dashboard and a server process on a temporary data directory, the admin's API session, optional
 * demo data and accounts, and real Chromium. Its fields are set once `beforeAll` has run.
 */
export function dashboardSuite(name: string, opts: DashboardSuiteOptions = {}): DashboardSuite {
  const suite = {
    async signIn(page: Page, username: string, password: string) {
      await signIn(suite.browser, page, suite.url, username, password);
      await page.waitForURL(`${suite.url}/`);
      await page.getByTestId('overview').waitFor();
    },
    async open(page: Page, label: string, pathname: string, ready: string) {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true }).click();
      await page.waitForURL(`${suite.url}${pathname}`);
      await page.locator(ready).first().waitFor();
    },
  } as DashboardSuite;

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    suite.dir = tempDir(name);
    suite.dataDir = path.join(suite.dir, 'data');
    suite.dashboard = await startDashboard();
    suite.server = await startServer({ dataDir: suite.dataDir, env: { WEB_URL: suite.dashboard.url, ...opts.env } });
    suite.call = await adminSession(suite.server.url);
    if (opts.demo) {
      const seeded = await suite.call('POST', '/api/v1/demo/seed', { confirm: 'seed-demo', scale: 0.1, months: 1 });
      expect(seeded.status).toBe(201);
    }
    for (const [username, role, password] of opts.users ?? []) {
      const made = await suite.call('POST', '/api/v1/users', { username, role, ...(password ? { password } : {}) });
      expect({ username, status: made.status }).toEqual({ username, status: 201 });
    }
    suite.url = lanUrl(suite.server.port);
    suite.failedRequests = [];
    suite.browser = await launchBrowser();
    suite.browser.on('requestfailed', (request) => {
      const failure = request.failure()?.errorText ?? '';
      // A navigation or a page leaving cancels what it had in flight: that is not a failure.
      if (failure !== 'net::ERR_ABORTED') suite.failedRequests.push(`${request.method()} ${request.url()}: ${failure}`);
    });
  });

  afterAll(async () => {
    await suite.browser?.close();
    await suite.server?.stop();
    await suite.dashboard?.stop();
    if (suite.dir) fs.rmSync(suite.dir, { recursive: true, force: true });
  });

  return suite;
}
