import { z } from 'zod';
import type { AlertView } from './alerts';
import type { RevokedEvent } from './sync';

/** Backups, restores and maintenance jobs: the admin operations of `/api/v1/backups`, `/jobs`, `/maintenance`. */

export const BACKUP_KINDS = ['daily', 'weekly', 'monthly', 'manual', 'pre-restore'] as const;
export type BackupKind = (typeof BACKUP_KINDS)[number];

/** Kinds an admin may start by hand (pre-restore snapshots are taken by restores only). */
export const REQUESTABLE_BACKUP_KINDS = ['manual', 'daily', 'weekly', 'monthly'] as const;

export const MAINTENANCE_JOBS = ['integrity', 'vacuum', 'reindex', 'optimize', 'prune-sync-log', 'archive-quotes', 'checkpoint'] as const;
export type MaintenanceJob = (typeof MAINTENANCE_JOBS)[number];

export const JOB_TYPES = ['backup', 'restore', 'schema-migration', ...MAINTENANCE_JOBS] as const;
export type JobType = (typeof JOB_TYPES)[number];

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'refused', 'interrupted'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export interface BackupFileView {
  role: 'server' | 'numbers';
  /** Path relative to the data directory (inside the zip for monthly archives). */
  path: string;
  bytes: number;
  sha256: string | null;
  rowCounts: Record<string, number>;
  /** `sync_state.last_seq` of a server.db: the last change the backup holds. */
  lastSeq: number | null;
}

export interface BackupView {
  id: number;
  /** Stable name: `daily/2026-11-24_020000`, `weekly/2026-11-22`, `monthly/CACPQ_2026-11`, ... */
  name: string;
  kind: BackupKind;
  /** `server`: written by this server; `found`: found on disk (e.g. written by the old PowerShell scripts). */
  origin: 'server' | 'found';
  createdAt: string;
  status: 'verified' | 'failed';
  check: 'quick_check' | 'integrity_check';
  verifiedAt: string;
  /** Why verification failed, as a sentence; null when verified. */
  problem: string | null;
  bytes: number;
  files: BackupFileView[];
  jobId: number | null;
}

export interface JobView {
  id: number;
  type: JobType;
  params: Record<string, unknown>;
  trigger: 'manual' | 'schedule' | 'restore';
  requestedBy: string;
  status: JobStatus;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  /** 0..1 */
  progress: number;
  phase: string | null;
  result: Record<string, unknown> | null;
  error: string | null;
}

export const CreateBackupRequest = z.strictObject({
  kind: z.enum(REQUESTABLE_BACKUP_KINDS).default('manual'),
});
export type CreateBackupRequest = z.infer<typeof CreateBackupRequest>;

export const RestoreRequest = z.strictObject({
  /** The backup's `confirmPhrase` from its preview, typed by the admin. */
  confirm: z.string().min(1, 'is required: type the confirmation phrase shown in the preview').max(200),
  /** Selective restore: only these tables, applied as ordinary changes through sync. */
  tables: z.array(z.string().min(1).max(64)).min(1).max(20).optional(),
  /** Selective restore: only these records (ids), applied as ordinary changes through sync. */
  ids: z.array(z.string().min(1).max(64)).min(1).max(1000).optional(),
});
export type RestoreRequest = z.infer<typeof RestoreRequest>;

export interface RestorePreview {
  backup: BackupView;
  /** What the admin must type as `confirm`. */
  confirmPhrase: string;
  /** Rows per synced table in the backup and in the master now. */
  tables: { table: string; backup: number; now: number }[];
  /** Changes made since the backup (`last_seq` now minus the backup's): what workstations give back. */
  changesSince: number | null;
}

