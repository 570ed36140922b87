'use client';

import type { AlertEvaluation, AlertView } from '@cacpq/sync-protocol';
import { useEffect, useState } from 'react';
import { api, type ApiError } from '../lib/api';
import { mergeAlerts, ruleLabel, subjectLabel } from '../lib/alerts';
import { formatDateTime, formatTime, plural } from '../lib/format';
import { asApiError, useCurrentUser } from '../lib/hooks';
import { useOps, useOpsEvent } from '../lib/ops';
import ErrorNotice from './ErrorNotice';
import '../styles/operations.css';

const ALERTS_PATH = '/api/v1/alerts?status=all&limit=100';

function AlertsTable({
  alerts,
  resolved,
  canAcknowledge,
  busy,
  onAcknowledge,
}: {
  alerts: AlertView[];
  resolved: boolean;
  canAcknowledge: boolean;
  busy: number | null;
  onAcknowledge: (a: AlertView) => void;
}) {
  return (
    <div className="table-wrap">
      <table className="data ops-alerts" data-testid={resolved ? 'resolved-alerts' : 'open-alerts'}>
        <caption className="visually-hidden">{resolved ? 'Resolved alerts, newest first' : 'Open alerts, newest first'}</caption>
        <thead>
          <tr>
            <th scope="col">Severity</th>
            <th scope="col">Alert</th>
            <th scope="col">Finding</th>
            <th scope="col">Opened</th>
            {resolved ? <th scope="col">Resolved</th> : null}
            <th scope="col">Acknowledged</th>
          </tr>
        </thead>
        <tbody>
          {alerts.map((a) => (
            <tr key={a.id} data-alert-id={a.id} data-rule={a.rule} data-status={a.status}>
              <td>
                <span className={`status-pill ${a.severity === 'critical' ? 'status-bad' : 'ops-warning'}`}>{a.severity}</span>
              </td>
              <td>
                <strong>{ruleLabel(a.rule)}</strong>
                <span className="muted small ops-subject">{subjectLabel(a.subject)}</span>
              </td>
              <td className="wrap">{a.message}</td>
              <td>{formatDateTime(a.openedAt)}</td>
              {resolved ? (
                <td className="wrap">
                  {a.resolvedAt ? formatDateTime(a.resolvedAt) : '—'}
                  {a.resolution ? <span className="muted small ops-subject">{a.resolution}</span> : null}
                </td>
              ) : null}
              <td data-testid="ack">
                {a.acknowledgedAt ? (
                  <span>
                    {a.acknowledgedBy ?? 'someone'}, {formatDateTime(a.acknowledgedAt)}
                  </span>
                ) : canAcknowledge ? (
                  <button
                    className="button button-secondary button-small"
                    type="button"
                    disabled={busy === a.id}
                    aria-busy={busy === a.id}
                    aria-label={`Acknowledge ${ruleLabel(a.rule)} alert ${a.id}`}
                    onClick={() => onAcknowledge(a)}
                  >
                    Acknowledge
                  </button>
                ) : (
                  <span className="muted">not yet</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Open and resolved alerts, live from `/ops`; admins acknowledge them and can evaluate the rules now. */
export default function Alerts() {
  const user = useCurrentUser();
  const admin = user?.role === 'admin';
  const { epoch } = useOps();
  const [alerts, setAlerts] = useState<AlertView[] | undefined>(undefined);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [actionError, setActionError] = useState<{ lead: string; error: ApiError } | null>(null);
  const [busy, setBusy] = useState<number | null>(null);
  const [evaluating, setEvaluating] = useState(false);
  const [announcement, setAnnouncement] = useState('');

  // On load and after every reconnect (events may have been missed while the socket was down).
  useEffect(() => {
    const controller = new AbortController();
    api.get<AlertView[]>(ALERTS_PATH, { signal: controller.signal }).then(
      (list) => {
        setAlerts((prev) =>
          (prev ?? []).reduce(
            mergeAlerts,
            list.slice().sort((a, b) => b.id - a.id),
          ),
        );
        setLoadError(null);
      },
      (err: unknown) => {
        if (!controller.signal.aborted) setLoadError(asApiError(err));
      },
    );
    return () => controller.abort();
  }, [epoch, attempt]);

  useOpsEvent('alert.opened', (a) => {
    setAlerts((prev) => mergeAlerts(prev ?? [], a));
    setAnnouncement(`New alert: ${a.message}`);
  });
  useOpsEvent('alert.resolved', (a) => {
    setAlerts((prev) => mergeAlerts(prev ?? [], a));
    setAnnouncement(`Resolved: ${ruleLabel(a.rule)}. ${a.resolution ?? ''}`);
  });

  async function acknowledge(a: AlertView) {
    setBusy(a.id);
    setActionError(null);
    try {
      const done = await api.post<AlertView>(`/api/v1/alerts/${a.id}/acknowledge`);
      setAlerts((prev) => mergeAlerts(prev ?? [], done));
      setAnnouncement(`${ruleLabel(a.rule)} alert acknowledged.`);
    } catch (err) {
      setActionError({ lead: 'The alert was not acknowledged.', error: asApiError(err) });
    } finally {
      setBusy(null);
    }
  }

  async function evaluate() {
    setEvaluating(true);
    setActionError(null);
    try {
      const e = await api.post<AlertEvaluation>('/api/v1/alerts/evaluate');
      setAlerts((prev) => [...e.opened, ...e.resolved].reduce(mergeAlerts, prev ?? []));
      setAnnouncement(
        `Evaluated at ${formatTime(e.evaluatedAt)}: ${e.opened.length} opened, ${e.resolved.length} resolved, ${plural(e.open, 'alert')} open.`,
      );
    } catch (err) {
      setActionError({ lead: 'The rules were not evaluated.', error: asApiError(err) });
    } finally {
      setEvaluating(false);
    }
  }

  const open = (alerts ?? []).filter((a) => a.status === 'open');
  const resolved = (alerts ?? []).filter((a) => a.status === 'resolved');

  let body;
  if (alerts === undefined && loadError) {
    body = <ErrorNotice error={loadError} onRetry={() => setAttempt((n) => n + 1)} lead="The alerts could not be loaded." />;
  } else if (alerts === undefined) {
    body = (
      <div role="status" aria-live="polite" className="card">
        <p className="muted">Loading the alerts…</p>
      </div>
    );
  } else {
    body = (
      <>
        {loadError ? <ErrorNotice error={loadError} onRetry={() => setAttempt((n) => n + 1)} lead="The latest refresh failed." /> : null}
        <section className="card" aria-labelledby="open-heading">
          <h2 id="open-heading">
            Open <span className="ops-count">({open.length})</span>
          </h2>
          {open.length ? (
            <AlertsTable alerts={open} resolved={false} canAcknowledge={admin} busy={busy} onAcknowledge={acknowledge} />
          ) : (
            <p className="muted" data-testid="no-open-alerts">
              No alert is open: every rule is within its threshold.
            </p>
          )}
        </section>
        <section className="card" aria-labelledby="resolved-heading">
          <h2 id="resolved-heading">
            Resolved <span className="ops-count">({resolved.length})</span>
          </h2>
          {resolved.length ? (
            <AlertsTable alerts={resolved} resolved canAcknowledge={admin} busy={busy} onAcknowledge={acknowledge} />
          ) : (
            <p className="muted" data-testid="no-resolved-alerts">
              No alert has resolved yet.
            </p>
          )}
        </section>
      </>
    );
  }

  return (
    <div data-testid="alerts" className="ops-page">
      <div className="page-head">
        <h1>Alerts</h1>
        {admin ? (
          <button className="button button-secondary" type="button" onClick={evaluate} disabled={evaluating} aria-busy={evaluating}>
            Evaluate now
          </button>
        ) : (
          <span className="muted small" data-testid="read-only-note">
            Read-only: administrators acknowledge alerts.
          </span>
        )}
      </div>
      <p className="muted small">
        The rules are evaluated every five minutes (see Settings for thresholds); alerts appear here as they open and resolve.
      </p>
      {actionError ? <ErrorNotice error={actionError.error} lead={actionError.lead} /> : null}
      <p className="ops-announce small" role="status" aria-live="polite" data-testid="alerts-status">
        {announcement}
      </p>
      {body}
    </div>
  );
}
