import { z } from 'zod';

/** Limits every server and SDK agree on (a server may announce lower ones in /sync/info). */
export const SYNC_LIMITS = {
  maxPushRows: 5000,
  maxPullPage: 5000,
  defaultPullPage: 1000,
  idMaxLength: 64,
  clientIdMaxLength: 100,
} as const;

const Id = z.string().min(1, 'is required').max(SYNC_LIMITS.idMaxLength, `must be at most ${SYNC_LIMITS.idMaxLength} characters`);
const ClientId = z
  .string()
  .min(1, 'is required')
  .max(SYNC_LIMITS.clientIdMaxLength, `must be at most ${SYNC_LIMITS.clientIdMaxLength} characters`)
  .regex(/^[A-Za-z0-9._:@-]+$/, 'may contain only letters, digits and . _ : @ -');

/** A column value on the wire: JSON scalars only (json columns travel as their text). */
export const WireValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export type WireValue = z.infer<typeof WireValue>;

export const ColumnInfo = z.object({
  name: z.string(),
  type: z.enum(['text', 'integer', 'real', 'datetime', 'json', 'boolean']),
  nullable: z.boolean(),
  maxLength: z.number().optional(),
  values: z.array(z.string()).optional(),
  serverOwned: z.boolean().optional(),
});
export type ColumnInfo = z.infer<typeof ColumnInfo>;

export const TableInfo = z.object({
  name: z.string(),
  label: z.string(),
  columns: z.array(ColumnInfo),
  /** CREATE TABLE statement of the master, for a workstation's local file. */
  ddl: z.string(),
  indexes: z.array(z.string()),
});
export type TableInfo = z.infer<typeof TableInfo>;

export const SyncInfoResponse = z.object({
  protocolVersion: z.number(),
  generation: z.string(),
  serverTime: z.string(),
  lastSeq: z.number(),
  syncIntervalMinutes: z.number(),
  tombstoneRetentionDays: z.number(),
  maxPushRows: z.number(),
  maxPullPage: z.number(),
  tables: z.array(TableInfo),
});
export type SyncInfoResponse = z.infer<typeof SyncInfoResponse>;

export const SyncSettings = z.strictObject({
  intervalMinutes: z.number().int().min(5, 'must be at least 5 minutes').max(1440, 'must be at most 1440 minutes (a day)'),
});
export type SyncSettings = z.infer<typeof SyncSettings>;

export const PushChange = z.strictObject({
  table: z.string().min(1, 'is required').max(64),
  op: z.enum(['upsert', 'delete']),
  id: Id,
  /** Server version (`server_seq`) of the row the workstation last saw; 0 for a row it created. */
  baseVersion: z.number().int().min(0),
  /** When the workstation made the change, by its clock (ISO 8601 or SQLite format). */
  updatedAt: z.string().min(10).max(40),
  /** Upserts: the row's values (data columns); the server ignores server-owned columns. */
  values: z.record(z.string(), WireValue).optional(),
  /** Upserts: which data columns this change touched; absent = all given in `values`. */
  changed: z.array(z.string().max(64)).max(200).optional(),
  /**
   * Upserts of rows the workstation had from the server: each changed column's value before its
   * edit. A column whose master value is no longer this was changed by someone else meanwhile:
   * the server judges it as a conflict, whatever the version numbers say.
   */
  base: z.record(z.string(), WireValue).optional(),
  /** After a re-initialisation: the master lost this version in a restore; apply it by time. */
  restore: z.boolean().optional(),
});
export type PushChange = z.infer<typeof PushChange>;

export const PushRequest = z.strictObject({
  protocolVersion: z.literal(1, { error: 'must be 1 (this server speaks sync protocol v1)' }),
  clientId: ClientId,
  batchId: ClientId,
  generation: z.string().min(1, 'is required').max(100),
  /** The workstation's clock when it sent the batch: the server measures clock skew with it. */
  clientTime: z.string().min(10).max(40),
  /** Ties this push to the pulls that follow it: one sync_log row per sync. */
  syncId: z.string().max(100).optional(),
  changes: z.array(PushChange).max(SYNC_LIMITS.maxPushRows, `may hold at most ${SYNC_LIMITS.maxPushRows} rows; split the batch`),
});
export type PushRequest = z.infer<typeof PushRequest>;

