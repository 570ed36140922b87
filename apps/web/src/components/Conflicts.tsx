'use client';

import { useEffect, useRef, useState } from 'react';
import { api } from '../lib/api';
import {
  CONFLICTS_PATH,
  LIST_LIMIT,
  SUMMARY_PATH,
  dayLabel,
  keptSide,
  kindLabel,
  mergeConflicts,
  rowLabel,
  summaryPoints,
  type ConflictSummaryRow,
  type ConflictView,
} from '../lib/conflicts';
import { formatDateTime, plural } from '../lib/format';
import { useApi, useCurrentUser } from '../lib/hooks';
import { useOps, useOpsEvent } from '../lib/ops';
import Chart, { STATUS_COLOURS } from './charts/Chart';
import ConflictDiff from './ConflictDiff';
import ErrorNotice from './ErrorNotice';
import '../styles/conflicts.css';

function SkeletonRows({ label }: { label: string }) {
  return (
    <div role="status" aria-live="polite">
      <span className="visually-hidden">{label}</span>
      <div aria-hidden="true" className="skeleton-stack">
        {Array.from({ length: 4 }, (_, i) => (
          <span className="skeleton" key={i} style={{ width: `${90 - i * 12}%` }} />
        ))}
      </div>
    </div>
  );
}

function SummaryChart() {
  const summary = useApi<ConflictSummaryRow[]>(SUMMARY_PATH, { refreshMs: 60_000 });
  if (summary.loading && !summary.data) return <SkeletonRows label="Loading the 7-day summary…" />;
  if (summary.error && !summary.data)
    return <ErrorNotice error={summary.error} onRetry={summary.reload} lead="The summary could not be loaded." />;
  const points = summaryPoints(summary.data ?? []);
  const syncs = points.reduce((a, p) => a + p.totalSyncs, 0);
  const conflicts = points.reduce((a, p) => a + p.totalConflicts, 0);
  const failed = points.reduce((a, p) => a + p.failedSyncs, 0);
  return (
    <>
      {summary.error ? <ErrorNotice error={summary.error} onRetry={summary.reload} lead="The latest refresh failed." /> : null}
      <p className="muted small" data-testid="summary-totals">
        {plural(syncs, 'sync')}, {plural(conflicts, 'conflict')} ({syncs > 0 ? `${Math.round((conflicts / syncs) * 1000) / 10}` : '0'} per
        100 syncs), {plural(failed, 'failed sync')} in the last 7 days. The guide alerts above 5 conflicts per 100 syncs and above 10 %
        failed.
      </p>
      <Chart
        kind="line"
        testId="conflict-summary-chart"
        label="Conflict rate (conflicts per 100 syncs) and failed syncs per day, last 7 days"
        empty="No syncs in the last 7 days."
        height={240}
        data={{
          labels: points.map((p) => dayLabel(p.date)),
          datasets: [
            {
              label: 'Conflict rate (per 100 syncs)',
              data: points.map((p) => p.conflictRatePct),
              borderColor: STATUS_COLOURS.conflict,
              backgroundColor: STATUS_COLOURS.conflict,
              yAxisID: 'rate',
            },
            {
              label: 'Failed syncs',
              data: points.map((p) => p.failedSyncs),
              borderColor: STATUS_COLOURS.error,
              backgroundColor: STATUS_COLOURS.error,
              borderDash: [6, 4],
              yAxisID: 'failed',
            },
          ],
        }}
        options={{
          interaction: { mode: 'index', intersect: false },
          scales: {
            rate: { type: 'linear', position: 'left', beginAtZero: true, title: { display: true, text: 'Conflicts per 100 syncs' } },
            failed: {
              type: 'linear',
              position: 'right',
              beginAtZero: true,
              ticks: { precision: 0 },
              grid: { drawOnChartArea: false },
              title: { display: true, text: 'Failed syncs' },
            },
          },
        }}
      />
    </>
  );
}

