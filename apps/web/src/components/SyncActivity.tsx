'use client';

import { useId, useMemo, useState, type FormEvent } from 'react';
import { formatDateTime, plural } from '../lib/format';
import { useApi, useCurrentUser } from '../lib/hooks';
import {
  MONITORING_REFRESH_MS,
  query,
  useReloadOn,
  type SyncActivityPage,
  type SyncStats,
  type SyncTimeline,
  type WorkstationRow,
} from '../lib/monitoring';
import '../styles/monitoring.css';
import Chart, { SERIES_COLOURS, STATUS_COLOURS } from './charts/Chart';
import ErrorNotice from './ErrorNotice';
import { hourLabels, ReadOnlyNote, SectionLoading, sumHours } from './MonitoringParts';

const RANGES = [
  { key: '24h', label: 'Last 24 hours', hours: 24 },
  { key: '3d', label: 'Last 3 days', hours: 72 },
  { key: '7d', label: 'Last 7 days', hours: 168 },
  // The timeline answers at most 31 days, measured to the server's clock at the request.
  { key: '30d', label: 'Last 30 days', hours: 720 },
] as const;
type RangeKey = (typeof RANGES)[number]['key'];

interface Filters {
  range: RangeKey;
  user: string;
  clientId: string;
  status: '' | 'success' | 'error';
}

const PAGE_SIZE = 50;
const NO_FILTERS: Filters = { range: '24h', user: '', clientId: '', status: '' };

