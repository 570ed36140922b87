import { z } from 'zod';
import {
  ALERT_RULES,
  ALERT_SETTING_DEFAULTS,
  ALERT_SEVERITIES,
  type AlertEvaluation,
  type AlertSettingsView,
  type AlertView,
} from './alerts';
import { ERROR_CODES, type ApiErrorBody } from './errors';
import type {
  ActiveUserRow,
  ConflictSummaryRow,
  GrowthFile,
  GrowthReport,
  GrowthSample,
  MonitoringHealth,
  SyncActivityPage,
  SyncActivityRow,
  SyncStats,
  SyncTimeline,
  SyncTimelineHour,
  UserDayRow,
  WorkstationRow,
} from './monitoring';
import {
  BACKUP_KINDS,
  JOB_STATUSES,
  JOB_TYPES,
  type BackupFileView,
  type BackupView,
  type JobView,
  type MaintenanceState,
  type RestorePreview,
  type ScheduleView,
} from './operations';
import { REFUSAL_STATUSES, WireValue, type RefusalOutcome, type RefusalView, type RegisterNumbersResponse } from './sync';

/**
 * Zod schemas of the answers the contract so far described only as TypeScript interfaces, for the
 * OpenAPI description (`z.toJSONSchema`). Each is proven equal to its interface below (mutual
 * assignability, checked by the compiler): an interface that changes without its schema, or the
 * other way round, fails the typecheck.
 */

const Json = z.record(z.string(), z.unknown());

export const ApiErrorBodySchema = z.object({
  statusCode: z.number(),
  code: z.enum(Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES, ...(keyof typeof ERROR_CODES)[]]),
  message: z.string(),
  requestId: z.string().optional(),
  details: z.unknown().optional(),
});

// ---- monitoring -------------------------------------------------------------------------------

export const SyncActivityRowSchema = z.object({
  id: z.number(),
  syncTime: z.string(),
  status: z.string(),
  recordsPulled: z.number(),
  recordsPushed: z.number(),
  conflicts: z.number(),
  durationMs: z.number(),
  user: z.string().nullable(),
  clientId: z.string().nullable(),
  error: z.string().nullable(),
});

export const SyncActivityPageSchema = z.object({
  from: z.string(),
  to: z.string(),
  rows: z.array(SyncActivityRowSchema),
  nextBefore: z.number().nullable(),
});

export const ConflictSummaryRowSchema = z.object({
  date: z.string(),
  totalSyncs: z.number(),
  totalConflicts: z.number(),
  avgConflicts: z.number(),
  failedSyncs: z.number(),
});

export const ActiveUserRowSchema = z.object({
  updatedBy: z.string().nullable(),
  activeDays: z.number(),
  totalChanges: z.number(),
});

export const SyncStatsSchema = z.object({
  from: z.string(),
  to: z.string(),
  syncs: z.number(),
  succeeded: z.number(),
  failed: z.number(),
  successRate: z.number().nullable(),
  conflictRate: z.number().nullable(),
  avgDurationMs: z.number().nullable(),
  recordsPulled: z.number(),
  recordsPushed: z.number(),
  conflicts: z.number(),
});

export const WorkstationRowSchema = z.object({
  user: z.string().nullable(),
  clientId: z.string().nullable(),
  lastSync: z.string(),
  lastStatus: z.string(),
  syncs: z.number(),
  clockOffsetMs: z.number().nullable(),
  clockMeasuredAt: z.string().nullable(),
});

export const MonitoringHealthSchema = z.object({
  status: z.enum(['ok', 'warning', 'critical']),
  problems: z.array(z.string()),
  files: z.array(z.object({ name: z.string(), present: z.boolean(), bytes: z.number(), walBytes: z.number() })),
  quickCheck: z.object({ result: z.string(), at: z.string(), ageHours: z.number(), source: z.string() }).nullable(),
  lastVerifiedBackup: z.object({ name: z.string(), at: z.string(), ageHours: z.number() }).nullable(),
  freeDiskBytes: z.number(),
  uptimeSeconds: z.number(),
  sqliteVersion: z.string(),
  generation: z.string(),
  maintenance: z.object({ active: z.boolean(), reason: z.string().nullable(), since: z.string().nullable() }),
  connectedWorkstations: z.number(),
});

export const GrowthSampleSchema = z.object({
  at: z.string(),
  bytes: z.number(),
  walBytes: z.number(),
  pageSize: z.number(),
  pageCount: z.number(),
  freelistCount: z.number(),
});

export const GrowthFileSchema = z.object({
  file: z.string(),
  samples: z.array(GrowthSampleSchema),
  tables: z.array(z.object({ table: z.string(), rows: z.number(), bytes: z.number() })),
  dayOverDayPct: z.number().nullable(),
  projectedMbPerYear: z.number().nullable(),
});