/** The Conflicts page: the 7-day summary, the open conflicts (live), both versions of one, and its resolution. */
export default function Conflicts() {
  const user = useCurrentUser();
  const admin = user?.role === 'admin';
  const { epoch } = useOps();
  const list = useApi<ConflictView[]>(CONFLICTS_PATH);
  const reloadList = list.reload;
  const [added, setAdded] = useState<ConflictView[]>([]);
  const [removed, setRemoved] = useState<ReadonlySet<number>>(new Set());
  const [selected, setSelected] = useState<number | null>(null);
  const [announcement, setAnnouncement] = useState('');
  const [fresh, setFresh] = useState<ReadonlySet<number>>(new Set());
  const listHeading = useRef<HTMLHeadingElement>(null);
  const firstEpoch = useRef(epoch);

  // After a reconnect, events may have been missed: load the list again.
  useEffect(() => {
    if (epoch !== firstEpoch.current) reloadList();
  }, [epoch, reloadList]);

  useOpsEvent('conflict.recorded', (event) => {
    api.get<ConflictView>(`/api/v1/conflicts/${event.id}`).then(
      (c) => {
        if (c.resolvedAt !== null) return;
        setAdded((prev) => (prev.some((x) => x.id === c.id) ? prev : [c, ...prev]));
        setFresh((prev) => new Set(prev).add(c.id));
        setAnnouncement(`New conflict ${c.id}: ${c.table} ${rowLabel(c)}, from ${event.user} on ${event.clientId}.`);
      },
      () => reloadList(),
    );
  });

  const items = mergeConflicts(list.data, added, removed);
  const current = selected === null ? undefined : items.find((c) => c.id === selected);

  // Focus the detail's heading when a conflict is opened, so keyboard and screen-reader users land on it.
  useEffect(() => {
    if (selected === null) return;
    const heading = document.getElementById(`conflict-${selected}-heading`);
    heading?.focus();
    heading?.scrollIntoView({ block: 'start' });
  }, [selected]);

  function resolved(c: ConflictView, sentence: string) {
    setRemoved((prev) => new Set(prev).add(c.id));
    setSelected(null);
    setAnnouncement(sentence);
    listHeading.current?.focus();
  }

  let listContent;
  if (list.loading && !list.data) {
    listContent = <SkeletonRows label="Loading open conflicts…" />;
  } else if (list.error && !list.data) {
    listContent = <ErrorNotice error={list.error} onRetry={list.reload} lead="The open conflicts could not be loaded." />;
  } else if (items.length === 0) {
    listContent = (
      <p className="muted" data-testid="no-conflicts">
        No open conflicts. Every edit reached the master without one, or every conflict was resolved.
      </p>
    );
  } else {
    listContent = (
      <>
        {list.error ? <ErrorNotice error={list.error} onRetry={list.reload} lead="The latest refresh failed." /> : null}
        <div className="table-wrap">
          <table className="data conflicts-table" data-testid="conflicts-table">
            <thead>
              <tr>
                <th scope="col">Conflict</th>
                <th scope="col">What happened</th>
                <th scope="col">Fields</th>
                <th scope="col">Workstation</th>
                <th scope="col">Master kept</th>
                <th scope="col">Detected</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <tr
                  key={c.id}
                  data-conflict={c.id}
                  data-table={c.table}
                  data-row={c.rowId}
                  aria-current={c.id === selected ? 'true' : undefined}
                  className={`${c.id === selected ? 'conflict-selected' : ''}${fresh.has(c.id) ? ' conflict-new' : ''}`}
                >
                  <td title={`Row id ${c.rowId}`}>
                    <span className="muted small">
                      {c.id} · {c.table}
                    </span>{' '}
                    <span className="mono">{rowLabel(c)}</span>
                  </td>
                  <td>{kindLabel(c)}</td>
                  <td className="mono wrap">{c.columns.join(', ') || '—'}</td>
                  <td>
                    {c.clientUser} <span className="muted small">({c.clientId})</span>
                  </td>
                  <td>{keptSide(c) === 'server' ? `master (${c.serverUpdatedBy ?? '?'})` : `workstation (${c.clientUser})`}</td>
                  <td>{formatDateTime(c.detectedAt)}</td>
                  <td>
                    <button
                      className="button button-secondary button-small"
                      type="button"
                      onClick={() => setSelected(c.id)}
                      aria-label={`${admin ? 'Review and resolve' : 'Review'} conflict ${c.id}`}
                      aria-expanded={c.id === selected}
                    >
                      {admin ? 'Review…' : 'View'}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {(list.data?.length ?? 0) >= LIST_LIMIT ? <p className="muted small">Showing the newest {LIST_LIMIT} open conflicts.</p> : null}
      </>
    );
  }

  return (
    <div data-testid="conflicts">
      <div className="page-head">
        <h1>Conflicts</h1>
        {admin ? (
          <span className="muted small">New conflicts appear as workstations sync.</span>
        ) : (
          <span className="muted small" data-testid="read-only-note">
            Read-only: administrators resolve conflicts.
          </span>
        )}
      </div>

      <section className="card" aria-labelledby="summary-heading">
        <h2 id="summary-heading">Last 7 days</h2>
        <SummaryChart />
      </section>

      <section className="card" aria-labelledby="open-heading">
        <h2 id="open-heading" tabIndex={-1} ref={listHeading}>
          Open conflicts{list.data ? ` (${items.length})` : ''}
        </h2>
        {listContent}
        <p className="visually-hidden" role="status" aria-live="polite" data-testid="conflicts-announcement">
          {announcement}
        </p>
      </section>

      {current ? (
        <ConflictDiff key={current.id} conflict={current} canResolve={admin} onResolved={resolved} onClose={() => setSelected(null)} />
      ) : null}
    </div>
  );
}
