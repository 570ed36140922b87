import {
  ALERT_SETTING_DEFAULTS,
  AlertSettingsPatch,
  OPERATION_SETTING_DEFAULTS,
  SyncSettings,
  type AlertSettingsView,
  type ScheduleView,
} from '@cacpq/sync-protocol';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { checked, fail, ok, stubApi, type ApiStub } from '../testing/api-stub';
import { description, renderAs } from '../testing/render';
import Settings from './Settings';

/** GET /api/v1/settings as the server answers it with its defaults. */
const SETTINGS: Record<string, string | number> = {
  'sync.intervalMinutes': 120,
  'numbers.format.quote': 'Q{YYYY}-{SEQ:4}',
  'numbers.format.project': 'P{YYYY}-{SEQ:4}',
  ...OPERATION_SETTING_DEFAULTS,
};

const SCHEDULES: ScheduleView[] = [
  { job: 'backup.daily', setting: 'schedule.backup.daily', cron: '0 2 * * *', nextRun: '2026-11-25T07:00:00.000Z', lastRun: null },
  { job: 'reindex', setting: 'schedule.reindex', cron: 'off', nextRun: null, lastRun: null },
];

const { 'alerts.smtp.password': _writeOnly, ...alertDefaults } = ALERT_SETTING_DEFAULTS;
const ALERT_SETTINGS: AlertSettingsView = { ...alertDefaults, 'alerts.smtp.passwordSet': true };

function stubSettings(): ApiStub {
  return stubApi({
    'GET /api/v1/settings': ok(SETTINGS),
    'GET /api/v1/maintenance/schedules': ok(SCHEDULES),
    'GET /api/v1/alerts/settings': ok(ALERT_SETTINGS),
    'PATCH /api/v1/settings': (req) => ok({ ...SETTINGS, ...(req.body as object) }),
    'PUT /api/v1/sync/settings': checked(SyncSettings, (body) => ok(body)),
    'PATCH /api/v1/alerts/settings': checked(AlertSettingsPatch, (body) => ok({ ...ALERT_SETTINGS, ...body })),
  });
}

/** A form's card (each is a region named by its heading; found by its test id, which is faster in jsdom). */
const FORM_IDS: Record<string, string> = {
  'Workstation sync': 'sync',
  Retention: 'retention',
  Schedules: 'schedules',
  'Alert thresholds': 'thresholds',
  'Business hours': 'business-hours',
  Notifications: 'notifications',
};
function region(name: string): HTMLElement {
  const card = screen.getByTestId(`settings-${FORM_IDS[name]}`);
  expect(card.getAttribute('aria-labelledby')).toBe(`${FORM_IDS[name]}-heading`);
  expect(within(card).getByRole('heading', { level: 2 }).textContent).toBe(name);
  return card;
}

async function loaded(): Promise<void> {
  await screen.findByTestId('settings-retention');
}