export const GrowthReportSchema = z.object({
  files: z.array(GrowthFileSchema),
  projectedMbPerYear: z.number().nullable(),
  assessment: z.enum(['normal', 'above normal', 'investigate', 'not enough history']),
  guide: z.object({ normalMbPerYear: z.tuple([z.number(), z.number()]), investigateAboveMbPerYear: z.number() }),
});

export const SyncTimelineHourSchema = z.object({
  hour: z.string(),
  syncs: z.number(),
  byStatus: z.record(z.string(), z.number()),
  withConflicts: z.number(),
  conflicts: z.number(),
  recordsPulled: z.number(),
  recordsPushed: z.number(),
  p50DurationMs: z.number().nullable(),
  p95DurationMs: z.number().nullable(),
});

export const SyncTimelineSchema = z.object({
  from: z.string(),
  to: z.string(),
  statuses: z.array(z.string()),
  hours: z.array(SyncTimelineHourSchema),
});

export const UserDayRowSchema = z.object({ day: z.string(), updatedBy: z.string().nullable(), changes: z.number() });

// ---- operations -------------------------------------------------------------------------------

export const BackupFileViewSchema = z.object({
  role: z.enum(['server', 'numbers']),
  path: z.string(),
  bytes: z.number(),
  sha256: z.string().nullable(),
  rowCounts: z.record(z.string(), z.number()),
  lastSeq: z.number().nullable(),
});

export const BackupViewSchema = z.object({
  id: z.number(),
  name: z.string(),
  kind: z.enum(BACKUP_KINDS),
  origin: z.enum(['server', 'found']),
  createdAt: z.string(),
  status: z.enum(['verified', 'failed']),
  check: z.enum(['quick_check', 'integrity_check']),
  verifiedAt: z.string(),
  problem: z.string().nullable(),
  bytes: z.number(),
  files: z.array(BackupFileViewSchema),
  jobId: z.number().nullable(),
});

export const JobViewSchema = z.object({
  id: z.number(),
  type: z.enum(JOB_TYPES),
  params: Json,
  trigger: z.enum(['manual', 'schedule', 'restore']),
  requestedBy: z.string(),
  status: z.enum(JOB_STATUSES),
  queuedAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
  progress: z.number(),
  phase: z.string().nullable(),
  result: Json.nullable(),
  error: z.string().nullable(),
});

export const RestorePreviewSchema = z.object({
  backup: BackupViewSchema,
  confirmPhrase: z.string(),
  tables: z.array(z.object({ table: z.string(), backup: z.number(), now: z.number() })),
  changesSince: z.number().nullable(),
});

export const MaintenanceStateSchema = z.object({
  active: z.boolean(),
  reason: z.string().nullable(),
  since: z.string().nullable(),
  jobId: z.number().nullable(),
  retryAfterSeconds: z.number(),
});

export const ScheduleViewSchema = z.object({
  job: z.string(),
  setting: z.string(),
  cron: z.string(),
  nextRun: z.string().nullable(),
  lastRun: z.object({ id: z.number(), status: z.enum(JOB_STATUSES), finishedAt: z.string().nullable() }).nullable(),
});

/** `GET/PATCH /api/v1/settings`: every run-time setting by key. */
export const SettingsViewSchema = z.record(z.string(), z.union([z.number(), z.string()]));

// ---- sync, refusals, numbers ------------------------------------------------------------------

export const RefusalViewSchema = z.object({
  id: z.number(),
  clientId: z.string(),
  user: z.string(),
  table: z.string(),
  rowId: z.string(),
  op: z.enum(['upsert', 'delete']),
  column: z.string().nullable(),
  code: z.string(),
  message: z.string(),
  value: z.string().nullable(),
  overridable: z.boolean(),
  values: Json.nullable(),
  firstSeenAt: z.string(),
  lastSeenAt: z.string(),
  times: z.number(),
  status: z.enum(REFUSAL_STATUSES),
  resolvedAt: z.string().nullable(),
  resolvedBy: z.string().nullable(),
  resolution: z.string().nullable(),
});

export const RefusalOutcomeSchema = z.object({
  id: z.number(),
  status: z.enum(REFUSAL_STATUSES),
  table: z.string(),
  rowId: z.string(),
  row: z.record(z.string(), WireValue).nullable().optional(),
  version: z.number().optional(),
  deleted: z.boolean().optional(),
});

/** `POST /api/v1/sync/refusals`: the server's refusal id of each reported change (null when not recorded). */
export const ReportRefusalResponseSchema = z.object({ ids: z.array(z.number().nullable()) });

export const RegisterNumbersResponseSchema = z.object({ registered: z.number(), duplicates: z.array(z.string()) });

/** `PUT /api/v1/numbers/{kind}/format`: the format now in force. */
export const NumberFormatResponseSchema = z.object({ kind: z.enum(['quote', 'project']), format: z.string() });

