import { CreateUserRequest, UpdateUserRequest, UserView, type TokenView } from '@cacpq/sync-protocol';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { checked, created, fail, ok, stubApi, type ApiStub } from '../testing/api-stub';
import { description, renderAs } from '../testing/render';
import Accounts from './Accounts';

function user(username: string, patch: Partial<UserView> = {}): UserView {
  // Parsed by the contract, so a fixture that drifts from the API's answer fails here.
  return UserView.parse({
    username,
    role: 'user',
    disabled: false,
    hasPassword: true,
    source: 'local',
    createdAt: '2026-01-05 09:00:00.000',
    updatedAt: '2026-01-05 09:00:00.000',
    lastLoginAt: null,
    activeTokens: 0,
    ...patch,
  });
}

const USERS: UserView[] = [
  user('admin', { role: 'admin', lastLoginAt: '2026-11-24 14:00:00.000' }),
  user('marie', { role: 'manager' }),
  user('sales-pc', { hasPassword: false, activeTokens: 2 }),
  user('jdoe', { source: 'directory', hasPassword: false }),
  user('old-temp', { disabled: true }),
];

function stubAccounts(users: UserView[] = USERS): ApiStub {
  return stubApi({
    'GET /api/v1/users': ok(users),
    'POST /api/v1/users': checked(CreateUserRequest, (body) =>
      created(user(body.username, { role: body.role, hasPassword: !!body.password })),
    ),
    'PATCH /api/v1/users/*': checked(UpdateUserRequest, (body, req) =>
      ok({ ...users.find((u) => req.path.endsWith(`/${u.username}`))!, ...body }),
    ),
    'GET /api/v1/users/sales-pc/tokens': ok<TokenView[]>([]),
    'GET /api/v1/server/tls': ok({ mode: 'off', requestSecure: false }),
  });
}

const createForm = () => screen.getByTestId('create-account');
const row = (username: string) => screen.getByRole('rowheader', { name: new RegExp(`^${username}`) }).closest('tr')!;

async function loaded(): Promise<void> {
  await screen.findByTestId('accounts-table');
}

describe('Accounts: the table', () => {
  it('lists each account with its role, state, way of signing in and tokens', async () => {
    stubAccounts();
    renderAs('admin', <Accounts />);
    await loaded();

    const rows = within(screen.getByTestId('accounts-table')).getAllByRole('row').slice(1);
    expect(rows.map((r) => r.getAttribute('data-user'))).toEqual(['admin', 'marie', 'sales-pc', 'jdoe', 'old-temp']);
    expect(within(row('admin')).getByText('(you)')).toBeTruthy();
    expect(within(row('sales-pc')).getByText('tokens only')).toBeTruthy();
    expect(within(row('sales-pc')).getAllByRole('cell')[3].textContent).toBe('2');
    expect(within(row('jdoe')).getByTestId('directory-account').textContent).toBe('directory');
    expect(within(row('old-temp')).getByText('disabled')).toBeTruthy();
    expect(within(row('marie')).getByText('never')).toBeTruthy();
  });

  it.each([
    // account, role select, Set password…, Disable… / Enable
    ['admin', false, false, null],
    ['marie', true, true, 'Disable marie'],
    ['jdoe', false, false, 'Disable jdoe'],
    ['old-temp', true, true, 'Enable old-temp'],
  ])('as an admin, %s has a role select: %p, Set password: %p, %s', async (username, roleSelect, setPassword, toggle) => {
    stubAccounts();
    renderAs('admin', <Accounts />);
    await loaded();
    const r = row(username);

    expect(within(r).queryByRole('combobox', { name: `Role of ${username}` }) !== null).toBe(roleSelect);
    expect(within(r).queryByRole('button', { name: `Set a new password for ${username}` }) !== null).toBe(setPassword);
    const toggles = within(r).queryAllByRole('button', { name: /^(Disable|Enable) / });
    expect(toggles.map((b) => b.getAttribute('aria-label'))).toEqual(toggle ? [toggle] : []);
  });

  it('shows a manager the accounts read-only', async () => {
    const api = stubAccounts();
    renderAs('manager', <Accounts />, 'marie');
    await loaded();

    expect(screen.getByTestId('read-only-note')).toBeTruthy();
    expect(screen.queryByTestId('create-account')).toBeNull();
    expect(screen.queryAllByRole('combobox')).toHaveLength(0);
    expect(screen.queryAllByRole('button', { name: /^(Disable|Enable|Set a new password)/ })).toHaveLength(0);
    expect(within(row('marie')).getByText('(you)')).toBeTruthy();
    expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/v1/users']);
  });

  it('says when the accounts could not be loaded', async () => {
    stubAccounts().on('GET /api/v1/users', fail('FORBIDDEN', 'You are not allowed to do this.', { requestId: 'r-7' }));
    renderAs('admin', <Accounts />);

    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe('The accounts could not be loaded. You are not allowed to do this. (request r-7)Retry');
  });
});

