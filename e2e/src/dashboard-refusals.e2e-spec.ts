import * as path from 'node:path';
import type { RefusalView } from '@cacpq/sync-protocol';
import type { Locator, Page } from 'playwright-core';
import { ADMIN_PASSWORD, session } from './harness';
import { ARTIFACTS, dashboardSuite, expectEnabled, expectText } from './browser';
import { Workstation, cacpq } from './workstations';

const MANAGER = { username: 'mona', password: 'mona-password-12' };
const WS_USER = 'rhea';
const WS_NAME = 'rhea-pc';
/** What the master holds in the customer's notes before the workstation's refused edit. */
const MASTER_NOTES = 'Call the plant manager before delivery.';
/** One character over the column's 4000. */
const LONG_NOTES = 'Long notes from the workstation. '.repeat(121).padEnd(4001, '!');

interface AuditEntry {
  actor: string;
  action: string;
  target: string;
  details: { refusalId: number; column: string; refused: Record<string, unknown>; master: Record<string, unknown> | null };
}

describe('refused changes in the dashboard (real Chromium, a workstation holding back what the master refused)', () => {
  const suite = dashboardSuite('refusals-browser', { demo: true, users: [[MANAGER.username, 'manager', MANAGER.password]] });
  let ws: Workstation;
  let customerId: string;
  let componentId: string;

  const row = (page: Page, table: string, id: string): Locator =>
    page.locator(`[data-testid="refusal-row"][data-table="${table}"][data-row="${id}"]`);

  async function openPage(page: Page, username: string, password: string): Promise<void> {
    await suite.signIn(page, username, password);
    await suite.open(page, 'Refused changes', '/refused', '[data-testid="refused-changes"]');
  }

  async function refusals(status: 'open' | 'resolved' | 'all'): Promise<RefusalView[]> {
    const res = await suite.call('GET', `/api/v1/refusals?status=${status}`);
    expect(res.status).toBe(200);
    return (await res.json()) as RefusalView[];
  }

  it('holds back three refused changes on the workstation and lets the good one through', async () => {
    expect(LONG_NOTES).toHaveLength(4001);
    expect((await suite.call('POST', '/api/v1/users', { username: WS_USER, role: 'user' })).status).toBe(201);
    const issued = await suite.call('POST', `/api/v1/users/${WS_USER}/tokens`, { device: WS_NAME });
    expect(issued.status).toBe(201);
    const { token } = (await issued.json()) as { token: string };
    ws = await Workstation.initAsync(WS_NAME, suite.dir, suite.server.url, token);
    customerId = ws.sql(`SELECT id FROM customers WHERE type = 'OEM' ORDER BY id LIMIT 1;`);
    componentId = ws.sql(`SELECT id FROM components ORDER BY id LIMIT 1 OFFSET 3;`);
    expect(customerId).not.toBe('');
    expect(componentId).not.toBe('');

    // The master first holds a note of its own for the customer.
    ws.sql(`UPDATE customers SET notes = '${MASTER_NOTES}' WHERE id = '${customerId}';`);
    expect(await ws.syncAsync()).toMatch(/^synced: pushed 1,/);

    const { lastSeq } = (await (await suite.call('GET', '/api/v1/sync/info')).json()) as { lastSeq: number; generation: string };
    // The desktop app writes: three values the master refuses (two by a rule of the column, one by its type) and a good row.
    ws.sql(`INSERT INTO customers (id, name, type) VALUES ('r-type', 'Lower case', 'oem');
UPDATE customers SET notes = '${LONG_NOTES}' WHERE id = '${customerId}';
UPDATE components SET leadTimeDays = '2-3 weeks' WHERE id = '${componentId}';
INSERT INTO customers (id, name, type) VALUES ('r-good', 'Good', 'OEM');`);
    const out = await ws.syncAsync();
    expect(out).toContain('3 held back');

    // The good row reached the master; the refused ones did not.
    const { generation } = (await (await suite.call('GET', '/api/v1/sync/info')).json()) as { generation: string };
    const pull = (await (
      await suite.call('GET', `/api/v1/sync/pull?generation=${generation}&clientId=e2e-check&cursor=${lastSeq}&limit=100`)
    ).json()) as { changes: { table: string; id: string; values: Record<string, unknown> }[] };
    expect(pull.changes.map((c) => `${c.table} ${c.id}`)).toEqual(['customers r-good']);
    expect(pull.changes[0].values).toMatchObject({ name: 'Good', type: 'OEM' });

    const open = await refusals('open');
    expect(open.map((r) => [r.table, r.rowId, r.column, r.overridable, r.user, r.clientId])).toEqual([
      ['components', componentId, 'leadTimeDays', false, WS_USER, WS_NAME],
      ['customers', customerId, 'notes', true, WS_USER, WS_NAME],
      ['customers', 'r-type', 'type', true, WS_USER, WS_NAME],
    ]);
  });

  it('lists the refusals for an admin, who takes one as sent, fixes one and discards one; the workstation follows', async () => {
    const page = await suite.browser.newPage();
    await openPage(page, 'admin', ADMIN_PASSWORD);
    await expectText(page.getByTestId('refusals-heading'), { is: 'Open refused changes (3)' });

    const typeRow = row(page, 'customers', 'r-type');
    const notesRow = row(page, 'customers', customerId);
    const leadRow = row(page, 'components', componentId);
    const expected: [Locator, string, string, RegExp][] = [
      [typeRow, 'type', 'oem', /^customers\.type must be one of "OEM", "End User" \(got "oem"\)\. VALIDATION_FAILED$/],
      [notesRow, 'notes', LONG_NOTES.slice(0, 200), /^customers\.notes must be at most 4000 characters .* VALIDATION_FAILED$/],
      [leadRow, 'leadTimeDays', '2-3 weeks', /^components\.leadTimeDays must be a whole number \(got "2-3 weeks"\)\. VALIDATION_FAILED$/],
    ];
    for (const [r, column, value, reason] of expected) {
      await expectText(r.getByTestId('refusal-user'), { is: WS_USER });
      await expectText(r.getByTestId('refusal-workstation'), { is: WS_NAME });
      await expectText(r.getByTestId('refusal-column'), { is: column });
      await expectText(r.getByTestId('refused-value'), { contains: value });
      await expectText(r.getByTestId('refusal-reason'), { matches: reason });
    }
    // The long value is cut on screen; its title holds it in full.
    await expect(notesRow.getByTestId('refused-value').getAttribute('title')).resolves.toBe(LONG_NOTES);
    await expectText(notesRow, { contains: '4,001 characters' });
    // "Take as sent" only where a rule of the column refused the value, not its type.
    await expectEnabled(typeRow.getByRole('button', { name: /^Take as sent/ }));
    await expectEnabled(notesRow.getByRole('button', { name: /^Take as sent/ }));
    await expectEnabled(leadRow.getByRole('button', { name: /^Fix and send/ }));
    expect(await leadRow.getByRole('button', { name: /^Take as sent/ }).count()).toBe(0);

    // Take the lower-case type as sent.
    await typeRow.getByRole('button', { name: 'Take as sent: customers.type of Lower case' }).click();
    await typeRow.waitFor({ state: 'detached' });
    await expectText(page.getByTestId('refusals-announcement'), { contains: 'Taken as sent by admin: customers.type = "oem"' });
    await expectText(page.getByTestId('refusals-heading'), { is: 'Open refused changes (2)' });

    // Fix the lead time: the form is prefilled with the refused value; a value still refused shows the server's sentence.
    await leadRow.getByRole('button', { name: /^Fix and send/ }).click();
    const form = page.getByTestId('refusal-fix-form');
    await form.waitFor();
    const leadInput = form.getByLabel('leadTimeDays');
    await expect(leadInput.inputValue()).resolves.toBe('2-3 weeks');
    await page.waitForFunction(() => document.activeElement?.getAttribute('name') === 'leadTimeDays');
    await expectText(form.locator(`[data-column="leadTimeDays"] .muted.small`), { contains: 'A whole number' });
    // Another column can be added (prefilled with what the workstation sent), and removed again.
    await form.getByLabel('Add another column').selectOption('unit');
    await form.getByRole('button', { name: 'Add column' }).click();
    await expect(form.getByLabel('unit', { exact: true }).inputValue()).resolves.not.toBe('');
    await form.getByRole('button', { name: 'Remove unit' }).click();
    expect(await form.getByLabel('unit', { exact: true }).count()).toBe(0);
    await leadInput.fill('three weeks');
    await form.getByRole('button', { name: 'Send fixed change' }).click();
    await expectText(form.getByTestId('refusal-fix-error'), {
      matches: /The fixed change was not sent\. components\.leadTimeDays must be a whole number \(got "three weeks"\)\. .*stays open\./,
    });
    await expect(leadInput.getAttribute('aria-invalid')).resolves.toBe('true');
    expect(await leadRow.count()).toBe(1);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(ARTIFACTS, 'refused.png'), fullPage: true });
    await leadInput.fill('5');
    await form.getByRole('button', { name: 'Send fixed change' }).click();
    await leadRow.waitFor({ state: 'detached' });
    await expectText(page.getByTestId('refusals-announcement'), { contains: 'Fixed and sent by admin: components.leadTimeDays = 5' });

    // Discard the long notes, after the confirmation: the master keeps its version.
    await notesRow.getByRole('button', { name: /^Discard/ }).click();
    const dialog = page.getByRole('dialog', { name: /^Discard refused change \d+\?$/ });
    await dialog.waitFor();
    await expectText(dialog, { contains: 'The master keeps its version of customers' });
    await dialog.getByRole('button', { name: 'Discard change' }).click();
    await notesRow.waitFor({ state: 'detached' });
    await expectText(page.getByTestId('refusals-announcement'), { contains: 'Discarded by admin: the master keeps its version' });
    await expectText(page.getByTestId('no-refusals'), {
      is: 'No refused changes: every workstation’s changes reached the master.',
    });
    // Its buttons are gone: the focus is on the list's heading.
    await page.waitForFunction(() => document.activeElement?.id === 'refusals-heading');

    // The resolved filter shows all three with their status and who.
    await page.getByTestId('refusals-filter').selectOption('resolved');
    await expectText(page.getByTestId('refusals-heading'), { is: 'Resolved refused changes (3)' });
    for (const [r, status, resolution] of [
      [typeRow, 'taken as sent', 'Taken as sent by admin'],
      [leadRow, 'fixed and sent', 'Fixed and sent by admin'],
      [notesRow, 'discarded', 'Discarded by admin'],
    ] as const) {
      await expectText(r.getByTestId('refusal-status').locator('.status-pill'), { is: status });
      await expectText(r.getByTestId('refusal-resolved-by'), { matches: /^by admin, / });
      await expectText(r.getByTestId('refusal-resolution'), { contains: resolution });
      expect(await r.getByRole('button').count()).toBe(0);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'refused-resolved.png'), fullPage: true });
    await page.close();

    expect((await refusals('resolved')).map((r) => [r.rowId, r.status, r.resolvedBy])).toEqual([
      [componentId, 'resubmitted', 'admin'],
      [customerId, 'discarded', 'admin'],
      ['r-type', 'accepted', 'admin'],
    ]);

    // The workstation's next sync: it takes the outcomes and lets go of what it held back.
    await ws.syncAsync();
    expect(ws.sql(`SELECT type FROM customers WHERE id = 'r-type';`)).toBe('oem');
    expect(ws.sql(`SELECT leadTimeDays || ' ' || typeof(leadTimeDays) FROM components WHERE id = '${componentId}';`)).toBe('5 integer');
    expect(ws.sql(`SELECT notes FROM customers WHERE id = '${customerId}';`)).toBe(MASTER_NOTES);
    const status = cacpq(['client', 'status', '--db', ws.file]);
    expect(status.status).toBe(0);
    expect(status.stdout).toContain('held back:     0 changes');

    // The discard is audited with the refused value and the master's.
    const audit = await suite.call('GET', '/api/v1/audit?action=refusal.discard');
    expect(audit.status).toBe(200);
    const entries = (await audit.json()) as AuditEntry[];
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actor: 'admin', action: 'refusal.discard', target: `customers ${customerId}` });
    expect(entries[0].details.column).toBe('notes');
    expect(entries[0].details.refused.notes).toBe(LONG_NOTES);
    expect(entries[0].details.master?.notes).toBe(MASTER_NOTES);
  });

  it('shows a new refusal live, and shows a manager the list read-only (the server refuses a forced action: 403)', async () => {
    const admin = await suite.browser.newPage();
    await openPage(admin, 'admin', ADMIN_PASSWORD);
    await admin.getByTestId('no-refusals').waitFor();

    // Another refused edit while the page is open: it appears without a reload.
    ws.sql(`UPDATE customers SET type = 'Reseller' WHERE id = 'r-good';`);
    expect(await ws.syncAsync()).toContain('1 held back');
    const liveRow = row(admin, 'customers', 'r-good');
    await liveRow.waitFor({ timeout: 15_000 });
    await expectText(admin.getByTestId('refusals-announcement'), { contains: `customers.type from ${WS_USER} on ${WS_NAME}` });
    await expectEnabled(liveRow.getByRole('button', { name: /^Take as sent/ }));
    // Every refusal: the open one with its actions, the resolved ones with their status.
    await admin.getByTestId('refusals-filter').selectOption('all');
    await expectText(admin.getByTestId('refusals-heading'), { is: 'All refused changes (4)' });
    await expectEnabled(liveRow.getByRole('button', { name: /^Take as sent/ }));
    await expectText(liveRow.getByTestId('refusal-status').locator('.status-pill'), { is: 'open' });
    await admin.evaluate(() => window.scrollTo(0, 0));
    await admin.screenshot({ path: path.join(ARTIFACTS, 'refused-all.png'), fullPage: true });
    await admin.close();

    const page = await suite.browser.newPage();
    await openPage(page, MANAGER.username, MANAGER.password);
    await page.getByTestId('read-only-note').waitFor();
    const managerRow = row(page, 'customers', 'r-good');
    await expectText(managerRow.getByTestId('refused-value'), { is: 'Reseller' });
    await expectText(managerRow.getByTestId('refusal-user'), { is: WS_USER });
    await expectText(page.getByTestId('refusals-heading'), { is: 'Open refused changes (1)' });
    // Nothing to act with: only the sign-out button (the filter is a select).
    expect(await page.getByRole('button').allTextContents()).toEqual(['Sign out']);
    await page.getByTestId('refusals-filter').selectOption('all');
    await expectText(page.getByTestId('refusals-heading'), { is: 'All refused changes (4)' });
    await expectText(row(page, 'customers', 'r-type').getByTestId('refusal-resolved-by'), { matches: /^by admin, / });
    expect(await page.getByRole('button').allTextContents()).toEqual(['Sign out']);

    const manager = await session(suite.server.url, MANAGER.username, MANAGER.password);
    const id = (await refusals('open'))[0].id;
    const forced = await manager('POST', `/api/v1/refusals/${id}/accept`);
    expect(forced.status).toBe(403);
    expect(((await forced.json()) as { code: string }).code).toBe('FORBIDDEN');
    expect((await refusals('open')).map((r) => r.id)).toEqual([id]);
    await page.close();
  });

  it("shows the workstation's clock in User activity", async () => {
    const page = await suite.browser.newPage();
    await suite.signIn(page, 'admin', ADMIN_PASSWORD);
    await suite.open(page, 'User activity', '/activity', '[data-testid="user-activity"]');
    const wsRow = page.locator('[data-testid="workstation-row"]', { hasText: WS_NAME });
    await expectText(wsRow.getByTestId('clock-offset'), { is: 'on time' });
    await expect(wsRow.getByTestId('clock-offset').getAttribute('title')).resolves.toMatch(/^The workstation's clock .* measured /);
    await page.close();
  });
});
