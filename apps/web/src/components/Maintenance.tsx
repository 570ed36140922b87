'use client';

import type { JobView, ScheduleView } from '@cacpq/sync-protocol';
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError } from '../lib/api';
import { formatDateTime } from '../lib/format';
import { asApiError, useApi, useCurrentUser } from '../lib/hooks';
import { fresher, isActive, jobLabel, statusWord } from '../lib/jobs';
import {
  isMaintenanceJob,
  MAINTENANCE_JOB_INFO,
  maintenanceLabel,
  newestFirst,
  runSummary,
  scheduleLabel,
  type MaintenanceJobInfo,
  type MaintenanceJobName,
} from '../lib/maintenance';
import { useOps, useOpsEvent } from '../lib/ops';
import Chart, { SERIES_COLOURS, STATUS_COLOURS } from './charts/Chart';
import ErrorNotice from './ErrorNotice';
import { JobList } from './JobProgress';
import '../styles/operations.css';

const RUNS_PATH = '/api/v1/maintenance/runs?limit=50';
/** Every job type: a backup running holds maintenance jobs queued behind it. */
const JOBS_PATH = '/api/v1/jobs?limit=20';
/** Runs drawn in the duration chart. */
const CHART_RUNS = 20;

function seconds(ms: number | null): string {
  if (ms === null) return '—';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

function pill(job: JobView): string {
  if (job.status === 'succeeded') return 'status-ok';
  return isActive(job) ? 'status-busy' : 'status-bad';
}

function JobCard({
  info,
  busy,
  onRun,
}: {
  info: MaintenanceJobInfo;
  busy: boolean;
  onRun: (job: MaintenanceJobName) => Promise<ApiError | null>;
}) {
  const label = maintenanceLabel(info.job);
  const [confirming, setConfirming] = useState(false);
  const [starting, setStarting] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const confirmButton = useRef<HTMLButtonElement>(null);
  const runButton = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (confirming) confirmButton.current?.focus();
  }, [confirming]);

  async function run() {
    setStarting(true);
    setError(null);
    const refused = await onRun(info.job);
    setStarting(false);
    setError(refused);
    if (confirming) {
      setConfirming(false);
      runButton.current?.focus();
    }
  }

  return (
    <li className="ops-job-card" data-testid="maintenance-job" data-job={info.job}>
      <h3>{label}</h3>
      <p className="muted small">{info.description}</p>
      {confirming ? (
        <div className="ops-confirm" role="group" aria-label={`Confirm ${label}`} data-testid="confirm">
          <p>{info.confirm}</p>
          <div className="form-actions">
            <button ref={confirmButton} className="button button-danger button-small" type="button" onClick={run} disabled={starting}>
              Yes, run {label}
            </button>
            <button className="button button-secondary button-small" type="button" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        </div>
      ) : (
        <button
          ref={runButton}
          className="button button-small"
          type="button"
          disabled={busy || starting}
          aria-busy={starting}
          aria-label={`Run ${label}`}
          onClick={() => (info.confirm ? setConfirming(true) : void run())}
        >
          {info.confirm ? 'Run…' : 'Run'}
        </button>
      )}
      {error ? <ErrorNotice error={error} lead={`${label} was not started.`} /> : null}
    </li>
  );
}

