import { z } from 'zod';

/** The guide's monitoring queries as endpoints (`/api/v1/monitoring/*`, managers and admins). */

const Instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time, e.g. 2026-11-24T08:00:00Z' });

/** A time range; `to` defaults to now and `from` to a default span before `to`. */
const Range = {
  from: Instant.optional(),
  to: Instant.optional(),
};

export const SYNC_STATUSES = ['success', 'error'] as const;

/** Narrows sync_log to one user, one workstation and/or one status: the listing, statistics and timeline share them. */
const SyncFilters = {
  user: z.string().min(1).max(100).optional(),
  clientId: z.string().min(1).max(100).optional(),
  status: z.enum(SYNC_STATUSES).optional(),
};

export const SyncActivityQuery = z.strictObject({
  ...Range,
  ...SyncFilters,
  limit: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(1000, 'must be at most 1000').default(100),
  /** Paging: rows with an id below this (the previous page's `nextBefore`). */
  before: z.coerce.number().int().min(1).optional(),
});
export type SyncActivityQuery = z.infer<typeof SyncActivityQuery>;

export interface SyncActivityRow {
  id: number;
  /** The guide's `datetime(timestamp) AS sync_time` (UTC, `YYYY-MM-DD HH:MM:SS`). */
  syncTime: string;
  status: string;
  recordsPulled: number;
  recordsPushed: number;
  conflicts: number;
  durationMs: number;
  user: string | null;
  clientId: string | null;
  error: string | null;
}

export interface SyncActivityPage {
  from: string;
  to: string;
  rows: SyncActivityRow[];
  /** Pass as `before` for the next page; null on the last page. */
  nextBefore: number | null;
}

export const DaysQuery = (defaultDays: number) =>
  z.strictObject({
    days: z.coerce
      .number()
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(3660, 'must be at most 3660')
      .default(defaultDays),
  });
export const ConflictSummaryQuery = DaysQuery(7);
export type ConflictSummaryQuery = z.infer<typeof ConflictSummaryQuery>;
export const ActiveUsersQuery = DaysQuery(30);
export type ActiveUsersQuery = z.infer<typeof ActiveUsersQuery>;

/** The guide's "Conflict summary last 7 days", one row per day, newest first. */
export interface ConflictSummaryRow {
  date: string;
  totalSyncs: number;
  totalConflicts: number;
  avgConflicts: number;
  failedSyncs: number;
}

/** The guide's "Most active users (last 30 days)". */
export interface ActiveUserRow {
  updatedBy: string | null;
  activeDays: number;
  totalChanges: number;
}

export const SyncStatsQuery = z.strictObject({ ...Range, ...SyncFilters });
export type SyncStatsQuery = z.infer<typeof SyncStatsQuery>;

export interface SyncStats {
  from: string;
  to: string;
  syncs: number;
  succeeded: number;
  failed: number;
  /** succeeded / syncs, 0..1; null without syncs. */
  successRate: number | null;
  /** Share of syncs that recorded at least one conflict, 0..1; null without syncs. */
  conflictRate: number | null;
  avgDurationMs: number | null;
  recordsPulled: number;
  recordsPushed: number;
  conflicts: number;
}

/** Per user and workstation: the guide's "ensure all users are syncing". */
export interface WorkstationRow {
  user: string | null;
  clientId: string | null;
  lastSync: string;
  lastStatus: string;
  syncs: number;
  /** The workstation's clock offset from the server's at its latest request (positive: ahead); null before one was measured. */
  clockOffsetMs: number | null;
  clockMeasuredAt: string | null;
}

export interface MonitoringHealth {
  status: 'ok' | 'warning' | 'critical';
  /** Sentences for each warning or critical finding; empty when all is well. */
  problems: string[];
  files: { name: string; present: boolean; bytes: number; walBytes: number }[];
  /** The latest evidence that the master's pages are sound: an integrity job, or a verified backup's quick_check of a copy. */
  quickCheck: { result: string; at: string; ageHours: number; source: string } | null;
  lastVerifiedBackup: { name: string; at: string; ageHours: number } | null;
  freeDiskBytes: number;
  uptimeSeconds: number;
  sqliteVersion: string;
  generation: string;
  maintenance: { active: boolean; reason: string | null; since: string | null };
  connectedWorkstations: number;
}

export const GrowthQuery = z.strictObject({
  days: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(3660, 'must be at most 3660').default(90),
});
export type GrowthQuery = z.infer<typeof GrowthQuery>;

export interface GrowthSample {
  at: string;
  bytes: number;
  walBytes: number;
  pageSize: number;
  pageCount: number;
  freelistCount: number;
}

export interface GrowthFile {
  file: string;
  samples: GrowthSample[];
  /** Latest rows and bytes per table. */
  tables: { table: string; rows: number; bytes: number }[];
  /** Change of file + WAL bytes from the last sample at least a day older to the latest, in % (null without one). */
  dayOverDayPct: number | null;
  /** Growth per year from the first to the last sample of the window, in MB (null with under a day of history). */
  projectedMbPerYear: number | null;
}

export interface GrowthReport {
  files: GrowthFile[];
  /** All files together, against the guide: 50–100 MB a year is normal for 5 users; over 500 MB a year, investigate. */
  projectedMbPerYear: number | null;
  assessment: 'normal' | 'above normal' | 'investigate' | 'not enough history';
  guide: { normalMbPerYear: [number, number]; investigateAboveMbPerYear: number };
}

/** The longest range `GET /monitoring/sync-timeline` answers (its hours are drawn one bar each). */
export const SYNC_TIMELINE_MAX_DAYS = 31;

export const SyncTimelineQuery = z.strictObject({ ...Range, ...SyncFilters });
export type SyncTimelineQuery = z.infer<typeof SyncTimelineQuery>;

/** One UTC hour of `sync_log` (rows with a timestamp in that hour and in the range). */
export interface SyncTimelineHour {
  /** Start of the hour, UTC, `YYYY-MM-DD HH:00:00`. */
  hour: string;
  syncs: number;
  /** Syncs per status (`success`, `error`); only statuses that occurred. */
  byStatus: Record<string, number>;
  /** Syncs that recorded at least one conflict. */
  withConflicts: number;
  conflicts: number;
  recordsPulled: number;
  recordsPushed: number;
  /** Nearest-rank percentiles of duration_ms (the ceil(p·n)-th shortest); null in an hour without syncs. */
  p50DurationMs: number | null;
  p95DurationMs: number | null;
}

/** Per UTC hour over (from, to], every hour listed (empty ones with zeros), oldest first. */
export interface SyncTimeline {
  from: string;
  to: string;
  /** Every status in the range, sorted. */
  statuses: string[];
  hours: SyncTimelineHour[];
}

export const USER_DAYS_MAX = 366;
export const UserDaysQuery = z.strictObject({
  days: z.coerce
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(USER_DAYS_MAX, `must be at most ${USER_DAYS_MAX}`)
    .default(30),
});
export type UserDaysQuery = z.infer<typeof UserDaysQuery>;

/** Changes per person per day: the guide's "most active users" counted by the day of updated_at (components, quotes, projects). */
export interface UserDayRow {
  /** `YYYY-MM-DD` (UTC) of the rows' updated_at. */
  day: string;
  updatedBy: string | null;
  changes: number;
}
