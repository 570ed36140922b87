'use client';

import { useRef, useState, type FormEvent } from 'react';
import { api, ApiError } from '../lib/api';
import {
  checkNewAccount,
  newAccountBody,
  ROLES,
  userPath,
  USERS_PATH,
  type NewAccount,
  type NewAccountErrors,
  type Role,
  type UserView,
} from '../lib/accounts';
import { formatDateTime } from '../lib/format';
import { asApiError, useApi, useCurrentUser } from '../lib/hooks';
import ConfirmDialog from './ConfirmDialog';
import DeviceTokens from './DeviceTokens';
import ErrorNotice from './ErrorNotice';
import '../styles/accounts.css';

const EMPTY: NewAccount = { username: '', role: 'user', password: '' };

function CreateAccount({ onCreated }: { onCreated: (user: UserView) => void }) {
  const [form, setForm] = useState<NewAccount>(EMPTY);
  const [errors, setErrors] = useState<NewAccountErrors>({});
  const [submitting, setSubmitting] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const usernameRef = useRef<HTMLInputElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (submitting) return;
    const found = checkNewAccount(form);
    setErrors(found);
    if (found.username) return usernameRef.current?.focus();
    if (found.password) return passwordRef.current?.focus();
    setSubmitting(true);
    setError(null);
    try {
      const created = await api.post<UserView>(USERS_PATH, newAccountBody(form));
      setForm(EMPTY);
      onCreated(created);
      usernameRef.current?.focus();
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setSubmitting(false);
    }
  }

  const set = (patch: Partial<NewAccount>) => setForm((f) => ({ ...f, ...patch }));

  return (
    <section className="card" aria-labelledby="create-heading">
      <h2 id="create-heading">Create an account</h2>
      {error ? <ErrorNotice error={error} lead="The account was not created." /> : null}
      <form className="account-form" onSubmit={onSubmit} noValidate data-testid="create-account">
        <div className="field">
          <label htmlFor="new-username">Username</label>
          <input
            id="new-username"
            ref={usernameRef}
            value={form.username}
            onChange={(e) => set({ username: e.target.value })}
            autoComplete="off"
            spellCheck={false}
            aria-invalid={errors.username ? true : undefined}
            aria-describedby={errors.username ? 'new-username-error' : undefined}
          />
          {errors.username ? (
            <span className="field-error" id="new-username-error">
              {errors.username}
            </span>
          ) : null}
        </div>
        <div className="field">
          <label htmlFor="new-role">Role</label>
          <select id="new-role" value={form.role} onChange={(e) => set({ role: e.target.value as Role })}>
            {ROLES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label} — {r.description}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="new-password">Password</label>
          <input
            id="new-password"
            ref={passwordRef}
            type="password"
            value={form.password}
            onChange={(e) => set({ password: e.target.value })}
            autoComplete="new-password"
            aria-invalid={errors.password ? true : undefined}
            aria-describedby={errors.password ? 'new-password-error new-password-hint' : 'new-password-hint'}
          />
          <span className="field-hint" id="new-password-hint">
            At least 10 characters. Leave empty for a workstation account that only syncs with device tokens.
          </span>
          {errors.password ? (
            <span className="field-error" id="new-password-error">
              {errors.password}
            </span>
          ) : null}
        </div>
        <div className="form-actions">
          <button className="button" type="submit" disabled={submitting} aria-busy={submitting}>
            Create account
          </button>
        </div>
      </form>
    </section>
  );
}

function RoleControl({ user, busy, onChange }: { user: UserView; busy: boolean; onChange: (role: Role) => void }) {
  const [role, setRole] = useState<Role>(user.role);
  const [shownRole, setShownRole] = useState<Role>(user.role);
  // The list reloaded with another role (changed here or elsewhere): show it.
  if (shownRole !== user.role) {
    setShownRole(user.role);
    setRole(user.role);
  }
  return (
    <span className="role-control">
      <select aria-label={`Role of ${user.username}`} value={role} onChange={(e) => setRole(e.target.value as Role)} disabled={busy}>
        {ROLES.map((r) => (
          <option key={r.value} value={r.value}>
            {r.label}
          </option>
        ))}
      </select>
      {role !== user.role ? (
        <button
          className="button button-small"
          type="button"
          onClick={() => onChange(role)}
          disabled={busy}
          aria-busy={busy}
          aria-label={`Change role of ${user.username}`}
        >
          Save
        </button>
      ) : null}
    </span>
  );
}

