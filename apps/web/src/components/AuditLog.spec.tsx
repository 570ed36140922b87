import { AuditEntryView } from '@cacpq/sync-protocol';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { fail, ok, stubApi, type ApiStub, type SentRequest } from '../testing/api-stub';
import { cells, renderAs } from '../testing/render';
import AuditLog from './AuditLog';

function entry(id: number, patch: Partial<AuditEntryView> = {}): AuditEntryView {
  return AuditEntryView.parse({
    id,
    timestamp: '2026-11-24 21:57:00.000',
    actor: 'admin',
    actorRole: 'admin',
    action: 'user.update',
    target: 'user:marie',
    outcome: 'ok',
    details: { role: 'manager', disabled: true },
    ip: '192.168.1.20',
    requestId: `req-${id}`,
    ...patch,
  });
}

const FIRST = '/api/v1/audit?limit=51';

const ENTRIES = [
  entry(30),
  entry(29, {
    actor: 'sales-pc',
    actorRole: null,
    action: 'auth.login',
    target: null,
    outcome: 'denied',
    details: { reason: ['disabled', 'expired'] },
  }),
  entry(28, { action: 'backup.restore', target: 'backup:3', outcome: 'failed', details: null, ip: null }),
];

/** The page's audit request as its query parameters. */
function query(req: SentRequest): Record<string, string> {
  const url = new URL(req.path, 'http://nas.test');
  expect(url.pathname).toBe('/api/v1/audit');
  return Object.fromEntries(url.searchParams);
}

function stubAudit(list: AuditEntryView[] = ENTRIES): ApiStub {
  return stubApi({ 'GET /api/v1/audit?*': ok(list) });
}

async function loaded(): Promise<HTMLElement> {
  return screen.findByTestId('audit-table');
}

describe('AuditLog', () => {
  it('shows who did what, to what, with which outcome, details and address', async () => {
    const api = stubAudit();
    renderAs('admin', <AuditLog />);
    const table = await loaded();

    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((r) => cells(r).slice(1))).toEqual([
      ['admin (admin)', 'user.update', 'user:marie', 'ok', 'role: manager, disabled: true', '192.168.1.20'],
      ['sales-pc', 'auth.login', '—', 'denied', 'reason: disabled or expired', '192.168.1.20'],
      ['admin (admin)', 'backup.restore', 'backup:3', 'failed', '', ''],
    ]);
    expect((rows[0] as HTMLTableRowElement).cells[0].getAttribute('title')).toBe('2026-11-24 21:57:00.000 UTC');
    expect((rows[0] as HTMLTableRowElement).cells[5].getAttribute('title')).toBe('request req-30');
    expect(screen.getByTestId('audit-page').textContent).toBe('Page 1 · 3 entries');
    expect(api.requests.map((r) => r.path)).toEqual([FIRST]);
  });

  it.each([
    ['Actor', ' marie ', { actor: 'marie' }],
    ['Action', 'token.issue', { action: 'token.issue' }],
    ['Outcome', 'denied', { outcome: 'denied' }],
    // Local days (America/Toronto, UTC-5 in November); "to" includes its whole day.
    ['From (day)', '2026-11-24', { from: '2026-11-24T05:00:00.000Z' }],
    ['To (day, included)', '2026-11-24', { to: '2026-11-25T05:00:00.000Z' }],
    ['To (day, included)', '2026-03-08', { to: '2026-03-09T04:00:00.000Z' }],
  ])('filter %s = %p asks for %j', async (label, value, params) => {
    const api = stubAudit();
    renderAs('admin', <AuditLog />);
    await loaded();

    fireEvent.change(screen.getByLabelText(label), { target: { value } });
    fireEvent.click(screen.getByRole('button', { name: 'Apply filters' }));

    await waitFor(() => expect(api.requests).toHaveLength(2));
    expect(query(api.requests[1])).toEqual({ limit: '51', ...params });
  });

  it('refuses a "from" day after the "to" day without asking the server', async () => {
    const api = stubAudit();
    renderAs('admin', <AuditLog />);
    await loaded();

    fireEvent.change(screen.getByLabelText('From (day)'), { target: { value: '2026-11-25' } });
    fireEvent.change(screen.getByLabelText('To (day, included)'), { target: { value: '2026-11-24' } });
    fireEvent.click(screen.getByRole('button', { name: 'Apply filters' }));

    expect(screen.getByRole('alert').textContent).toBe('The “from” day is after the “to” day.');
    expect(screen.getByLabelText('From (day)').getAttribute('aria-invalid')).toBe('true');
    expect(api.requests).toHaveLength(1);
  });

  it('says when no entry matches, and Clear shows everything again', async () => {
    const api = stubAudit();
    api.on('GET /api/v1/audit?limit=51&actor=nobody', ok<AuditEntryView[]>([]));
    renderAs('admin', <AuditLog />);
    await loaded();

    fireEvent.change(screen.getByLabelText('Actor'), { target: { value: 'nobody' } });
    fireEvent.click(screen.getByRole('button', { name: 'Apply filters' }));
    expect((await screen.findByTestId('no-audit')).textContent).toBe('No entries match these filters.');

    fireEvent.click(screen.getByRole('button', { name: 'Clear' }));
    await loaded();
    expect(screen.getByLabelText('Actor')).toHaveProperty('value', '');
    expect(api.requests.map((r) => r.path)).toEqual([FIRST, '/api/v1/audit?limit=51&actor=nobody', FIRST]);
  });

  it('pages back with the id of the last entry shown, and forward again', async () => {
    const full = Array.from({ length: 51 }, (_, i) => entry(200 - i));
    const api = stubAudit();
    api.on('GET /api/v1/audit?limit=51&before=151', ok([entry(150), entry(149)]));
    api.on(`GET ${FIRST}`, ok(full));
    renderAs('admin', <AuditLog />);
    const table = await loaded();

    // 50 shown; the 51st only tells that an older page exists.
    expect(within(table).getAllByRole('row')).toHaveLength(51);
    expect(screen.getByRole('button', { name: 'Newer' })).toHaveProperty('disabled', true);
    fireEvent.click(screen.getByRole('button', { name: 'Older' }));

    await waitFor(() => expect(screen.getByTestId('audit-page').textContent).toBe('Page 2 · 2 entries'));
    expect(screen.getByRole('button', { name: 'Older' })).toHaveProperty('disabled', true);
    fireEvent.click(screen.getByRole('button', { name: 'Newer' }));

    await waitFor(() => expect(screen.getByTestId('audit-page').textContent).toBe('Page 1 · 50 entries'));
    expect(api.requests.map((r) => r.path)).toEqual([FIRST, '/api/v1/audit?limit=51&before=151', FIRST]);
  });

  it.each([
    [[], 'The audit log is empty.'],
    [undefined, 'The audit log could not be loaded. You are not allowed to do this.Retry'],
  ])('with %j it says "%s"', async (answer, said) => {
    const api = stubAudit();
    api.on(`GET ${FIRST}`, answer ? ok(answer) : fail('FORBIDDEN', 'You are not allowed to do this.'));
    renderAs('manager', <AuditLog />);

    const shown = answer ? await screen.findByTestId('no-audit') : await screen.findByRole('alert');
    expect(shown.textContent).toBe(said);
  });
});
