import { ResubmitRefusalRequest, type RefusalView, type SyncInfoResponse, type TableInfo } from '@cacpq/sync-protocol';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { checked, fail, ok, stubApi, type ApiStub } from '../testing/api-stub';
import { renderAs } from '../testing/render';
import RefusedChanges from './RefusedChanges';

function refusal(id: number, patch: Partial<RefusalView> = {}): RefusalView {
  return {
    id,
    clientId: 'SALES-PC-02',
    user: 'alice',
    table: 'components',
    rowId: '0b5e8f0e-1111-4c1d-9e2f-0a1b2c3d4e5f',
    op: 'upsert',
    column: 'leadTimeDays',
    code: 'VALIDATION_FAILED',
    message: 'changes[2]: components.leadTimeDays must be a whole number from 0 to 365.',
    value: '400',
    overridable: true,
    values: { sku: 'CMP-0042', name: 'Hinge', leadTimeDays: 400, price: 12.5 },
    firstSeenAt: '2026-11-24 14:00:00.000',
    lastSeenAt: '2026-11-25 09:00:00.000',
    times: 3,
    status: 'open',
    resolvedAt: null,
    resolvedBy: null,
    resolution: null,
    ...patch,
  };
}

const OPEN = [
  refusal(6),
  refusal(5, {
    table: 'customers',
    column: 'type',
    message: 'customers.type must be one of "retail", "trade".',
    value: 'wholesale',
    overridable: false,
    values: { name: 'Lower case', type: 'wholesale' },
    times: 1,
  }),
  refusal(4, {
    op: 'delete',
    column: null,
    value: null,
    values: null,
    message: 'quotes rows cannot be deleted.',
    table: 'quotes',
    times: 1,
  }),
];

const COMPONENTS: TableInfo = {
  name: 'components',
  label: 'Components',
  ddl: 'CREATE TABLE components (…)',
  indexes: [],
  columns: [
    { name: 'id', type: 'text', nullable: false },
    { name: 'sku', type: 'text', nullable: false, maxLength: 40 },
    { name: 'name', type: 'text', nullable: false, maxLength: 200 },
    { name: 'leadTimeDays', type: 'integer', nullable: true },
    { name: 'price', type: 'real', nullable: false },
    { name: 'updated_at', type: 'datetime', nullable: false },
  ],
};

const INFO: SyncInfoResponse = {
  protocolVersion: 1,
  generation: 'g-1',
  serverTime: '2026-11-25T15:00:00.000Z',
  lastSeq: 9000,
  syncIntervalMinutes: 120,
  tombstoneRetentionDays: 90,
  maxPushRows: 500,
  maxPullPage: 1000,
  maxBodyBytes: 10_485_760,
  features: ['refusals'],
  tables: [COMPONENTS],
};

const closedAs = (r: RefusalView, status: RefusalView['status'], resolution: string): RefusalView => ({
  ...r,
  status,
  resolution,
  resolvedAt: '2026-11-25 15:00:00.000',
  resolvedBy: 'admin',
});

function stubRefusals(): ApiStub {
  return stubApi({
    'GET /api/v1/refusals?status=open&limit=200': ok(OPEN),
    'GET /api/v1/refusals?status=resolved&limit=200': ok([closedAs(refusal(2), 'discarded', 'Discarded by admin.')]),
    'GET /api/v1/sync/info': ok(INFO),
    'POST /api/v1/refusals/6/accept': ok(closedAs(OPEN[0], 'accepted', 'Taken as sent by admin: components.leadTimeDays = "400".')),
    'POST /api/v1/refusals/5/discard': ok(closedAs(OPEN[1], 'discarded', 'Discarded by admin: the master keeps its version of the row.')),
    'POST /api/v1/refusals/6/resubmit': checked(ResubmitRefusalRequest, (body) =>
      Number(body.values.leadTimeDays) > 365
        ? fail('VALIDATION_FAILED', 'components.leadTimeDays must be a whole number from 0 to 365.')
        : ok(closedAs(OPEN[0], 'resubmitted', 'Fixed and sent by admin.')),
    ),
  });
}

