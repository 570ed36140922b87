'use client';

import type { ServerTlsView } from '@cacpq/sync-protocol';
import { formatDateTime } from '../lib/format';
import { useApi } from '../lib/hooks';

export const SERVER_TLS_PATH = '/api/v1/server/tls';

function modeLabel(tls: ServerTlsView): string {
  if (tls.mode === 'self-signed') return 'HTTPS with the server’s own (self-signed) certificate';
  if (tls.mode === 'files') return 'HTTPS with the configured certificate';
  return tls.requestSecure ? 'HTTPS through a proxy in front of the server' : 'Plain HTTP';
}

/** The fingerprint people compare with what their browser or workstation shows, in one selectable line. */
export function Fingerprint({ value }: { value: string }) {
  return (
    <code className="mono fingerprint" data-testid="tls-fingerprint" title="SHA-256 fingerprint of the server’s certificate">
      {value}
    </code>
  );
}

/**
 * How browsers and workstations reach this server: plain HTTP or HTTPS, and the certificate's
 * SHA-256 fingerprint, which workstations pin (`--fingerprint`) and people compare with the one
 * their browser shows before they trust a self-signed certificate.
 */
export default function ServerConnection({ compact = false }: { compact?: boolean }) {
  const state = useApi<ServerTlsView>(SERVER_TLS_PATH);
  const tls = state.data;
  if (!tls) return null;
  if (compact) {
    return tls.fingerprint ? (
      <p className="small" data-testid="token-fingerprint">
        This server’s certificate fingerprint (SHA-256), for the workstation’s <code>--fingerprint</code>:{' '}
        <Fingerprint value={tls.fingerprint} />
      </p>
    ) : null;
  }
  return (
    <section className="card" aria-labelledby="connection-heading" data-testid="server-connection" data-mode={tls.mode}>
      <h2 id="connection-heading">Connection</h2>
      <p data-testid="tls-mode">{modeLabel(tls)}</p>
      {tls.fingerprint ? (
        <dl className="facts">
          <dt>SHA-256 fingerprint</dt>
          <dd>
            <Fingerprint value={tls.fingerprint} />
          </dd>
          {tls.names && tls.names.length > 0 ? (
            <>
              <dt>Valid for</dt>
              <dd className="small">{tls.names.join(', ')}</dd>
            </>
          ) : null}
          {tls.validTo ? (
            <>
              <dt>Valid until</dt>
              <dd>{formatDateTime(tls.validTo)}</dd>
            </>
          ) : null}
        </dl>
      ) : null}
      {tls.mode === 'self-signed' ? (
        <p className="muted small">
          Before trusting this certificate in a browser, check that the fingerprint it shows is this one. Workstations pin it with{' '}
          <code>cacpq client init … --fingerprint</code> followed by the fingerprint.
        </p>
      ) : null}
      {tls.mode === 'off' && !tls.requestSecure ? (
        <p className="muted small" data-testid="plain-http-note">
          Passwords and device tokens cross the network unencrypted. Start the server with <code>TLS=self-signed</code> (or{' '}
          <code>TLS_CERT</code> and <code>TLS_KEY</code>) for HTTPS.
        </p>
      ) : null}
    </section>
  );
}