describe('Settings (admin)', () => {
  it('shows the values the server holds, and when each schedule runs next', async () => {
    stubSettings();
    renderAs('admin', <Settings />);
    await loaded();

    expect(screen.getByLabelText('Keep daily backups (days)')).toHaveProperty('value', '30');
    expect(screen.getByLabelText('Keep at most (sync_log rows)')).toHaveProperty('value', '10000');
    expect(screen.getByLabelText('Workstations sync every (minutes)')).toHaveProperty('value', '120');
    const daily = screen.getByLabelText('Daily backup');
    expect(daily).toHaveProperty('value', '0 2 * * *');
    await waitFor(() => expect(description(daily)).toMatch(/^Next run: .*2026/));
    expect(description(screen.getByLabelText('REINDEX'))).toBe('Not scheduled.');
    expect(screen.queryByTestId('read-only-note')).toBeNull();
  });

  it('keeps what is typed, unsaved, in the other forms when one form is saved', async () => {
    stubSettings();
    renderAs('admin', <Settings />);
    await loaded();
    fireEvent.change(screen.getByLabelText('Daily backup'), { target: { value: '30 1 * * *' } });
    fireEvent.change(screen.getByLabelText('Workstations sync every (minutes)'), { target: { value: '60' } });
    fireEvent.change(screen.getByLabelText('Keep daily backups (days)'), { target: { value: '45' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save retention' }));
    await within(region('Retention')).findByText('Saved 1 setting.');
    expect(screen.getByLabelText('Keep daily backups (days)')).toHaveProperty('value', '45');
    expect(screen.getByLabelText('Daily backup')).toHaveProperty('value', '30 1 * * *');
    expect(screen.getByLabelText('Workstations sync every (minutes)')).toHaveProperty('value', '60');
  });

  it.each([
    ['Retention', 'Keep daily backups (days)', '45', { 'retention.daily.days': 45 }],
    ['Retention', 'Keep monthly archives (months)', ' 0 ', undefined],
    ['Retention', 'Archive quotes older than (years)', 'ten', { 'maintenance.archiveQuotes.years': 'ten' }],
    ['Schedules', 'Daily backup', '  30 1 * * *  ', { 'schedule.backup.daily': '30 1 * * *' }],
    ['Schedules', 'VACUUM', 'off', { 'schedule.vacuum': 'off' }],
  ])('%s: %s typed as %p sends only that change (%j)', async (form, label, typed, patch) => {
    const api = stubSettings();
    renderAs('admin', <Settings />);
    await loaded();

    fireEvent.change(screen.getByLabelText(label), { target: { value: typed } });
    fireEvent.click(within(region(form)).getByRole('button', { name: `Save ${form.toLowerCase()}` }));

    const status = within(region(form)).getByRole('status');
    if (patch === undefined) {
      // 0 is what the server holds already.
      await waitFor(() => expect(status.textContent).toBe('Nothing changed.'));
      expect(api.sent('PATCH', '/api/v1/settings')).toHaveLength(0);
      return;
    }
    await waitFor(() => expect(status.textContent).toBe('Saved 1 setting.'));
    expect(api.sent('PATCH', '/api/v1/settings').map((r) => r.body)).toEqual([patch]);
    // The next runs follow the new schedules.
    expect(api.sent('GET', '/api/v1/maintenance/schedules')).toHaveLength(2);
  });

  it('sends several changes of one form in one request, with the CSRF cookie echoed', async () => {
    document.cookie = 'cacpq_csrf=csrf-123';
    const api = stubSettings();
    renderAs('admin', <Settings />);
    await loaded();

    fireEvent.change(screen.getByLabelText('Keep daily backups (days)'), { target: { value: '60' } });
    fireEvent.change(screen.getByLabelText('Keep weekly backups (weeks)'), { target: { value: '26' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save retention' }));

    await waitFor(() => expect(within(region('Retention')).getByRole('status').textContent).toBe('Saved 2 settings.'));
    const [patch] = api.sent('PATCH', '/api/v1/settings');
    expect(patch.body).toEqual({ 'retention.daily.days': 60, 'retention.weekly.weeks': 26 });
    expect(patch.headers).toMatchObject({ 'X-CSRF-Token': 'csrf-123', 'Content-Type': 'application/json' });
  });

  it('puts the server’s sentence at the field it names and keeps what was typed', async () => {
    const api = stubSettings();
    api.on(
      'PATCH /api/v1/settings',
      fail('VALIDATION_FAILED', 'retention.daily.days must be a whole number of days from 1 to 3650.', { requestId: 'req-42' }),
    );
    renderAs('admin', <Settings />);
    await loaded();

    const input = screen.getByLabelText('Keep daily backups (days)');
    fireEvent.change(input, { target: { value: '0' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save retention' }));

    const alert = await within(region('Retention')).findByRole('alert');
    expect(alert.textContent).toContain('Not saved.');
    expect(alert.textContent).toContain('(request req-42)');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(description(input)).toBe('1 to 3650. retention.daily.days must be a whole number of days from 1 to 3650.');
    expect(input).toHaveProperty('value', '0');
    expect(within(region('Retention')).getByRole('status').textContent).toBe('');
  });

  it.each([
    ['60', 200, { intervalMinutes: 60 }, 'Saved 1 setting.'],
    ['2', 400, { intervalMinutes: 2 }, 'intervalMinutes must be at least 5 minutes'],
    ['2000', 400, { intervalMinutes: 2000 }, 'intervalMinutes must be at most 1440 minutes (a day)'],
  ])('the sync interval %s goes by PUT /api/v1/sync/settings (HTTP %p)', async (typed, status, body, said) => {
    const api = stubSettings();
    renderAs('admin', <Settings />);
    await loaded();

    const input = screen.getByLabelText('Workstations sync every (minutes)');
    fireEvent.change(input, { target: { value: typed } });
    fireEvent.click(screen.getByRole('button', { name: 'Save workstation sync' }));

    const form = region('Workstation sync');
    if (status === 200) {
      await waitFor(() => expect(within(form).getByRole('status').textContent).toBe(said));
      expect(input).toHaveProperty('value', typed);
    } else {
      // The sentence above Save, and the field's own part of it under the input.
      const alert = await within(form).findByRole('alert');
      expect(alert.textContent).toBe(`Not saved. Invalid request body: ${said}.`);
      expect(input.getAttribute('aria-invalid')).toBe('true');
      expect(description(input)).toBe(
        `5 to 1440 minutes; workstations pick it up at their next sync. ${said.replace('intervalMinutes ', '')}`,
      );
    }
    expect(api.sent('PUT', '/api/v1/sync/settings').map((r) => r.body)).toEqual([body]);
  });

  it('turns an alert off and changes a threshold in one request', async () => {
    const api = stubSettings();
    renderAs('admin', <Settings />);
    const growth = await screen.findByLabelText('Database growth alert');
    expect(growth).toHaveProperty('checked', true);

    fireEvent.click(growth);
    fireEvent.change(screen.getByLabelText('Failed syncs over (%)'), { target: { value: '12.5' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save alert thresholds' }));

    await waitFor(() => expect(within(region('Alert thresholds')).getByRole('status').textContent).toBe('Saved 2 settings.'));
    expect(api.sent('PATCH', '/api/v1/alerts/settings').map((r) => r.body)).toEqual([
      { 'alerts.growth.enabled': false, 'alerts.failure-rate.pct': 12.5 },
    ]);
    expect(screen.getByLabelText('Database growth alert')).toHaveProperty('checked', false);
  });

  it('never shows the stored SMTP password, and sends a new one only when typed', async () => {
    const api = stubSettings();
    renderAs('admin', <Settings />);
    const password = await screen.findByLabelText('SMTP password');
    expect(password).toHaveProperty('value', '');
    expect(password.getAttribute('placeholder')).toBe('•••••••• (stored; type to replace)');
    expect(within(region('Notifications')).getByText(/one is stored; type a new one to replace it/)).toBeTruthy();

    fireEvent.change(screen.getByLabelText('SMTP host'), { target: { value: 'smtp.example.com' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save notifications' }));
    await waitFor(() => expect(within(region('Notifications')).getByRole('status').textContent).toBe('Saved 1 setting.'));

    fireEvent.change(screen.getByLabelText('SMTP password'), { target: { value: 'n3w-secret' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save notifications' }));
    await waitFor(() => expect(api.sent('PATCH', '/api/v1/alerts/settings')).toHaveLength(2));

    expect(api.sent('PATCH', '/api/v1/alerts/settings').map((r) => r.body)).toEqual([
      { 'alerts.smtp.host': 'smtp.example.com' },
      { 'alerts.smtp.password': 'n3w-secret' },
    ]);
  });

  it.each([
    ['Webhook URL', 'ftp://hooks.example.com', 'must be an http:// or https:// URL, or "" for no webhook'],
    ['To', 'ops@example.com, not-an-address', 'must be e-mail addresses separated by commas, or ""'],
    ['SMTP port', '70000', 'must be a port number from 1 to 65535'],
  ])('%s %p is refused by the contract with "%s" at that field', async (label, typed, message) => {
    stubSettings();
    renderAs('admin', <Settings />);
    const input = await screen.findByLabelText(label);

    fireEvent.change(input, { target: { value: typed } });
    fireEvent.click(screen.getByRole('button', { name: 'Save notifications' }));

    await within(region('Notifications')).findByRole('alert');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(description(input)).toContain(message);
    expect(screen.getAllByTestId('field-error')).toHaveLength(1);
  });

  it('says when the settings could not be loaded, and Retry loads them', async () => {
    const api = stubSettings();
    api.on('GET /api/v1/settings', [fail('SERVICE_UNAVAILABLE', 'The server is starting.'), ok(SETTINGS)]);
    renderAs('admin', <Settings />);

    const alert = await screen.findByText(/The settings could not be loaded\./);
    expect(alert.closest('[role="alert"]')?.textContent).toContain('The server is starting.');
    fireEvent.click(screen.getByRole('button', { name: 'Retry' }));

    expect(await screen.findByLabelText('Keep daily backups (days)')).toHaveProperty('value', '30');
    expect(api.sent('GET', '/api/v1/settings')).toHaveLength(2);
  });
});

describe('Settings (manager)', () => {
  it('shows the settings read-only, without Save, and asks nothing of the alert settings', async () => {
    const api = stubSettings();
    renderAs('manager', <Settings />);
    await loaded();

    expect(screen.getByTestId('read-only-note').textContent).toBe('Read-only: administrators change settings.');
    expect(screen.getByLabelText('Keep daily backups (days)').matches(':disabled')).toBe(true);
    expect(screen.getByLabelText('Daily backup').matches(':disabled')).toBe(true);
    expect(screen.getByLabelText('Workstations sync every (minutes)').matches(':disabled')).toBe(true);
    expect(screen.queryAllByRole('button', { name: /^Save / })).toHaveLength(0);
    expect(screen.getByRole('note').textContent).toMatch(/shown to administrators only/);
    expect(api.sent('GET', '/api/v1/alerts/settings')).toHaveLength(0);
  });
});
