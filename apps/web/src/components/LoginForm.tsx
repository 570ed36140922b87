'use client';

import { useRef, useState, type FormEvent } from 'react';
import { api, errorMessage, safeNextPath } from '../lib/api';

interface LoginAnswer {
  user: { username: string; role: string };
  csrfToken: string;
  expiresAt: string;
}

export default function LoginForm() {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const passwordRef = useRef<HTMLInputElement>(null);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (submitting) return;
    if (!username.trim() || !password) {
      setError('Enter your username and password.');
      return;
    }
    setSubmitting(true);
    setError(null);
    try {
      await api.post<LoginAnswer>('/api/v1/auth/login', { username: username.trim(), password });
      const next = new URLSearchParams(window.location.search).get('next');
      window.location.assign(safeNextPath(next));
      // Keep the button disabled while the browser navigates away.
    } catch (err) {
      setError(errorMessage(err));
      setPassword('');
      setSubmitting(false);
      passwordRef.current?.focus();
    }
  }

  return (
    <form onSubmit={onSubmit} noValidate aria-describedby={error ? 'login-error' : undefined}>
      {error ? (
        <p id="login-error" className="alert" role="alert">
          {error}
        </p>
      ) : null}
      <div className="field">
        <label htmlFor="username">Username</label>
        <input
          id="username"
          name="username"
          type="text"
          autoComplete="username"
          autoCapitalize="none"
          autoCorrect="off"
          spellCheck={false}
          required
          autoFocus
          value={username}
          onChange={(e) => setUsername(e.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          ref={passwordRef}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </div>
      <button className="button" type="submit" disabled={submitting} aria-busy={submitting}>
        Sign in
      </button>
    </form>
  );
}