/** An admin sets a new password for an account (no current password asked); the account's sessions end. */
function SetPassword({ username, onDone, onClose }: { username: string; onDone: (username: string) => void; onClose: () => void }) {
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const first = useRef<HTMLInputElement>(null);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (busy) return;
    setProblem(null);
    setError(null);
    if (password.length < 10) {
      setProblem('The password needs at least 10 characters.');
      first.current?.focus();
      return;
    }
    if (password !== again) {
      setProblem('The two passwords differ.');
      return;
    }
    setBusy(true);
    try {
      await api.patch<UserView>(userPath(username), { password });
      onDone(username);
    } catch (err) {
      setError(asApiError(err));
      setBusy(false);
    }
  }

  return (
    <section className="card" id="set-password-panel" data-testid="set-password" aria-labelledby="set-password-heading">
      <h2 id="set-password-heading">New password for {username}</h2>
      <p className="muted small">Their open dashboard sessions end; device tokens keep working.</p>
      {error ? <ErrorNotice error={error} lead={`The password of ${username} was not set.`} /> : null}
      <form onSubmit={onSubmit} noValidate>
        <div className="field">
          <label htmlFor="set-password-new">New password</label>
          <input
            id="set-password-new"
            ref={first}
            type="password"
            autoComplete="new-password"
            autoFocus
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            aria-describedby={problem ? 'set-password-problem' : 'set-password-hint'}
          />
          <span className="field-hint" id="set-password-hint">
            At least 10 characters. Give it to {username} another way than e-mail.
          </span>
        </div>
        <div className="field">
          <label htmlFor="set-password-again">New password again</label>
          <input
            id="set-password-again"
            type="password"
            autoComplete="new-password"
            value={again}
            onChange={(e) => setAgain(e.target.value)}
          />
        </div>
        {problem ? (
          <p className="field-error" id="set-password-problem" role="alert">
            {problem}
          </p>
        ) : null}
        <div className="form-actions">
          <button className="button" type="submit" disabled={busy} aria-busy={busy}>
            Set password
          </button>
          <button className="button button-secondary" type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}

