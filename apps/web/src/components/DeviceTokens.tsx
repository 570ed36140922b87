'use client';

import { useEffect, useRef, useState, type FormEvent, type RefObject } from 'react';
import { api, ApiError } from '../lib/api';
import { checkDevice, isRevoked, sortTokens, tokenPath, tokensPath, type CreatedToken, type TokenView } from '../lib/accounts';
import { formatDateTime } from '../lib/format';
import { asApiError, useApi } from '../lib/hooks';
import ConfirmDialog from './ConfirmDialog';
import ErrorNotice from './ErrorNotice';
import ServerConnection from './ServerConnection';

/** Copies with the Clipboard API, or by selecting the field and the old copy command where that is refused. */
async function copyText(text: string, field: HTMLInputElement | null): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (!field) return false;
    field.focus();
    field.select();
    try {
      return document.execCommand('copy');
    } catch {
      return false;
    }
  }
}

/** The token just issued: shown this once, with a Copy button. */
function IssuedToken({ token, onDone }: { token: CreatedToken; onDone: () => void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  const field = useRef<HTMLInputElement>(null);
  const [copyState, setCopyState] = useState('');

  useEffect(() => {
    heading.current?.focus();
  }, []);

  async function copy() {
    const ok = await copyText(token.token, field.current);
    setCopyState(ok ? 'Copied to the clipboard.' : 'Copying was refused by the browser: select the token and copy it yourself.');
  }

  return (
    <div className="issued-token" data-testid="issued-token" role="region" aria-labelledby="issued-token-heading">
      <h3 id="issued-token-heading" ref={heading} tabIndex={-1}>
        New device token for {token.device}
      </h3>
      <p data-testid="shown-once">
        <strong>Copy this token now: it will not be shown again.</strong> Enter it in the workstation’s sync settings; if it is lost, revoke
        it and issue a new one.
      </p>
      <div className="token-copy">
        <input
          ref={field}
          className="mono"
          readOnly
          value={token.token}
          aria-label={`Device token for ${token.device}`}
          data-testid="issued-token-value"
          onFocus={(e) => e.currentTarget.select()}
        />
        <button className="button" type="button" onClick={copy}>
          Copy
        </button>
      </div>
      <p className="small" role="status" aria-live="polite" data-testid="copy-state">
        {copyState}
      </p>
      <ServerConnection compact />
      <button className="button button-secondary button-small" type="button" onClick={onDone}>
        Done: I have copied it
      </button>
    </div>
  );
}

/** One account's device tokens; admins issue new ones (shown once) and revoke them (after a confirmation). */
export default function DeviceTokens({
  username,
  disabled,
  admin,
  headingRef,
  onChanged,
  onClose,
}: {
  username: string;
  disabled: boolean;
  admin: boolean;
  headingRef: RefObject<HTMLHeadingElement | null>;
  onChanged: () => void;
  onClose: () => void;
}) {
  const tokens = useApi<TokenView[]>(tokensPath(username));
  const [device, setDevice] = useState('');
  const [deviceError, setDeviceError] = useState<string | undefined>(undefined);
  const [issuing, setIssuing] = useState(false);
  const [issueError, setIssueError] = useState<ApiError | null>(null);
  const [issued, setIssued] = useState<CreatedToken | null>(null);
  const [revoking, setRevoking] = useState<TokenView | null>(null);
  const [revokeBusy, setRevokeBusy] = useState(false);
  const [revokeError, setRevokeError] = useState<ApiError | null>(null);
  const [announcement, setAnnouncement] = useState('');
  const deviceRef = useRef<HTMLInputElement>(null);
  /** After a revoke its button is gone, so focus goes to the heading; after Cancel, back to the button. */
  const focusHeading = useRef(false);

  useEffect(() => {
    headingRef.current?.scrollIntoView({ block: 'start' });
    headingRef.current?.focus({ preventScroll: true });
  }, [headingRef]);

  async function issue(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (issuing) return;
    const problem = checkDevice(device);
    setDeviceError(problem);
    if (problem) return deviceRef.current?.focus();
    setIssuing(true);
    setIssueError(null);
    try {
      const created = await api.post<CreatedToken>(tokensPath(username), { device: device.trim() });
      setIssued(created);
      setDevice('');
      tokens.reload();
      onChanged();
    } catch (err) {
      setIssueError(asApiError(err));
    } finally {
      setIssuing(false);
    }
  }

  async function revoke(token: TokenView) {
    setRevokeBusy(true);
    setRevokeError(null);
    focusHeading.current = true;
    try {
      await api.del<TokenView>(tokenPath(token.id));
      setAnnouncement(`The token of ${token.device} is revoked.`);
      if (issued?.id === token.id) setIssued(null);
      tokens.reload();
      onChanged();
    } catch (err) {
      setRevokeError(asApiError(err));
    } finally {
      setRevokeBusy(false);
      setRevoking(null);
    }
  }

  let list;
  if (tokens.loading && !tokens.data) {
    list = (
      <div role="status" aria-live="polite">
        <p className="muted">Loading the device tokens…</p>
      </div>
    );
  } else if (tokens.error && !tokens.data) {
    list = <ErrorNotice error={tokens.error} onRetry={tokens.reload} lead="The device tokens could not be loaded." />;
  } else if ((tokens.data ?? []).length === 0) {
    list = (
      <p className="muted" data-testid="no-tokens">
        {username} has no device tokens.
      </p>
    );
  } else {
    list = (
      <>
        {tokens.error ? <ErrorNotice error={tokens.error} onRetry={tokens.reload} lead="The latest refresh failed." /> : null}
        <div className="table-wrap">
          <table className="data" data-testid="tokens-table" aria-labelledby="tokens-heading">
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">State</th>
                <th scope="col">Issued</th>
                <th scope="col">Issued by</th>
                <th scope="col">Last used</th>
                {admin ? (
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {sortTokens(tokens.data ?? []).map((t) => (
                <tr key={t.id} data-token={t.id} data-device={t.device} data-revoked={isRevoked(t) ? 'true' : 'false'}>
                  <th scope="row">{t.device}</th>
                  <td>
                    {isRevoked(t) ? (
                      <span className="status-pill status-bad" title={formatDateTime(t.revokedAt!)}>
                        revoked
                      </span>
                    ) : (
                      <span className="status-pill status-ok">active</span>
                    )}
                  </td>
                  <td>{formatDateTime(t.createdAt)}</td>
                  <td>{t.createdBy}</td>
                  <td>{t.lastUsedAt ? formatDateTime(t.lastUsedAt) : <span className="muted">never</span>}</td>
                  {admin ? (
                    <td>
                      {isRevoked(t) ? null : (
                        <button
                          className="button button-secondary button-small button-warn"
                          type="button"
                          onClick={() => setRevoking(t)}
                          aria-label={`Revoke the token of ${t.device}`}
                        >
                          Revoke…
                        </button>
                      )}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </>
    );
  }

  return (
    <section className="card" id="tokens-panel" aria-labelledby="tokens-heading" data-testid="tokens-panel">
      <div className="panel-head">
        <h2 id="tokens-heading" ref={headingRef} tabIndex={-1}>
          Device tokens of {username}
        </h2>
        <button className="button button-secondary button-small" type="button" onClick={onClose}>
          Close
        </button>
      </div>
      <p className="muted small">
        Each workstation syncs with its own token. The server keeps only a hash, so a token cannot be shown again after it is issued.
        {disabled ? ` ${username} is disabled: these tokens are refused until the account is enabled.` : ''}
      </p>
      <p className="visually-hidden" role="status" aria-live="polite">
        {announcement}
      </p>

      {issued ? <IssuedToken token={issued} onDone={() => setIssued(null)} /> : null}

      {admin ? (
        <form className="issue-form" onSubmit={issue} noValidate data-testid="issue-token">
          {issueError ? <ErrorNotice error={issueError} lead="The token was not issued." /> : null}
          <div className="field">
            <label htmlFor="token-device">Device name</label>
            <input
              id="token-device"
              ref={deviceRef}
              value={device}
              onChange={(e) => setDevice(e.target.value)}
              autoComplete="off"
              placeholder="e.g. SALES-PC-03"
              aria-invalid={deviceError ? true : undefined}
              aria-describedby={deviceError ? 'token-device-error' : undefined}
            />
            {deviceError ? (
              <span className="field-error" id="token-device-error">
                {deviceError}
              </span>
            ) : null}
          </div>
          <button className="button" type="submit" disabled={issuing} aria-busy={issuing}>
            Issue token
          </button>
        </form>
      ) : null}

      {revokeError ? <ErrorNotice error={revokeError} lead="The token was not revoked." /> : null}
      {list}

      {revoking ? (
        <ConfirmDialog
          title={`Revoke the token of ${revoking.device}?`}
          confirmLabel="Revoke token"
          busy={revokeBusy}
          onCancel={() => {
            focusHeading.current = false;
            setRevoking(null);
          }}
          onConfirm={() => revoke(revoking)}
          returnFocus={() => (focusHeading.current ? headingRef.current : null)}
        >
          <p>The workstation {revoking.device} is refused from its next request on; it needs a new token to sync again.</p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
