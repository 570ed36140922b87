import {
  ActiveUserRowSchema,
  AlertEvaluationSchema,
  AlertSettingsViewSchema,
  AlertViewSchema,
  AuditEntryView,
  BackupViewSchema,
  ConflictSummaryRowSchema,
  ConflictView,
  CreatedToken,
  DemoSeedResponse,
  GrowthReportSchema,
  IssuedNumber,
  JobViewSchema,
  LivenessResponse,
  LoginResponse,
  MaintenanceStateSchema,
  MeResponse,
  MigrationPreview,
  MonitoringHealthSchema,
  NumberFormatResponseSchema,
  PullResponse,
  PushResponse,
  ReadinessResponse,
  RefusalOutcomeSchema,
  RefusalViewSchema,
  RegisterNumbersResponseSchema,
  ReportRefusalResponseSchema,
  RestorePreviewSchema,
  SchemaView,
  ScheduleViewSchema,
  ServerTlsView,
  SettingsViewSchema,
  SyncActivityPageSchema,
  SyncInfoResponse,
  SyncSettings,
  SyncStatsSchema,
  SyncTimelineSchema,
  TokenView,
  UserDayRowSchema,
  UserView,
  WorkstationRowSchema,
} from '@cacpq/sync-protocol';
import type { z } from 'zod';

/**
 * What each operation answers on success, from the contract's zod schemas: the one mapping the
 * OpenAPI document's success answers come from (openapi/document.ts), keyed like the document
 * (`METHOD /path/{template}`). Keyed by route rather than by controller class so that moving a
 * handler between controllers does not touch it; the API tests check that every operation has an
 * entry and that the real answers parse with these schemas (testing/openapi.spec.ts).
 */
export type Answer =
  | { kind: 'json'; operation: string; schema: z.ZodType; name: string; many: boolean }
  | { kind: 'file'; operation: string; contentTypes: string[]; description: string; headers?: Record<string, string> }
  | { kind: 'empty'; operation: string };

/** A JSON answer: `schema`, named `name` in components.schemas. */
function json(operation: string, schema: z.ZodType, name: string): Answer {
  return { kind: 'json', operation, schema, name, many: false };
}

/** A JSON array of `schema` (named `name`). */
function list(operation: string, schema: z.ZodType, name: string): Answer {
  return { kind: 'json', operation, schema, name, many: true };
}

/** A handler that writes the JSON text itself: `schema` describes that text. */
const jsonText = json;

/** A file or text the handler streams through `@Res()`. */
function file(operation: string, contentTypes: string[], description: string, headers?: Record<string, string>): Answer {
  return { kind: 'file', operation, contentTypes, description, ...(headers ? { headers } : {}) };
}

/** No body (204). */
function empty(operation: string): Answer {
  return { kind: 'empty', operation };
}

