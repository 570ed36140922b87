'use client';

import type { BackupView, JobView } from '@cacpq/sync-protocol';
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError } from '../lib/api';
import { formatBytes, formatDateTime } from '../lib/format';
import { asApiError, useApi, useCurrentUser } from '../lib/hooks';
import { fresher, isActive, jobLabel, statusWord } from '../lib/jobs';
import { useOps, useOpsEvent } from '../lib/ops';
import ErrorNotice from './ErrorNotice';
import { JobList } from './JobProgress';
import RestorePanel from './RestorePanel';

/** Jobs fetched on load (and after a reconnect) to find work already running. */
const JOBS_PATH = '/api/v1/jobs?limit=20';

function CatalogueTable({
  backups,
  canRestore,
  restoreBlocked,
  onRestore,
}: {
  backups: BackupView[];
  canRestore: boolean;
  restoreBlocked: boolean;
  onRestore: (b: BackupView) => void;
}) {
  if (backups.length === 0)
    return (
      <p className="muted" data-testid="no-backups">
        No backups yet.
      </p>
    );
  return (
    <div className="table-wrap">
      <table className="data" data-testid="backups-table">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Kind</th>
            <th scope="col">Origin</th>
            <th scope="col">Status</th>
            <th scope="col" className="num">
              Size
            </th>
            <th scope="col">Created</th>
            {canRestore ? (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>
          {backups.map((b) => (
            <tr key={b.id} data-backup={b.name} data-status={b.status}>
              <td className="mono">{b.name}</td>
              <td>{b.kind}</td>
              <td>{b.origin === 'found' ? 'found on disk' : 'server'}</td>
              <td className="wrap">
                <span className={`status-pill ${b.status === 'verified' ? 'status-ok' : 'status-bad'}`}>{b.status}</span>
                {b.problem ? <span className="problem">{b.problem}</span> : null}
              </td>
              <td className="num">{formatBytes(b.bytes)}</td>
              <td>{formatDateTime(b.createdAt)}</td>
              {canRestore ? (
                <td>
                  <span className="row-buttons">
                    {b.status === 'verified' ? (
                      <a
                        className="button button-secondary button-small"
                        href={`/api/v1/backups/${b.id}/download`}
                        download
                        aria-label={`Download ${b.name}`}
                        data-testid="backup-download"
                      >
                        Download
                      </a>
                    ) : null}
                    {b.status === 'verified' ? (
                      <button
                        className="button button-secondary button-small"
                        type="button"
                        onClick={() => onRestore(b)}
                        disabled={restoreBlocked}
                        aria-label={`Restore from ${b.name}`}
                      >
                        Restore…
                      </button>
                    ) : null}
                  </span>
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The backup catalogue, "Back up now", running work with its progress, and (admins) downloads and restores. */
export default function Backups() {
  const user = useCurrentUser();
  const admin = user?.role === 'admin';
  const { epoch } = useOps();
  const catalogue = useApi<BackupView[]>('/api/v1/backups');
  const reloadCatalogue = catalogue.reload;

  const [jobs, setJobs] = useState<Record<number, JobView>>({});
  /** Jobs started from this page: kept in view after they finish, with their outcome. */
  const [mine, setMine] = useState<number[]>([]);
  const [announcement, setAnnouncement] = useState('');
  const [starting, setStarting] = useState(false);
  const [startError, setStartError] = useState<ApiError | null>(null);
  const [restoreOf, setRestoreOf] = useState<BackupView | null>(null);
  const workHeading = useRef<HTMLHeadingElement>(null);

  const track = useCallback((job: JobView) => {
    setJobs((prev) => {
      const next = fresher(prev[job.id], job);
      return next === prev[job.id] ? prev : { ...prev, [job.id]: next };
    });
  }, []);

  // Work already under way when the page opens, and whatever changed while the socket was down.
  useEffect(() => {
    const controller = new AbortController();
    api.get<JobView[]>(JOBS_PATH, { signal: controller.signal }).then(
      (list) => list.forEach(track),
      () => undefined, // progress events still arrive; the list is only a head start
    );
    return () => controller.abort();
  }, [epoch, track]);

  useOpsEvent('job.updated', (job) => {
    const before = jobs[job.id];
    track(job);
    if (!isActive(job) && (!before || isActive(before))) {
      if (job.type === 'backup' || job.type === 'restore') reloadCatalogue();
      if (before || mine.includes(job.id)) setAnnouncement(`${jobLabel(job)}: ${statusWord(job.status)}.`);
    }
  });
  useOpsEvent('backups.changed', () => reloadCatalogue());

  async function backUpNow() {
    setStarting(true);
    setStartError(null);
    try {
      const job = await api.post<JobView>('/api/v1/backups', { kind: 'manual' });
      track(job);
      setMine((m) => [...m, job.id]);
    } catch (err) {
      setStartError(asApiError(err));
    } finally {
      setStarting(false);
    }
  }

  function restoreStarted(job: JobView) {
    track(job);
    setMine((m) => [...m, job.id]);
    setRestoreOf(null);
    workHeading.current?.focus();
  }

  const shown = Object.values(jobs)
    .filter((j) => isActive(j) || mine.includes(j.id))
    .sort((a, b) => b.id - a.id);
  const backupActive = shown.some((j) => j.type === 'backup' && isActive(j));
  const restoreActive = shown.some((j) => j.type === 'restore' && isActive(j));

  let catalogueContent;
  if (catalogue.loading && !catalogue.data) {
    catalogueContent = (
      <div role="status" aria-live="polite">
        <p className="muted">Loading the catalogue…</p>
      </div>
    );
  } else if (catalogue.error && !catalogue.data) {
    catalogueContent = <ErrorNotice error={catalogue.error} onRetry={catalogue.reload} lead="The catalogue could not be loaded." />;
  } else {
    catalogueContent = (
      <>
        {catalogue.error ? <ErrorNotice error={catalogue.error} onRetry={catalogue.reload} lead="The latest refresh failed." /> : null}
        <CatalogueTable backups={catalogue.data ?? []} canRestore={admin} restoreBlocked={restoreActive} onRestore={setRestoreOf} />
      </>
    );
  }

  return (
    <div data-testid="backups">
      <div className="page-head">
        <h1>Backups</h1>
        {admin ? (
          <button className="button" type="button" onClick={backUpNow} disabled={starting || backupActive} aria-busy={starting}>
            Back up now
          </button>
        ) : (
          <span className="muted small" data-testid="read-only-note">
            Read-only: administrators start backups and restores.
          </span>
        )}
      </div>
      {startError ? <ErrorNotice error={startError} lead="The backup was not started." /> : null}

      <section className="card" aria-labelledby="work-heading">
        <h2 id="work-heading" tabIndex={-1} ref={workHeading}>
          Jobs
        </h2>
        <JobList jobs={shown} announcement={announcement} />
      </section>

      <section className="card" aria-labelledby="catalogue-heading">
        <h2 id="catalogue-heading">Catalogue</h2>
        {catalogueContent}
      </section>

      {admin && restoreOf ? (
        <RestorePanel key={restoreOf.id} backup={restoreOf} onCancel={() => setRestoreOf(null)} onStarted={restoreStarted} />
      ) : null}
    </div>
  );
}
