import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { ARTIFACTS, dashboardSuite, expectText, launchBrowser } from './browser';
import { session } from './harness';
import { cacpq } from './workstations';

/**
 * Passwords as people change them: their own in the dashboard (current password required), an
 * admin setting one for someone, and `cacpq users password` on the NAS. Each time the old password
 * stops working and the account's other sessions end.
 */
describe('passwords in the dashboard and the command line', () => {
  const suite = dashboardSuite('passwords', {
    users: [
      ['pam', 'user', 'pam-password-1'],
      ['mona', 'manager', 'mona-password-1'],
      ['carl', 'user', 'carl-password-1'],
    ],
  });

  async function login(username: string, password: string): Promise<number> {
    const res = await fetch(`${suite.server.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    await res.body?.cancel();
    return res.status;
  }

  async function signInAt(page: Page, username: string, password: string): Promise<void> {
    await suite.browser.clearCookies();
    await page.goto(`${suite.url}/login`);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  it('a user changes their own password: a wrong current one is refused, the old one stops working, their other sessions end', async () => {
    // pam's other browser (another PC), signed in before the change.
    const otherBrowser = await launchBrowser();
    const other = await otherBrowser.newPage();
    await other.goto(`${suite.url}/login`);
    await other.getByLabel('Username').fill('pam');
    await other.getByLabel('Password').fill('pam-password-1');
    await other.getByRole('button', { name: 'Sign in' }).click();
    await other.waitForURL(/\/password$|\/$/);
    const otherApi = await session(suite.server.url, 'pam', 'pam-password-1');

    const page = await suite.browser.newPage();
    await signInAt(page, 'pam', 'pam-password-1');
    await page.getByRole('link', { name: 'Change password' }).first().click();
    await page.waitForURL(`${suite.url}/password`);
    const form = page.getByTestId('change-password');

    await form.getByLabel('Current password').fill('not-my-password');
    await form.getByLabel('New password', { exact: true }).fill('pam-new-password-2');
    await form.getByLabel('New password again').fill('pam-new-password-2');
    await form.getByRole('button', { name: 'Change password' }).click();
    await expectText(form.getByRole('alert').first(), { contains: 'current password' });
    expect(await login('pam', 'pam-password-1')).toBe(200);

    // Too short: said beside the field before anything is sent.
    await form.getByLabel('Current password').fill('pam-password-1');
    await form.getByLabel('New password', { exact: true }).fill('short');
    await form.getByLabel('New password again').fill('short');
    await form.getByRole('button', { name: 'Change password' }).click();
    await expectText(page.locator('#password-next-error'), { is: 'The new password needs at least 10 characters.' });

    await form.getByLabel('New password', { exact: true }).fill('pam-new-password-2');
    await form.getByLabel('New password again').fill('pam-new-password-2');
    await form.getByRole('button', { name: 'Change password' }).click();
    await page.getByTestId('password-changed').waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'password-changed.png') });

    // This browser stays signed in; the other one is signed out at its next request.
    expect(await page.evaluate(() => fetch('/api/v1/auth/me').then((r) => r.status))).toBe(200);
    expect((await otherApi('GET', '/api/v1/auth/me')).status).toBe(401);
    await other.reload();
    await other.waitForURL(/\/login/);
    await otherBrowser.close();

    expect(await login('pam', 'pam-password-1')).toBe(401);
    expect(await login('pam', 'pam-new-password-2')).toBe(200);
    await page.close();
  });

  it('an admin sets a new password for a manager: their session ends, the old password fails, the new one works', async () => {
    const monaApi = await session(suite.server.url, 'mona', 'mona-password-1');
    expect((await monaApi('GET', '/api/v1/auth/me')).status).toBe(200);
    const page = await suite.browser.newPage();
    await suite.signIn(page, 'admin', 'e2e-admin-password');
    await suite.open(page, 'Users and tokens', '/accounts', '[data-testid="accounts"]');
    await page.getByRole('button', { name: 'Set a new password for mona' }).click();
    const panel = page.getByTestId('set-password');
    await panel.getByLabel('New password', { exact: true }).fill('mona-password-2');
    await panel.getByLabel('New password again').fill('mona-password-3');
    await panel.getByRole('button', { name: 'Set password' }).click();
    await expectText(page.locator('#set-password-problem'), { is: 'The two passwords differ.' });
    await panel.getByLabel('New password again').fill('mona-password-2');
    await panel.getByRole('button', { name: 'Set password' }).click();
    await panel.waitFor({ state: 'detached' });

    expect((await monaApi('GET', '/api/v1/auth/me')).status).toBe(401);
    expect(await login('mona', 'mona-password-1')).toBe(401);
    expect(await login('mona', 'mona-password-2')).toBe(200);
    const audit = (await (await suite.call('GET', '/api/v1/audit?action=user.update&limit=50')).json()) as {
      actor: string;
      target: string;
      details: Record<string, unknown>;
    }[];
    expect(audit.find((e) => e.target === 'mona')).toMatchObject({ actor: 'admin', details: { password: 'changed' } });
    await page.close();
  });

  it('cacpq users password NAME on the NAS: the old password fails, sessions end; a short one is refused with a sentence', () => {
    const dataDirArgs = ['--url', suite.server.url, '--data-dir', suite.dataDir];
    const carlBefore = session(suite.server.url, 'carl', 'carl-password-1');
    return carlBefore.then(async (carlApi) => {
      const r = cacpq(['users', 'password', 'carl', '--password-stdin', ...dataDirArgs], {}, 0, 'carl-password-2\n');
      expect(r).toMatchObject({ status: 0, stderr: '' });
      expect(r.stdout).toContain('The password of carl was changed');
      expect((await carlApi('GET', '/api/v1/auth/me')).status).toBe(401);
      expect(await login('carl', 'carl-password-1')).toBe(401);
      expect(await login('carl', 'carl-password-2')).toBe(200);

      const short = cacpq(['users', 'password', 'carl', '--password-stdin', ...dataDirArgs], {}, 0, 'short\n');
      expect(short.status).not.toBe(0);
      expect(short.stderr).toMatch(/at least 10 characters/);
      expect(await login('carl', 'carl-password-2')).toBe(200);
      const nobody = cacpq(['users', 'password', 'nobody-here', '--password-stdin', ...dataDirArgs], {}, 0, 'a-long-enough-password\n');
      expect(nobody.status).toBe(1);
      expect(nobody.stderr).toMatch(/nobody-here/);
    });
  });

  it('bad input over the API: a wrong current password and a short one get a 4xx with a sentence, never a 500', async () => {
    const pam = await session(suite.server.url, 'pam', 'pam-new-password-2');
    const wrong = await pam('POST', '/api/v1/auth/password', { currentPassword: 'wrong-password-x', newPassword: 'whatever-password-3' });
    expect(wrong.status).toBeGreaterThanOrEqual(400);
    expect(wrong.status).toBeLessThan(500);
    expect(((await wrong.json()) as { message: string }).message).toMatch(/current password/i);
    const short = await pam('POST', '/api/v1/auth/password', { currentPassword: 'pam-new-password-2', newPassword: 'short' });
    expect(short.status).toBe(400);
    expect(((await short.json()) as { message: string }).message).toMatch(/10/);
    const adminShort = await suite.call('PATCH', '/api/v1/users/pam', { password: 'short' });
    expect(adminShort.status).toBe(400);
    expect(((await adminShort.json()) as { message: string }).message).toMatch(/10/);
    expect(await login('pam', 'pam-new-password-2')).toBe(200);
  });
});
