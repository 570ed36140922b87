'use client';

import { useId, useMemo, useState } from 'react';
import { formatDateTime, plural } from '../lib/format';
import { useApi, useCurrentUser } from '../lib/hooks';
import {
  MONITORING_REFRESH_MS,
  CLOCK_ON_TIME_MS,
  STALE_SYNC_HOURS,
  formatAge,
  formatClockOffset,
  hoursSince,
  usePresence,
  useReloadOn,
  type ActiveUserRow,
  type UserDayRow,
  type WorkstationRow,
} from '../lib/monitoring';
import '../styles/monitoring.css';
import Chart, { SERIES_COLOURS } from './charts/Chart';
import ErrorNotice from './ErrorNotice';
import { ReadOnlyNote, SectionLoading } from './MonitoringParts';

const DAY_CHOICES = [7, 30, 90] as const;
/** People drawn as their own series; the rest are summed as "others". */
const MAX_SERIES = 6;
const NOBODY = '(no user)';

export default function UserActivity() {
  const me = useCurrentUser();
  const selectId = useId();
  const [days, setDays] = useState<number>(30);
  const active = useApi<ActiveUserRow[]>(`/api/v1/monitoring/active-users?days=${days}`, { refreshMs: MONITORING_REFRESH_MS });
  const perDay = useApi<UserDayRow[]>(`/api/v1/monitoring/user-days?days=${days}`, { refreshMs: MONITORING_REFRESH_MS });
  const workstations = useApi<WorkstationRow[]>('/api/v1/monitoring/workstations', { refreshMs: MONITORING_REFRESH_MS });
  useReloadOn(['sync.finished'], () => {
    active.reload();
    perDay.reload();
    workstations.reload();
  });

  return (
    <div data-testid="user-activity">
      <div className="page-head">
        <h1>User activity</h1>
        <span className="muted small">Updates as workstations sync. {me?.role === 'manager' ? <ReadOnlyNote /> : null}</span>
      </div>

      <div className="card mon-filters">
        <div className="field">
          <label htmlFor={selectId}>Period</label>
          <select id={selectId} value={days} onChange={(e) => setDays(Number(e.target.value))} data-testid="activity-days">
            {DAY_CHOICES.map((d) => (
              <option key={d} value={d}>
                Last {d} days
              </option>
            ))}
          </select>
        </div>
        <p className="muted small">Changes are rows of components, quotes and projects, counted by the day of their last change.</p>
      </div>

      <div className="mon-grid">
        <section className="card" aria-labelledby="active-heading">
          <h2 id="active-heading">Most active users</h2>
          <ActiveUsers state={active} days={days} />
        </section>
        <section className="card" aria-labelledby="perday-heading">
          <h2 id="perday-heading">Changes per user per day</h2>
          <ChangesPerDay state={perDay} days={days} />
        </section>
      </div>

      <Workstations state={workstations} />
    </div>
  );
}

type State<T> = ReturnType<typeof useApi<T>>;