/** Accounts with their role, state and device tokens; admins create, change, disable and issue/revoke, managers read. */
export default function Accounts() {
  const me = useCurrentUser();
  const admin = me?.role === 'admin';
  const users = useApi<UserView[]>(USERS_PATH);
  const [selected, setSelected] = useState<string | null>(null);
  const [busyUser, setBusyUser] = useState<string | null>(null);
  const [rowError, setRowError] = useState<{ lead: string; error: ApiError } | null>(null);
  const [disabling, setDisabling] = useState<UserView | null>(null);
  const [settingPassword, setSettingPassword] = useState<string | null>(null);
  const [announcement, setAnnouncement] = useState('');
  const tokensHeading = useRef<HTMLHeadingElement>(null);

  async function update(user: UserView, body: { role?: Role; disabled?: boolean }, done: string, failed: string): Promise<void> {
    setBusyUser(user.username);
    setRowError(null);
    try {
      await api.patch<UserView>(userPath(user.username), body);
      setAnnouncement(done);
      users.reload();
    } catch (err) {
      setRowError({ lead: failed, error: asApiError(err) });
    } finally {
      setBusyUser(null);
      setDisabling(null);
    }
  }

  function showTokens(username: string) {
    setSelected((current) => (current === username ? null : username));
  }

  let content;
  if (users.loading && !users.data) {
    content = (
      <div role="status" aria-live="polite">
        <p className="muted">Loading the accounts…</p>
      </div>
    );
  } else if (users.error && !users.data) {
    content = <ErrorNotice error={users.error} onRetry={users.reload} lead="The accounts could not be loaded." />;
  } else {
    const list = users.data ?? [];
    content = (
      <>
        {users.error ? <ErrorNotice error={users.error} onRetry={users.reload} lead="The latest refresh failed." /> : null}
        {rowError ? <ErrorNotice error={rowError.error} lead={rowError.lead} /> : null}
        {list.length === 0 ? (
          <p className="muted" data-testid="no-accounts">
            No accounts yet.
          </p>
        ) : (
          <div className="table-wrap">
            <table className="data" data-testid="accounts-table" aria-labelledby="accounts-heading">
              <thead>
                <tr>
                  <th scope="col">Username</th>
                  <th scope="col">Role</th>
                  <th scope="col">State</th>
                  <th scope="col">Sign-in</th>
                  <th scope="col" className="num">
                    Tokens
                  </th>
                  <th scope="col">Last sign-in</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.map((u) => {
                  const self = u.username === me?.username;
                  const busy = busyUser === u.username;
                  return (
                    <tr key={u.username} data-user={u.username} data-role={u.role} data-disabled={u.disabled ? 'true' : 'false'}>
                      <th scope="row" className="mono" title={`Created ${formatDateTime(u.createdAt)}`}>
                        {u.username}
                        {self ? <span className="muted small"> (you)</span> : null}
                      </th>
                      <td>
                        {admin && !self && u.source !== 'directory' ? (
                          <RoleControl
                            user={u}
                            busy={busy}
                            onChange={(role) =>
                              update(
                                u,
                                { role },
                                `${u.username} is now ${role === 'admin' ? 'an' : 'a'} ${role}.`,
                                `The role of ${u.username} was not changed.`,
                              )
                            }
                          />
                        ) : (
                          u.role
                        )}
                      </td>
                      <td>
                        <span className={`status-pill ${u.disabled ? 'status-bad' : 'status-ok'}`}>
                          {u.disabled ? 'disabled' : 'active'}
                        </span>
                      </td>
                      <td>
                        {u.source === 'directory' ? (
                          <span
                            className="small"
                            data-testid="directory-account"
                            title="Signs in with the company directory (LDAP); role from their groups"
                          >
                            directory
                          </span>
                        ) : u.hasPassword ? (
                          'password'
                        ) : (
                          'tokens only'
                        )}
                      </td>
                      <td className="num">{u.activeTokens}</td>
                      <td>{u.lastLoginAt ? formatDateTime(u.lastLoginAt) : <span className="muted">never</span>}</td>
                      <td>
                        <span className="row-buttons">
                          <button
                            className="button button-secondary button-small"
                            type="button"
                            aria-expanded={selected === u.username}
                            aria-controls={selected === u.username ? 'tokens-panel' : undefined}
                            aria-label={`Device tokens of ${u.username}`}
                            onClick={() => showTokens(u.username)}
                          >
                            Tokens
                          </button>
                          {admin && !self && u.source !== 'directory' ? (
                            <button
                              className="button button-secondary button-small"
                              type="button"
                              aria-expanded={settingPassword === u.username}
                              aria-controls={settingPassword === u.username ? 'set-password-panel' : undefined}
                              aria-label={`Set a new password for ${u.username}`}
                              onClick={() => setSettingPassword((current) => (current === u.username ? null : u.username))}
                            >
                              Set password…
                            </button>
                          ) : null}
                          {admin && !self ? (
                            u.disabled ? (
                              <button
                                className="button button-secondary button-small"
                                type="button"
                                disabled={busy}
                                aria-label={`Enable ${u.username}`}
                                onClick={() =>
                                  update(u, { disabled: false }, `${u.username} is enabled again.`, `${u.username} was not enabled.`)
                                }
                              >
                                Enable
                              </button>
                            ) : (
                              <button
                                className="button button-secondary button-small button-warn"
                                type="button"
                                disabled={busy}
                                aria-label={`Disable ${u.username}`}
                                onClick={() => setDisabling(u)}
                              >
                                Disable…
                              </button>
                            )
                          ) : null}
                        </span>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </>
    );
  }

  const selectedUser = users.data?.find((u) => u.username === selected);

  return (
    <div data-testid="accounts" className="accounts">
      <div className="page-head">
        <h1>Users and tokens</h1>
        {admin ? null : (
          <span className="muted small" data-testid="read-only-note">
            Read-only: administrators create accounts, change roles, disable accounts and issue or revoke device tokens.
          </span>
        )}
      </div>
      <p className="visually-hidden" role="status" aria-live="polite">
        {announcement}
      </p>

      {admin ? (
        <CreateAccount
          onCreated={(u) => {
            setAnnouncement(`Account ${u.username} created (${u.role}).`);
            users.reload();
          }}
        />
      ) : null}

      <section className="card" aria-labelledby="accounts-heading">
        <h2 id="accounts-heading">Accounts</h2>
        <p className="muted small">
          A disabled account cannot sign in and its device tokens are refused; its dashboard sessions end at once.
        </p>
        {content}
      </section>

      {settingPassword ? (
        <SetPassword
          key={settingPassword}
          username={settingPassword}
          onDone={(username) => {
            setAnnouncement(`The password of ${username} was set; their dashboard sessions were ended.`);
            setSettingPassword(null);
            users.reload();
          }}
          onClose={() => setSettingPassword(null)}
        />
      ) : null}

      {selected ? (
        <DeviceTokens
          key={selected}
          username={selected}
          disabled={selectedUser?.disabled ?? false}
          admin={admin}
          headingRef={tokensHeading}
          onChanged={users.reload}
          onClose={() => setSelected(null)}
        />
      ) : null}

      {disabling ? (
        <ConfirmDialog
          title={`Disable ${disabling.username}?`}
          confirmLabel="Disable account"
          busy={busyUser === disabling.username}
          onCancel={() => setDisabling(null)}
          onConfirm={() =>
            update(disabling, { disabled: true }, `${disabling.username} is disabled.`, `${disabling.username} was not disabled.`)
          }
        >
          <p>
            {disabling.username} will not be able to sign in, their open dashboard sessions end now and their device tokens are refused
            until the account is enabled again.
          </p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
