import type { SyncActivityPage, SyncActivityRow, SyncStats, SyncTimeline, WorkstationRow } from '@cacpq/sync-protocol';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { fail, ok, stubApi, type ApiStub, type SentRequest } from '../testing/api-stub';
import { cells, renderAs } from '../testing/render';
import SyncActivity from './SyncActivity';

const NOW = Date.parse('2026-11-25T15:00:00.000Z');
const HOUR = 3_600_000;
const ago = (hours: number) => new Date(NOW - hours * HOUR).toISOString();

function syncRow(id: number, patch: Partial<SyncActivityRow> = {}): SyncActivityRow {
  return {
    id,
    syncTime: '2026-11-25 14:30:00',
    status: 'success',
    recordsPulled: 1200,
    recordsPushed: 3,
    conflicts: 0,
    durationMs: 1234,
    user: 'alice',
    clientId: 'ALICE-PC',
    error: null,
    ...patch,
  };
}

const ROWS = [
  syncRow(4712),
  syncRow(4711, {
    status: 'error',
    user: 'bob',
    clientId: 'BOB-LAPTOP',
    recordsPulled: 0,
    recordsPushed: 0,
    error: 'Push refused: batch id reused.',
  }),
  syncRow(4710, { user: null, clientId: null, conflicts: 2 }),
];

const STATS: SyncStats = {
  from: ago(24),
  to: ago(0),
  syncs: 40,
  succeeded: 39,
  failed: 1,
  successRate: 0.975,
  conflictRate: 0.05,
  avgDurationMs: 812.4,
  recordsPulled: 15200,
  recordsPushed: 310,
  conflicts: 2,
};

/** Hours without syncs: the charts show their empty sentence (jsdom has no canvas to draw on). */
const TIMELINE: SyncTimeline = {
  from: ago(24),
  to: ago(0),
  statuses: [],
  hours: [0, 1, 2].map((h) => ({
    hour: `2026-11-25 ${String(12 + h).padStart(2, '0')}:00:00`,
    syncs: 0,
    byStatus: {},
    withConflicts: 0,
    conflicts: 0,
    recordsPulled: 0,
    recordsPushed: 0,
    p50DurationMs: null,
    p95DurationMs: null,
  })),
};

const WORKSTATIONS: WorkstationRow[] = [
  {
    user: 'bob',
    clientId: 'BOB-LAPTOP',
    lastSync: '2026-11-25 14:00:00',
    lastStatus: 'error',
    syncs: 10,
    clockOffsetMs: 0,
    clockMeasuredAt: null,
  },
  {
    user: 'alice',
    clientId: 'ALICE-PC',
    lastSync: '2026-11-25 14:30:00',
    lastStatus: 'success',
    syncs: 25,
    clockOffsetMs: 0,
    clockMeasuredAt: null,
  },
  {
    user: 'alice',
    clientId: 'ALICE-LAPTOP',
    lastSync: '2026-11-20 10:00:00',
    lastStatus: 'success',
    syncs: 5,
    clockOffsetMs: null,
    clockMeasuredAt: null,
  },
];

const LIST = '/api/v1/monitoring/sync-activity';
const STATS_PATH = '/api/v1/monitoring/sync-stats';
const TIMELINE_PATH = '/api/v1/monitoring/sync-timeline';

function stubActivity(page: Partial<SyncActivityPage> = {}): ApiStub {
  return stubApi({
    [`GET ${LIST}?*`]: ok<SyncActivityPage>({ from: ago(24), to: ago(0), rows: ROWS, nextBefore: null, ...page }),
    [`GET ${STATS_PATH}?*`]: ok(STATS),
    [`GET ${TIMELINE_PATH}?*`]: ok(TIMELINE),
    'GET /api/v1/monitoring/workstations': ok(WORKSTATIONS),
  });
}

function params(req: SentRequest): Record<string, string> {
  return Object.fromEntries(new URL(req.path, 'http://nas.test').searchParams);
}