export const OUTCOMES = ['applied', 'merged', 'conflict_won', 'conflict_lost', 'unchanged'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const PushResult = z.object({
  table: z.string(),
  id: z.string(),
  outcome: z.enum(OUTCOMES),
  /** The row's server version after this batch. */
  version: z.number(),
  /** The master's row after the batch, when it differs from what the workstation sent. */
  row: z.record(z.string(), WireValue).nullable().optional(),
  deleted: z.boolean(),
  conflictId: z.number().optional(),
});
export type PushResult = z.infer<typeof PushResult>;

export const PushResponse = z.object({
  generation: z.string(),
  batchId: z.string(),
  results: z.array(PushResult),
  lastSeq: z.number(),
  conflicts: z.number(),
  /** Set when the workstation's clock ran ahead of the server's: its times were corrected. */
  clockSkewMs: z.number(),
  clockCorrected: z.boolean(),
  replayed: z.boolean(),
});
export type PushResponse = z.infer<typeof PushResponse>;

/**
 * A whole number as a query string carries it: digits only. Plain coercion read `cursor=` (empty)
 * and `cursor= ` as 0, a pull of everything from the start.
 */
const QueryWhole = z.preprocess(
  (v) => (typeof v === 'number' ? String(v) : v),
  z
    .string()
    .regex(/^\d{1,15}$/, 'must be a whole number (digits only)')
    .transform(Number),
);

export const PullQuery = z.strictObject({
  generation: z.string().min(1, 'is required').max(100),
  clientId: ClientId,
  cursor: QueryWhole,
  until: QueryWhole.optional(),
  limit: QueryWhole.pipe(z.number().min(1).max(SYNC_LIMITS.maxPullPage)).default(SYNC_LIMITS.defaultPullPage),
  syncId: z.string().max(100).optional(),
});
export type PullQuery = z.infer<typeof PullQuery>;

export const SnapshotQuery = z.strictObject({ clientId: ClientId.optional(), syncId: z.string().max(100).optional() });
export type SnapshotQuery = z.infer<typeof SnapshotQuery>;

export const PulledChange = z.object({
  table: z.string(),
  id: z.string(),
  seq: z.number(),
  deleted: z.boolean(),
  values: z.record(z.string(), WireValue),
});
export type PulledChange = z.infer<typeof PulledChange>;

export const PullResponse = z.object({
  generation: z.string(),
  changes: z.array(PulledChange),
  /** Pass as `cursor` for the next page. */
  cursor: z.number(),
  /** The upper bound fixed when this pull started; pass it back on every later page. */
  until: z.number(),
  hasMore: z.boolean(),
});
export type PullResponse = z.infer<typeof PullResponse>;

/** Body of the 409 REINITIALIZE answer: what the workstation needs to start over safely. */
export const ReinitializeDetails = z.object({
  reason: z.enum(['generation', 'cursor-expired']),
  generation: z.string(),
  /** Changes the master holds up to here; the workstation re-pushes its rows newer than this. */
  lastSeq: z.number(),
  /** Rows at or below this version are in the master; workstation rows above it may be lost. */
  restoredSeq: z.number(),
});
export type ReinitializeDetails = z.infer<typeof ReinitializeDetails>;

export const ConflictView = z.object({
  id: z.number(),
  table: z.string(),
  rowId: z.string(),
  detectedAt: z.string(),
  columns: z.array(z.string()),
  winner: z.enum(['server', 'client']),
  kind: z.enum(['update', 'delete-vs-update', 'update-vs-delete']),
  serverVersion: z.record(z.string(), WireValue).nullable(),
  clientVersion: z.record(z.string(), WireValue).nullable(),
  serverUpdatedBy: z.string().nullable(),
  serverUpdatedAt: z.string().nullable(),
  clientUser: z.string(),
  clientId: z.string(),
  clientUpdatedAt: z.string(),
  resolvedAt: z.string().nullable(),
  resolvedBy: z.string().nullable(),
  resolution: z.string().nullable(),
});
export type ConflictView = z.infer<typeof ConflictView>;

export const ConflictQuery = z.strictObject({
  status: z.enum(['open', 'resolved', 'all']).default('open'),
  table: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before: z.coerce.number().int().min(1).optional(),
});
export type ConflictQuery = z.infer<typeof ConflictQuery>;

export const ResolveConflictRequest = z.discriminatedUnion('keep', [
  z.strictObject({ keep: z.literal('winner') }),
  z.strictObject({ keep: z.literal('loser') }),
  z.strictObject({ keep: z.literal('merged'), values: z.record(z.string(), WireValue) }),
]);
export type ResolveConflictRequest = z.infer<typeof ResolveConflictRequest>;

export const NUMBER_KINDS = ['quote', 'project'] as const;
export const NumberKind = z.enum(NUMBER_KINDS);
export type NumberKind = z.infer<typeof NumberKind>;

/**
 * Makes an allocation idempotent: the same request id from the same user (a retry after a lost
 * answer) gets the numbers the first attempt issued, never new ones.
 */
const NumberRequestId = z
  .string()
  .min(1, 'is required')
  .max(100, 'must be at most 100 characters')
  .regex(/^[A-Za-z0-9._:@-]+$/, 'may contain only letters, digits and . _ : @ -');

export const AllocateRequest = z.strictObject({ clientId: ClientId.optional(), requestId: NumberRequestId.optional() });
export const ReserveRequest = z.strictObject({
  count: z.number().int().min(1, 'must be at least 1').max(500, 'must be at most 500'),
  clientId: ClientId.optional(),
  requestId: NumberRequestId.optional(),
});
export type ReserveRequest = z.infer<typeof ReserveRequest>;

export const IssuedNumber = z.object({
  number: z.string(),
  kind: NumberKind,
  year: z.number(),
  sequence: z.number(),
  issuedBy: z.string(),
  issuedAt: z.string(),
  clientId: z.string().nullable(),
  status: z.enum(['issued', 'reserved']),
});
export type IssuedNumber = z.infer<typeof IssuedNumber>;

export const NumbersQuery = z.strictObject({
  kind: NumberKind.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type NumbersQuery = z.infer<typeof NumbersQuery>;

/**
 * Sent on `/sync` and `/ops` just before the server ends a connection whose credentials no longer
 * hold: its device token was revoked, its account disabled, its session signed out or expired, its
 * password changed, or its role no longer allows the stream. The server does not reconnect it.
 */
export interface RevokedEvent {
  reason: 'token-revoked' | 'account-disabled' | 'signed-out' | 'password-changed' | 'session-expired' | 'role-changed';
  message: string;
}

/** socket.io events a workstation receives on the `/sync` namespace. */
export interface SyncServerEvents {
  'changes.available': [{ generation: string; lastSeq: number }];
  'generation.changed': [{ generation: string }];
  revoked: [RevokedEvent];
}
export const SYNC_NAMESPACE = '/sync';
