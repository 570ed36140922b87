'use client';

import Link from 'next/link';
import type { ReactNode } from 'react';
import { formatBytes, formatDateTime, formatDuration, formatTime, plural, shortId } from '../lib/format';
import { HEALTH_REFRESH_MS, useApi, useCurrentUser, useLiveness, useReadiness } from '../lib/hooks';
import {
  MONITORING_REFRESH_MS,
  formatAge,
  usePresence,
  useReloadOn,
  type AlertView,
  type MonitoringHealth,
  type SyncTimeline,
} from '../lib/monitoring';
import '../styles/monitoring.css';
import Chart, { STATUS_COLOURS } from './charts/Chart';
import ErrorNotice from './ErrorNotice';
import ServerConnection from './ServerConnection';
import { hourLabels, ReadOnlyNote, SectionLoading, sumHours } from './MonitoringParts';

type TileKey =
  | 'status'
  | 'health'
  | 'uptime'
  | 'version'
  | 'sqlite'
  | 'generation'
  | 'protocol'
  | 'integrity'
  | 'backup'
  | 'disk'
  | 'maintenance'
  | 'connected';

function Tile({ id, label, title, children }: { id: TileKey; label: string; title?: string; children: ReactNode }) {
  return (
    <li className="tile" data-testid={`tile-${id}`}>
      <span className="tile-label">{label}</span>
      <span className="tile-value" title={title}>
        {children}
      </span>
    </li>
  );
}

function LoadingTiles() {
  return (
    <div role="status" aria-live="polite">
      <span className="visually-hidden">Loading server health…</span>
      <ul className="tiles" aria-hidden="true">
        {Array.from({ length: 12 }, (_, i) => (
          <li className="tile" key={i}>
            <span className="skeleton" style={{ width: '50%', height: '0.8rem' }} />
            <span className="skeleton" style={{ width: '75%' }} />
          </li>
        ))}
      </ul>
    </div>
  );
}

const HEALTH_CLASS: Record<MonitoringHealth['status'], string> = { ok: 'status-ok', warning: 'status-warn', critical: 'status-bad' };

