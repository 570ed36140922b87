import { RestoreRequest, type BackupView, type JobView, type RestorePreview } from '@cacpq/sync-protocol';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { checked, created, fail, ok, stubApi, type ApiStub } from '../testing/api-stub';
import { cells, description, renderAs } from '../testing/render';
import Backups from './Backups';

function backup(id: number, name: string, patch: Partial<BackupView> = {}): BackupView {
  return {
    id,
    name,
    kind: name.startsWith('weekly') ? 'weekly' : name.startsWith('manual') ? 'manual' : 'daily',
    origin: 'server',
    createdAt: '2026-11-24 07:00:00.000',
    status: 'verified',
    check: 'quick_check',
    verifiedAt: '2026-11-24 07:00:05.000',
    problem: null,
    bytes: 12.5 * 1024 * 1024,
    files: [
      {
        role: 'server',
        path: `backups/${name}/server.db`,
        bytes: 12.5 * 1024 * 1024,
        sha256: 'ab12',
        rowCounts: { quotes: 1180 },
        lastSeq: 9000,
      },
    ],
    jobId: id + 100,
    ...patch,
  };
}

const CATALOGUE: BackupView[] = [
  backup(3, 'daily/2026-11-24_020000'),
  backup(2, 'weekly/2026-11-22', { bytes: 812 }),
  backup(1, 'daily/2026-11-20_020000', { status: 'failed', problem: 'quick_check: database disk image is malformed', origin: 'found' }),
];

function job(id: number, patch: Partial<JobView>): JobView {
  return {
    id,
    type: 'backup',
    params: { kind: 'manual' },
    trigger: 'manual',
    requestedBy: 'admin',
    status: 'queued',
    queuedAt: '2026-11-25 10:00:00.000',
    startedAt: null,
    finishedAt: null,
    durationMs: null,
    progress: 0,
    phase: null,
    result: null,
    error: null,
    ...patch,
  };
}

const PREVIEW: RestorePreview = {
  backup: CATALOGUE[0],
  confirmPhrase: 'restore daily/2026-11-24_020000',
  tables: [
    { table: 'quotes', backup: 1180, now: 1203 },
    { table: 'customers', backup: 412, now: 412 },
  ],
  changesSince: 37,
};

function stubBackups(): ApiStub {
  return stubApi({
    'GET /api/v1/backups': ok(CATALOGUE),
    'GET /api/v1/jobs?limit=20': ok<JobView[]>([]),
    'POST /api/v1/backups': (req) => created(job(501, { params: req.body as Record<string, unknown> })),
    'GET /api/v1/backups/3/preview': ok(PREVIEW),
    'POST /api/v1/backups/3/restore': checked(RestoreRequest, (body) =>
      body.confirm === PREVIEW.confirmPhrase
        ? created(job(502, { type: 'restore', params: { name: PREVIEW.backup.name }, status: 'running', progress: 0.25, phase: 'copying' }))
        : fail(
            'CONFIRMATION_REQUIRED',
            `To restore, type the confirmation phrase exactly: "${PREVIEW.confirmPhrase}". Nothing was changed.`,
          ),
    ),
  });
}

const catalogueRow = (name: string) => within(screen.getByTestId('backups-table')).getByText(name).closest('tr')!;

describe('Backups: the catalogue', () => {
  it('lists each backup with its kind, origin, status, size and the problem of a failed one', async () => {
    stubBackups();
    renderAs('admin', <Backups />);
    const table = await screen.findByTestId('backups-table');

    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((r) => cells(r).slice(0, 5))).toEqual([
      ['daily/2026-11-24_020000', 'daily', 'server', 'verified', '12.5 MB'],
      ['weekly/2026-11-22', 'weekly', 'server', 'verified', '812 B'],
      ['daily/2026-11-20_020000', 'daily', 'found on disk', 'failedquick_check: database disk image is malformed', '12.5 MB'],
    ]);
  });

  it.each([
    ['daily/2026-11-24_020000', true],
    ['weekly/2026-11-22', true],
    ['daily/2026-11-20_020000', false],
  ])('%s can be downloaded and restored by an admin: %p', async (name, restorable) => {
    stubBackups();
    renderAs('admin', <Backups />);
    await screen.findByTestId('backups-table');

    const row = catalogueRow(name);
    const download = within(row).queryByRole('link', { name: `Download ${name}` });
    const restore = within(row).queryByRole('button', { name: `Restore from ${name}` });
    expect(download !== null).toBe(restorable);
    expect(restore !== null).toBe(restorable);
    if (download) expect(download.getAttribute('href')).toBe(`/api/v1/backups/${CATALOGUE.find((b) => b.name === name)!.id}/download`);
  });

  it('shows a manager the catalogue without Back up now, downloads or restores', async () => {
    const api = stubBackups();
    renderAs('manager', <Backups />);
    await screen.findByTestId('backups-table');

    expect(screen.getByTestId('read-only-note').textContent).toBe('Read-only: administrators start backups and restores.');
    expect(screen.queryByRole('button', { name: 'Back up now' })).toBeNull();
    expect(screen.queryAllByRole('link')).toHaveLength(0);
    expect(screen.queryAllByRole('button', { name: /^Restore/ })).toHaveLength(0);
    expect(api.requests.every((r) => r.method === 'GET')).toBe(true);
  });

  it('says when there is no backup yet', async () => {
    const api = stubBackups();
    api.on('GET /api/v1/backups', ok<BackupView[]>([]));
    renderAs('admin', <Backups />);
    expect((await screen.findByTestId('no-backups')).textContent).toBe('No backups yet.');
  });

  it('Back up now starts a manual backup and follows its job', async () => {
    const api = stubBackups();
    renderAs('admin', <Backups />);
    await screen.findByTestId('backups-table');
    expect(screen.getByText('No backup, restore or maintenance job is running.')).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'Back up now' }));

    const item = await screen.findByTestId('job');
    expect(api.sent('POST', '/api/v1/backups').map((r) => r.body)).toEqual([{ kind: 'manual' }]);
    expect(item.getAttribute('data-status')).toBe('queued');
    expect(within(item).getByText('Backup (manual)')).toBeTruthy();
    expect(within(item).getByTestId('job-figures').textContent).toBe('0% — waiting for the job before it');
    // One backup at a time.
    expect(screen.getByRole('button', { name: 'Back up now' })).toHaveProperty('disabled', true);
  });

  it('shows why a backup was not started', async () => {
    const api = stubBackups();
    api.on('POST /api/v1/backups', fail('INSUFFICIENT_DISK', 'Only 120 MB free on the data disk; a backup needs 300 MB.'));
    renderAs('admin', <Backups />);
    await screen.findByTestId('backups-table');

    fireEvent.click(screen.getByRole('button', { name: 'Back up now' }));

    expect((await screen.findByRole('alert')).textContent).toBe(
      'The backup was not started. Only 120 MB free on the data disk; a backup needs 300 MB.',
    );
  });
});

