import { CreatedToken, CreateTokenRequest, TokenView } from '@cacpq/sync-protocol';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { createRef } from 'react';
import { checked, created, fail, ok, stubApi, type ApiStub } from '../testing/api-stub';
import { description } from '../testing/render';
import DeviceTokens from './DeviceTokens';

const TOKENS_PATH = '/api/v1/users/sales/tokens';

function token(id: string, device: string, patch: Partial<TokenView> = {}): TokenView {
  return TokenView.parse({
    id,
    username: 'sales',
    device,
    createdAt: '2026-11-01 08:00:00.000',
    createdBy: 'admin',
    lastUsedAt: null,
    revokedAt: null,
    ...patch,
  });
}

const EXISTING = [
  token('t-old', 'SALES-PC-01', { createdAt: '2026-01-01 08:00:00.000', revokedAt: '2026-06-01 08:00:00.000' }),
  token('t-02', 'SALES-PC-02', { createdAt: '2026-10-01 08:00:00.000', lastUsedAt: '2026-11-24 13:00:00.000' }),
  token('t-03', 'SALES-PC-03', { createdAt: '2026-11-01 08:00:00.000' }),
];

const SECRET = 'cacpq_tok_9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

function stubTokens(list: TokenView[] = EXISTING): ApiStub {
  return stubApi({
    [`GET ${TOKENS_PATH}`]: ok(list),
    [`POST ${TOKENS_PATH}`]: checked(CreateTokenRequest, (body) =>
      created(CreatedToken.parse({ ...token('t-new', body.device, { createdAt: '2026-11-25 10:00:00.000' }), token: SECRET })),
    ),
    'DELETE /api/v1/tokens/*': (req) => ok({ ...list.find((t) => req.path.endsWith(t.id))!, revokedAt: '2026-11-25 10:05:00.000' }),
    'GET /api/v1/server/tls': ok({ mode: 'self-signed', requestSecure: true, fingerprint: 'AB:CD:EF:01' }),
  });
}

function renderTokens(admin = true, disabled = false) {
  const onChanged = jest.fn();
  const onClose = jest.fn();
  const headingRef = createRef<HTMLHeadingElement>();
  render(
    <DeviceTokens username="sales" disabled={disabled} admin={admin} headingRef={headingRef} onChanged={onChanged} onClose={onClose} />,
  );
  return { onChanged, onClose, headingRef };
}

async function issue(device: string): Promise<void> {
  fireEvent.change(screen.getByLabelText('Device name'), { target: { value: device } });
  fireEvent.click(screen.getByRole('button', { name: 'Issue token' }));
}

