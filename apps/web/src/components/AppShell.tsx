'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { api, ApiError } from '../lib/api';
import { CurrentUserContext, useMe } from '../lib/hooks';
import { NAV } from '../lib/nav';
import { OpsProvider, useOps } from '../lib/ops';
import ErrorNotice from './ErrorNotice';
import MaintenanceBanner from './MaintenanceBanner';
import '../styles/shell.css';

export default function AppShell({ children }: { children: ReactNode }) {
  const pathname = usePathname();
  const me = useMe();
  const [signingOut, setSigningOut] = useState(false);
  const [signOutError, setSignOutError] = useState<ApiError | null>(null);
  /** Narrow screens: the navigation folds behind a Menu button (always shown on wide screens). */
  const [menuOpen, setMenuOpen] = useState(false);
  const [menuPath, setMenuPath] = useState(pathname);
  const menuButton = useRef<HTMLButtonElement>(null);
  // A page opened from the folded menu closes it again.
  if (menuPath !== pathname) {
    setMenuPath(pathname);
    setMenuOpen(false);
  }

  function onMenuKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    if (event.key === 'Escape' && menuOpen) {
      setMenuOpen(false);
      menuButton.current?.focus();
    }
  }

  async function signOut() {
    setSigningOut(true);
    setSignOutError(null);
    try {
      await api.post('/api/v1/auth/logout');
      window.location.assign('/login');
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        // Already signed out (or the session ended meanwhile).
        window.location.assign('/login');
        return;
      }
      setSignOutError(err instanceof ApiError ? err : new ApiError(0, 'CLIENT', 'Signing out failed. Try again.'));
      setSigningOut(false);
    }
  }

  const user = me.data?.user;
  /** Managers and admins see operations (maintenance mode, job progress); workstation accounts do not. */
  const operator = user !== undefined && user.role !== 'user';

  let body: ReactNode;
  if (me.loading && !me.data) {
    body = (
      <div role="status" aria-live="polite">
        <p className="muted">Loading…</p>
      </div>
    );
  } else if (me.error && !me.data) {
    body =
      me.error.status === 401 ? (
        <div role="status" aria-live="polite">
          <p className="muted">{me.error.message} Opening the sign-in page…</p>
        </div>
      ) : (
        <ErrorNotice error={me.error} onRetry={me.reload} lead="Your account could not be loaded." />
      );
  } else if (user?.role === 'user' && pathname !== '/password') {
    body = (
      <div className="notice" role="note" data-testid="role-notice">
        This account is for workstation sync; the dashboard is for managers and administrators. You can{' '}
        <Link href="/password">change your password</Link> here.
      </div>
    );
  } else {
    body = children;
  }

  return (
    <CurrentUserContext value={user}>
      <OpsProvider enabled={operator}>
        <a className="skip-link" href="#main">
          Skip to main content
        </a>
        <div className="shell">
          <header className="shell-sidebar">
            <div className="shell-top">
              <Link href="/" className="brand">
                CACPQ Sync Server
              </Link>
              <button
                ref={menuButton}
                className="shell-menu-button button button-secondary button-small"
                type="button"
                aria-expanded={menuOpen}
                aria-controls="shell-menu"
                onClick={() => setMenuOpen((open) => !open)}
              >
                Menu
              </button>
            </div>
            <div id="shell-menu" className="shell-menu" data-open={menuOpen ? 'true' : 'false'} onKeyDown={onMenuKeyDown}>
              <nav className="shell-nav" aria-label="Main">
                <ul>
                  {NAV.filter((item) => item.href === '/' || operator).map((item) => (
                    <li key={item.href}>
                      <Link href={item.href} aria-current={isCurrent(pathname, item.href) ? 'page' : undefined}>
                        {item.label}
                      </Link>
                    </li>
                  ))}
                </ul>
              </nav>
              <div className="shell-user">
                {user ? (
                  <span className="user-badge" data-testid="current-user">
                    <strong>{user.username}</strong> ({user.role})
                  </span>
                ) : null}
                {user ? (
                  <Link className="shell-password-link" href="/password" aria-current={pathname === '/password' ? 'page' : undefined}>
                    Change password
                  </Link>
                ) : null}
                {operator ? <LiveStatus /> : null}
                <button className="button button-secondary" type="button" onClick={signOut} disabled={signingOut} aria-busy={signingOut}>
                  Sign out
                </button>
              </div>
            </div>
          </header>
          <main className="shell-main" id="main" tabIndex={-1}>
            <div className="shell-content">
              {operator ? <MaintenanceBanner /> : null}
              {signOutError ? <ErrorNotice error={signOutError} lead="Signing out failed." /> : null}
              {body}
            </div>
          </main>
        </div>
      </OpsProvider>
    </CurrentUserContext>
  );
}

function isCurrent(pathname: string, href: string): boolean {
  return href === '/' ? pathname === '/' : pathname === href || pathname.startsWith(`${href}/`);
}

/**
 * Whether the pages are live: while the `/ops` socket is connected, figures, jobs and alerts change
 * on their own; while it is down they stay as last loaded (each page reloads when it is back).
 */
function LiveStatus() {
  const { connected, epoch } = useOps();
  const state = connected ? 'live' : epoch === 0 ? 'connecting' : 'reconnecting';
  return (
    <span className="live-status" data-testid="live-status" data-state={state} role="status">
      <span className="live-dot" aria-hidden="true" />
      {state === 'live' ? 'Live updates on' : state === 'connecting' ? 'Connecting for live updates…' : 'Live updates lost: reconnecting…'}
    </span>
  );
}
