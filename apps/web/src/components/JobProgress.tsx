'use client';

import type { JobView } from '@cacpq/sync-protocol';
import { formatDuration, percent } from '../lib/format';
import { jobLabel, statusWord } from '../lib/jobs';

function pillClass(job: JobView): string {
  if (job.status === 'succeeded') return 'status-ok';
  if (job.status === 'queued' || job.status === 'running') return 'status-busy';
  return 'status-bad';
}

/** One backup, restore or maintenance job: its progress bar, percent and phase, then its outcome. */
export default function JobProgress({ job }: { job: JobView }) {
  const label = jobLabel(job);
  const pct = percent(job.progress);
  const phase = job.status === 'queued' ? 'waiting for the job before it' : job.phase;
  return (
    <li className="job" data-testid="job" data-job-id={job.id} data-type={job.type} data-status={job.status}>
      <div className="job-head">
        <strong>{label}</strong>
        <span className={`status-pill ${pillClass(job)}`}>{statusWord(job.status)}</span>
        <span className="muted small">
          {job.trigger === 'schedule' ? 'scheduled' : `by ${job.requestedBy}`}
          {job.status === 'succeeded' && job.durationMs !== null ? ` · took ${formatDuration(Math.max(1, job.durationMs / 1000))}` : ''}
        </span>
      </div>
      <div className="job-bar">
        {job.status === 'queued' ? (
          <progress aria-label={`${label}: progress`} />
        ) : (
          <progress max={100} value={pct} aria-label={`${label}: progress`} />
        )}
        <span className="job-figures" data-testid="job-figures">
          {pct}%{phase ? ` — ${phase}` : ''}
        </span>
      </div>
      {job.error ? <p className="job-error">{job.error}</p> : null}
    </li>
  );
}

/** The jobs a page follows, each with its progress, or a sentence when none runs; `announcement` is read out to screen readers. */
export function JobList({ jobs, announcement }: { jobs: JobView[]; announcement: string }) {
  return (
    <>
      {jobs.length > 0 ? (
        <ul className="jobs" data-testid="jobs">
          {jobs.map((job) => (
            <JobProgress key={job.id} job={job} />
          ))}
        </ul>
      ) : (
        <p className="muted">No backup, restore or maintenance job is running.</p>
      )}
      <p className="visually-hidden" role="status" aria-live="polite">
        {announcement}
      </p>
    </>
  );
}