describe('Backups: restore', () => {
  async function openRestore(): Promise<{ api: ApiStub; panel: HTMLElement }> {
    const api = stubBackups();
    renderAs('admin', <Backups />);
    await screen.findByTestId('backups-table');
    fireEvent.click(screen.getByRole('button', { name: 'Restore from daily/2026-11-24_020000' }));
    const panel = await screen.findByTestId('restore-panel');
    await within(panel).findByTestId('restore-preview-table');
    return { api, panel };
  }

  it('previews what the restore would change', async () => {
    const { panel } = await openRestore();

    expect(within(panel).getByRole('heading', { level: 2 }).textContent).toBe('Restore from daily/2026-11-24_020000');
    expect(within(panel).getByTestId('changes-since').textContent).toBe(
      '37 changes were made since this backup; workstations give them back when they next sync.',
    );
    const rows = within(within(panel).getByTestId('restore-preview-table')).getAllByRole('row').slice(1);
    expect(rows.map((r) => cells(r))).toEqual([
      ['quotes', '1,180', '1,203'],
      ['customers', '412', '412'],
    ]);
    expect(rows.map((r) => r.className)).toEqual(['differs', '']);
  });

  it.each([
    ['', false],
    ['restore', false],
    ['restore daily/2026-11-24', false],
    ['Restore daily/2026-11-24_020000', false],
    ['restore daily/2026-11-24_020000', true],
    ['  restore daily/2026-11-24_020000  ', true],
  ])('the phrase %p enables Restore: %p', async (typed, enabled) => {
    const { api, panel } = await openRestore();

    const input = within(panel).getByLabelText('Type restore daily/2026-11-24_020000 to confirm');
    expect(description(input)).toBe('The Restore button is enabled once the phrase matches exactly.');
    fireEvent.change(input, { target: { value: typed } });
    const restore = within(panel).getByRole('button', { name: 'Restore' });
    expect(restore).toHaveProperty('disabled', !enabled);

    // Enter in the field submits only a matching phrase.
    fireEvent.submit(input.closest('form')!);
    if (!enabled) {
      expect(api.sent('POST', '/api/v1/backups/3/restore')).toHaveLength(0);
      return;
    }
    await waitFor(() => expect(screen.queryByTestId('restore-panel')).toBeNull());
    expect(api.sent('POST', '/api/v1/backups/3/restore').map((r) => r.body)).toEqual([{ confirm: 'restore daily/2026-11-24_020000' }]);
    const item = screen.getByTestId('job');
    expect(item.getAttribute('data-type')).toBe('restore');
    expect(within(item).getByText('Restore from daily/2026-11-24_020000')).toBeTruthy();
    expect(within(item).getByTestId('job-figures').textContent).toBe('25% — copying');
    expect(within(item).getByRole('progressbar', { name: 'Restore from daily/2026-11-24_020000: progress' })).toBeTruthy();
    // No second restore while one runs.
    expect(screen.getByRole('button', { name: 'Restore from weekly/2026-11-22' })).toHaveProperty('disabled', true);
  });

  it('keeps the panel open with the server’s sentence when the restore is refused', async () => {
    const { api, panel } = await openRestore();
    api.on('POST /api/v1/backups/3/restore', fail('MAINTENANCE', 'A restore is already running.'));

    fireEvent.change(within(panel).getByRole('textbox'), { target: { value: 'restore daily/2026-11-24_020000' } });
    fireEvent.click(within(panel).getByRole('button', { name: 'Restore' }));

    expect((await within(panel).findByRole('alert')).textContent).toBe('The restore was not started. A restore is already running.');
    expect(within(panel).getByRole('button', { name: 'Restore' })).toHaveProperty('disabled', false);
  });

  it('Cancel closes the panel and restores nothing', async () => {
    const { api, panel } = await openRestore();

    fireEvent.click(within(panel).getByRole('button', { name: 'Cancel' }));

    expect(screen.queryByTestId('restore-panel')).toBeNull();
    expect(api.sent('POST', '/api/v1/backups/3/restore')).toHaveLength(0);
  });
});