describe('DeviceTokens', () => {
  it('lists active tokens first (newest first), then revoked ones', async () => {
    stubTokens();
    const { headingRef } = renderTokens();
    const table = await screen.findByTestId('tokens-table');

    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((r) => [r.getAttribute('data-device'), r.getAttribute('data-revoked')])).toEqual([
      ['SALES-PC-03', 'false'],
      ['SALES-PC-02', 'false'],
      ['SALES-PC-01', 'true'],
    ]);
    expect(within(rows[0]).getByText('never')).toBeTruthy();
    expect(within(rows[2]).getByText('revoked')).toBeTruthy();
    expect(within(rows[2]).queryByRole('button')).toBeNull();
    expect(document.activeElement).toBe(headingRef.current);
  });

  it('issues a token and shows it once, with the fingerprint, until Done', async () => {
    const api = stubTokens();
    const { onChanged } = renderTokens();
    await screen.findByTestId('tokens-table');

    await issue('  SALES-PC-04 ');

    const region = await screen.findByRole('region', { name: 'New device token for SALES-PC-04' });
    expect(within(region).getByTestId('shown-once').textContent).toMatch(/^Copy this token now: it will not be shown again\./);
    expect(within(region).getByLabelText('Device token for SALES-PC-04')).toHaveProperty('value', SECRET);
    expect((await within(region).findByTestId('tls-fingerprint')).textContent).toBe('AB:CD:EF:01');
    expect(api.sent('POST', TOKENS_PATH).map((r) => r.body)).toEqual([{ device: 'SALES-PC-04' }]);
    expect(onChanged).toHaveBeenCalledTimes(1);
    expect(api.sent('GET', TOKENS_PATH)).toHaveLength(2);
    expect(screen.getByLabelText('Device name')).toHaveProperty('value', '');

    fireEvent.click(within(region).getByRole('button', { name: 'Done: I have copied it' }));
    expect(screen.queryByTestId('issued-token')).toBeNull();
    // The secret is nowhere on the page any more.
    expect(document.body.innerHTML).not.toContain(SECRET);
  });

  it.each([
    ['the clipboard takes it', true, 'Copied to the clipboard.'],
    ['the browser refuses', false, 'Copying was refused by the browser: select the token and copy it yourself.'],
  ])('Copy when %s says "%s"', async (_case, allowed, said) => {
    stubTokens();
    const writeText = jest.fn(async () => {
      if (!allowed) throw new DOMException('Denied', 'NotAllowedError');
    });
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    renderTokens();
    await screen.findByTestId('tokens-table');
    await issue('SALES-PC-04');

    fireEvent.click(await screen.findByRole('button', { name: 'Copy' }));

    await waitFor(() => expect(screen.getByTestId('copy-state').textContent).toBe(said));
    expect(writeText).toHaveBeenCalledWith(SECRET);
  });

  it.each([
    ['', 'Name the device (e.g. the workstation’s computer name).'],
    ['   ', 'Name the device (e.g. the workstation’s computer name).'],
    ['x'.repeat(101), 'A device name has at most 100 characters.'],
  ])('device name %p is refused before sending: "%s"', async (device, sentence) => {
    const api = stubTokens();
    renderTokens();
    await screen.findByTestId('tokens-table');
    await issue(device);

    const input = screen.getByLabelText('Device name');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(description(input)).toBe(sentence);
    expect(api.sent('POST', TOKENS_PATH)).toHaveLength(0);
  });

  it('shows the server’s sentence when the token was not issued', async () => {
    const api = stubTokens();
    api.on(`POST ${TOKENS_PATH}`, fail('ACCOUNT_DISABLED', 'sales is disabled: enable the account first.'));
    const { onChanged } = renderTokens(true, true);
    await screen.findByTestId('tokens-table');
    expect(screen.getByText(/sales is disabled: these tokens are refused until the account is enabled\./)).toBeTruthy();
    await issue('SALES-PC-04');

    expect((await screen.findByRole('alert')).textContent).toBe('The token was not issued. sales is disabled: enable the account first.');
    expect(screen.queryByTestId('issued-token')).toBeNull();
    expect(onChanged).not.toHaveBeenCalled();
  });

  it('revokes a token after the confirmation, with DELETE /api/v1/tokens/:id', async () => {
    const api = stubTokens();
    const { onChanged, headingRef } = renderTokens();
    await screen.findByTestId('tokens-table');

    fireEvent.click(screen.getByRole('button', { name: 'Revoke the token of SALES-PC-02' }));
    const dialog = screen.getByRole('dialog', { name: 'Revoke the token of SALES-PC-02?' });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Revoke token' }));

    await screen.findByText('The token of SALES-PC-02 is revoked.');
    expect(api.sent('DELETE', '/api/v1/tokens/*').map((r) => r.path)).toEqual(['/api/v1/tokens/t-02']);
    expect(onChanged).toHaveBeenCalledTimes(1);
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(document.activeElement).toBe(headingRef.current);
  });

  it('Cancel in the confirmation revokes nothing', async () => {
    const api = stubTokens();
    renderTokens();
    await screen.findByTestId('tokens-table');

    const button = screen.getByRole('button', { name: 'Revoke the token of SALES-PC-03' });
    fireEvent.click(button);
    fireEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Cancel' }));

    expect(screen.queryByRole('dialog')).toBeNull();
    expect(api.sent('DELETE', '/api/v1/tokens/*')).toHaveLength(0);
  });

  it('shows a manager the tokens without the issue form or Revoke', async () => {
    const api = stubTokens();
    const { onClose } = renderTokens(false);
    await screen.findByTestId('tokens-table');

    expect(screen.queryByTestId('issue-token')).toBeNull();
    expect(screen.queryAllByRole('button', { name: /^Revoke/ })).toHaveLength(0);
    fireEvent.click(screen.getByRole('button', { name: 'Close' }));
    expect(onClose).toHaveBeenCalledTimes(1);
    expect(api.requests.map((r) => r.method)).toEqual(['GET']);
  });

  it('says when an account has no tokens', async () => {
    stubTokens([]);
    renderTokens();
    expect((await screen.findByTestId('no-tokens')).textContent).toBe('sales has no device tokens.');
  });
});