// ---- alerts -----------------------------------------------------------------------------------

export const AlertViewSchema = z.object({
  id: z.number(),
  rule: z.enum(ALERT_RULES),
  subject: z.string(),
  severity: z.enum(ALERT_SEVERITIES),
  status: z.enum(['open', 'resolved']),
  openedAt: z.string(),
  resolvedAt: z.string().nullable(),
  acknowledgedAt: z.string().nullable(),
  acknowledgedBy: z.string().nullable(),
  message: z.string(),
  resolution: z.string().nullable(),
  details: Json,
  lastEvaluatedAt: z.string(),
  notifiedAt: z.string().nullable(),
});

export const AlertEvaluationSchema = z.object({
  evaluatedAt: z.string(),
  opened: z.array(AlertViewSchema),
  resolved: z.array(AlertViewSchema),
  open: z.number(),
});

type AlertSettingShape = {
  [K in Exclude<keyof typeof ALERT_SETTING_DEFAULTS, 'alerts.smtp.password'>]: (typeof ALERT_SETTING_DEFAULTS)[K] extends boolean
    ? z.ZodBoolean
    : (typeof ALERT_SETTING_DEFAULTS)[K] extends number
      ? z.ZodNumber
      : z.ZodString;
};

/** Every alert setting but the SMTP password (write-only), built from the same defaults as the type. */
export const AlertSettingsViewSchema = z.strictObject({
  ...(Object.fromEntries(
    Object.entries(ALERT_SETTING_DEFAULTS)
      .filter(([key]) => key !== 'alerts.smtp.password')
      .map(([key, value]) => [key, typeof value === 'boolean' ? z.boolean() : typeof value === 'number' ? z.number() : z.string()]),
  ) as AlertSettingShape),
  'alerts.smtp.passwordSet': z.boolean(),
});

// ---- each schema is its interface ---------------------------------------------------------------

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Proof<S extends z.ZodType, T> = Same<z.output<S>, T>;
/** Compiles only when every entry is `true`. */
const proofs: Record<string, true> = {
  ApiErrorBody: true satisfies Proof<typeof ApiErrorBodySchema, ApiErrorBody>,
  SyncActivityRow: true satisfies Proof<typeof SyncActivityRowSchema, SyncActivityRow>,
  SyncActivityPage: true satisfies Proof<typeof SyncActivityPageSchema, SyncActivityPage>,
  ConflictSummaryRow: true satisfies Proof<typeof ConflictSummaryRowSchema, ConflictSummaryRow>,
  ActiveUserRow: true satisfies Proof<typeof ActiveUserRowSchema, ActiveUserRow>,
  SyncStats: true satisfies Proof<typeof SyncStatsSchema, SyncStats>,
  WorkstationRow: true satisfies Proof<typeof WorkstationRowSchema, WorkstationRow>,
  MonitoringHealth: true satisfies Proof<typeof MonitoringHealthSchema, MonitoringHealth>,
  GrowthSample: true satisfies Proof<typeof GrowthSampleSchema, GrowthSample>,
  GrowthFile: true satisfies Proof<typeof GrowthFileSchema, GrowthFile>,
  GrowthReport: true satisfies Proof<typeof GrowthReportSchema, GrowthReport>,
  SyncTimelineHour: true satisfies Proof<typeof SyncTimelineHourSchema, SyncTimelineHour>,
  SyncTimeline: true satisfies Proof<typeof SyncTimelineSchema, SyncTimeline>,
  UserDayRow: true satisfies Proof<typeof UserDayRowSchema, UserDayRow>,
  BackupFileView: true satisfies Proof<typeof BackupFileViewSchema, BackupFileView>,
  BackupView: true satisfies Proof<typeof BackupViewSchema, BackupView>,
  JobView: true satisfies Proof<typeof JobViewSchema, JobView>,
  RestorePreview: true satisfies Proof<typeof RestorePreviewSchema, RestorePreview>,
  MaintenanceState: true satisfies Proof<typeof MaintenanceStateSchema, MaintenanceState>,
  ScheduleView: true satisfies Proof<typeof ScheduleViewSchema, ScheduleView>,
  RefusalView: true satisfies Proof<typeof RefusalViewSchema, RefusalView>,
  RefusalOutcome: true satisfies Proof<typeof RefusalOutcomeSchema, RefusalOutcome>,
  RegisterNumbersResponse: true satisfies Proof<typeof RegisterNumbersResponseSchema, RegisterNumbersResponse>,
  AlertView: true satisfies Proof<typeof AlertViewSchema, AlertView>,
  AlertEvaluation: true satisfies Proof<typeof AlertEvaluationSchema, AlertEvaluation>,
  AlertSettingsView: true satisfies Proof<typeof AlertSettingsViewSchema, AlertSettingsView>,
};
void proofs;
