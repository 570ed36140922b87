import { OPERATION_SETTING_DEFAULTS, type OperationSettingKey } from './operations';

/**
 * The run-time settings of `GET/PATCH /api/v1/settings`, described once: what each is called, how
 * it is edited, its default and its allowed range. The server checks values against these and the
 * dashboard builds its forms from them, so a range is never typed twice.
 */
export interface SettingDescriptor {
  key: OperationSettingKey;
  label: string;
  kind: 'cron' | 'number';
  default: string | number;
  /** For numbers: the allowed range (whole numbers) and what is counted. */
  min?: number;
  max?: number;
  unit?: string;
  /** A sentence under the input. */
  hint?: string;
}

/** 3650 as written, 10,000,000 grouped. */
const figure = (n: number): string => (n >= 10_000 ? n.toLocaleString('en-US') : String(n));

const schedule = (key: OperationSettingKey, label: string): SettingDescriptor => ({
  key,
  label,
  kind: 'cron',
  default: OPERATION_SETTING_DEFAULTS[key],
});

const count = (key: OperationSettingKey, label: string, min: number, max: number, unit: string, hint?: string): SettingDescriptor => ({
  key,
  label,
  kind: 'number',
  default: OPERATION_SETTING_DEFAULTS[key],
  min,
  max,
  unit,
  hint: hint ?? `${figure(min)} to ${figure(max)}.`,
});

export const SCHEDULE_SETTINGS: readonly SettingDescriptor[] = [
  schedule('schedule.backup.daily', 'Daily backup'),
  schedule('schedule.backup.weekly', 'Weekly backup'),
  schedule('schedule.backup.monthly', 'Monthly archive'),
  schedule('schedule.integrity', 'Integrity check'),
  schedule('schedule.vacuum', 'VACUUM'),
  schedule('schedule.optimize', 'Optimize'),
  schedule('schedule.reindex', 'REINDEX'),
  schedule('schedule.checkpoint', 'WAL checkpoint'),
  schedule('schedule.prune-sync-log', 'Prune the sync log'),
  schedule('schedule.archive-quotes', 'Archive old quotes'),
  schedule('schedule.sample-growth', 'Growth sample'),
  schedule('schedule.evaluate-alerts', 'Alert evaluation'),
];

export const RETENTION_SETTINGS: readonly SettingDescriptor[] = [
  count('retention.daily.days', 'Keep daily backups', 1, 3650, 'days'),
  count('retention.weekly.weeks', 'Keep weekly backups', 1, 520, 'weeks'),
  count('retention.monthly.months', 'Keep monthly archives', 0, 1200, 'months', '0 keeps every archive.'),
  count('retention.pre-restore.days', 'Keep pre-restore snapshots', 1, 3650, 'days'),
  count('maintenance.syncLog.days', 'Prune sync_log rows older than', 1, 3650, 'days'),
  count('maintenance.syncLog.maxRows', 'Keep at most', 100, 10_000_000, 'sync_log rows'),
  count('maintenance.archiveQuotes.years', 'Archive quotes older than', 1, 100, 'years'),
];

/** Every setting of `/api/v1/settings` that an admin changes there, by key. */
export const SETTING_DESCRIPTORS: ReadonlyMap<string, SettingDescriptor> = new Map(
  [...SCHEDULE_SETTINGS, ...RETENTION_SETTINGS].map((d) => [d.key, d]),
);
