import { MAINTENANCE_JOBS, type JobView, type MaintenanceJob } from '@cacpq/sync-protocol';
import { formatBytes } from './format';
import { jobLabel } from './jobs';

/** The maintenance jobs of `POST /api/v1/maintenance/:job` (the contract's). */
export { MAINTENANCE_JOBS };
export type MaintenanceJobName = MaintenanceJob;

export interface MaintenanceJobInfo {
  job: MaintenanceJobName;
  /** What it does, in a sentence. */
  description: string;
  /** Set when the job removes data or closes the master files to sync for a while: asked before it runs. */
  confirm?: string;
}

export const MAINTENANCE_JOB_INFO: readonly MaintenanceJobInfo[] = [
  {
    job: 'integrity',
    description: 'integrity_check and foreign_key_check of every database file (weekly by default). Sync pauses while it reads.',
  },
  {
    job: 'vacuum',
    description: 'VACUUM and ANALYZE: rewrites the master files to reclaim space (monthly). Needs free disk of twice the database.',
    confirm: 'VACUUM rewrites the master files; workstations are asked to retry their sync until it ends.',
  },
  {
    job: 'reindex',
    description: 'Rebuilds every index of the master files.',
    confirm: 'REINDEX rewrites every index; workstations are asked to retry their sync until it ends.',
  },
  { job: 'optimize', description: 'PRAGMA optimize on every file: refreshes the query planner’s statistics where needed (daily).' },
  { job: 'checkpoint', description: 'Moves the write-ahead log into the database files and truncates it (hourly).' },
  {
    job: 'prune-sync-log',
    description: 'Deletes sync_log rows older than the retention and beyond the newest rows kept (see Settings).',
    confirm: 'Pruning deletes old sync_log rows for good; sync history before the cut-off is no longer shown.',
  },
  {
    job: 'archive-quotes',
    description:
      'Moves quotes older than the archive age into archived_quotes, with an SQL dump; workstations drop them at their next sync.',
    confirm: 'Archiving removes old quotes from every workstation (they stay in archived_quotes and the SQL dump).',
  },
];

export function isMaintenanceJob(type: string): type is MaintenanceJobName {
  return (MAINTENANCE_JOBS as readonly string[]).includes(type);
}

/** "Integrity check", "VACUUM", … (the labels the progress list uses). */
export function maintenanceLabel(job: MaintenanceJobName): string {
  return jobLabel({ type: job, params: {} } as unknown as JobView);
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** One line on what a finished run found or did, from its result (or its error). */
export function runSummary(job: JobView): string {
  if (job.error) return job.error;
  const r = job.result;
  if (!r) return job.status === 'succeeded' ? 'Done.' : '';
  switch (job.type) {
    case 'integrity': {
      const files = (r.files ?? {}) as Record<string, { integrity?: string; foreignKeyProblems?: number }>;
      const names = Object.keys(files);
      const bad = names.filter((n) => files[n].integrity !== 'ok' || (files[n].foreignKeyProblems ?? 0) > 0);
      return bad.length ? `Problems in ${bad.join(', ')}.` : `ok: ${names.join(', ')}.`;
    }
    case 'vacuum': {
      const reclaimed = num(r.reclaimedBytes);
      return reclaimed === undefined ? 'Done.' : `Reclaimed ${formatBytes(Math.max(0, reclaimed))}.`;
    }
    case 'prune-sync-log': {
      const old = num(r.removedOld) ?? 0;
      const excess = num(r.removedExcess) ?? 0;
      const left = num(r.rowsLeft);
      return `Removed ${(old + excess).toLocaleString()} rows${left === undefined ? '' : `, ${left.toLocaleString()} left`}.`;
    }
    case 'archive-quotes': {
      const n = num(r.archived) ?? 0;
      return n === 0
        ? 'No quote was old enough to archive.'
        : `Archived ${n.toLocaleString()} quotes to ${String(r.dump ?? 'the archive')}.`;
    }
    case 'checkpoint': {
      const files = r as Record<string, { walBytesBefore?: number }>;
      const total = Object.values(files).reduce((sum, f) => sum + (num(f?.walBytesBefore) ?? 0), 0);
      return `Checkpointed ${formatBytes(total)} of write-ahead log.`;
    }
    default:
      return 'Done.';
  }
}

/** Jobs by id, fresher views kept (see lib/jobs `fresher`), newest first. */
export function newestFirst(jobs: Record<number, JobView>): JobView[] {
  return Object.values(jobs).sort((a, b) => b.id - a.id);
}

/** Names of the schedules (ScheduleView.job) as people say them. */
export function scheduleLabel(job: string): string {
  if (job.startsWith('backup:')) return `Backup (${job.slice('backup:'.length)})`;
  if (job === 'sample-growth') return 'Growth sample';
  if (job === 'evaluate-alerts') return 'Alert evaluation';
  return isMaintenanceJob(job) ? maintenanceLabel(job) : job;
}