function HistoryTable({ runs }: { runs: JobView[] }) {
  if (runs.length === 0)
    return (
      <p className="muted" data-testid="no-runs">
        No maintenance job has run yet.
      </p>
    );
  return (
    <div className="table-wrap">
      <table className="data" data-testid="runs-table">
        <caption className="visually-hidden">Maintenance runs, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Status</th>
            <th scope="col">Started by</th>
            <th scope="col">Started</th>
            <th scope="col" className="num">
              Duration
            </th>
            <th scope="col">Result</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((j) => (
            <tr key={j.id} data-run-id={j.id} data-type={j.type} data-status={j.status}>
              <td>{jobLabel(j)}</td>
              <td>
                <span className={`status-pill ${pill(j)}`}>{statusWord(j.status)}</span>
              </td>
              <td>{j.trigger === 'schedule' ? 'schedule' : j.requestedBy}</td>
              <td>{formatDateTime(j.startedAt ?? j.queuedAt)}</td>
              <td className="num">{seconds(j.durationMs)}</td>
              <td className="wrap ops-result">{runSummary(j)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function SchedulesTable({ schedules }: { schedules: ScheduleView[] }) {
  return (
    <div className="table-wrap">
      <table className="data" data-testid="schedules-table">
        <caption className="visually-hidden">Schedules</caption>
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Schedule (cron)</th>
            <th scope="col">Next run</th>
            <th scope="col">Last run</th>
          </tr>
        </thead>
        <tbody>
          {schedules.map((s) => (
            <tr key={s.job} data-schedule={s.job}>
              <td>{scheduleLabel(s.job)}</td>
              <td className="mono">{s.cron}</td>
              <td>{s.nextRun ? formatDateTime(s.nextRun) : 'off'}</td>
              <td>
                {s.lastRun
                  ? `${statusWord(s.lastRun.status)}${s.lastRun.finishedAt ? `, ${formatDateTime(s.lastRun.finishedAt)}` : ''}`
                  : 'never'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Run maintenance jobs (admins), follow their progress, their history with durations, and the schedules. */
export default function Maintenance() {
  const user = useCurrentUser();
  const admin = user?.role === 'admin';
  const { epoch } = useOps();
  const schedules = useApi<ScheduleView[]>('/api/v1/maintenance/schedules');
  const reloadSchedules = schedules.reload;

  /** Every job seen (runs list, jobs list, events), by id. */
  const [jobs, setJobs] = useState<Record<number, JobView>>({});
  const [runsState, setRunsState] = useState<{ loading: boolean; error?: ApiError }>({ loading: true });
  const [attempt, setAttempt] = useState(0);
  /** Started from this page: kept in the progress list once finished. */
  const [mine, setMine] = useState<number[]>([]);
  const [announcement, setAnnouncement] = useState('');

  const track = useCallback((job: JobView) => {
    setJobs((prev) => {
      const next = fresher(prev[job.id], job);
      return next === prev[job.id] ? prev : { ...prev, [job.id]: next };
    });
  }, []);

  // The history, and work already under way; again after a reconnect (events may have been missed).
  useEffect(() => {
    const controller = new AbortController();
    setRunsState((s) => ({ ...s, loading: true }));
    api.get<JobView[]>(RUNS_PATH, { signal: controller.signal }).then(
      (list) => {
        list.forEach(track);
        setRunsState({ loading: false });
      },
      (err: unknown) => {
        if (!controller.signal.aborted) setRunsState({ loading: false, error: asApiError(err) });
      },
    );
    api.get<JobView[]>(JOBS_PATH, { signal: controller.signal }).then(
      (list) => list.forEach(track),
      () => undefined, // a head start only
    );
    return () => controller.abort();
  }, [epoch, attempt, track]);

  useOpsEvent('job.updated', (job) => {
    const before = jobs[job.id];
    track(job);
    if (!isActive(job) && (!before || isActive(before)) && isMaintenanceJob(job.type)) {
      reloadSchedules();
      if (before || mine.includes(job.id)) setAnnouncement(`${jobLabel(job)}: ${statusWord(job.status)}.`);
    }
  });

  async function run(job: MaintenanceJobName): Promise<ApiError | null> {
    try {
      const started = await api.post<JobView>(`/api/v1/maintenance/${job}`);
      track(started);
      setMine((m) => [...m, started.id]);
      return null;
    } catch (err) {
      return asApiError(err);
    }
  }

  const all = newestFirst(jobs);
  const runs = all.filter((j) => isMaintenanceJob(j.type));
  const working = all.filter((j) => isActive(j) || mine.includes(j.id));
  const activeTypes = new Set(working.filter(isActive).map((j) => j.type));

  const chartRuns = runs
    .filter((j) => j.durationMs !== null && !isActive(j))
    .slice(0, CHART_RUNS)
    .reverse();
  const chartData = {
    labels: chartRuns.map((j) => `#${j.id} ${jobLabel(j)}`),
    datasets: [
      {
        label: 'Duration (seconds)',
        data: chartRuns.map((j) => Math.max(0.001, (j.durationMs ?? 0) / 1000)),
        backgroundColor: chartRuns.map((j) => (j.status === 'succeeded' ? SERIES_COLOURS[0] : STATUS_COLOURS.error)),
      },
    ],
  };

  let history;
  if (runsState.loading && runs.length === 0) {
    history = (
      <div role="status" aria-live="polite">
        <p className="muted">Loading the history…</p>
      </div>
    );
  } else if (runsState.error && runs.length === 0) {
    history = <ErrorNotice error={runsState.error} onRetry={() => setAttempt((n) => n + 1)} lead="The history could not be loaded." />;
  } else {
    history = (
      <>
        {runsState.error ? (
          <ErrorNotice error={runsState.error} onRetry={() => setAttempt((n) => n + 1)} lead="The latest refresh failed." />
        ) : null}
        <Chart
          kind="bar"
          label={`Duration of the last ${chartRuns.length} maintenance runs, in seconds (red: failed)`}
          testId="durations-chart"
          height={200}
          data={chartData}
          options={{
            plugins: { legend: { display: false } },
            scales: { y: { beginAtZero: true, title: { display: true, text: 'seconds' } } },
          }}
          empty="No finished run to draw yet."
        />
        <HistoryTable runs={runs} />
      </>
    );
  }

  return (
    <div data-testid="maintenance" className="ops-page">
      <div className="page-head">
        <h1>Maintenance</h1>
        {admin ? null : (
          <span className="muted small" data-testid="read-only-note">
            Read-only: administrators run maintenance.
          </span>
        )}
      </div>

      {admin ? (
        <section className="card" aria-labelledby="run-heading">
          <h2 id="run-heading">Run now</h2>
          <ul className="ops-job-grid">
            {MAINTENANCE_JOB_INFO.map((info) => (
              <JobCard key={info.job} info={info} busy={activeTypes.has(info.job)} onRun={run} />
            ))}
          </ul>
        </section>
      ) : null}

      <section className="card" aria-labelledby="progress-heading">
        <h2 id="progress-heading">In progress</h2>
        <JobList jobs={working} announcement={announcement} />
      </section>

      <section className="card" aria-labelledby="history-heading">
        <h2 id="history-heading">History</h2>
        {history}
      </section>

      <section className="card" aria-labelledby="schedules-heading">
        <h2 id="schedules-heading">Schedules</h2>
        {schedules.data ? (
          <>
            {schedules.error ? <ErrorNotice error={schedules.error} onRetry={schedules.reload} lead="The latest refresh failed." /> : null}
            <SchedulesTable schedules={schedules.data} />
            <p className="muted small">{admin ? 'Change them under Settings.' : 'Administrators change them under Settings.'}</p>
          </>
        ) : schedules.error ? (
          <ErrorNotice error={schedules.error} onRetry={schedules.reload} lead="The schedules could not be loaded." />
        ) : (
          <div role="status" aria-live="polite">
            <p className="muted">Loading the schedules…</p>
          </div>
        )}
      </section>
    </div>
  );
}
