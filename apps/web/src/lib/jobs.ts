import type { JobStatus, JobView } from '@cacpq/sync-protocol';

const ACTIVE: readonly JobStatus[] = ['queued', 'running'];

export function isActive(job: JobView): boolean {
  return ACTIVE.includes(job.status);
}

/** How far along a job's life a status is: an answer further along is never replaced by an older one. */
function stage(job: JobView): number {
  if (job.status === 'queued') return 0;
  if (job.status === 'running') return 1;
  return 2;
}

/**
 * The fresher of two views of one job. Events and list answers can cross (a list fetched before
 * an event arrives after it), so the one further along wins: finished over running over queued,
 * then more progress.
 */
export function fresher(a: JobView | undefined, b: JobView): JobView {
  if (!a) return b;
  if (stage(b) !== stage(a)) return stage(b) > stage(a) ? b : a;
  return b.progress >= a.progress ? b : a;
}

const MAINTENANCE_LABELS: Record<string, string> = {
  integrity: 'Integrity check',
  vacuum: 'VACUUM',
  reindex: 'REINDEX',
  optimize: 'Optimize',
  'prune-sync-log': 'Prune the sync log',
  'archive-quotes': 'Archive old quotes',
  checkpoint: 'WAL checkpoint',
};

/** "Backup (manual)", "Restore from daily/2026-11-24_020000", "VACUUM". */
export function jobLabel(job: JobView): string {
  const p = job.params;
  if (job.type === 'backup') return typeof p.kind === 'string' ? `Backup (${p.kind})` : 'Backup';
  if (job.type === 'restore') {
    const what = typeof p.name === 'string' ? `Restore from ${p.name}` : 'Restore';
    return p.tables || p.ids ? `${what} (selected records)` : what;
  }
  return MAINTENANCE_LABELS[job.type] ?? job.type;
}

const STATUS_WORDS: Record<JobStatus, string> = {
  queued: 'waiting',
  running: 'running',
  succeeded: 'done',
  failed: 'failed',
  refused: 'refused',
  interrupted: 'interrupted',
};

export function statusWord(status: JobStatus): string {
  return STATUS_WORDS[status];
}
