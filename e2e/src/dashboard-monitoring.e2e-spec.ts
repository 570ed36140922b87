import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { ADMIN_PASSWORD, ROOT } from './harness';
import { ARTIFACTS, canvasPixels, dashboardSuite, expectText } from './browser';
import { Workstation } from './workstations';

const MANAGER = { username: 'mira', password: 'mira-password-1' };
/** The colours the charts draw with (components/charts/Chart.tsx): success and error bars, the first series. */
const SUCCESS_RGB: [number, number, number] = [0x17, 0x69, 0x3a];
const FIRST_SERIES_RGB: [number, number, number] = [0x1f, 0x5f, 0xae];
const ERROR_RGB: [number, number, number] = [0xa3, 0x20, 0x20];

describe('monitoring pages of the dashboard: overview, sync activity, user activity (real Chromium, live)', () => {
  const suite = dashboardSuite('monitoring-browser', {
    demo: true,
    users: [
      [MANAGER.username, 'manager', MANAGER.password],
      ['wes', 'user', 'wes-password-1'],
    ],
  });
  const { signIn } = suite;
  /** The monitoring pages by their sidebar link. */
  const PATHS: Record<string, string> = { 'Sync activity': '/sync', 'User activity': '/activity' };
  const open = (page: Page, link: string, testId: string) => suite.open(page, link, PATHS[link], `[data-testid="${testId}"]`);

  async function expectDrawn(page: Page, testId: string, rgb: [number, number, number]): Promise<void> {
    const c = await canvasPixels(page, testId, rgb);
    expect({ testId, wide: c.width > 100, tall: c.height > 100 }).toEqual({ testId, wide: true, tall: true });
    expect(c.painted).toBeGreaterThan(500);
    // Bars or lines in the series colour, not only axes and labels.
    expect({ testId, coloured: c.coloured > 20 }).toEqual({ testId, coloured: true });
  }

  const figure = async (page: Page, testId: string) => Number(((await page.getByTestId(testId).textContent()) ?? '').replace(/\D/g, ''));

  it('shows the overview live: health, open alerts, the last 24 hours, and a workstation syncing from another process appears without a reload', async () => {
    const page = await suite.browser.newPage();
    await signIn(page, 'admin', ADMIN_PASSWORD);
    // Health from /monitoring/health: no backup yet is a warning, said as a sentence.
    await expectText(page.getByTestId('tile-health'), { matches: /warning/ });
    await expectText(page.getByTestId('health-problems'), { contains: 'No verified backup has been taken yet.' });
    await expectText(page.getByTestId('tile-backup'), { contains: 'none yet' });
    await expectText(page.getByTestId('tile-disk'), { matches: /\d (KB|MB|GB|TB)$/ });
    await page.locator('[data-testid="open-alerts"] :is([data-testid="alert"], [data-testid="alerts-empty"])').first().waitFor();
    await page.getByTestId('presence-empty').waitFor();
    await page.getByTestId('figure-syncs').waitFor();
    const syncsBefore = await figure(page, 'figure-syncs');
    const stats = (await (await suite.call('GET', '/api/v1/monitoring/sync-stats')).json()) as { syncs: number };
    expect(Math.abs(syncsBefore - stats.syncs)).toBeLessThanOrEqual(1);

    // A workstation in its own process: `cacpq client watch` syncs, then keeps its socket open.
    const token = (await (await suite.call('POST', '/api/v1/users/wes/tokens', { device: 'wes-pc' })).json()) as { token: string };
    const ws = await Workstation.initAsync('wes-pc', suite.dir, suite.server.url, token.token);
    let watch: ChildProcess | undefined;
    let out = '';
    try {
      watch = spawn(process.execPath, [path.join(ROOT, 'tools', 'bin', 'cacpq.js'), 'client', 'watch', '--db', ws.file], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      watch.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      watch.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      // workstation.connected: the presence list and the tile change on the open page.
      await page.locator('[data-testid="presence"][data-user="wes"]').waitFor({ timeout: 20_000 });
      await page.waitForFunction(() => Number(document.querySelector('[data-testid="tile-connected"] .tile-value')?.textContent) >= 1);
      // sync.finished: the 24-hour figures follow.
      await page.waitForFunction(
        (before) => Number((document.querySelector('[data-testid="figure-syncs"]')?.textContent ?? '').replace(/\D/g, '')) > before,
        syncsBefore,
        { timeout: 15_000 },
      );
      expect(out).toMatch(/synced: /);
      await expectDrawn(page, 'chart-overview-syncs', SUCCESS_RGB);
      await page.screenshot({ path: path.join(ARTIFACTS, 'overview.png'), fullPage: true });
    } catch (err) {
      throw new Error(`${(err as Error).message}\nworkstation said:\n${out}`);
    } finally {
      watch?.kill('SIGTERM');
    }
    // workstation.gone: it leaves the list again.
    await page.locator('[data-testid="presence"][data-user="wes"]').waitFor({ state: 'detached', timeout: 15_000 });
    await page.getByTestId('presence-empty').waitFor();
    await page.close();
  });

  it('lists sync activity with working filters and paging, and draws its charts per hour', async () => {
    const page = await suite.browser.newPage();
    await signIn(page, 'admin', ADMIN_PASSWORD);
    await open(page, 'Sync activity', 'sync-activity');
    await page.getByTestId('sync-table').waitFor();
    expect(await page.getByTestId('sync-row').count()).toBeGreaterThan(0);
    expect(await figure(page, 'stat-syncs')).toBeGreaterThan(0);
    // The workstation of the first test synced a moment ago: the newest row is its.
    await expectText(page.getByTestId('sync-row').first().locator('td').nth(3), { is: 'wes-pc' });
    await expectDrawn(page, 'chart-sync-status', SUCCESS_RGB);
    await expectDrawn(page, 'chart-sync-duration', FIRST_SERIES_RGB);
    await expectDrawn(page, 'chart-sync-records', FIRST_SERIES_RGB);
    expect(await page.locator('[data-testid="chart-sync-conflicts"] :is(canvas, [data-testid="chart-sync-conflicts-empty"])').count()).toBe(
      1,
    );

    // Filters: 30 days, errors only.
    const filters = page.getByTestId('sync-filters');
    await filters.getByLabel('Range').selectOption('30d');
    await filters.getByLabel('Status').selectOption('error');
    await filters.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="sync-list-scope"]')?.textContent?.includes('status error'));
    await page.waitForFunction(() => {
      const rows = Array.from(document.querySelectorAll('[data-testid="sync-row"]'));
      return rows.length > 0 && rows.every((r) => r.getAttribute('data-status') === 'error');
    });
    const errors = await page.getByTestId('sync-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')));
    const expected = (await (
      await suite.call(
        'GET',
        `/api/v1/monitoring/sync-activity?status=error&limit=50&from=${new Date(Date.now() - 30 * 86_400_000).toISOString()}`,
      )
    ).json()) as { rows: unknown[] };
    expect(errors.length).toBe(expected.rows.length);
    expect(new Set(errors)).toEqual(new Set(['error']));
    // The figures and charts follow the filters: errors only, so every sync counted failed, and the
    // status chart draws error bars and no success bars; the charts cover the range (30 days of hours).
    await page.locator('[data-testid="sync-stats"][data-scope="status error"]').waitFor();
    const failedSyncs = await figure(page, 'stat-failed');
    expect(failedSyncs).toBeGreaterThan(0);
    expect(await figure(page, 'stat-syncs')).toBe(failedSyncs);
    await expectText(page.getByTestId('stat-success-rate'), { is: '0%' });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="sync-charts"]')?.getAttribute('data-hours')) >= 720);
    let statusBars = await canvasPixels(page, 'chart-sync-status', SUCCESS_RGB);
    for (const deadline = Date.now() + 10_000; statusBars.coloured > 0 && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 200));
      statusBars = await canvasPixels(page, 'chart-sync-status', SUCCESS_RGB);
    }
    expect(statusBars.coloured).toBe(0);
    await expectDrawn(page, 'chart-sync-status', ERROR_RGB);
    expect(await page.locator('.alert').count()).toBe(0);
    await expect(page.locator('.mon-charts-note').textContent()).resolves.not.toContain('failed');
    await page.screenshot({ path: path.join(ARTIFACTS, 'sync.png'), fullPage: true });

    // One user (the busiest), every status, keyset paging to the next page of older syncs.
    const busiest = ((await (await suite.call('GET', '/api/v1/monitoring/workstations')).json()) as { user: string; syncs: number }[]).sort(
      (a, b) => b.syncs - a.syncs,
    )[0].user;
    await filters.getByLabel('Status').selectOption('');
    await filters.getByLabel('User').selectOption(busiest);
    await filters.getByRole('button', { name: 'Apply filters' }).click();
    const onlyUser = (u: string) => {
      const rows = Array.from(document.querySelectorAll('[data-testid="sync-row"]'));
      return rows.length > 0 && rows.every((r) => r.querySelector('td:nth-child(3)')?.textContent === u);
    };
    await page.waitForFunction(onlyUser, busiest);
    const ids = (await page.getByTestId('sync-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')))) as string[];
    expect(ids.length).toBe(50);
    expect(await page.getByRole('button', { name: 'Newer' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Older' }).click();
    await page.waitForFunction((first) => {
      const top = document.querySelector('[data-testid="sync-row"]')?.getAttribute('data-id');
      return top !== undefined && top !== null && !first.includes(top);
    }, ids);
    await page.waitForFunction(onlyUser, busiest);
    const older = (await page.getByTestId('sync-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')))) as string[];
    expect(older.filter((id) => ids.includes(id))).toEqual([]);
    expect(Math.max(...older.map(Number))).toBeLessThan(Math.min(...ids.map(Number)));
    await expectText(page.getByTestId('sync-list-scope'), { contains: 'page 2' });
    expect(await page.getByRole('button', { name: 'Newer' }).isEnabled()).toBe(true);
    await page.close();
  });

  it('shows user activity: most active users, changes per user per day, last sync per workstation and who is not syncing', async () => {
    const page = await suite.browser.newPage();
    await signIn(page, 'admin', ADMIN_PASSWORD);
    await open(page, 'User activity', 'user-activity');
    await page.getByTestId('active-users-table').waitFor();
    const active = (await (await suite.call('GET', '/api/v1/monitoring/active-users?days=30')).json()) as { updatedBy: string }[];
    expect(await page.getByTestId('active-user').count()).toBe(active.length);
    await expectText(page.getByTestId('active-user').first().locator('td').first(), { is: active[0].updatedBy });
    await expectDrawn(page, 'chart-user-days', FIRST_SERIES_RGB);
    await page.getByTestId('workstations-table').waitFor();
    const rows = (await (await suite.call('GET', '/api/v1/monitoring/workstations')).json()) as { clientId: string; lastSync: string }[];
    expect(await page.getByTestId('workstation-row').count()).toBe(rows.length);
    const stale = rows.filter((r) => Date.now() - Date.parse(`${r.lastSync.replace(' ', 'T')}Z`) > 24 * 3_600_000).length;
    expect(await page.locator('[data-testid="workstation-row"][data-stale="true"]').count()).toBe(stale);
    expect(await page.getByTestId('stale-workstation').count()).toBe(stale);
    // The live workstation synced moments ago: not stale.
    await expect(page.locator('[data-testid="workstation-row"]', { hasText: 'wes-pc' }).getAttribute('data-stale')).resolves.toBe('false');
    await page.getByTestId('activity-days').selectOption('7');
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="chart-user-days"]')?.getAttribute('aria-label')?.includes('7 days'),
    );
    await page.screenshot({ path: path.join(ARTIFACTS, 'activity.png'), fullPage: true });
    await page.close();
  });

  it('shows a manager every monitoring page read-only', async () => {
    const page = await suite.browser.newPage();
    await signIn(page, MANAGER.username, MANAGER.password);
    await page.getByTestId('figure-syncs').waitFor();
    await page.getByTestId('read-only-note').waitFor();
    await open(page, 'Sync activity', 'sync-activity');
    await page.getByTestId('sync-table').waitFor();
    await page.getByTestId('read-only-note').waitFor();
    await page.locator('[data-testid="chart-sync-status"] canvas').waitFor();
    await open(page, 'User activity', 'user-activity');
    await page.getByTestId('workstations-table').waitFor();
    await page.getByTestId('read-only-note').waitFor();
    // Nothing to act with: only the page's own filters and the sign-out button.
    const buttons = await page.getByRole('button').allTextContents();
    expect(buttons).toEqual(['Sign out']);
    await page.close();
  });
});
