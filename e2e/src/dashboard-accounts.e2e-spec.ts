import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { ADMIN_PASSWORD } from './harness';
import { ARTIFACTS, dashboardSuite, expectEnabled, expectText } from './browser';

const MANAGER = { username: 'mila', password: 'mila-password-1' };
const WES = { username: 'wes', password: 'wes-password-12' };
/** A workstation account without a password: it syncs with device tokens only. */
const WORKSTATION = 'ws-sales';
const DEVICE = 'SALES-PC-03';

describe('users, device tokens, the audit log and backup downloads in the dashboard (real Chromium)', () => {
  const suite = dashboardSuite('accounts-browser', { demo: true, users: [[WORKSTATION, 'user']] });
  let backupName: string;
  /** The device token issued in the page (first test), revoked there too. */
  let token = '';

  beforeAll(async () => {
    const { call, server } = suite;
    // A verified backup to download.
    const job = (await (await call('POST', '/api/v1/backups', { kind: 'manual' })).json()) as { id: number };
    const deadline = Date.now() + 60_000;
    for (;;) {
      const state = (await (await call('GET', `/api/v1/jobs/${job.id}`)).json()) as { status: string };
      if (state.status === 'succeeded') break;
      if (state.status === 'failed' || Date.now() > deadline) throw new Error(`the backup job ended ${state.status}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // More than one page (50) of audit entries: a workstation account trying an admin route is audited as denied.
    const alice = (await (await call('POST', '/api/v1/users/alice/tokens', { device: 'alice-pc' })).json()) as { token: string };
    for (let i = 0; i < 55; i++) {
      const res = await fetch(`${server.url}/api/v1/users`, { headers: { Authorization: `Bearer ${alice.token}` } });
      expect(res.status).toBe(403);
      await res.body?.cancel();
    }
    const backups = (await (await call('GET', '/api/v1/backups')).json()) as { name: string; status: string }[];
    backupName = backups.find((b) => b.name.startsWith('manual/') && b.status === 'verified')!.name;
  });

  const { signIn, open: openPage } = suite;
  const nav = (page: Page) => page.getByRole('navigation', { name: 'Main' });
  const userRow = (page: Page, username: string) => page.locator(`[data-testid="accounts-table"] tbody tr[data-user="${username}"]`);

  function login(username: string, password: string): Promise<Response> {
    return fetch(`${suite.server.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
  }

  const syncInfo = (bearer: string) => fetch(`${suite.server.url}/api/v1/sync/info`, { headers: { Authorization: `Bearer ${bearer}` } });

  it('an admin reaches the pages by keyboard, creates accounts, changes a role, disables one, issues a token once and revokes it', async () => {
    const page = await suite.browser.newPage();
    await signIn(page, 'admin', ADMIN_PASSWORD);

    // Keyboard: the first Tab stop is the skip link; Tab on to "Users and tokens" in the sidebar, Enter opens it.
    await page.keyboard.press('Tab');
    await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe('Skip to main content');
    let focused = '';
    for (let i = 0; i < 20 && focused !== 'Users and tokens'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() =>
        document.activeElement?.closest('nav[aria-label="Main"]') ? document.activeElement.textContent : '',
      );
    }
    expect(focused).toBe('Users and tokens');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${suite.url}/accounts`);
    await userRow(page, 'admin').waitFor();
    await expect(nav(page).getByRole('link', { name: 'Users and tokens' }).getAttribute('aria-current')).resolves.toBe('page');
    await expect(nav(page).getByRole('link', { name: 'Overview' }).getAttribute('aria-current')).resolves.toBeNull();
    expect(await nav(page).getByRole('link').count()).toBe(12);
    // The sidebar sits left of the page at 1366 px, every entry visible.
    const [sidebar, main] = await Promise.all([page.locator('.shell-sidebar').boundingBox(), page.locator('#main').boundingBox()]);
    expect(sidebar!.x + sidebar!.width).toBeLessThanOrEqual(main!.x + 1);
    expect(await nav(page).getByRole('link', { name: 'Settings' }).isVisible()).toBe(true);

    // Create a manager and a user through the form (a too-short password is pointed out first).
    await page.getByLabel('Username').fill(MANAGER.username);
    await page.getByLabel('Role', { exact: true }).selectOption('manager');
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expectText(page.locator('#new-password-error'), { is: 'A password has at least 10 characters.' });
    await page.getByLabel('Password', { exact: true }).fill(MANAGER.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.locator(`[data-testid="accounts-table"] tbody tr[data-user="${MANAGER.username}"][data-role="manager"]`).waitFor();
    await page.getByLabel('Username').fill(WES.username);
    await page.getByLabel('Role', { exact: true }).selectOption('user');
    await page.getByLabel('Password', { exact: true }).fill(WES.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await userRow(page, WES.username).waitFor();
    expect((await login(MANAGER.username, MANAGER.password)).status).toBe(200);

    // Change wes's role.
    await page.getByLabel(`Role of ${WES.username}`, { exact: true }).selectOption('manager');
    await page.getByRole('button', { name: `Change role of ${WES.username}` }).click();
    await page.locator(`[data-testid="accounts-table"] tbody tr[data-user="${WES.username}"][data-role="manager"]`).waitFor();
    expect((await login(WES.username, WES.password)).status).toBe(200);

    // Disable wes (after a confirmation): the sign-in is then refused.
    await page.getByRole('button', { name: `Disable ${WES.username}` }).click();
    const dialog = page.getByRole('dialog', { name: `Disable ${WES.username}?` });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Disable account' }).click();
    await page.locator(`[data-testid="accounts-table"] tbody tr[data-user="${WES.username}"][data-disabled="true"]`).waitFor();
    const refused = await login(WES.username, WES.password);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { code: string }).code).toBe('ACCOUNT_DISABLED');
    expect(await page.getByRole('button', { name: `Enable ${WES.username}` }).isVisible()).toBe(true);

    // Issue a device token for the workstation account: shown once, with a Copy button.
    await page.getByRole('button', { name: `Device tokens of ${WORKSTATION}` }).click();
    const panel = page.getByTestId('tokens-panel');
    await panel.getByTestId('no-tokens').waitFor();
    await panel.getByLabel('Device name').fill(DEVICE);
    await panel.getByRole('button', { name: 'Issue token' }).click();
    const issued = panel.getByTestId('issued-token');
    await issued.waitFor();
    await expectText(issued.getByTestId('shown-once'), { contains: 'it will not be shown again' });
    token = await issued.getByTestId('issued-token-value').inputValue();
    expect(token.length).toBeGreaterThan(20);
    // Over plain HTTP on the LAN there is no Clipboard API (not a secure context): the page selects the
    // token and copies it the old way. What was copied is what the copy event saw selected in the field.
    expect(await page.evaluate(() => window.isSecureContext && 'clipboard' in navigator)).toBe(false);
    await page.evaluate(() => {
      document.addEventListener('copy', () => {
        const field = document.activeElement as HTMLInputElement;
        (window as unknown as { copied: string }).copied = field.value.slice(field.selectionStart ?? 0, field.selectionEnd ?? 0);
      });
    });
    await issued.getByRole('button', { name: 'Copy' }).click();
    await issued
      .getByTestId('copy-state')
      .filter({ hasText: /^Copied to the clipboard\.$/ })
      .waitFor();
    await expect(page.evaluate(() => (window as unknown as { copied: string }).copied)).resolves.toBe(token);
    await panel.locator(`[data-testid="tokens-table"] tr[data-device="${DEVICE}"][data-revoked="false"]`).waitFor();
    await userRow(page, WORKSTATION).locator('td.num', { hasText: /^1$/ }).waitFor();

    const info = await syncInfo(token);
    expect(info.status).toBe(200);
    await info.body?.cancel();

    // After a reload the token is listed, never shown.
    await page.reload();
    await userRow(page, WORKSTATION).waitFor();
    await page.getByRole('button', { name: `Device tokens of ${WORKSTATION}` }).click();
    await panel.locator(`[data-testid="tokens-table"] tr[data-device="${DEVICE}"]`).waitFor();
    expect(await page.getByTestId('issued-token').count()).toBe(0);
    expect(await page.content()).not.toContain(token);

    // Revoke it (after a confirmation): refused at once.
    await panel.getByRole('button', { name: `Revoke the token of ${DEVICE}` }).click();
    const revokeDialog = page.getByRole('dialog', { name: `Revoke the token of ${DEVICE}?` });
    await revokeDialog.getByRole('button', { name: 'Revoke token' }).click();
    await panel.locator(`[data-testid="tokens-table"] tr[data-device="${DEVICE}"][data-revoked="true"]`).waitFor();
    const after = await syncInfo(token);
    expect(after.status).toBe(401);
    expect(((await after.json()) as { code: string }).code).toBe('INVALID_TOKEN');
    await page.waitForFunction(() => document.activeElement?.id === 'tokens-heading');
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(ARTIFACTS, 'accounts.png'), fullPage: true });
    await page.close();
  });

  it('the audit log lists those actions and filters them by action, actor, outcome and day', async () => {
    const page = await suite.browser.newPage();
    await signIn(page, 'admin', ADMIN_PASSWORD);
    await openPage(page, 'Audit log', '/audit', '[data-testid="audit-table"]');
    const rows = page.locator('[data-testid="audit-table"] tbody tr');
    const text = await page.getByTestId('audit-table').textContent();
    for (const action of ['user.create', 'user.update', 'token.issue', 'token.revoke']) expect(text).toContain(action);

    /** Applies the filters, then waits for the page to show their answer. */
    async function apply(): Promise<void> {
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await page.locator('[data-testid="audit"] section[data-loading="false"]').waitFor();
    }
    const column = (attr: string) => rows.evaluateAll((trs, a) => trs.map((tr) => tr.getAttribute(a)), attr);

    await page.getByLabel('Action').fill('user.update');
    await apply();
    await page.waitForFunction(() =>
      Array.from(document.querySelectorAll('[data-testid="audit-table"] tbody tr')).every(
        (tr) => tr.getAttribute('data-action') === 'user.update',
      ),
    );
    const updates = await rows.allTextContents();
    expect(updates).toHaveLength(2); // wes: role, then disabled
    expect(updates[0]).toContain('disabled: true');
    expect(updates[1]).toContain('role: manager');

    await page.getByLabel('Action').fill('auth.login');
    await page.getByLabel('Actor').fill(WES.username);
    await page.getByLabel('Outcome').selectOption('denied');
    await apply();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="audit-table"] tbody tr[data-outcome="denied"]').length > 0);
    await expect(column('data-actor')).resolves.toEqual([WES.username]);
    await expectText(rows.first(), { contains: 'reason: disabled' });

    // Days: from tomorrow nothing; today everything again.
    const day = (offset: number) =>
      page.evaluate((o) => {
        const d = new Date();
        d.setDate(d.getDate() + o);
        return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
      }, offset);
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByLabel('Action').fill('token.revoke');
    await page.getByLabel('From (day)').fill(await day(1));
    await apply();
    await expectText(page.getByTestId('no-audit'), { is: 'No entries match these filters.' });
    await page.getByLabel('From (day)').fill(await day(0));
    await page.getByLabel('To (day, included)').fill(await day(0));
    await apply();
    await page.locator('[data-testid="audit-table"] tbody tr[data-action="token.revoke"]').waitFor();
    await expect(column('data-actor')).resolves.toEqual(['admin']);
    await page.getByLabel('To (day, included)').fill(await day(-1));
    await apply();
    await page.getByRole('alert').filter({ hasText: 'The “from” day is after the “to” day.' }).waitFor();

    await page.getByRole('button', { name: 'Clear' }).click();
    await page.locator('[data-testid="audit"] section[data-loading="false"]').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="audit-table"] tbody tr').length === 50);
    // Paging: 50 per page; the demo seed, logins and these actions make more.
    await page.getByRole('button', { name: 'Older' }).click();
    await page.getByTestId('audit-page').filter({ hasText: 'Page 2' }).waitFor();
    await page.locator('[data-testid="audit"] section[data-loading="false"]').waitFor();
    // Newer is disabled while the page loads, and the loading flag is set by an effect a task after
    // "Page 2" shows: the section can still read data-loading="false" just before it turns "true".
    await expectEnabled(page.getByRole('button', { name: 'Newer' }));
    await page.getByRole('button', { name: 'Newer' }).click();
    await page.getByTestId('audit-page').filter({ hasText: 'Page 1' }).waitFor();
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(ARTIFACTS, 'audit.png'), fullPage: true });
    await page.close();
  });

  it('offers an admin the download of a verified backup, which returns the file', async () => {
    const page = await suite.browser.newPage();
    await signIn(page, 'admin', ADMIN_PASSWORD);
    await openPage(page, 'Backups', '/backups', '[data-testid="backups-table"]');
    const link = page.getByRole('link', { name: `Download ${backupName}` });
    const href = await link.getAttribute('href');
    expect(href).toMatch(/^\/api\/v1\/backups\/\d+\/download$/);
    const head = await page.evaluate(async (url) => {
      const res = await fetch(url);
      const bytes = (await res.arrayBuffer()).byteLength;
      return { status: res.status, type: res.headers.get('content-type'), disposition: res.headers.get('content-disposition'), bytes };
    }, href!);
    expect(head.status).toBe(200);
    expect(head.type).toBe('application/zip');
    expect(head.disposition).toMatch(/^attachment; filename="manual_.+\.zip"$/);
    expect(head.bytes).toBeGreaterThan(1000);
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toMatch(/^manual_.+\.zip$/);
    expect(await download.failure()).toBeNull();
    expect(fs.statSync(await download.path()).size).toBe(head.bytes);
    await page.close();
  });

  it('shows a manager accounts, tokens and the audit log read-only; forced admin calls are refused', async () => {
    const page = await suite.browser.newPage();
    await signIn(page, MANAGER.username, MANAGER.password);
    await openPage(page, 'Users and tokens', '/accounts', '[data-testid="accounts-table"]');
    await page.getByTestId('read-only-note').waitFor();
    await userRow(page, WORKSTATION).waitFor();
    expect(await page.getByTestId('create-account').count()).toBe(0);
    expect(await page.getByRole('button', { name: /^(Disable|Enable|Change role of) / }).count()).toBe(0);
    expect(await page.getByRole('combobox').count()).toBe(0);
    await page.getByRole('button', { name: `Device tokens of ${WORKSTATION}` }).click();
    await page.locator(`[data-testid="tokens-table"] tr[data-device="${DEVICE}"][data-revoked="true"]`).waitFor();
    expect(await page.getByTestId('issue-token').count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Revoke/ }).count()).toBe(0);

    // A narrow window: the navigation folds behind Menu; a page opened from it folds it again.
    await page.setViewportSize({ width: 600, height: 800 });
    const menu = page.getByRole('button', { name: 'Menu' });
    await expect(menu.getAttribute('aria-expanded')).resolves.toBe('false');
    expect(await nav(page).isVisible()).toBe(false);
    await menu.click();
    await expect(menu.getAttribute('aria-expanded')).resolves.toBe('true');
    await openPage(page, 'Audit log', '/audit', '[data-testid="audit-table"]');
    await expect(menu.getAttribute('aria-expanded')).resolves.toBe('false');
    expect(await nav(page).isVisible()).toBe(false);
    await page.setViewportSize({ width: 1366, height: 860 });
    expect(await page.locator('[data-testid="audit-table"] tbody tr').count()).toBeGreaterThan(0);
    await openPage(page, 'Backups', '/backups', '[data-testid="backups-table"]');
    expect(await page.getByRole('link', { name: /^Download / }).count()).toBe(0);

    const tokenId = await page.evaluate(async (u) => {
      const list = (await (await fetch(`/api/v1/users/${u}/tokens`)).json()) as { id: string }[];
      return list[0].id;
    }, WORKSTATION);
    const forced = await page.evaluate(
      async ({ tokenId, workstation }) => {
        const csrf =
          document.cookie
            .split('; ')
            .find((c) => c.startsWith('cacpq_csrf='))
            ?.split('=')[1] ?? '';
        const send = async (method: string, url: string, body?: unknown) => {
          const res = await fetch(url, {
            method,
            headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          return `${method} ${url} ${res.status} ${((await res.json()) as { code: string }).code}`;
        };
        return [
          await send('POST', '/api/v1/users', { username: 'sneaky', role: 'admin', password: 'sneaky-password-1' }),
          await send('PATCH', '/api/v1/users/mila', { role: 'admin' }),
          await send('POST', `/api/v1/users/${workstation}/tokens`, { device: 'mine' }),
          await send('DELETE', `/api/v1/tokens/${tokenId}`),
          await send('GET', '/api/v1/backups/1/download'),
        ];
      },
      { tokenId, workstation: WORKSTATION },
    );
    expect(forced).toEqual([
      'POST /api/v1/users 403 FORBIDDEN',
      'PATCH /api/v1/users/mila 403 FORBIDDEN',
      `POST /api/v1/users/${WORKSTATION}/tokens 403 FORBIDDEN`,
      `DELETE /api/v1/tokens/${tokenId} 403 FORBIDDEN`,
      'GET /api/v1/backups/1/download 403 FORBIDDEN',
    ]);
    await page.close();
  });
});
