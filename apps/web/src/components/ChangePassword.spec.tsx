import { ChangePasswordRequest } from '@cacpq/sync-protocol';
import { fireEvent, screen } from '@testing-library/react';
import { checked, fail, noContent, stubApi, type ApiStub } from '../testing/api-stub';
import { description, renderAs } from '../testing/render';
import ChangePassword from './ChangePassword';

const PATH = '/api/v1/auth/password';

function stubPassword(): ApiStub {
  // 204 when the body passes the contract; the contract's sentence otherwise.
  return stubApi({ [`POST ${PATH}`]: checked(ChangePasswordRequest, () => noContent) });
}

function fill(current: string, next: string, again: string): void {
  fireEvent.change(screen.getByLabelText('Current password'), { target: { value: current } });
  fireEvent.change(screen.getByLabelText('New password'), { target: { value: next } });
  fireEvent.change(screen.getByLabelText('New password again'), { target: { value: again } });
  fireEvent.click(screen.getByRole('button', { name: 'Change password' }));
}

describe('ChangePassword', () => {
  it('names the signed-in account', () => {
    stubPassword();
    renderAs('manager', <ChangePassword />, 'marie');
    expect(screen.getByRole('heading', { name: 'Your password' })).toBeTruthy();
    expect(screen.getByTestId('change-password').textContent).toContain('Change the password marie signs in with.');
  });

  it.each([
    ['', 'long enough 1', 'long enough 1', 'Current password', 'Enter your current password.'],
    ['old password', 'short', 'short', 'New password', 'The new password needs at least 10 characters.'],
    ['old password', 'long enough 1', 'long enough 2', 'New password again', 'The two new passwords differ.'],
  ])('current %p, new %p, again %p: %s says "%s" and nothing is sent', (current, next, again, field, sentence) => {
    const api = stubPassword();
    renderAs('user', <ChangePassword />);
    fill(current, next, again);

    const input = screen.getByLabelText(field);
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(description(input)).toContain(sentence);
    expect(screen.getByRole('alert').textContent).toBe(sentence);
    expect(document.activeElement).toBe(input);
    expect(api.requests).toHaveLength(0);
  });

  it('sends the current and the new password, says it is done and empties the fields', async () => {
    document.cookie = 'cacpq_csrf=tok-9';
    const api = stubPassword();
    renderAs('admin', <ChangePassword />);
    fill('old password', 'new password 2026', 'new password 2026');

    const done = await screen.findByTestId('password-changed');
    expect(done.textContent).toBe('Your password was changed. Other sessions of yours were signed out.');
    expect(api.requests).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: PATH,
        body: { currentPassword: 'old password', newPassword: 'new password 2026' },
        headers: expect.objectContaining({ 'X-CSRF-Token': 'tok-9' }),
      }),
    ]);
    for (const label of ['Current password', 'New password', 'New password again']) {
      expect(screen.getByLabelText(label)).toHaveProperty('value', '');
    }
  });

  it('puts a wrong current password at the current password field', async () => {
    const api = stubPassword();
    api.on(`POST ${PATH}`, fail('INVALID_CREDENTIALS', 'The current password is wrong.'));
    renderAs('user', <ChangePassword />);
    fill('not it', 'new password 2026', 'new password 2026');

    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe('The current password is wrong.');
    const current = screen.getByLabelText('Current password');
    expect(current.getAttribute('aria-invalid')).toBe('true');
    expect(document.activeElement).toBe(current);
    expect(screen.queryByTestId('password-changed')).toBeNull();
  });

  it('puts the contract’s sentence about the new password at the new password field', async () => {
    stubPassword();
    renderAs('user', <ChangePassword />);
    const long = 'x'.repeat(201);
    fill('old password', long, long);

    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe('The new password must be at most 200 characters.');
    expect(screen.getByLabelText('New password').getAttribute('aria-invalid')).toBe('true');
  });

  it('shows any other refusal above the form', async () => {
    const api = stubPassword();
    api.on(`POST ${PATH}`, fail('RATE_LIMITED', 'Too many attempts. Wait a moment and try again.', { requestId: 'abc' }));
    renderAs('user', <ChangePassword />);
    fill('old password', 'new password 2026', 'new password 2026');

    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe('The password was not changed. Too many attempts. Wait a moment and try again. (request abc)');
    expect(screen.getByLabelText('New password')).toHaveProperty('value', 'new password 2026');
  });
});