function ActiveUsers({ state, days }: { state: State<ActiveUserRow[]>; days: number }) {
  const rows = state.data;
  if (!rows && state.loading) return <SectionLoading what="the most active users" />;
  if (!rows && state.error) return <ErrorNotice error={state.error} onRetry={state.reload} lead="The active users could not be loaded." />;
  if (!rows) return null;
  return (
    <>
      {state.error ? <ErrorNotice error={state.error} onRetry={state.reload} lead="The latest refresh failed." /> : null}
      {rows.length === 0 ? (
        <p className="muted" data-testid="active-users-empty">
          Nobody changed anything in the last {days} days.
        </p>
      ) : (
        <div className="table-wrap">
          <table className="data" data-testid="active-users-table">
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col" className="num">
                  Active days
                </th>
                <th scope="col" className="num">
                  Changes
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.updatedBy ?? ''} data-testid="active-user">
                  <td>{r.updatedBy ?? <span className="muted">{NOBODY}</span>}</td>
                  <td className="num">{r.activeDays.toLocaleString()}</td>
                  <td className="num">{r.totalChanges.toLocaleString()}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

/** Every UTC day of the last `days` (the server counts by DATE(updated_at), UTC). */
function dayAxis(days: number): string[] {
  const today = Math.floor(Date.now() / 86_400_000);
  return Array.from({ length: days + 1 }, (_, i) => new Date((today - days + i) * 86_400_000).toISOString().slice(0, 10));
}

function ChangesPerDay({ state, days }: { state: State<UserDayRow[]>; days: number }) {
  const rows = state.data;
  const chart = useMemo(() => {
    if (!rows) return undefined;
    const axis = dayAxis(days);
    const totals = new Map<string, number>();
    for (const r of rows) totals.set(r.updatedBy ?? NOBODY, (totals.get(r.updatedBy ?? NOBODY) ?? 0) + r.changes);
    const people = [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([p]) => p);
    const shown = people.slice(0, people.length > MAX_SERIES ? MAX_SERIES - 1 : MAX_SERIES);
    const series = [...shown, ...(people.length > shown.length ? ['others'] : [])];
    const index = new Map(axis.map((d, i) => [d, i]));
    const data = series.map(() => axis.map(() => 0));
    for (const r of rows) {
      const i = index.get(r.day);
      if (i === undefined) continue;
      const s = shown.indexOf(r.updatedBy ?? NOBODY);
      data[s < 0 ? series.length - 1 : s][i] += r.changes;
    }
    return {
      labels: axis.map((d) =>
        new Date(`${d}T00:00:00Z`).toLocaleDateString(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' }),
      ),
      datasets: rows.length
        ? series.map((p, s) => ({ label: p, data: data[s], backgroundColor: SERIES_COLOURS[s % SERIES_COLOURS.length], stack: 'changes' }))
        : [],
    };
  }, [rows, days]);
  if (!rows && state.loading) return <SectionLoading what="the changes per day" />;
  if (!rows && state.error)
    return <ErrorNotice error={state.error} onRetry={state.reload} lead="The changes per day could not be loaded." />;
  if (!chart) return null;
  return (
    <>
      {state.error ? <ErrorNotice error={state.error} onRetry={state.reload} lead="The latest refresh failed." /> : null}
      <Chart
        kind="bar"
        label={`Changes per user per day, last ${days} days (UTC days)`}
        testId="chart-user-days"
        empty={`Nobody changed anything in the last ${days} days.`}
        data={chart}
        options={{ scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }}
      />
    </>
  );
}

function Workstations({ state }: { state: State<WorkstationRow[]> }) {
  const { workstations: presence, known } = usePresence();
  const rows = state.data;
  const connectedUsers = new Set(presence.map((p) => p.user));
  const stale = (rows ?? []).filter((r) => hoursSince(r.lastSync) > STALE_SYNC_HOURS);
  return (
    <>
      <section className="card" aria-labelledby="stale-heading" data-testid="not-syncing">
        <h2 id="stale-heading">Not syncing</h2>
        {!rows ? (
          state.loading ? (
            <SectionLoading what="who is not syncing" rows={1} />
          ) : null
        ) : stale.length === 0 ? (
          <p className="mon-all-well" data-testid="not-syncing-none">
            Every workstation synced in the last {STALE_SYNC_HOURS} hours.
          </p>
        ) : (
          <>
            <p>
              {plural(stale.length, 'workstation')} did not sync for more than {STALE_SYNC_HOURS} hours (the guide: ensure all users are
              syncing).
            </p>
            <ul className="mon-list">
              {stale.map((r) => (
                <li key={`${r.user}|${r.clientId}`} data-testid="stale-workstation">
                  <strong>{r.user ?? '—'}</strong> on <span className="mono">{r.clientId ?? '—'}</span>: last sync{' '}
                  {formatAge(hoursSince(r.lastSync))} ({formatDateTime(r.lastSync)}, {r.lastStatus})
                </li>
              ))}
            </ul>
          </>
        )}
      </section>

      <section className="card" aria-labelledby="ws-heading">
        <h2 id="ws-heading">Last sync per user and workstation</h2>
        {!rows && state.loading ? (
          <SectionLoading what="the workstations" rows={5} />
        ) : !rows && state.error ? (
          <ErrorNotice error={state.error} onRetry={state.reload} lead="The workstations could not be loaded." />
        ) : rows ? (
          <>
            {state.error ? <ErrorNotice error={state.error} onRetry={state.reload} lead="The latest refresh failed." /> : null}
            {rows.length === 0 ? (
              <p className="muted" data-testid="workstations-empty">
                No workstation has synced yet.
              </p>
            ) : (
              <div className="table-wrap">
                <table className="data" data-testid="workstations-table">
                  <thead>
                    <tr>
                      <th scope="col">User</th>
                      <th scope="col">Workstation</th>
                      <th scope="col">Last sync</th>
                      <th scope="col">Age</th>
                      <th scope="col">Last status</th>
                      <th scope="col" className="num">
                        Syncs
                      </th>
                      <th scope="col">Clock</th>
                      <th scope="col">User online now</th>
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map((r) => {
                      const age = hoursSince(r.lastSync);
                      const isStale = age > STALE_SYNC_HOURS;
                      return (
                        <tr
                          key={`${r.user}|${r.clientId}`}
                          className={isStale ? 'mon-stale' : undefined}
                          data-testid="workstation-row"
                          data-stale={isStale ? 'true' : 'false'}
                        >
                          <td>{r.user ?? '—'}</td>
                          <td className="mono">{r.clientId ?? '—'}</td>
                          <td>{formatDateTime(r.lastSync)}</td>
                          <td>
                            {formatAge(age)}
                            {isStale ? <span className="mon-badge"> not syncing</span> : null}
                          </td>
                          <td>
                            <span className={`status-pill ${r.lastStatus === 'error' ? 'status-bad' : 'status-ok'}`}>{r.lastStatus}</span>
                          </td>
                          <td className="num">{r.syncs.toLocaleString()}</td>
                          <td
                            data-testid="clock-offset"
                            data-offset-ms={r.clockOffsetMs ?? ''}
                            title={
                              r.clockMeasuredAt
                                ? `The workstation's clock against the server's, measured ${formatDateTime(r.clockMeasuredAt)}`
                                : 'Not measured yet: the workstation has not synced since the server began measuring'
                            }
                          >
                            {r.clockOffsetMs !== null && Math.abs(r.clockOffsetMs) > CLOCK_ON_TIME_MS ? (
                              <span className="mon-badge mon-clock-off">{formatClockOffset(r.clockOffsetMs)}</span>
                            ) : (
                              formatClockOffset(r.clockOffsetMs)
                            )}
                          </td>
                          <td>{!known ? '—' : r.user && connectedUsers.has(r.user) ? 'yes' : 'no'}</td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
            )}
          </>
        ) : null}
      </section>
    </>
  );
}