beforeEach(() => {
  jest.spyOn(Date, 'now').mockReturnValue(NOW);
});

afterEach(() => {
  jest.restoreAllMocks();
});

async function loaded(): Promise<HTMLElement> {
  return screen.findByTestId('sync-table');
}

describe('SyncActivity', () => {
  it('lists the syncs of the last 24 hours with their figures', async () => {
    const api = stubActivity();
    renderAs('admin', <SyncActivity />);
    const table = await loaded();

    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((r) => cells(r).slice(1))).toEqual([
      ['success', 'alice', 'ALICE-PC', '1,200', '3', '0', '1,234 ms', ''],
      ['error', 'bob', 'BOB-LAPTOP', '0', '0', '0', '1,234 ms', 'Push refused: batch id reused.'],
      ['success', '—', '—', '1,200', '3', '2', '1,234 ms', ''],
    ]);
    expect(params(api.sent('GET', `${LIST}?*`)[0])).toEqual({ from: ago(24), limit: '50' });
    expect(screen.getByText('3 syncs on this page')).toBeTruthy();
    expect(screen.getByTestId('sync-list-scope').textContent).toBe('last 24 hours');
  });

  it('shows the totals of the range', async () => {
    stubActivity();
    renderAs('admin', <SyncActivity />);
    const figures = await screen.findByTestId('sync-stats');

    const pairs = Array.from(figures.querySelectorAll('div')).map((d) => [
      d.querySelector('dt')!.textContent,
      d.querySelector('dd')!.textContent,
    ]);
    expect(pairs).toEqual([
      ['Syncs', '40'],
      ['Success rate', '97.5%'],
      ['Failed', '1'],
      ['Syncs with conflicts', '5%'],
      ['Average duration', '812 ms'],
      ['Records pulled / pushed', '15,200 / 310'],
    ]);
    expect(figures.getAttribute('aria-label')).toBe('Totals for the range (every user and workstation)');
    expect((await screen.findByTestId('chart-sync-status-empty')).textContent).toBe('No syncs in this range.');
  });

  it.each([
    ['Last 3 days', 72],
    ['Last 7 days', 168],
    ['Last 30 days', 720],
  ])('range %s asks the list, the totals and the charts from %p hours ago', async (range, hours) => {
    const api = stubActivity();
    renderAs('admin', <SyncActivity />);
    await loaded();

    fireEvent.change(screen.getByLabelText('Range'), {
      target: { value: within(screen.getByLabelText('Range')).getByRole('option', { name: range }).getAttribute('value') },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Apply filters' }));

    await waitFor(() => expect(api.sent('GET', `${LIST}?*`)).toHaveLength(2));
    await waitFor(() => expect(api.sent('GET', `${STATS_PATH}?*`)).toHaveLength(2));
    expect(params(api.sent('GET', `${LIST}?*`)[1])).toEqual({ from: ago(hours), limit: '50' });
    expect(params(api.sent('GET', `${STATS_PATH}?*`)[1])).toEqual({ from: ago(hours) });
    expect(params(api.sent('GET', `${TIMELINE_PATH}?*`)[1])).toEqual({ from: ago(hours) });
    expect(screen.getByTestId('sync-list-scope').textContent).toBe(range.toLowerCase());
  });

  it('offers the users and, for the chosen user, only their workstations; the filters go to every request', async () => {
    const api = stubActivity();
    renderAs('admin', <SyncActivity />);
    await loaded();
    const optionValues = (label: string) =>
      within(screen.getByLabelText(label))
        .getAllByRole('option')
        .map((o) => (o as HTMLOptionElement).value);

    expect(optionValues('User')).toEqual(['', 'alice', 'bob']);
    expect(optionValues('Workstation')).toEqual(['', 'ALICE-LAPTOP', 'ALICE-PC', 'BOB-LAPTOP']);
    fireEvent.change(screen.getByLabelText('User'), { target: { value: 'alice' } });
    expect(optionValues('Workstation')).toEqual(['', 'ALICE-LAPTOP', 'ALICE-PC']);
    fireEvent.change(screen.getByLabelText('Workstation'), { target: { value: 'ALICE-PC' } });
    fireEvent.change(screen.getByLabelText('Status'), { target: { value: 'error' } });
    fireEvent.click(screen.getByRole('button', { name: 'Apply filters' }));

    const narrowed = { from: ago(24), user: 'alice', clientId: 'ALICE-PC', status: 'error' };
    await waitFor(() => expect(api.sent('GET', `${LIST}?*`)).toHaveLength(2));
    await waitFor(() => expect(api.sent('GET', `${TIMELINE_PATH}?*`)).toHaveLength(2));
    expect(params(api.sent('GET', `${LIST}?*`)[1])).toEqual({ ...narrowed, limit: '50' });
    expect(params(api.sent('GET', `${STATS_PATH}?*`)[1])).toEqual(narrowed);
    expect(params(api.sent('GET', `${TIMELINE_PATH}?*`)[1])).toEqual(narrowed);
    expect(screen.getByTestId('sync-list-scope').textContent).toBe('last 24 hours · user alice · workstation ALICE-PC · status error');

    fireEvent.click(screen.getByRole('button', { name: 'Reset' }));
    await waitFor(() => expect(api.sent('GET', `${LIST}?*`)).toHaveLength(3));
    expect(params(api.sent('GET', `${LIST}?*`)[2])).toEqual({ from: ago(24), limit: '50' });
    expect(screen.getByLabelText('User')).toHaveProperty('value', '');
  });

  it('pages to older syncs with nextBefore, and back', async () => {
    const api = stubActivity({ nextBefore: 4710 });
    renderAs('admin', <SyncActivity />);
    await loaded();

    expect(screen.getByRole('button', { name: 'Newer' })).toHaveProperty('disabled', true);
    api.on(`GET ${LIST}?*before=4710`, ok<SyncActivityPage>({ from: ago(24), to: ago(0), rows: [syncRow(4709)], nextBefore: null }));
    fireEvent.click(screen.getByRole('button', { name: 'Older' }));

    await screen.findByText('1 sync on this page');
    expect(params(api.sent('GET', `${LIST}?*`)[1])).toEqual({ from: ago(24), limit: '50', before: '4710' });
    expect(screen.getByTestId('sync-list-scope').textContent).toBe('last 24 hours · page 2');
    expect(screen.getByRole('button', { name: 'Older' })).toHaveProperty('disabled', true);

    fireEvent.click(screen.getByRole('button', { name: 'Newer' }));
    await screen.findByText('3 syncs on this page');
  });

  it.each([
    [false, 'No syncs in this range.'],
    [true, 'No syncs match these filters in this range.'],
  ])('an empty page (filtered: %p) says "%s"', async (filtered, said) => {
    stubActivity({ rows: [] });
    renderAs('manager', <SyncActivity />);
    await screen.findByTestId('sync-empty');
    expect(screen.getByTestId('read-only-note').textContent).toBe('Read-only: you are signed in as a manager.');
    if (filtered) {
      fireEvent.change(screen.getByLabelText('Status'), { target: { value: 'success' } });
      fireEvent.click(screen.getByRole('button', { name: 'Apply filters' }));
      await waitFor(() => expect(screen.getByTestId('sync-list-scope').textContent).toContain('status success'));
    }
    await waitFor(() => expect(screen.getByTestId('sync-empty').textContent).toBe(said));
  });

  it('says which part could not be loaded', async () => {
    const api = stubActivity();
    api.on(`GET ${LIST}?*`, fail('SERVICE_UNAVAILABLE', 'The master is being restored.'));
    renderAs('admin', <SyncActivity />);

    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe('The syncs could not be loaded. The master is being restored.Retry');
    expect(await screen.findByTestId('sync-stats')).toBeTruthy();
  });
});
