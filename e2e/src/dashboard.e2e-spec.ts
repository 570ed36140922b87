import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { ADMIN_PASSWORD, startServer } from './harness';
import { ARTIFACTS, dashboardSuite, expectText, signIn as signInAs } from './browser';

describe('the dashboard in real Chromium, through the one origin', () => {
  const suite = dashboardSuite('browser', {
    users: [
      ['morgan', 'manager', 'morgan-password-1'],
      ['wendy', 'user', 'wendy-password-1'],
    ],
  });

  /** The login page only: some accounts here never reach the Overview. */
  async function signIn(page: Page, username: string, password: string): Promise<void> {
    await signInAs(suite.browser, page, suite.url, username, password);
  }

  it('sends a signed-out visitor to the login page and explains a wrong password', async () => {
    const page = await suite.browser.newPage();
    await signIn(page, 'admin', 'not-the-password');
    // (Next.js keeps its own role="alert" route announcer on the page, hence the id.)
    await page.locator('#login-error').waitFor();
    await expectText(page.locator('#login-error'), { contains: 'Wrong username or password.' });
    expect(page.url()).toBe(`${suite.url}/login?next=%2F`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'login.png') });
    await page.close();
  });

  it('logs an admin in and shows the server health on the overview', async () => {
    const page = await suite.browser.newPage();
    await signIn(page, 'admin', ADMIN_PASSWORD);
    await page.waitForURL(`${suite.url}/`);
    const overview = page.getByTestId('overview');
    await overview.waitFor();
    await page.getByTestId('files-table').waitFor();
    const ready = (await (await fetch(`${suite.server.url}/api/health/ready`)).json()) as { sqliteVersion: string; generation: string };
    await expectText(page.getByTestId('tile-sqlite'), { contains: ready.sqliteVersion });
    await expect(page.getByTestId('tile-generation').locator('[title]').getAttribute('title')).resolves.toContain(ready.generation);
    await expectText(page.getByTestId('tile-status'), { matches: /ok|ready/i });
    const files = await page.getByTestId('files-table').textContent();
    for (const name of ['server.db', 'generated_numbers.db', 'hub.db']) expect(files).toContain(name);
    await expectText(page.getByTestId('current-user'), { contains: 'admin' });
    await page.screenshot({ path: path.join(ARTIFACTS, 'overview-new-server.png'), fullPage: true });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login/);
    const me = await page.evaluate(async () => (await fetch('/api/v1/auth/me')).status);
    expect(me).toBe(401);
    await page.close();
  });

  it('shows a workstation-only account a notice instead of the dashboard', async () => {
    const page = await suite.browser.newPage();
    await signIn(page, 'wendy', 'wendy-password-1');
    await page.getByTestId('role-notice').waitFor();
    expect(await page.getByTestId('overview').count()).toBe(0);
    await page.close();
  });

  it('lets a manager see the overview; admin-only calls are refused by the API when forced', async () => {
    const page = await suite.browser.newPage();
    await signIn(page, 'morgan', 'morgan-password-1');
    await page.getByTestId('overview').waitFor();
    const forced = await page.evaluate(async () => {
      const csrf =
        document.cookie
          .split('; ')
          .find((c) => c.startsWith('cacpq_csrf='))
          ?.split('=')[1] ?? '';
      const res = await fetch('/api/v1/users', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
        body: JSON.stringify({ username: 'sneaky', role: 'admin' }),
      });
      return { status: res.status, body: (await res.json()) as { code: string } };
    });
    expect(forced).toEqual({ status: 403, body: expect.objectContaining({ code: 'FORBIDDEN' }) });
    await page.close();
  });

  it('sends an open dashboard to the sign-in page the moment its account is disabled, without any click', async () => {
    expect((await suite.call('POST', '/api/v1/users', { username: 'mira', role: 'manager', password: 'mira-password-1' })).status).toBe(
      201,
    );
    const page = await suite.browser.newPage();
    await signIn(page, 'mira', 'mira-password-1');
    await page.getByTestId('overview').waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Alerts' }).click();
    await page.waitForURL(`${suite.url}/alerts`);
    // The server ends the /ops socket at once (and the session); the page leaves for the sign-in page by itself.
    expect((await suite.call('PATCH', '/api/v1/users/mira', { disabled: true })).status).toBe(200);
    // Two redirects may race (the socket's `revoked` and a refused refresh), aborting one navigation
    // for the other: watch where the page ends up rather than wait for one navigation.
    const deadline = Date.now() + 10_000;
    while (!/\/login\?next=%2Falerts$/.test(page.url()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(page.url()).toMatch(/\/login\?next=%2Falerts$/);
    await page.getByLabel('Username').waitFor();
    await page.close();
  });

  it('says whether it is live: on while the server is up, "reconnecting" while it restarts, on again after, with no reload', async () => {
    const page = await suite.browser.newPage();
    await signIn(page, 'morgan', 'morgan-password-1');
    await page.getByTestId('overview').waitFor();
    const status = page.getByTestId('live-status');
    await expectText(status, { is: 'Live updates on' });
    const marker = await page.evaluate(() => ((window as unknown as { marker: number }).marker = Math.random()));

    // The same server restarted on the same port and data: the socket comes back by itself, the session still holds.
    const port = suite.server.port;
    expect(await suite.server.stop()).toBe(0);
    await expectText(status, { is: 'Live updates lost: reconnecting…' });
    expect(await status.getAttribute('data-state')).toBe('reconnecting');
    suite.server = await startServer({ dataDir: suite.dataDir, env: { WEB_URL: suite.dashboard.url, PORT: String(port) } });
    await expectText(status, { is: 'Live updates on' }, 30_000);
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(marker);
    await page.close();
  });
});