export const JobsQuery = z.strictObject({
  type: z.enum(JOB_TYPES).optional(),
  status: z.enum(JOB_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.coerce.number().int().min(1).optional(),
});
export type JobsQuery = z.infer<typeof JobsQuery>;

export const BackupsQuery = z.strictObject({
  kind: z.enum(BACKUP_KINDS).optional(),
});
export type BackupsQuery = z.infer<typeof BackupsQuery>;

export const DownloadQuery = z.strictObject({
  /** One file of the set instead of a zip of all of it. */
  file: z.enum(['server', 'numbers']).optional(),
});
export type DownloadQuery = z.infer<typeof DownloadQuery>;

export interface MaintenanceState {
  active: boolean;
  /** What holds the master, as a phrase ("a restore from daily/2026-11-24_020000"). */
  reason: string | null;
  since: string | null;
  jobId: number | null;
  retryAfterSeconds: number;
}

/** Schedules (5-field cron, local time; day-of-month and day-of-week must both match) and retention. */
export const OPERATION_SETTING_DEFAULTS = {
  'schedule.backup.daily': '0 2 * * *',
  'schedule.backup.weekly': '0 1 * * 0',
  'schedule.backup.monthly': '30 2 1 * *',
  'schedule.integrity': '0 3 * * 0',
  'schedule.vacuum': '0 2 1-7 * 0',
  'schedule.optimize': '15 3 * * *',
  'schedule.prune-sync-log': '30 3 * * 0',
  'schedule.archive-quotes': '0 4 1 1,4,7,10 *',
  'schedule.reindex': 'off',
  'schedule.checkpoint': '0 * * * *',
  'schedule.sample-growth': '5 * * * *',
  'schedule.evaluate-alerts': '*/5 * * * *',
  'retention.daily.days': 30,
  'retention.weekly.weeks': 12,
  /** 0 keeps every monthly archive (long-term retention). */
  'retention.monthly.months': 0,
  'retention.pre-restore.days': 90,
  'maintenance.syncLog.days': 90,
  'maintenance.syncLog.maxRows': 10_000,
  'maintenance.archiveQuotes.years': 2,
} as const;

export type OperationSettingKey = keyof typeof OPERATION_SETTING_DEFAULTS;

export interface ScheduleView {
  job: string;
  setting: string;
  cron: string;
  nextRun: string | null;
  lastRun: { id: number; status: JobStatus; finishedAt: string | null } | null;
}

export const OPS_NAMESPACE = '/ops';

/** A sync that ended (its `sync_log` row as it now stands). */
export interface SyncFinishedEvent {
  id: number;
  at: string;
  user: string | null;
  clientId: string | null;
  status: string;
  recordsPulled: number;
  recordsPushed: number;
  conflicts: number;
  durationMs: number;
  error: string | null;
}

export interface ConflictRecordedEvent {
  id: number;
  table: string;
  rowId: string;
  user: string;
  clientId: string;
}

/** A socket of the `/sync` namespace (a workstation's SDK, or a dashboard listening for pokes). */
export interface WorkstationPresence {
  socketId: string;
  user: string;
  role: string;
  /** The device token's id when it connected with one. */
  tokenId: string | null;
  since: string;
}

/** Sent once to each dashboard socket right after it connects; deltas follow as events. */
export interface OpsSnapshot {
  at: string;
  maintenance: MaintenanceState;
  runningJob: JobView | null;
  workstations: WorkstationPresence[];
  openConflicts: number | null;
  openAlerts: AlertView[];
  /** Syncs of the last 24 hours (null while the master is held by a restore or VACUUM). */
  last24h: { syncs: number; failed: number; conflicts: number } | null;
}

/** Events of the `/ops` socket.io namespace (dashboard sessions of managers and admins). */
export interface OpsServerEvents {
  snapshot: [OpsSnapshot];
  'job.updated': [JobView];
  'maintenance.changed': [MaintenanceState];
  'backups.changed': [{ reason: string }];
  'sync.finished': [SyncFinishedEvent];
  'conflict.recorded': [ConflictRecordedEvent];
  'workstation.connected': [WorkstationPresence];
  'workstation.gone': [WorkstationPresence];
  /** A change was refused, fixed or resolved: `open` refusals wait for an admin. */
  'refusals.changed': [{ open: number }];
  'alert.opened': [AlertView];
  'alert.resolved': [AlertView];
  revoked: [RevokedEvent];
}