export default function SyncActivity() {
  const me = useCurrentUser();
  const formId = useId();
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [applied, setApplied] = useState<{ filters: Filters; from: string }>(() => ({ filters: NO_FILTERS, from: fromFor('24h') }));
  /** `before` of each page shown so far; the last is the current page (undefined: the newest). */
  const [cursors, setCursors] = useState<(number | undefined)[]>([undefined]);
  const before = cursors[cursors.length - 1];
  const f = applied.filters;

  const listing = useApi<SyncActivityPage>(
    `/api/v1/monitoring/sync-activity${query({
      from: applied.from,
      user: f.user,
      clientId: f.clientId,
      status: f.status,
      limit: PAGE_SIZE,
      before,
    })}`,
  );
  // The figures and charts follow the same filters as the list.
  const narrowed = { from: applied.from, user: f.user, clientId: f.clientId, status: f.status };
  const timeline = useApi<SyncTimeline>(`/api/v1/monitoring/sync-timeline${query(narrowed)}`, { refreshMs: MONITORING_REFRESH_MS });
  const stats = useApi<SyncStats>(`/api/v1/monitoring/sync-stats${query(narrowed)}`, { refreshMs: MONITORING_REFRESH_MS });
  const workstations = useApi<WorkstationRow[]>('/api/v1/monitoring/workstations');

  useReloadOn(['sync.finished'], () => {
    timeline.reload();
    stats.reload();
    workstations.reload();
    if (before === undefined) listing.reload();
  });

  const users = useMemo(() => unique((workstations.data ?? []).map((w) => w.user)), [workstations.data]);
  const clients = useMemo(
    () => unique((workstations.data ?? []).filter((w) => !draft.user || w.user === draft.user).map((w) => w.clientId)),
    [workstations.data, draft.user],
  );

  function apply(e?: FormEvent) {
    e?.preventDefault();
    setApplied({ filters: draft, from: fromFor(draft.range) });
    setCursors([undefined]);
  }

  function reset() {
    setDraft(NO_FILTERS);
    setApplied({ filters: NO_FILTERS, from: fromFor('24h') });
    setCursors([undefined]);
  }

  const rangeLabel = RANGES.find((r) => r.key === f.range)!.label.toLowerCase();
  const filtered = f.user || f.clientId || f.status;
  const scope =
    [f.user && `user ${f.user}`, f.clientId && `workstation ${f.clientId}`, f.status && `status ${f.status}`].filter(Boolean).join(', ') ||
    'every user and workstation';

  return (
    <div data-testid="sync-activity">
      <div className="page-head">
        <h1>Sync activity</h1>
        <span className="muted small">Updates as workstations sync. {me?.role === 'manager' ? <ReadOnlyNote /> : null}</span>
      </div>

      <form className="card mon-filters" onSubmit={apply} aria-label="Filters" data-testid="sync-filters">
        <div className="field">
          <label htmlFor={`${formId}-range`}>Range</label>
          <select id={`${formId}-range`} value={draft.range} onChange={(e) => setDraft({ ...draft, range: e.target.value as RangeKey })}>
            {RANGES.map((r) => (
              <option key={r.key} value={r.key}>
                {r.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${formId}-user`}>User</label>
          <select id={`${formId}-user`} value={draft.user} onChange={(e) => setDraft({ ...draft, user: e.target.value, clientId: '' })}>
            <option value="">Any user</option>
            {users.map((u) => (
              <option key={u} value={u}>
                {u}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${formId}-client`}>Workstation</label>
          <select id={`${formId}-client`} value={draft.clientId} onChange={(e) => setDraft({ ...draft, clientId: e.target.value })}>
            <option value="">Any workstation</option>
            {clients.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${formId}-status`}>Status</label>
          <select
            id={`${formId}-status`}
            value={draft.status}
            onChange={(e) => setDraft({ ...draft, status: e.target.value as Filters['status'] })}
          >
            <option value="">Any status</option>
            <option value="success">success</option>
            <option value="error">error</option>
          </select>
        </div>
        <div className="form-actions">
          <button className="button" type="submit">
            Apply filters
          </button>
          <button className="button button-secondary" type="button" onClick={reset}>
            Reset
          </button>
        </div>
      </form>

      <StatsFigures stats={stats} scope={scope} />

      <section className="mon-charts" aria-label="Sync charts">
        <p className="muted small mon-charts-note">
          Figures and charts: {scope}, {rangeLabel}, per hour of your local time.
          {timeline.error && timeline.data ? ' The latest refresh failed; the figures shown may be out of date.' : ''}
        </p>
        {!timeline.data && timeline.loading ? (
          <SectionLoading what="the sync charts" />
        ) : !timeline.data && timeline.error ? (
          <ErrorNotice error={timeline.error} onRetry={timeline.reload} lead="The sync charts could not be loaded." />
        ) : timeline.data ? (
          <TimelineCharts t={timeline.data} />
        ) : null}
      </section>

      <section className="card" aria-labelledby="sync-list-heading">
        <div className="card-head">
          <h2 id="sync-list-heading">Syncs</h2>
          <span className="muted small" data-testid="sync-list-scope">
            {rangeLabel}
            {f.user ? ` · user ${f.user}` : ''}
            {f.clientId ? ` · workstation ${f.clientId}` : ''}
            {f.status ? ` · status ${f.status}` : ''}
            {cursors.length > 1 ? ` · page ${cursors.length}` : ''}
          </span>
        </div>
        {!listing.data && listing.loading ? (
          <SectionLoading what="the sync listing" rows={6} />
        ) : !listing.data && listing.error ? (
          <ErrorNotice error={listing.error} onRetry={listing.reload} lead="The syncs could not be loaded." />
        ) : listing.data ? (
          <>
            {listing.error ? <ErrorNotice error={listing.error} onRetry={listing.reload} lead="The latest refresh failed." /> : null}
            {listing.data.rows.length === 0 ? (
              <p className="muted" data-testid="sync-empty">
                {filtered ? 'No syncs match these filters in this range.' : 'No syncs in this range.'}
              </p>
            ) : (
              <div className="table-wrap">
                <table className="data" data-testid="sync-table" aria-busy={listing.loading}>
                  <thead>
                    <tr>
                      <th scope="col">Time</th>
                      <th scope="col">Status</th>
                      <th scope="col">User</th>
                      <th scope="col">Workstation</th>
                      <th scope="col" className="num">
                        Pulled
                      </th>
                      <th scope="col" className="num">
                        Pushed
                      </th>
                      <th scope="col" className="num">
                        Conflicts
                      </th>
                      <th scope="col" className="num">
                        Duration
                      </th>
                      <th scope="col">Error</th>
                    </tr>
                  </thead>
                  <tbody>
                    {listing.data.rows.map((r) => (
                      <tr key={r.id} data-testid="sync-row" data-id={r.id} data-status={r.status}>
                        <td>{formatDateTime(r.syncTime)}</td>
                        <td>
                          <span className={`status-pill ${r.status === 'error' ? 'status-bad' : 'status-ok'}`}>{r.status}</span>
                        </td>
                        <td>{r.user ?? '—'}</td>
                        <td className="mono">{r.clientId ?? '—'}</td>
                        <td className="num">{r.recordsPulled.toLocaleString()}</td>
                        <td className="num">{r.recordsPushed.toLocaleString()}</td>
                        <td className="num">{r.conflicts.toLocaleString()}</td>
                        <td className="num">{r.durationMs.toLocaleString()} ms</td>
                        <td className="wrap">{r.error ?? ''}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            <nav className="mon-pager" aria-label="Pages of syncs">
              <button
                className="button button-secondary button-small"
                type="button"
                disabled={cursors.length === 1}
                onClick={() => setCursors((c) => c.slice(0, -1))}
              >
                Newer
              </button>
              <span className="muted small">{plural(listing.data.rows.length, 'sync')} on this page</span>
              <button
                className="button button-secondary button-small"
                type="button"
                disabled={listing.data.nextBefore === null}
                onClick={() => setCursors((c) => [...c, listing.data!.nextBefore ?? undefined])}
              >
                Older
              </button>
            </nav>
          </>
        ) : null}
      </section>
    </div>
  );
}

function fromFor(range: RangeKey): string {
  const hours = RANGES.find((r) => r.key === range)!.hours;
  return new Date(Date.now() - hours * 3_600_000).toISOString();
}

function unique(values: (string | null)[]): string[] {
  return [...new Set(values.filter((v): v is string => !!v))].sort((a, b) => a.localeCompare(b));
}

function StatsFigures({ stats, scope }: { stats: ReturnType<typeof useApi<SyncStats>>; scope: string }) {
  const s = stats.data;
  if (!s && stats.loading) return <SectionLoading what="the sync statistics" rows={1} />;
  if (!s && stats.error) return <ErrorNotice error={stats.error} onRetry={stats.reload} lead="The sync statistics could not be loaded." />;
  if (!s) return null;
  const pct = (x: number | null) => (x === null ? '—' : `${(Math.round(x * 1000) / 10).toLocaleString()}%`);
  return (
    <dl className="figures figures-band" aria-label={`Totals for the range (${scope})`} data-testid="sync-stats" data-scope={scope}>
      <div>
        <dt>Syncs</dt>
        <dd data-testid="stat-syncs">{s.syncs.toLocaleString()}</dd>
      </div>
      <div>
        <dt>Success rate</dt>
        <dd data-testid="stat-success-rate">{pct(s.successRate)}</dd>
      </div>
      <div>
        <dt>Failed</dt>
        <dd data-testid="stat-failed">{s.failed.toLocaleString()}</dd>
      </div>
      <div>
        <dt>Syncs with conflicts</dt>
        <dd>{pct(s.conflictRate)}</dd>
      </div>
      <div>
        <dt>Average duration</dt>
        <dd>{s.avgDurationMs === null ? '—' : `${Math.round(s.avgDurationMs).toLocaleString()} ms`}</dd>
      </div>
      <div>
        <dt>Records pulled / pushed</dt>
        <dd>
          {s.recordsPulled.toLocaleString()} / {s.recordsPushed.toLocaleString()}
        </dd>
      </div>
    </dl>
  );
}

function TimelineCharts({ t }: { t: SyncTimeline }) {
  const labels = hourLabels(t);
  const any = sumHours(t, 'syncs') > 0;
  const empty = 'No syncs in this range.';
  return (
    <div className="mon-chart-grid" data-testid="sync-charts" data-hours={t.hours.length}>
      <Chart
        kind="bar"
        label="Syncs per hour by status"
        testId="chart-sync-status"
        empty={empty}
        data={{
          labels,
          datasets: any
            ? t.statuses.map((status) => ({
                label: status,
                data: t.hours.map((h) => h.byStatus[status] ?? 0),
                backgroundColor: STATUS_COLOURS[status] ?? SERIES_COLOURS[6],
                stack: 'syncs',
              }))
            : [],
        }}
        options={{
          plugins: { title: { display: true, text: 'Syncs per hour by status' } },
          scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
        }}
      />
      <Chart
        kind="line"
        label="Sync duration per hour: median (p50) and 95th percentile (p95), in milliseconds"
        testId="chart-sync-duration"
        empty={empty}
        data={{
          labels,
          datasets: any
            ? [
                {
                  label: 'p50 (ms)',
                  data: t.hours.map((h) => h.p50DurationMs),
                  borderColor: SERIES_COLOURS[0],
                  backgroundColor: SERIES_COLOURS[0],
                  spanGaps: true,
                  pointRadius: 2,
                },
                {
                  label: 'p95 (ms)',
                  data: t.hours.map((h) => h.p95DurationMs),
                  borderColor: SERIES_COLOURS[2],
                  backgroundColor: SERIES_COLOURS[2],
                  spanGaps: true,
                  pointRadius: 2,
                },
              ]
            : [],
        }}
        options={{
          plugins: { title: { display: true, text: 'Duration per hour (p50, p95)' } },
          scales: { y: { beginAtZero: true, title: { display: true, text: 'ms' } } },
        }}
      />
      <Chart
        kind="bar"
        label="Records pulled and pushed per hour"
        testId="chart-sync-records"
        empty={empty}
        data={{
          labels,
          datasets: any
            ? [
                { label: 'pulled', data: t.hours.map((h) => h.recordsPulled), backgroundColor: SERIES_COLOURS[0] },
                { label: 'pushed', data: t.hours.map((h) => h.recordsPushed), backgroundColor: SERIES_COLOURS[1] },
              ]
            : [],
        }}
        options={{
          plugins: { title: { display: true, text: 'Records pulled and pushed per hour' } },
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        }}
      />
      <Chart
        kind="bar"
        label="Conflicts per hour"
        testId="chart-sync-conflicts"
        empty={empty}
        data={{
          labels,
          datasets: any ? [{ label: 'conflicts', data: t.hours.map((h) => h.conflicts), backgroundColor: STATUS_COLOURS.conflict }] : [],
        }}
        options={{
          plugins: { title: { display: true, text: 'Conflicts per hour' } },
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        }}
      />
    </div>
  );
}
