import { localDate } from '@cacpq/db';
import type { BackupKind } from '@cacpq/sync-protocol';

export interface RetentionSettings {
  dailyDays: number;
  weeklyWeeks: number;
  /** 0 keeps every monthly archive. */
  monthlyMonths: number;
  preRestoreDays: number;
}

/**
 * The guide's retention as a calendar: the first local date (`YYYY-MM-DD`) a backup of this kind is
 * kept from, or null when every one is kept (manual backups, monthly archives with 0). Counted in
 * calendar days of the server's local time, today included: 30 days keeps today and the 29 days
 * before it, whatever the hour and across the clock changes.
 */
export function retentionKeepsFrom(kind: BackupKind, now: Date, s: RetentionSettings): string | null {
  const daysBack = (days: number) => localDate(new Date(now.getFullYear(), now.getMonth(), now.getDate() - (days - 1)));
  switch (kind) {
    case 'daily':
      return daysBack(s.dailyDays);
    case 'weekly':
      return daysBack(s.weeklyWeeks * 7);
    case 'pre-restore':
      return daysBack(s.preRestoreDays);
    case 'monthly':
      return s.monthlyMonths > 0 ? localDate(new Date(now.getFullYear(), now.getMonth() - (s.monthlyMonths - 1), 1)) : null;
    default:
      return null;
  }
}