const rowOf = (id: number) => document.querySelector<HTMLTableRowElement>(`tr[data-refusal="${id}"]`)!;

async function loaded(): Promise<HTMLElement> {
  return screen.findByTestId('refusals-table');
}

describe('RefusedChanges', () => {
  it('lists the open refused changes: where from, which row, the refused value and why', async () => {
    stubRefusals();
    renderAs('admin', <RefusedChanges />);
    await loaded();

    expect(screen.getByTestId('refusals-heading').textContent).toBe('Open refused changes (3)');
    const first = rowOf(6);
    expect(within(first).getByTestId('refusal-user').textContent).toBe('alice');
    expect(within(first).getByTestId('refusal-workstation').textContent).toBe('SALES-PC-02');
    expect(within(first).getByText('CMP-0042')).toBeTruthy();
    expect(within(first).getByTestId('refusal-column').textContent).toBe('leadTimeDays');
    expect(within(first).getByTestId('refused-value').textContent).toBe('400');
    // The batch position ("changes[2]: ") means nothing here.
    expect(within(first).getByTestId('refusal-reason').textContent).toBe(
      'components.leadTimeDays must be a whole number from 0 to 365. VALIDATION_FAILED',
    );
    expect(within(first).getByText('(refused 3 times)')).toBeTruthy();
    expect(within(rowOf(4)).getByTestId('refusal-column').textContent).toBe('(delete)');
    expect(within(rowOf(4)).getByTestId('refused-value').textContent).toBe('—');
  });

  it.each([
    // refusal, Take as sent, Fix and send…, Discard…
    [6, 'components.leadTimeDays of CMP-0042', true, true],
    [5, 'customers.type of Lower case', false, true],
    [4, 'quotes of 0b5e8f0e-1111-4c1d-9e2f-0a1b2c3d4e5f', false, false],
  ])('refusal %p (%s): Take as sent %p, Fix and send %p, Discard always', async (id, target, take, fix) => {
    stubRefusals();
    renderAs('admin', <RefusedChanges />);
    await loaded();

    const row = rowOf(id);
    expect(within(row).queryByRole('button', { name: `Take as sent: ${target}` }) !== null).toBe(take);
    expect(within(row).queryByRole('button', { name: `Fix and send: ${target}` }) !== null).toBe(fix);
    expect(within(row).getByRole('button', { name: `Discard: ${target}` })).toBeTruthy();
  });

  it('takes a value as sent: POST …/accept, and the change leaves the open list', async () => {
    const api = stubRefusals();
    renderAs('admin', <RefusedChanges />);
    await loaded();

    fireEvent.click(screen.getByRole('button', { name: 'Take as sent: components.leadTimeDays of CMP-0042' }));

    await waitFor(() => expect(rowOf(6)).toBeNull());
    expect(api.sent('POST', '/api/v1/refusals/*').map((r) => [r.path, r.body])).toEqual([['/api/v1/refusals/6/accept', undefined]]);
    expect(screen.getByTestId('refusals-announcement').textContent).toBe(
      'Refused change 6: Taken as sent by admin: components.leadTimeDays = "400".',
    );
  });

  it('discards a change only after the confirmation', async () => {
    const api = stubRefusals();
    renderAs('admin', <RefusedChanges />);
    await loaded();

    fireEvent.click(screen.getByRole('button', { name: 'Discard: customers.type of Lower case' }));
    const dialog = screen.getByRole('dialog', { name: 'Discard refused change 5?' });
    expect(dialog.textContent).toContain(
      'The master keeps its version of customers Lower case; alice’s change from SALES-PC-02 (type) is dropped.',
    );
    fireEvent.click(within(dialog).getByRole('button', { name: 'Discard change' }));

    await waitFor(() => expect(rowOf(5)).toBeNull());
    expect(api.sent('POST', '/api/v1/refusals/*').map((r) => r.path)).toEqual(['/api/v1/refusals/5/discard']);
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(document.activeElement).toBe(screen.getByTestId('refusals-heading'));
  });

  it('fixes a value and sends it as the column’s type: POST …/resubmit { values }', async () => {
    const api = stubRefusals();
    renderAs('admin', <RefusedChanges />);
    await loaded();

    fireEvent.click(screen.getByRole('button', { name: 'Fix and send: components.leadTimeDays of CMP-0042' }));
    const form = await screen.findByTestId('refusal-fix-form');
    const input = within(form).getByLabelText('leadTimeDaysrefused');
    expect(input).toHaveProperty('value', '400');
    await waitFor(() => expect(within(form).getByText(/A whole number; may be left empty\./)).toBeTruthy());
    expect(document.activeElement).toBe(input);

    // Another column may go along, prefilled with what the workstation sent.
    fireEvent.change(within(form).getByLabelText('Add another column'), { target: { value: 'price' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Add column' }));
    expect(within(form).getByLabelText('price')).toHaveProperty('value', '12.5');
    fireEvent.change(within(form).getByLabelText('price'), { target: { value: '13.75' } });
    fireEvent.change(input, { target: { value: '45' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Send fixed change' }));

    await waitFor(() => expect(rowOf(6)).toBeNull());
    expect(api.sent('POST', '/api/v1/refusals/6/resubmit').map((r) => r.body)).toEqual([{ values: { leadTimeDays: 45, price: 13.75 } }]);
    expect(screen.getByTestId('refusals-announcement').textContent).toBe('Refused change 6: Fixed and sent by admin.');
  });

  it('marks the field the server’s sentence names when the fix is refused again', async () => {
    const api = stubRefusals();
    renderAs('admin', <RefusedChanges />);
    await loaded();

    fireEvent.click(screen.getByRole('button', { name: 'Fix and send: components.leadTimeDays of CMP-0042' }));
    const form = await screen.findByTestId('refusal-fix-form');
    fireEvent.change(within(form).getByLabelText('leadTimeDaysrefused'), { target: { value: '366' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Send fixed change' }));

    const error = await within(form).findByTestId('refusal-fix-error');
    expect(error.textContent).toBe('The fixed change was not sent. components.leadTimeDays must be a whole number from 0 to 365.');
    expect(within(form).getByLabelText('leadTimeDaysrefused').getAttribute('aria-invalid')).toBe('true');
    expect(api.sent('POST', '/api/v1/refusals/6/resubmit').map((r) => r.body)).toEqual([{ values: { leadTimeDays: 366 } }]);
    expect(rowOf(6)).not.toBeNull();
  });

  it('shows the resolved ones with their status, who resolved them and how', async () => {
    const api = stubRefusals();
    renderAs('admin', <RefusedChanges />);
    await loaded();

    fireEvent.change(screen.getByLabelText('Show'), { target: { value: 'resolved' } });

    await waitFor(() => expect(screen.getByTestId('refusals-heading').textContent).toBe('Resolved refused changes (1)'));
    const row = rowOf(2);
    expect(within(row).getByTestId('refusal-status').textContent).toMatch(/^discarded/);
    expect(within(row).getByTestId('refusal-resolved-by').textContent).toMatch(/^by admin, /);
    expect(within(row).getByTestId('refusal-resolution').textContent).toBe('Discarded by admin.');
    expect(within(row).queryAllByRole('button')).toHaveLength(0);
    expect(api.requests.map((r) => r.path)).toContain('/api/v1/refusals?status=resolved&limit=200');
  });

  it('shows a manager the refused changes without actions', async () => {
    const api = stubRefusals();
    renderAs('manager', <RefusedChanges />);
    await loaded();

    expect(screen.getByTestId('read-only-note').textContent).toBe('Read-only: administrators act on refused changes.');
    expect(within(screen.getByTestId('refusals-table')).queryAllByRole('button')).toHaveLength(0);
    expect(api.requests.map((r) => r.method)).toEqual(['GET']);
  });

  it('says when nothing is refused', async () => {
    const api = stubRefusals();
    api.on('GET /api/v1/refusals?status=open&limit=200', ok<RefusalView[]>([]));
    renderAs('admin', <RefusedChanges />);
    expect((await screen.findByTestId('no-refusals')).textContent).toBe(
      'No refused changes: every workstation’s changes reached the master.',
    );
  });
});
