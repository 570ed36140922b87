import type { AlertEvaluation, AlertView, MaintenanceState } from '@cacpq/sync-protocol';
import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { OpsProvider } from '../lib/ops';
import { fail, ok, stubApi, type ApiStub } from '../testing/api-stub';
import { opsServer } from '../testing/ops-socket';
import { renderAs } from '../testing/render';
import Alerts from './Alerts';

jest.mock('socket.io-client', () => jest.requireActual('../testing/ops-socket').socketIoClient);

const LIST_PATH = '/api/v1/alerts?status=all&limit=100';

function alert(id: number, patch: Partial<AlertView>): AlertView {
  return {
    id,
    rule: 'no-sync',
    subject: '',
    severity: 'warning',
    status: 'open',
    openedAt: '2026-11-24 14:00:00.000',
    resolvedAt: null,
    acknowledgedAt: null,
    acknowledgedBy: null,
    message: 'No workstation synced for 4.5 business hours.',
    resolution: null,
    details: {},
    lastEvaluatedAt: '2026-11-24 15:00:00.000',
    notifiedAt: null,
    ...patch,
  };
}

const ALERTS: AlertView[] = [
  alert(7, { rule: 'no-sync' }),
  alert(9, { rule: 'stale-user', subject: 'user:alice', message: 'alice has not synced for 9 days.' }),
  alert(3, {
    rule: 'backup-age',
    severity: 'critical',
    status: 'resolved',
    message: 'No verified backup for 30 hours.',
    resolvedAt: '2026-11-23 08:00:00.000',
    resolution: 'A verified backup exists again.',
    acknowledgedAt: '2026-11-23 07:00:00.000',
    acknowledgedBy: 'marie',
  }),
];

const MAINTENANCE: MaintenanceState = { active: false, reason: null, since: null, jobId: null, retryAfterSeconds: 0 };

