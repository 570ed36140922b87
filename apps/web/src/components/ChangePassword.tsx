'use client';

import { useRef, useState, type FormEvent } from 'react';
import { api, type ApiError } from '../lib/api';
import { asApiError, useCurrentUser } from '../lib/hooks';
import ErrorNotice from './ErrorNotice';

/** The signed-in person changes their own password (the current one is asked); their other sessions end. */
export default function ChangePassword() {
  const me = useCurrentUser();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [fieldError, setFieldError] = useState<{ field: 'current' | 'next' | 'again'; message: string } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [done, setDone] = useState(false);
  const [submitting, setSubmitting] = useState(false);
  const refs = { current: useRef<HTMLInputElement>(null), next: useRef<HTMLInputElement>(null), again: useRef<HTMLInputElement>(null) };

  function fail(field: 'current' | 'next' | 'again', message: string) {
    setFieldError({ field, message });
    refs[field].current?.focus();
  }

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (submitting) return;
    setDone(false);
    setError(null);
    setFieldError(null);
    if (!current) return fail('current', 'Enter your current password.');
    if (next.length < 10) return fail('next', 'The new password needs at least 10 characters.');
    if (next !== again) return fail('again', 'The two new passwords differ.');
    setSubmitting(true);
    try {
      await api.post('/api/v1/auth/password', { currentPassword: current, newPassword: next });
      setDone(true);
      setCurrent('');
      setNext('');
      setAgain('');
    } catch (err) {
      const e = asApiError(err);
      if (e.code === 'INVALID_CREDENTIALS') fail('current', e.message);
      else if (e.code === 'VALIDATION_FAILED' && /newPassword/.test(e.message))
        fail('next', e.message.replace(/^Invalid request body: newPassword /, 'The new password '));
      else setError(e);
    } finally {
      setSubmitting(false);
    }
  }

  const describedBy = (field: 'current' | 'next' | 'again', hint?: string) =>
    [hint, fieldError?.field === field ? `password-${field}-error` : undefined].filter(Boolean).join(' ') || undefined;

  return (
    <section className="card" data-testid="change-password" aria-labelledby="change-password-heading">
      <h1 id="change-password-heading">Your password</h1>
      <p className="muted">
        Change the password {me ? <strong>{me.username}</strong> : 'you'} signs in with. Your other signed-in browsers are signed out; this
        one stays.
      </p>
      {done ? (
        <p className="notice" role="status" data-testid="password-changed">
          Your password was changed. Other sessions of yours were signed out.
        </p>
      ) : null}
      {error ? <ErrorNotice error={error} lead="The password was not changed." /> : null}
      <form onSubmit={onSubmit} noValidate>
        {(
          [
            ['current', 'Current password', 'current-password', current, setCurrent, undefined],
            ['next', 'New password', 'new-password', next, setNext, 'At least 10 characters.'],
            ['again', 'New password again', 'new-password', again, setAgain, undefined],
          ] as const
        ).map(([field, label, autoComplete, value, set, hint]) => (
          <div className="field" key={field}>
            <label htmlFor={`password-${field}`}>{label}</label>
            <input
              id={`password-${field}`}
              ref={refs[field]}
              type="password"
              autoComplete={autoComplete}
              value={value}
              onChange={(e) => set(e.target.value)}
              aria-invalid={fieldError?.field === field ? true : undefined}
              aria-describedby={describedBy(field, hint ? `password-${field}-hint` : undefined)}
            />
            {hint ? (
              <span className="field-hint" id={`password-${field}-hint`}>
                {hint}
              </span>
            ) : null}
            {fieldError?.field === field ? (
              <span className="field-error" id={`password-${field}-error`} role="alert">
                {fieldError.message}
              </span>
            ) : null}
          </div>
        ))}
        <div className="form-actions">
          <button className="button" type="submit" disabled={submitting} aria-busy={submitting}>
            Change password
          </button>
        </div>
      </form>
    </section>
  );
}