describe('Accounts: create an account', () => {
  it.each([
    // username, role, password, where the sentence is, the sentence
    ['', 'user', '', 'Username', 'Enter a username.'],
    ['x', 'user', '', 'Username', 'A username has 2 to 64 characters.'],
    ['-bad', 'user', '', 'Username', 'Use letters, digits and . _ @ - only, starting with a letter or digit.'],
    ['new.clerk', 'user', 'short', 'Password', 'A password has at least 10 characters.'],
    ['new.clerk', 'manager', '', 'Password', 'A manager signs in to the dashboard, so it needs a password.'],
  ])('%p as %s with password %p: "%s" says %p and nothing is sent', async (username, role, password, field, sentence) => {
    const api = stubAccounts();
    renderAs('admin', <Accounts />);
    await loaded();

    const form = createForm();
    fireEvent.change(within(form).getByLabelText('Username'), { target: { value: username } });
    fireEvent.change(within(form).getByLabelText('Role'), { target: { value: role } });
    fireEvent.change(within(form).getByLabelText('Password'), { target: { value: password } });
    fireEvent.click(within(form).getByRole('button', { name: 'Create account' }));

    const input = within(form).getByLabelText(field);
    await waitFor(() => expect(input.getAttribute('aria-invalid')).toBe('true'));
    expect(description(input)).toContain(sentence);
    expect(document.activeElement).toBe(input);
    expect(api.sent('POST', '/api/v1/users')).toHaveLength(0);
  });

  it('offers the three roles, user first chosen', async () => {
    stubAccounts();
    renderAs('admin', <Accounts />);
    await loaded();

    const select = within(createForm()).getByLabelText('Role') as HTMLSelectElement;
    expect(select.value).toBe('user');
    expect(
      within(select)
        .getAllByRole('option')
        .map((o) => (o as HTMLOptionElement).value),
    ).toEqual(['admin', 'manager', 'user']);
    expect(within(select).getByRole('option', { name: 'manager — reads the dashboard' })).toBeTruthy();
  });

  it.each([
    [
      'a manager with a password',
      ' new.manager ',
      'manager',
      'correct horse 1',
      { username: 'new.manager', role: 'manager', password: 'correct horse 1' },
    ],
    ['a token-only workstation account', 'SALES-PC-04', 'user', '', { username: 'SALES-PC-04', role: 'user' }],
  ])('creates %s: POST /api/v1/users %j, then reloads the list', async (_what, username, role, password, body) => {
    const api = stubAccounts();
    renderAs('admin', <Accounts />);
    await loaded();

    const form = createForm();
    fireEvent.change(within(form).getByLabelText('Username'), { target: { value: username } });
    fireEvent.change(within(form).getByLabelText('Role'), { target: { value: role } });
    fireEvent.change(within(form).getByLabelText('Password'), { target: { value: password } });
    fireEvent.click(within(form).getByRole('button', { name: 'Create account' }));

    await waitFor(() => expect(api.sent('GET', '/api/v1/users')).toHaveLength(2));
    expect(api.sent('POST', '/api/v1/users').map((r) => r.body)).toEqual([body]);
    expect(screen.getByText(`Account ${body.username} created (${role}).`)).toBeTruthy();
    // The form is empty again, ready for the next one.
    expect(within(form).getByLabelText('Username')).toHaveProperty('value', '');
    expect(within(form).getByLabelText('Password')).toHaveProperty('value', '');
    expect(within(form).getByLabelText('Role')).toHaveProperty('value', 'user');
  });

  it('shows the server’s sentence when the name is taken, and keeps the form filled', async () => {
    const api = stubAccounts();
    api.on('POST /api/v1/users', fail('ALREADY_EXISTS', 'A user named "marie" exists already.'));
    renderAs('admin', <Accounts />);
    await loaded();

    const form = createForm();
    fireEvent.change(within(form).getByLabelText('Username'), { target: { value: 'marie' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Create account' }));

    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe('The account was not created. A user named "marie" exists already.');
    expect(within(form).getByLabelText('Username')).toHaveProperty('value', 'marie');
    expect(api.sent('GET', '/api/v1/users')).toHaveLength(1);
  });
});

describe('Accounts: change, disable, set a password', () => {
  it('changes a role only after Save, with PATCH { role }', async () => {
    const api = stubAccounts();
    renderAs('admin', <Accounts />);
    await loaded();

    const select = within(row('marie')).getByRole('combobox', { name: 'Role of marie' });
    expect(within(row('marie')).queryByRole('button', { name: 'Change role of marie' })).toBeNull();
    fireEvent.change(select, { target: { value: 'admin' } });
    expect(api.sent('PATCH', '/api/v1/users/*')).toHaveLength(0);

    fireEvent.click(within(row('marie')).getByRole('button', { name: 'Change role of marie' }));
    await screen.findByText('marie is now an admin.');
    expect(api.sent('PATCH', '/api/v1/users/*').map((r) => [r.path, r.body])).toEqual([['/api/v1/users/marie', { role: 'admin' }]]);
  });

  it('disables an account only after the confirmation, and Cancel sends nothing', async () => {
    const api = stubAccounts();
    renderAs('admin', <Accounts />);
    await loaded();

    fireEvent.click(screen.getByRole('button', { name: 'Disable marie' }));
    let dialog = screen.getByRole('dialog', { name: 'Disable marie?' });
    expect(dialog.textContent).toContain('their device tokens are refused');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(api.sent('PATCH', '/api/v1/users/*')).toHaveLength(0);

    fireEvent.click(screen.getByRole('button', { name: 'Disable marie' }));
    dialog = screen.getByRole('dialog', { name: 'Disable marie?' });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Disable account' }));
    await screen.findByText('marie is disabled.');
    expect(api.sent('PATCH', '/api/v1/users/*').map((r) => [r.path, r.body])).toEqual([['/api/v1/users/marie', { disabled: true }]]);
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('enables a disabled account at once', async () => {
    const api = stubAccounts();
    renderAs('admin', <Accounts />);
    await loaded();

    fireEvent.click(screen.getByRole('button', { name: 'Enable old-temp' }));
    await screen.findByText('old-temp is enabled again.');
    expect(api.sent('PATCH', '/api/v1/users/*').map((r) => r.body)).toEqual([{ disabled: false }]);
  });

  it('shows the server’s refusal of the last admin’s demotion in the list', async () => {
    const api = stubAccounts([...USERS, user('second-admin', { role: 'admin' })]);
    api.on('PATCH /api/v1/users/*', fail('LAST_ADMIN', 'At least one enabled admin must remain.'));
    renderAs('admin', <Accounts />);
    await loaded();

    fireEvent.change(screen.getByRole('combobox', { name: 'Role of second-admin' }), { target: { value: 'user' } });
    fireEvent.click(screen.getByRole('button', { name: 'Change role of second-admin' }));

    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe('The role of second-admin was not changed. At least one enabled admin must remain.');
  });

  it.each([
    ['short', 'short', 'The password needs at least 10 characters.'],
    ['long enough 1', 'long enough 2', 'The two passwords differ.'],
  ])('Set password with %p / %p says "%s" and sends nothing', async (first, again, problem) => {
    const api = stubAccounts();
    renderAs('admin', <Accounts />);
    await loaded();

    fireEvent.click(screen.getByRole('button', { name: 'Set a new password for marie' }));
    const panel = screen.getByTestId('set-password');
    fireEvent.change(within(panel).getByLabelText('New password'), { target: { value: first } });
    fireEvent.change(within(panel).getByLabelText('New password again'), { target: { value: again } });
    fireEvent.click(within(panel).getByRole('button', { name: 'Set password' }));

    expect(within(panel).getByRole('alert').textContent).toBe(problem);
    expect(api.sent('PATCH', '/api/v1/users/*')).toHaveLength(0);
  });

  it('sets a new password for an account with PATCH { password }', async () => {
    const api = stubAccounts();
    renderAs('admin', <Accounts />);
    await loaded();

    fireEvent.click(screen.getByRole('button', { name: 'Set a new password for marie' }));
    const panel = screen.getByTestId('set-password');
    expect(within(panel).getByRole('heading').textContent).toBe('New password for marie');
    fireEvent.change(within(panel).getByLabelText('New password'), { target: { value: 'a fresh one 42' } });
    fireEvent.change(within(panel).getByLabelText('New password again'), { target: { value: 'a fresh one 42' } });
    fireEvent.click(within(panel).getByRole('button', { name: 'Set password' }));

    await screen.findByText('The password of marie was set; their dashboard sessions were ended.');
    expect(screen.queryByTestId('set-password')).toBeNull();
    expect(api.sent('PATCH', '/api/v1/users/*').map((r) => [r.path, r.body])).toEqual([
      ['/api/v1/users/marie', { password: 'a fresh one 42' }],
    ]);
  });

  it('opens the device tokens of an account', async () => {
    const api = stubAccounts();
    renderAs('admin', <Accounts />);
    await loaded();

    const button = screen.getByRole('button', { name: 'Device tokens of sales-pc' });
    fireEvent.click(button);
    expect(button.getAttribute('aria-expanded')).toBe('true');
    expect(await screen.findByText('sales-pc has no device tokens.')).toBeTruthy();
    expect(api.sent('GET', '/api/v1/users/sales-pc/tokens')).toHaveLength(1);
  });
});
