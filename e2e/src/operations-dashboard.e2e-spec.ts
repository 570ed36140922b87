import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { ADMIN_PASSWORD } from './harness';
import { ARTIFACTS, dashboardSuite, expectText } from './browser';

const MANAGER = { username: 'olivia', password: 'olivia-password-1' };

describe('backups, restores and maintenance mode in the dashboard (real Chromium, one origin)', () => {
  const suite = dashboardSuite('ops-browser', {
    demo: true,
    users: [[MANAGER.username, 'manager', MANAGER.password]],
    // Each backup stops 3 s after copying (its progress can be watched) and a restore stops 3 s
    // before the swap, in maintenance mode (the banner can be seen, sync answers 503).
    env: { CACPQ_FAULT_PAUSE: 'backup.copied,restore.before-swap', CACPQ_FAULT_PAUSE_MS: '3000' },
  });
  /** The backup made through the dashboard, restored by the second test. */
  let backupName: string;
  const { signIn } = suite;

  /** The Backups page, once its catalogue loaded: its table, or the sentence saying it is empty. */
  const openBackups = (page: Page) => suite.open(page, 'Backups', '/backups', '[data-testid="backups-table"], [data-testid="no-backups"]');

  const job = (page: Page, type: string, status?: string) =>
    page.locator(`[data-testid="job"][data-type="${type}"]${status ? `[data-status="${status}"]` : ''}`);

  it('backs up from the Backups page: the progress, then the new verified backup in the catalogue', async () => {
    const page = await suite.browser.newPage();
    await signIn(page, 'admin', ADMIN_PASSWORD);
    await openBackups(page);
    expect(await page.getByTestId('maintenance-banner').count()).toBe(0);
    const before = await page.locator('[data-testid="backups-table"] tbody tr').count();

    await page.getByRole('button', { name: 'Back up now' }).click();
    const running = job(page, 'backup', 'running');
    await running.waitFor();
    await expectText(running, { contains: 'Backup (manual)' });
    // The bar moves with `job.updated` events: percent and phase while the copy is held.
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-testid="job"][data-type="backup"] [data-testid="job-figures"]');
      return /^([1-9]\d?)% — \S/.test(el?.textContent ?? '');
    });
    const bar = running.locator('progress');
    expect(Number(await bar.getAttribute('value'))).toBeGreaterThan(0);
    await expect(bar.getAttribute('aria-label')).resolves.toBe('Backup (manual): progress');
    expect(await page.getByRole('button', { name: 'Back up now' }).isDisabled()).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, 'backup-progress.png'), fullPage: true });

    const done = job(page, 'backup', 'succeeded');
    await done.waitFor({ timeout: 60_000 });
    await expectText(done.getByTestId('job-figures'), { is: '100% — done' });
    const row = page.locator('[data-testid="backups-table"] tbody tr[data-backup^="manual/"][data-status="verified"]');
    await row.waitFor();
    expect(await page.locator('[data-testid="backups-table"] tbody tr').count()).toBe(before + 1);
    backupName = (await row.getAttribute('data-backup'))!;
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(0, 4)).toEqual([backupName, 'manual', 'server', 'verified']);
    expect(cells[4]).toMatch(/^\d+(\.\d)? (B|KB|MB|GB)$/);
    expect(await page.getByRole('button', { name: 'Back up now' }).isEnabled()).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, 'backups.png'), fullPage: true });
    await page.close();
  });

  it('restores that backup through the UI; every page shows the maintenance banner until it is done', async () => {
    expect(backupName).toBeDefined();
    const page = await suite.browser.newPage();
    await signIn(page, 'admin', ADMIN_PASSWORD);
    const overview = await suite.browser.newPage();
    await overview.goto(`${suite.url}/`);
    await overview.getByTestId('overview').waitFor();
    const generationBefore = ((await (await fetch(`${suite.server.url}/api/health/ready`)).json()) as { generation: string }).generation;
    await openBackups(page);

    await page.getByRole('button', { name: `Restore from ${backupName}` }).click();
    const panel = page.getByTestId('restore-panel');
    await panel.getByTestId('restore-preview-table').waitFor();
    const preview = await panel.getByTestId('restore-preview-table').textContent();
    for (const table of ['customers', 'components', 'quotes']) expect(preview).toContain(table);
    await expectText(panel.getByTestId('changes-since'), { matches: /since this backup/ });

    const confirm = panel.getByLabel(`Type restore ${backupName} to confirm`);
    const restoreButton = panel.getByRole('button', { name: 'Restore', exact: true });
    expect(await restoreButton.isDisabled()).toBe(true);
    await confirm.fill('restore something else');
    expect(await restoreButton.isDisabled()).toBe(true);
    await confirm.fill(`restore ${backupName}`);
    expect(await restoreButton.isEnabled()).toBe(true);
    await panel.screenshot({ path: path.join(ARTIFACTS, 'restore-preview.png') });
    await restoreButton.click();

    // Maintenance mode: said at once on this page and on the overview in the other tab.
    const banner = page.getByTestId('maintenance-banner');
    await banner.waitFor({ timeout: 20_000 });
    const text = (await banner.textContent()) ?? '';
    expect(text).toContain(`Maintenance: a restore from ${backupName} is in progress since `);
    expect(text).toMatch(/since \d\d:\d\d — workstations are asked to retry in 15 s\./);
    await expect(page.locator('[role="status"]').filter({ has: banner }).getAttribute('aria-live')).resolves.toBe('polite');
    await overview.getByTestId('maintenance-banner').waitFor();
    await expect(
      overview.getByTestId('maintenance-banner').getByRole('link', { name: 'Follow its progress' }).getAttribute('href'),
    ).resolves.toBe('/backups');

    // What the banner says is what workstations get.
    const sync = await fetch(`${suite.server.url}/api/v1/sync/pull`);
    expect(sync.status).toBe(503);
    expect(sync.headers.get('retry-after')).toBe('15');
    await sync.body?.cancel();

    const restoring = job(page, 'restore', 'running');
    await restoring.waitFor();
    await expectText(restoring, { contains: `Restore from ${backupName}` });
    await expectText(restoring.getByTestId('job-figures'), { matches: /^\d+% — \S/ });
    await page.screenshot({ path: path.join(ARTIFACTS, 'maintenance-mode.png'), fullPage: true });
    await overview.screenshot({ path: path.join(ARTIFACTS, 'maintenance-overview.png') });

    // The end: the banner goes away on both pages, the job says done, the catalogue has the snapshot.
    await banner.waitFor({ state: 'detached', timeout: 60_000 });
    await overview.getByTestId('maintenance-banner').waitFor({ state: 'detached' });
    const done = job(page, 'restore', 'succeeded');
    await done.waitFor();
    await expectText(done.getByTestId('job-figures'), { is: '100% — done' });
    await page.locator('[data-testid="backups-table"] tbody tr[data-backup^="pre-restore/"][data-status="verified"]').waitFor();
    const state = (await (await fetch(`${suite.server.url}/api/health/ready`)).json()) as { generation: string };
    expect(state.generation).not.toBe(generationBefore);
    await page.screenshot({ path: path.join(ARTIFACTS, 'restore-done.png'), fullPage: true });
    await overview.close();
    await page.close();
  });

  it('shows a manager the catalogue read-only (no backup or restore actions)', async () => {
    const page = await suite.browser.newPage();
    await signIn(page, MANAGER.username, MANAGER.password);
    await openBackups(page);
    await page.getByTestId('read-only-note').waitFor();
    expect(await page.getByRole('button', { name: 'Back up now' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Restore from / }).count()).toBe(0);
    expect(await page.locator(`[data-testid="backups-table"] tbody tr[data-backup="${backupName}"]`).count()).toBe(1);
    await page.close();
  });
});
