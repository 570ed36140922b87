/* Users and device tokens (GET/POST/PATCH /api/v1/users…, DELETE /api/v1/tokens/:id): shapes, paths and form checks. */

import { ACCOUNT_RULES, type CreatedToken, type Role, type TokenView, type UserView } from '@cacpq/sync-protocol';

export type { CreatedToken, Role, TokenView, UserView };

export const USERS_PATH = '/api/v1/users';

export function userPath(username: string): string {
  return `${USERS_PATH}/${encodeURIComponent(username)}`;
}

export function tokensPath(username: string): string {
  return `${userPath(username)}/tokens`;
}

export function tokenPath(id: string): string {
  return `/api/v1/tokens/${encodeURIComponent(id)}`;
}

export const ROLES: readonly { value: Role; label: string; description: string }[] = [
  { value: 'admin', label: 'admin', description: 'manages everything' },
  { value: 'manager', label: 'manager', description: 'reads the dashboard' },
  { value: 'user', label: 'user', description: 'workstation sync only' },
];

/** The server's rules (the contract's ACCOUNT_RULES), checked before sending so the form can point at the field. */
const USERNAME = ACCOUNT_RULES.usernamePattern;
export const PASSWORD_MIN = ACCOUNT_RULES.passwordMin;

export interface NewAccount {
  username: string;
  role: Role;
  password: string;
}

export type NewAccountErrors = Partial<Record<keyof NewAccount, string>>;

/** Sentences per field; empty when the account can be sent. Admins and managers sign in, so they need a password. */
export function checkNewAccount(a: NewAccount): NewAccountErrors {
  const errors: NewAccountErrors = {};
  const name = a.username.trim();
  if (!name) errors.username = 'Enter a username.';
  else if (name.length < ACCOUNT_RULES.usernameMin || name.length > ACCOUNT_RULES.usernameMax)
    errors.username = `A username has ${ACCOUNT_RULES.usernameMin} to ${ACCOUNT_RULES.usernameMax} characters.`;
  else if (!USERNAME.test(name)) errors.username = 'Use letters, digits and . _ @ - only, starting with a letter or digit.';
  if (a.password) {
    if (a.password.length < PASSWORD_MIN) errors.password = `A password has at least ${PASSWORD_MIN} characters.`;
    else if (a.password.length > ACCOUNT_RULES.passwordMax)
      errors.password = `A password has at most ${ACCOUNT_RULES.passwordMax} characters.`;
  } else if (a.role !== 'user') {
    errors.password = `${a.role === 'admin' ? 'An' : 'A'} ${a.role} signs in to the dashboard, so it needs a password.`;
  }
  return errors;
}

/** The request body: no password key for a token-only workstation account. */
export function newAccountBody(a: NewAccount): { username: string; role: Role; password?: string } {
  return { username: a.username.trim(), role: a.role, ...(a.password ? { password: a.password } : {}) };
}

export function checkDevice(device: string): string | undefined {
  const d = device.trim();
  if (!d) return 'Name the device (e.g. the workstation’s computer name).';
  if (d.length > 100) return 'A device name has at most 100 characters.';
  return undefined;
}

export function isRevoked(t: TokenView): boolean {
  return t.revokedAt !== null;
}

/** Active tokens first (newest first), then revoked ones. */
export function sortTokens(tokens: TokenView[]): TokenView[] {
  return [...tokens].sort((a, b) => Number(isRevoked(a)) - Number(isRevoked(b)) || b.createdAt.localeCompare(a.createdAt));
}