function stubAlerts(list: AlertView[] = ALERTS): ApiStub {
  return stubApi({
    [`GET ${LIST_PATH}`]: ok(list),
    'GET /api/v1/maintenance/state': ok(MAINTENANCE),
    'POST /api/v1/alerts/*/acknowledge': (req) => {
      const id = Number(/alerts\/(\d+)\//.exec(req.path)![1]);
      return ok({ ...list.find((a) => a.id === id)!, acknowledgedAt: '2026-11-25 10:00:00.000', acknowledgedBy: 'admin' });
    },
  });
}

const openTable = () => screen.getByTestId('open-alerts');
const rowOf = (id: number) => document.querySelector<HTMLTableRowElement>(`tr[data-alert-id="${id}"]`)!;

describe('Alerts', () => {
  it('shows open and resolved alerts, newest first, each with its rule, subject and finding', async () => {
    stubAlerts();
    renderAs('admin', <Alerts />);
    await screen.findByTestId('open-alerts');

    expect(screen.getByRole('heading', { name: 'Open (2)' })).toBeTruthy();
    expect(screen.getByRole('heading', { name: 'Resolved (1)' })).toBeTruthy();
    const open = within(openTable()).getAllByRole('row').slice(1);
    expect(open.map((r) => r.getAttribute('data-alert-id'))).toEqual(['9', '7']);
    expect(within(open[0]).getByText('User not syncing')).toBeTruthy();
    expect(within(open[0]).getByText('user alice')).toBeTruthy();
    expect(within(open[1]).getByText('the server')).toBeTruthy();
    expect(within(open[1]).getByText('No workstation synced for 4.5 business hours.')).toBeTruthy();

    const resolved = within(screen.getByTestId('resolved-alerts')).getAllByRole('row')[1];
    expect(within(resolved).getByText('critical')).toBeTruthy();
    expect(within(resolved).getByText('A verified backup exists again.')).toBeTruthy();
    expect(within(resolved).getByTestId('ack').textContent).toMatch(/^marie, /);
  });

  it('acknowledges an alert with POST /api/v1/alerts/:id/acknowledge and shows who did', async () => {
    const api = stubAlerts();
    renderAs('admin', <Alerts />);
    await screen.findByTestId('open-alerts');

    fireEvent.click(screen.getByRole('button', { name: 'Acknowledge No sync alert 7' }));

    await waitFor(() => expect(within(rowOf(7)).getByTestId('ack').textContent).toMatch(/^admin, /));
    expect(api.sent('POST', '/api/v1/alerts/*').map((r) => [r.path, r.body])).toEqual([['/api/v1/alerts/7/acknowledge', undefined]]);
    expect(screen.getByTestId('alerts-status').textContent).toBe('No sync alert acknowledged.');
    // The other one is still to be acknowledged.
    expect(within(rowOf(9)).getByRole('button', { name: 'Acknowledge User not syncing alert 9' })).toBeTruthy();
  });

  it('shows why an acknowledgement failed', async () => {
    const api = stubAlerts();
    api.on('POST /api/v1/alerts/*/acknowledge', fail('NOT_FOUND', 'There is no alert 7.'));
    renderAs('admin', <Alerts />);
    await screen.findByTestId('open-alerts');

    fireEvent.click(screen.getByRole('button', { name: 'Acknowledge No sync alert 7' }));

    expect((await screen.findByRole('alert')).textContent).toBe('The alert was not acknowledged. There is no alert 7.');
    expect(within(rowOf(7)).getByRole('button', { name: /^Acknowledge/ })).toHaveProperty('disabled', false);
  });

  it('evaluates the rules now and puts what opened and resolved in place', async () => {
    const api = stubAlerts();
    const evaluation: AlertEvaluation = {
      evaluatedAt: '2026-11-25T15:30:00.000Z',
      opened: [alert(12, { rule: 'clock-skew', subject: 'workstation:SALES-PC-02', message: 'SALES-PC-02 is 9 minutes ahead.' })],
      resolved: [alert(7, { status: 'resolved', resolvedAt: '2026-11-25 15:30:00.000', resolution: 'A workstation synced.' })],
      open: 2,
    };
    api.on('POST /api/v1/alerts/evaluate', ok(evaluation));
    renderAs('admin', <Alerts />);
    await screen.findByTestId('open-alerts');

    fireEvent.click(screen.getByRole('button', { name: 'Evaluate now' }));

    await waitFor(() =>
      expect(screen.getByTestId('alerts-status').textContent).toBe('Evaluated at 10:30: 1 opened, 1 resolved, 2 alerts open.'),
    );
    expect(
      within(openTable())
        .getAllByRole('row')
        .slice(1)
        .map((r) => r.getAttribute('data-alert-id')),
    ).toEqual(['12', '9']);
    expect(rowOf(7).getAttribute('data-status')).toBe('resolved');
    expect(screen.getByRole('heading', { name: 'Resolved (2)' })).toBeTruthy();
    expect(api.sent('POST', '/api/v1/alerts/evaluate')).toHaveLength(1);
  });

  it('shows a manager the alerts without Acknowledge or Evaluate now', async () => {
    const api = stubAlerts();
    renderAs('manager', <Alerts />);
    await screen.findByTestId('open-alerts');

    expect(screen.getByTestId('read-only-note').textContent).toBe('Read-only: administrators acknowledge alerts.');
    expect(screen.queryAllByRole('button')).toHaveLength(0);
    expect(within(rowOf(7)).getByTestId('ack').textContent).toBe('not yet');
    expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`GET ${LIST_PATH}`]);
  });

  it('says when no alert is open or resolved', async () => {
    stubAlerts([]);
    renderAs('admin', <Alerts />);

    expect((await screen.findByTestId('no-open-alerts')).textContent).toBe('No alert is open: every rule is within its threshold.');
    expect(screen.getByTestId('no-resolved-alerts').textContent).toBe('No alert has resolved yet.');
  });

  it('says when the alerts could not be loaded, and Retry loads them', async () => {
    const api = stubAlerts();
    api.on(`GET ${LIST_PATH}`, [fail('INTERNAL', 'Something failed on the server.', { requestId: 'q1' }), ok(ALERTS)]);
    renderAs('admin', <Alerts />);

    const notice = await screen.findByRole('alert');
    expect(notice.textContent).toBe('The alerts could not be loaded. Something failed on the server. (request q1)Retry');
    fireEvent.click(within(notice).getByRole('button', { name: 'Retry' }));
    await screen.findByTestId('open-alerts');
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('shows alerts as they open and resolve on the live connection', async () => {
    const api = stubAlerts();
    renderAs(
      'admin',
      <OpsProvider enabled>
        <Alerts />
      </OpsProvider>,
    );
    await screen.findByTestId('open-alerts');
    // A (re)connect reads the list again: events may have been missed meanwhile.
    act(() => opsServer.connect());
    await waitFor(() => expect(api.sent('GET', LIST_PATH)).toHaveLength(2));
    await waitFor(() => expect(api.sent('GET', '/api/v1/maintenance/state')).toHaveLength(2));
    await act(async () => {});

    act(() => opsServer.emit('alert.opened', alert(15, { rule: 'refused-changes', message: '3 changes were refused.' })));
    expect(rowOf(15).getAttribute('data-status')).toBe('open');
    expect(screen.getByTestId('alerts-status').textContent).toBe('New alert: 3 changes were refused.');
    expect(screen.getByRole('heading', { name: 'Open (3)' })).toBeTruthy();

    act(() => opsServer.emit('alert.resolved', alert(9, { rule: 'stale-user', status: 'resolved', resolution: 'alice synced.' })));
    expect(within(screen.getByTestId('resolved-alerts')).getByText('alice synced.')).toBeTruthy();
    expect(screen.getByTestId('alerts-status').textContent).toBe('Resolved: User not syncing. alice synced.');
    expect(screen.getByRole('heading', { name: 'Open (2)' })).toBeTruthy();
  });
});