export const ANSWERS: Record<string, Answer> = Object.fromEntries(
  [
    json('GET /api/health', LivenessResponse, 'LivenessResponse'),
    json('GET /api/health/ready', ReadinessResponse, 'ReadinessResponse'),

    json('POST /api/v1/auth/login', LoginResponse, 'LoginResponse'),
    empty('POST /api/v1/auth/logout'),
    json('GET /api/v1/auth/me', MeResponse, 'MeResponse'),
    empty('POST /api/v1/auth/password'),
    json('GET /api/v1/server/tls', ServerTlsView, 'ServerTlsView'),

    list('GET /api/v1/users', UserView, 'UserView'),
    json('POST /api/v1/users', UserView, 'UserView'),
    json('PATCH /api/v1/users/{username}', UserView, 'UserView'),
    list('GET /api/v1/users/{username}/tokens', TokenView, 'TokenView'),
    json('POST /api/v1/users/{username}/tokens', CreatedToken, 'CreatedToken'),
    json('DELETE /api/v1/tokens/{id}', TokenView, 'TokenView'),
    list('GET /api/v1/audit', AuditEntryView, 'AuditEntryView'),
    json('POST /api/v1/demo/seed', DemoSeedResponse, 'DemoSeedResponse'),

    json('GET /api/v1/sync/info', SyncInfoResponse, 'SyncInfoResponse'),
    json('GET /api/v1/schema', SchemaView, 'SchemaView'),
    json('POST /api/v1/schema/exclude', SchemaView, 'SchemaView'),
    json('POST /api/v1/schema/include', SchemaView, 'SchemaView'),
    json('POST /api/v1/schema/migrations/preview', MigrationPreview, 'MigrationPreview'),
    json('POST /api/v1/schema/migrations', JobViewSchema, 'JobView'),
    jsonText('POST /api/v1/sync/push', PushResponse, 'PushResponse'),
    json('GET /api/v1/sync/pull', PullResponse, 'PullResponse'),
    list('GET /api/v1/sync/refusals', RefusalOutcomeSchema, 'RefusalOutcome'),
    json('POST /api/v1/sync/refusals', ReportRefusalResponseSchema, 'ReportRefusalResponse'),
    file('GET /api/v1/sync/snapshot', ['application/gzip'], 'Every live row as a gzip-compressed SQLite file.', {
      'X-Snapshot-Seq': 'The last change the snapshot holds: the cursor to pull from.',
      'X-Generation': 'The generation the snapshot is of.',
      'X-Snapshot-Rows': 'Rows in the snapshot.',
    }),
    json('PUT /api/v1/sync/settings', SyncSettings, 'SyncSettings'),

    list('GET /api/v1/conflicts', ConflictView, 'ConflictView'),
    json('GET /api/v1/conflicts/{id}', ConflictView, 'ConflictView'),
    json('POST /api/v1/conflicts/{id}/resolve', ConflictView, 'ConflictView'),
    list('GET /api/v1/refusals', RefusalViewSchema, 'RefusalView'),
    json('GET /api/v1/refusals/{id}', RefusalViewSchema, 'RefusalView'),
    json('POST /api/v1/refusals/{id}/accept', RefusalViewSchema, 'RefusalView'),
    json('POST /api/v1/refusals/{id}/resubmit', RefusalViewSchema, 'RefusalView'),
    json('POST /api/v1/refusals/{id}/discard', RefusalViewSchema, 'RefusalView'),

    list('GET /api/v1/numbers', IssuedNumber, 'IssuedNumber'),
    json('POST /api/v1/numbers/uses', RegisterNumbersResponseSchema, 'RegisterNumbersResponse'),
    json('POST /api/v1/numbers/{kind}', IssuedNumber, 'IssuedNumber'),
    list('POST /api/v1/numbers/{kind}/reserve', IssuedNumber, 'IssuedNumber'),
    json('PUT /api/v1/numbers/{kind}/format', NumberFormatResponseSchema, 'NumberFormatResponse'),

    json('POST /api/v1/backups', JobViewSchema, 'JobView'),
    list('GET /api/v1/backups', BackupViewSchema, 'BackupView'),
    json('GET /api/v1/backups/{id}', BackupViewSchema, 'BackupView'),
    json('GET /api/v1/backups/{id}/preview', RestorePreviewSchema, 'RestorePreview'),
    file(
      'GET /api/v1/backups/{id}/download',
      ['application/zip', 'application/vnd.sqlite3'],
      'The backup set as a zip (a monthly archive as it is), or with `file` one SQLite file of it.',
    ),
    json('POST /api/v1/backups/{id}/restore', JobViewSchema, 'JobView'),
    list('GET /api/v1/jobs', JobViewSchema, 'JobView'),
    json('GET /api/v1/jobs/{id}', JobViewSchema, 'JobView'),
    json('POST /api/v1/maintenance/{job}', JobViewSchema, 'JobView'),
    list('GET /api/v1/maintenance/runs', JobViewSchema, 'JobView'),
    list('GET /api/v1/maintenance/schedules', ScheduleViewSchema, 'ScheduleView'),
    json('GET /api/v1/maintenance/state', MaintenanceStateSchema, 'MaintenanceState'),
    json('GET /api/v1/settings', SettingsViewSchema, 'SettingsView'),
    json('PATCH /api/v1/settings', SettingsViewSchema, 'SettingsView'),

    json('GET /api/v1/monitoring/sync-activity', SyncActivityPageSchema, 'SyncActivityPage'),
    list('GET /api/v1/monitoring/conflict-summary', ConflictSummaryRowSchema, 'ConflictSummaryRow'),
    list('GET /api/v1/monitoring/active-users', ActiveUserRowSchema, 'ActiveUserRow'),
    json('GET /api/v1/monitoring/sync-stats', SyncStatsSchema, 'SyncStats'),
    json('GET /api/v1/monitoring/sync-timeline', SyncTimelineSchema, 'SyncTimeline'),
    list('GET /api/v1/monitoring/user-days', UserDayRowSchema, 'UserDayRow'),
    json('GET /api/v1/monitoring/health', MonitoringHealthSchema, 'MonitoringHealth'),
    json('GET /api/v1/monitoring/growth', GrowthReportSchema, 'GrowthReport'),
    list('GET /api/v1/monitoring/workstations', WorkstationRowSchema, 'WorkstationRow'),
    file('GET /metrics', ['text/plain'], 'Prometheus text exposition format, version 0.0.4.'),

    list('GET /api/v1/alerts', AlertViewSchema, 'AlertView'),
    json('GET /api/v1/alerts/settings', AlertSettingsViewSchema, 'AlertSettingsView'),
    json('PATCH /api/v1/alerts/settings', AlertSettingsViewSchema, 'AlertSettingsView'),
    json('POST /api/v1/alerts/evaluate', AlertEvaluationSchema, 'AlertEvaluation'),
    json('POST /api/v1/alerts/{id}/acknowledge', AlertViewSchema, 'AlertView'),
  ].map((a) => [a.operation, a]),
);
