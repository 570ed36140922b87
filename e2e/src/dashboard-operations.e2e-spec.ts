import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { ADMIN_PASSWORD } from './harness';
import { ARTIFACTS, canvasPixels, dashboardSuite, expectText } from './browser';

const MANAGER = { username: 'marta', password: 'marta-password-1' };

interface AlertRow {
  id: number;
  rule: string;
  status: string;
  acknowledgedBy: string | null;
}

describe('maintenance, alerts and settings in the dashboard (real Chromium)', () => {
  const suite = dashboardSuite('ops-pages', {
    demo: true,
    users: [[MANAGER.username, 'manager', MANAGER.password]],
    // VACUUM stops 1.5 s before each file, so its progress can be seen running.
    env: { CACPQ_FAULT_PAUSE: 'vacuum.running', CACPQ_FAULT_PAUSE_MS: '1500' },
  });
  /** The alert opened and acknowledged by the admin, seen by the manager. */
  let alertId: number;
  const { signIn } = suite;
  const open = (page: Page, label: string, pathname: string, testId: string) =>
    suite.open(page, label, pathname, `[data-testid="${testId}"]`);

  async function json<T>(method: string, p: string, body?: unknown): Promise<T> {
    const res = await suite.call(method, p, body);
    expect(res.status).toBeLessThan(300);
    return (await res.json()) as T;
  }

  it('runs an integrity check and a confirmed VACUUM from the Maintenance page: progress to done, then the history and its chart', async () => {
    const page = await suite.browser.newPage();
    await signIn(page, 'admin', ADMIN_PASSWORD);
    await open(page, 'Maintenance', '/maintenance', 'maintenance');
    await page.getByTestId('schedules-table').waitFor();
    await expectText(page.locator('[data-testid="schedules-table"] tr[data-schedule="integrity"] td').nth(1), { is: '0 3 * * 0' });

    await page.getByRole('button', { name: 'Run Integrity check' }).click();
    const integrity = page.locator('[data-testid="jobs"] [data-testid="job"][data-type="integrity"]');
    await integrity.waitFor();
    await page
      .locator('[data-testid="jobs"] [data-testid="job"][data-type="integrity"][data-status="succeeded"]')
      .waitFor({ timeout: 30_000 });
    await expectText(integrity.getByTestId('job-figures'), { is: '100% — done' });
    const integrityRow = page.locator('[data-testid="runs-table"] tr[data-type="integrity"][data-status="succeeded"]');
    await integrityRow.waitFor();
    await expectText(integrityRow.locator('td').last(), { is: 'ok: server.db, generated_numbers.db, hub.db.' });

    // VACUUM asks first; Cancel leaves it unrun.
    await page.getByRole('button', { name: 'Run VACUUM' }).click();
    const confirm = page.getByRole('group', { name: 'Confirm VACUUM' });
    await expectText(confirm, { contains: 'workstations are asked to retry' });
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    expect(await page.locator('[data-testid="job"][data-type="vacuum"]').count()).toBe(0);
    await page.getByRole('button', { name: 'Run VACUUM' }).click();
    await page.getByRole('button', { name: 'Yes, run VACUUM' }).click();
    await page.locator('[data-testid="jobs"] [data-testid="job"][data-type="vacuum"][data-status="running"]').waitFor();
    expect(await page.getByRole('button', { name: 'Run VACUUM' }).isDisabled()).toBe(true);
    const vacuum = page.locator('[data-testid="jobs"] [data-testid="job"][data-type="vacuum"][data-status="succeeded"]');
    await vacuum.waitFor({ timeout: 30_000 });
    await expectText(vacuum.getByTestId('job-figures'), { is: '100% — done' });
    const vacuumRow = page.locator('[data-testid="runs-table"] tr[data-type="vacuum"][data-status="succeeded"]');
    await vacuumRow.waitFor();
    await expectText(vacuumRow.locator('td').last(), { matches: /^Reclaimed \d+(\.\d)? (B|KB|MB)\.$/ });
    // At least 3 s held by the fault points.
    expect(Number((await vacuumRow.locator('td').nth(4).textContent())!.replace(/ s$/, ''))).toBeGreaterThanOrEqual(3);

    // The history agrees with the API, and the duration chart drew both runs.
    const runs = await json<{ type: string; status: string }[]>('GET', '/api/v1/maintenance/runs');
    expect(runs.filter((r) => r.status === 'succeeded').map((r) => r.type)).toEqual(expect.arrayContaining(['integrity', 'vacuum']));
    await canvasPixels(page, 'durations-chart');
    await page.screenshot({ path: path.join(ARTIFACTS, 'maintenance.png'), fullPage: true });
    await page.close();
  });

  it('shows an alert as it opens (live), and the admin acknowledges it', async () => {
    // The backup-age alert (no backup yet) opened at start: turned off it resolves, so a new one can open live.
    await json('PATCH', '/api/v1/alerts/settings', { 'alerts.backup-age.enabled': false });
    await json('POST', '/api/v1/alerts/evaluate');
    const page = await suite.browser.newPage();
    await signIn(page, 'admin', ADMIN_PASSWORD);
    await open(page, 'Alerts', '/alerts', 'alerts');
    // The alert below must arrive as an event: the page's /ops socket is connected first.
    await page.locator('[data-testid="live-status"][data-state="live"]').waitFor();
    await page.locator('[data-testid="open-alerts"], [data-testid="no-open-alerts"]').first().waitFor();
    expect(await page.locator('[data-testid="open-alerts"] tr[data-rule="backup-age"]').count()).toBe(0);
    await page.locator('[data-testid="resolved-alerts"] tr[data-rule="backup-age"]').first().waitFor();

    await json('PATCH', '/api/v1/alerts/settings', { 'alerts.backup-age.enabled': true });
    const evaluation = await json<{ opened: AlertRow[] }>('POST', '/api/v1/alerts/evaluate');
    const opened = evaluation.opened.find((a) => a.rule === 'backup-age')!;
    expect(opened).toBeDefined();
    alertId = opened.id;
    // Arrives through `alert.opened` on /ops: the page was not reloaded.
    const row = page.locator(`[data-testid="open-alerts"] tr[data-alert-id="${alertId}"]`);
    await row.waitFor();
    await expectText(row, { contains: 'No verified backup has been taken yet (the threshold is 24 hours).' });
    await expectText(page.getByTestId('alerts-status'), { contains: 'New alert: No verified backup' });

    await row.getByRole('button', { name: `Acknowledge Backup age alert ${alertId}` }).click();
    await row
      .getByTestId('ack')
      .getByText(/^admin, /)
      .waitFor();
    const [stored] = (await json<AlertRow[]>('GET', '/api/v1/alerts?status=open&rule=backup-age')).filter((a) => a.id === alertId);
    expect(stored.acknowledgedBy).toBe('admin');

    await page.getByRole('button', { name: 'Evaluate now' }).click();
    await page
      .getByTestId('alerts-status')
      .getByText(/^Evaluated at \d\d:\d\d: \d+ opened, \d+ resolved, \d+ alerts? open\.$/)
      .waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'alerts.png'), fullPage: true });
    await page.close();
  });

  it('saves settings (reload and the API agree) and shows the API’s sentence for a bad value', async () => {
    const page = await suite.browser.newPage();
    await signIn(page, 'admin', ADMIN_PASSWORD);
    await open(page, 'Settings', '/settings', 'settings');
    const retention = page.getByTestId('settings-retention');
    const daily = retention.getByLabel('Keep daily backups (days)');
    await expect(daily.inputValue()).resolves.toBe('30');
    await daily.fill('45');
    await retention.getByRole('button', { name: 'Save retention' }).click();
    await retention.getByTestId('form-status').getByText('Saved 1 setting.').waitFor();
    expect((await json<Record<string, unknown>>('GET', '/api/v1/settings'))['retention.daily.days']).toBe(45);

    const sync = page.getByTestId('settings-sync');
    await sync.getByLabel('Workstations sync every (minutes)').fill('90');
    await sync.getByLabel('Workstations sync every (minutes)').press('Enter');
    await sync.getByTestId('form-status').getByText('Saved 1 setting.').waitFor();
    expect((await json<{ syncIntervalMinutes: number }>('GET', '/api/v1/sync/info')).syncIntervalMinutes).toBe(90);

    await page.reload();
    await page.getByTestId('settings-retention').waitFor();
    await expect(page.getByTestId('settings-retention').getByLabel('Keep daily backups (days)').inputValue()).resolves.toBe('45');
    await expect(page.getByTestId('settings-sync').getByLabel('Workstations sync every (minutes)').inputValue()).resolves.toBe('90');

    // A bad value: the API's sentence next to the form and the field; nothing saved.
    await retention.getByLabel('Keep daily backups (days)').fill('0');
    await retention.getByRole('button', { name: 'Save retention' }).click();
    const sentence = 'retention.daily.days must be a whole number of days from 1 to 3650.';
    await retention.getByTestId('form-error').getByText(sentence, { exact: false }).waitFor();
    await expectText(retention.locator('[data-setting="retention.daily.days"] [data-testid="field-error"]'), { is: sentence });
    await expect(retention.getByLabel('Keep daily backups (days)').getAttribute('aria-invalid')).resolves.toBe('true');
    expect((await json<Record<string, unknown>>('GET', '/api/v1/settings'))['retention.daily.days']).toBe(45);

    // Alert settings: a bad threshold gets the field's sentence; the SMTP password is write-only.
    const thresholds = page.getByTestId('settings-thresholds');
    await thresholds.getByLabel('No sync for over (business hours)').fill('0');
    await thresholds.getByRole('button', { name: 'Save alert thresholds' }).click();
    await expectText(thresholds.locator('[data-setting="alerts.no-sync.hours"] [data-testid="field-error"]'), {
      is: 'must be a whole number of hours from 1 to 168',
    });
    const password = page.getByTestId('settings-notifications').getByLabel('SMTP password');
    await expect(password.getAttribute('type')).resolves.toBe('password');
    await expect(password.inputValue()).resolves.toBe('');
    await page.screenshot({ path: path.join(ARTIFACTS, 'settings.png'), fullPage: true });
    await page.close();
  });

  it('shows a manager all three pages read-only, and the API refuses the admin actions with that session', async () => {
    expect(alertId).toBeDefined();
    const page = await suite.browser.newPage();
    await signIn(page, MANAGER.username, MANAGER.password);

    await open(page, 'Maintenance', '/maintenance', 'maintenance');
    await page.getByTestId('read-only-note').waitFor();
    await page.locator('[data-testid="runs-table"] tr[data-type="vacuum"]').waitFor();
    expect(await page.getByRole('button', { name: /^Run / }).count()).toBe(0);
    await canvasPixels(page, 'durations-chart');

    await open(page, 'Alerts', '/alerts', 'alerts');
    await page
      .locator(`[data-testid="open-alerts"] tr[data-alert-id="${alertId}"]`)
      .getByText(/^admin, /)
      .waitFor();
    expect(await page.getByRole('button', { name: /^Acknowledge|^Evaluate now$/ }).count()).toBe(0);

    await open(page, 'Settings', '/settings', 'settings');
    const daily = page.getByTestId('settings-retention').getByLabel('Keep daily backups (days)');
    await daily.waitFor();
    await expect(daily.inputValue()).resolves.toBe('45');
    expect(await daily.isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: /^Save/ }).count()).toBe(0);
    await page.getByTestId('alert-settings-admin-only').waitFor();

    // Forced through the browser with the manager's own session cookie and CSRF token: refused.
    const statuses = await page.evaluate(async (id) => {
      const csrf = decodeURIComponent(/(?:^|; )cacpq_csrf=([^;]*)/.exec(document.cookie)?.[1] ?? '');
      const send = async (method: string, url: string, body?: unknown) => {
        const res = await fetch(url, {
          method,
          credentials: 'same-origin',
          headers: { 'X-CSRF-Token': csrf, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const answer = (await res.json()) as { code?: string };
        return `${res.status}${res.ok ? '' : ` ${answer.code}`}`;
      };
      return [
        await send('GET', '/api/v1/auth/me'),
        await send('POST', '/api/v1/maintenance/integrity'),
        await send('POST', `/api/v1/alerts/${id}/acknowledge`),
        await send('POST', '/api/v1/alerts/evaluate'),
        await send('PATCH', '/api/v1/settings', { 'retention.daily.days': 5 }),
        await send('PUT', '/api/v1/sync/settings', { intervalMinutes: 30 }),
        await send('GET', '/api/v1/alerts/settings'),
        await send('PATCH', '/api/v1/alerts/settings', { 'alerts.growth.pct': 1 }),
      ];
    }, alertId);
    expect(statuses).toEqual(['200', ...Array(7).fill('403 FORBIDDEN')]);
    expect((await json<Record<string, unknown>>('GET', '/api/v1/settings'))['retention.daily.days']).toBe(45);
    await page.close();
  });
});