export default function Overview() {
  const live = useLiveness();
  const ready = useReadiness();
  const health = useApi<MonitoringHealth>('/api/v1/monitoring/health', { refreshMs: HEALTH_REFRESH_MS });
  const presence = usePresence();
  const me = useCurrentUser();

  const retry = () => {
    live.reload();
    ready.reload();
    health.reload();
  };

  const hasAnyData = live.data !== undefined || ready.data !== undefined || health.data !== undefined;
  const firstError = live.error ?? ready.error ?? health.error;
  const ok = live.data?.status === 'ok' && ready.data?.ready === true && !live.error && !ready.error;
  const h = health.data;

  let content: ReactNode;
  if (!hasAnyData && (live.loading || ready.loading || health.loading) && !firstError) {
    content = <LoadingTiles />;
  } else if (!hasAnyData && firstError) {
    content = <ErrorNotice error={firstError} onRetry={retry} lead="Server health could not be loaded." />;
  } else {
    const files = ready.data?.files ?? [];
    const connected = presence.known ? presence.workstations.length : h?.connectedWorkstations;
    content = (
      <>
        {firstError ? <ErrorNotice error={firstError} onRetry={retry} lead="The latest refresh failed." /> : null}
        <ul className="tiles" aria-label="Server health">
          <Tile id="status" label="Server status">
            <span className={`status-pill ${ok ? 'status-ok' : 'status-bad'}`}>{ok ? 'ok' : 'not ready'}</span>
          </Tile>
          <Tile id="health" label="Health checks">
            {h ? <span className={`status-pill ${HEALTH_CLASS[h.status]}`}>{h.status}</span> : '—'}
          </Tile>
          <Tile id="integrity" label="Integrity" title={h?.quickCheck ? `${h.quickCheck.source}: ${h.quickCheck.result}` : undefined}>
            {h ? (
              h.quickCheck ? (
                <>
                  {h.quickCheck.result === 'ok' ? 'ok' : 'failed'} <span className="tile-sub">{formatAge(h.quickCheck.ageHours)}</span>
                </>
              ) : (
                <span className="tile-sub">no check yet</span>
              )
            ) : (
              '—'
            )}
          </Tile>
          <Tile id="backup" label="Last verified backup" title={h?.lastVerifiedBackup?.name}>
            {h ? (
              h.lastVerifiedBackup ? (
                <>
                  {formatAge(h.lastVerifiedBackup.ageHours)} <span className="tile-sub">{h.lastVerifiedBackup.name}</span>
                </>
              ) : (
                <span className="tile-sub">none yet</span>
              )
            ) : (
              '—'
            )}
          </Tile>
          <Tile id="disk" label="Free disk">
            {h ? formatBytes(h.freeDiskBytes) : '—'}
          </Tile>
          <Tile id="connected" label="Connected workstations">
            <span aria-live="polite">{connected ?? '—'}</span>
          </Tile>
          <Tile id="uptime" label="Uptime">
            {live.data ? formatDuration(live.data.uptimeSeconds) : '—'}
          </Tile>
          <Tile id="maintenance" label="Maintenance mode" title={h?.maintenance.reason ?? undefined}>
            {h ? h.maintenance.active ? <span className="status-pill status-warn">on</span> : 'off' : '—'}
          </Tile>
          <Tile id="sqlite" label="SQLite version">
            {h?.sqliteVersion ?? ready.data?.sqliteVersion ?? '—'}
          </Tile>
          <Tile id="generation" label="Generation" title={ready.data?.generation ?? h?.generation}>
            <span className="mono">{ready.data ? shortId(ready.data.generation) : h ? shortId(h.generation) : '—'}</span>
          </Tile>
          <Tile id="version" label="Version">
            {live.data?.version ?? '—'}
          </Tile>
          <Tile id="protocol" label="Protocol version">
            {ready.data?.protocolVersion ?? '—'}
          </Tile>
        </ul>

        {h ? (
          h.problems.length > 0 ? (
            <section className={`mon-problems mon-problems-${h.status}`} aria-labelledby="problems-heading" data-testid="health-problems">
              <h2 id="problems-heading">{h.status === 'critical' ? 'Critical findings' : 'Warnings'}</h2>
              <ul>
                {h.problems.map((p) => (
                  <li key={p}>{p}</li>
                ))}
              </ul>
            </section>
          ) : (
            <p className="mon-all-well" data-testid="health-problems-none">
              Every health check passes.
            </p>
          )
        ) : null}

        <div className="mon-grid">
          <Last24Hours />
          <ConnectedWorkstations />
        </div>

        <OpenAlerts />

        <section className="card" aria-labelledby="files-heading">
          <h2 id="files-heading">Database files</h2>
          {ready.data ? (
            files.length > 0 ? (
              <div className="table-wrap">
                <table className="data" data-testid="files-table">
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">State</th>
                      <th scope="col" className="num">
                        Size
                      </th>
                      <th scope="col" className="num">
                        WAL size
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {files.map((file) => (
                      <tr key={file.name}>
                        <td className="mono">{file.name}</td>
                        <td>
                          <span className={`status-pill ${file.open ? 'status-ok' : 'status-bad'}`}>{file.open ? 'open' : 'closed'}</span>
                        </td>
                        <td className="num">{file.bytes === undefined ? '—' : formatBytes(file.bytes)}</td>
                        <td className="num">{file.walBytes === undefined ? '—' : formatBytes(file.walBytes)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : (
              <p className="muted">The server reports no database files.</p>
            )
          ) : (
            <p className="muted">Database files are not known until the server answers the readiness check.</p>
          )}
          {ready.data?.dataDir && ready.data.startedAt ? (
            <p className="muted small">
              Data directory <code>{ready.data.dataDir}</code> · started {formatDateTime(ready.data.startedAt)}
            </p>
          ) : null}
        </section>

        <ServerConnection />
      </>
    );
  }

  return (
    <div data-testid="overview">
      <div className="page-head">
        <h1>Overview</h1>
        <span className="muted small">
          Health refreshes every 10 seconds; syncs, workstations and alerts arrive live. {me?.role === 'manager' ? <ReadOnlyNote /> : null}
        </span>
      </div>
      {content}
    </div>
  );
}

/** Syncs of the last 24 hours: totals and a bar per hour by status; fetched again after each `sync.finished`. */
function Last24Hours() {
  const timeline = useApi<SyncTimeline>('/api/v1/monitoring/sync-timeline', { refreshMs: MONITORING_REFRESH_MS });
  useReloadOn(['sync.finished'], timeline.reload);
  const t = timeline.data;
  return (
    <section className="card" aria-labelledby="last24-heading" data-testid="last-24h">
      <div className="card-head">
        <h2 id="last24-heading">Syncs in the last 24 hours</h2>
        <Link href="/sync">Sync activity</Link>
      </div>
      {!t && timeline.loading ? (
        <SectionLoading what="the last 24 hours of syncs" />
      ) : !t && timeline.error ? (
        <ErrorNotice error={timeline.error} onRetry={timeline.reload} lead="The syncs could not be loaded." />
      ) : t ? (
        <>
          {timeline.error ? <ErrorNotice error={timeline.error} onRetry={timeline.reload} lead="The latest refresh failed." /> : null}
          <dl className="figures" aria-live="polite">
            <div>
              <dt>Syncs</dt>
              <dd data-testid="figure-syncs">{sumHours(t, 'syncs').toLocaleString()}</dd>
            </div>
            <div>
              <dt>Failed</dt>
              <dd data-testid="figure-failed">{t.hours.reduce((a, x) => a + (x.byStatus.error ?? 0), 0).toLocaleString()}</dd>
            </div>
            <div>
              <dt>Conflicts</dt>
              <dd data-testid="figure-conflicts">{sumHours(t, 'conflicts').toLocaleString()}</dd>
            </div>
            <div>
              <dt>Records pulled / pushed</dt>
              <dd>
                {sumHours(t, 'recordsPulled').toLocaleString()} / {sumHours(t, 'recordsPushed').toLocaleString()}
              </dd>
            </div>
          </dl>
          <Chart
            kind="bar"
            label="Syncs per hour over the last 24 hours, by status"
            testId="chart-overview-syncs"
            height={200}
            empty="No syncs in the last 24 hours."
            data={{
              labels: hourLabels(t),
              datasets: sumHours(t, 'syncs')
                ? (t.statuses.length ? t.statuses : ['success']).map((status) => ({
                    label: status,
                    data: t.hours.map((x) => x.byStatus[status] ?? 0),
                    backgroundColor: STATUS_COLOURS[status] ?? '#5b6573',
                    stack: 'syncs',
                  }))
                : [],
            }}
            options={{ scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }}
          />
        </>
      ) : null}
    </section>
  );
}

/** `/sync` sockets connected now, live from `/ops`. */
function ConnectedWorkstations() {
  const { workstations, known } = usePresence();
  return (
    <section className="card" aria-labelledby="presence-heading" data-testid="connected-workstations">
      <div className="card-head">
        <h2 id="presence-heading">Connected workstations</h2>
        <Link href="/activity">User activity</Link>
      </div>
      <div aria-live="polite">
        {!known ? (
          <p className="muted">Waiting for the live connection…</p>
        ) : workstations.length === 0 ? (
          <p className="muted" data-testid="presence-empty">
            No workstation is connected right now. Workstations connect while their sync client runs.
          </p>
        ) : (
          <ul className="mon-list">
            {workstations.map((w) => (
              <li key={w.socketId} data-testid="presence" data-user={w.user}>
                <strong>{w.user}</strong> <span className="muted small">({w.role})</span>
                <span className="muted small"> · connected since {formatTime(w.since)}</span>
                {w.tokenId ? <span className="muted small mono"> · token {shortId(w.tokenId)}</span> : null}
              </li>
            ))}
          </ul>
        )}
      </div>
    </section>
  );
}

/** Open alerts, newest first; fetched again when one opens or resolves. */
function OpenAlerts() {
  const alerts = useApi<AlertView[]>('/api/v1/alerts?status=open&limit=20', { refreshMs: MONITORING_REFRESH_MS });
  useReloadOn(['alert.opened', 'alert.resolved'], alerts.reload, 200);
  const list = alerts.data;
  return (
    <section className="card" aria-labelledby="alerts-heading" data-testid="open-alerts">
      <div className="card-head">
        <h2 id="alerts-heading">Open alerts</h2>
        <Link href="/alerts">All alerts</Link>
      </div>
      {!list && alerts.loading ? (
        <SectionLoading what="open alerts" />
      ) : !list && alerts.error ? (
        <ErrorNotice error={alerts.error} onRetry={alerts.reload} lead="The alerts could not be loaded." />
      ) : list && list.length === 0 ? (
        <p className="muted" data-testid="alerts-empty">
          No open alerts.
        </p>
      ) : list ? (
        <ul className="mon-list" aria-live="polite">
          {list.map((a) => (
            <li key={a.id} data-testid="alert" data-rule={a.rule}>
              <span className={`status-pill ${a.severity === 'critical' ? 'status-bad' : 'status-warn'}`}>{a.severity}</span> {a.message}
              <span className="muted small"> · since {formatDateTime(a.openedAt)}</span>
            </li>
          ))}
          {list.length === 20 ? <li className="muted small">{plural(20, 'alert')} shown; see Alerts for the rest.</li> : null}
        </ul>
      ) : null}
    </section>
  );
}
