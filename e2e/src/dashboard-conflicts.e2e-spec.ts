import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { ADMIN_PASSWORD, session } from './harness';
import { ARTIFACTS, canvasPixels, dashboardSuite, expectText } from './browser';
import { Workstation } from './workstations';

const MANAGER = { username: 'mira', password: 'mira-password-12' };

interface ConflictView {
  id: number;
  table: string;
  rowId: string;
  columns: string[];
  winner: 'server' | 'client';
  serverVersion: Record<string, unknown> | null;
  clientVersion: Record<string, unknown> | null;
  resolvedAt: string | null;
  resolution: string | null;
}

describe('conflicts and growth in the dashboard (real Chromium, demo data, live conflicts)', () => {
  const suite = dashboardSuite('conflicts-browser', { demo: true, users: [[MANAGER.username, 'manager', MANAGER.password]] });

  /** Signs in and opens the Conflicts or Growth page. */
  async function open(page: Page, username: string, password: string, link: 'Conflicts' | 'Growth'): Promise<void> {
    const id = link.toLowerCase();
    await suite.signIn(page, username, password);
    await suite.open(page, link, `/${id}`, `[data-testid="${id}"]`);
  }

  const conflict = async (id: number) => (await (await suite.call('GET', `/api/v1/conflicts/${id}`)).json()) as ConflictView;

  /** The master's row as a workstation would pull it, right after the resolution's change. */
  async function masterRowAfter(c: ConflictView): Promise<Record<string, unknown>> {
    const { seq } = JSON.parse(c.resolution!) as { seq: number };
    const { generation } = (await (await suite.call('GET', '/api/v1/sync/info')).json()) as { generation: string };
    const pull = (await (
      await suite.call('GET', `/api/v1/sync/pull?generation=${generation}&clientId=e2e-check&cursor=${seq - 1}&limit=1`)
    ).json()) as {
      changes: { table: string; id: string; values: Record<string, unknown> }[];
    };
    expect(pull.changes[0]).toMatchObject({ table: c.table, id: c.rowId });
    return pull.changes[0].values;
  }

  async function token(username: string, device: string): Promise<string> {
    expect((await suite.call('POST', '/api/v1/users', { username, role: 'user' })).status).toBe(201);
    return ((await (await suite.call('POST', `/api/v1/users/${username}/tokens`, { device })).json()) as { token: string }).token;
  }

  it('draws the 7-day summary and the growth charts from the demo data', async () => {
    const page = await suite.browser.newPage();
    await open(page, 'admin', ADMIN_PASSWORD, 'Conflicts');
    const rows = page.locator('[data-testid="conflicts-table"] tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBeGreaterThanOrEqual(4);
    expect((await page.locator('[data-testid="conflicts-table"] tbody tr[data-table="quotes"]').count()) > 0).toBe(true);
    const summary = await canvasPixels(page, 'conflict-summary-chart');
    expect(summary.width).toBeGreaterThan(0);
    await expectText(page.getByTestId('summary-totals'), { matches: /^[\d,]+ syncs, \d+ conflicts? / });

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Growth' }).click();
    await page.waitForURL(`${suite.url}/growth`);
    for (const id of ['growth-size-chart', 'growth-projection-chart', 'growth-tables-chart']) {
      const drawn = await canvasPixels(page, id);
      expect({ id, wide: drawn.width > 0, painted: drawn.painted > 100 }).toEqual({ id, wide: true, painted: true });
    }
    await expectText(page.getByTestId('tile-assessment').locator('.status-pill'), { is: 'normal' });
    await expectText(page.getByTestId('tile-projection'), { matches: /a year\d+(\.\d+)? MB$/ });
    expect(await page.locator('[data-testid="growth-tables"] tr[data-table="components"]').count()).toBe(1);
    // Another file's tables on request (keyboard-usable select).
    await page.getByRole('combobox', { name: 'Database file' }).selectOption('hub.db');
    await page.locator('[data-testid="growth-tables"] tr[data-table="users"]').waitFor();
    await page.getByRole('combobox', { name: 'Database file' }).selectOption('server.db');
    await page.screenshot({ path: path.join(ARTIFACTS, 'growth.png'), fullPage: true });
    await page.close();
  });

  it('shows a conflict from two workstations live, and resolves conflicts in the browser (one version, then field by field)', async () => {
    const page = await suite.browser.newPage();
    await open(page, 'admin', ADMIN_PASSWORD, 'Conflicts');
    await page.locator('[data-testid="conflicts-table"] tbody tr').first().waitFor();

    // Two laptops edit the same quote offline; the second to sync meets the first one's edit.
    const a = await Workstation.initAsync('laptop-a', suite.dir, suite.server.url, await token('wanda', 'laptop-a'));
    const wsB = await Workstation.initAsync('laptop-b', suite.dir, suite.server.url, await token('walt', 'laptop-b'));
    const quoteId = a.sql(`SELECT id FROM quotes WHERE status NOT IN ('won', 'lost') ORDER BY id LIMIT 1 OFFSET 20;`);
    a.sql(`UPDATE quotes SET title = 'Title from laptop A', status = 'won' WHERE id = '${quoteId}';`);
    wsB.sql(`UPDATE quotes SET title = 'Title from laptop B', status = 'lost' WHERE id = '${quoteId}';`);
    await a.syncAsync();
    await wsB.syncAsync();

    // Live: the new row arrives over the /ops socket, without a reload.
    const liveRow = page.locator(`[data-testid="conflicts-table"] tbody tr[data-table="quotes"][data-row="${quoteId}"]`);
    await liveRow.waitFor({ timeout: 15_000 });
    const liveId = Number(await liveRow.getAttribute('data-conflict'));
    await expectText(page.getByTestId('conflicts-announcement'), { contains: `New conflict ${liveId}` });
    const live = await conflict(liveId);
    expect(live.columns.sort()).toEqual(['status', 'title']);

    // Keep the version the master did not keep.
    await page.getByRole('button', { name: `Review and resolve conflict ${liveId}` }).click();
    const detail = page.getByTestId('conflict-detail');
    await detail.waitFor();
    expect(await detail.locator('tr[data-field="title"][data-differs="true"]').count()).toBe(1);
    await detail.getByRole('radio', { name: /version instead$/ }).check();
    await detail.getByRole('button', { name: 'Resolve conflict' }).click();
    await liveRow.waitFor({ state: 'detached' });
    await expectText(page.getByTestId('conflicts-announcement'), { matches: new RegExp(`^Conflict ${liveId} .* resolved: took`) });
    const loser = live.winner === 'server' ? live.clientVersion! : live.serverVersion!;
    const afterLive = await masterRowAfter(await conflict(liveId));
    expect({ title: afterLive.title, status: afterLive.status }).toEqual({ title: loser.title, status: loser.status });

    // Field by field on the demo's quote conflict: status from the workstation, total from the master.
    const demo = ((await (await suite.call('GET', '/api/v1/conflicts?table=quotes')).json()) as ConflictView[]).find(
      (c) => c.columns.join() === 'status,total',
    )!;
    const demoRow = page.locator(`[data-testid="conflicts-table"] tbody tr[data-conflict="${demo.id}"]`);
    await page.getByRole('button', { name: `Review and resolve conflict ${demo.id}` }).click();
    await detail.waitFor();
    // Keyboard: the detail's heading has the focus; the choices are labelled radios.
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe(`conflict-${demo.id}-heading`);
    await detail.getByRole('radio', { name: 'Choose field by field' }).check();
    await detail.getByRole('radio', { name: 'status: use the workstation value' }).check();
    await detail.getByRole('radio', { name: 'total: use the master value' }).focus();
    await page.keyboard.press('Space');
    expect(await detail.getByRole('radio', { name: 'total: use the master value' }).isChecked()).toBe(true);
    // A full-page picture from the top (the sticky header would otherwise sit mid-page).
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(ARTIFACTS, 'conflicts.png'), fullPage: true });
    await detail.getByRole('button', { name: 'Resolve conflict' }).click();
    await demoRow.waitFor({ state: 'detached' });
    const resolved = await conflict(demo.id);
    expect(JSON.parse(resolved.resolution!)).toMatchObject({
      keep: 'merged',
      values: { status: demo.clientVersion!.status, total: demo.serverVersion!.total },
    });
    const afterMerge = await masterRowAfter(resolved);
    expect({ status: afterMerge.status, total: afterMerge.total }).toEqual({
      status: demo.clientVersion!.status,
      total: demo.serverVersion!.total,
    });
    await page.close();
  });

  it('shows a manager the conflicts read-only, and the server refuses a forced resolution (403)', async () => {
    const page = await suite.browser.newPage();
    await open(page, MANAGER.username, MANAGER.password, 'Conflicts');
    await page.getByTestId('read-only-note').waitFor();
    const first = page.locator('[data-testid="conflicts-table"] tbody tr').first();
    await first.waitFor();
    const id = Number(await first.getAttribute('data-conflict'));
    await page.getByRole('button', { name: `Review conflict ${id}` }).click();
    await page.getByTestId('conflict-read-only').waitFor();
    expect(await page.getByRole('button', { name: 'Resolve conflict' }).count()).toBe(0);
    expect(await page.getByRole('radio').count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Review and resolve/ }).count()).toBe(0);

    const manager = await session(suite.server.url, MANAGER.username, MANAGER.password);
    const forced = await manager('POST', `/api/v1/conflicts/${id}/resolve`, { keep: 'loser' });
    expect(forced.status).toBe(403);
    expect(((await forced.json()) as { code: string }).code).toBe('FORBIDDEN');
    expect((await conflict(id)).resolvedAt).toBeNull();
    await page.close();
  });
});
