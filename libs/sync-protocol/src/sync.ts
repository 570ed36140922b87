import { z } from 'zod';

/** The sync protocol's version: every push carries it; `/sync/info` and `/health/ready` announce it. */
export const PROTOCOL_VERSION = 1;

/** Limits every server and SDK agree on (a server may announce lower ones in /sync/info). */
export const SYNC_LIMITS = {
  maxPushRows: 5000,
  maxPullPage: 5000,
  defaultPullPage: 1000,
  /** The SDK's largest push batch (outbox entries): halved while a batch is too large for the server's body limit. */
  sdkPushBatch: 2000,
  /** Numbers a workstation registers in one `POST /numbers/uses`. */
  maxNumberUses: 500,
  /** Numbers reserved in one `POST /numbers/:kind/reserve`. */
  maxReserve: 500,
  idMaxLength: 64,
  clientIdMaxLength: 100,
} as const;

const Id = z.string().min(1, 'is required').max(SYNC_LIMITS.idMaxLength, `must be at most ${SYNC_LIMITS.idMaxLength} characters`);
const ClientId = z
  .string()
  .min(1, 'is required')
  .max(SYNC_LIMITS.clientIdMaxLength, `must be at most ${SYNC_LIMITS.clientIdMaxLength} characters`)
  .regex(/^[A-Za-z0-9._:@-]+$/, 'may contain only letters, digits and . _ : @ -');

/** Sync columns of every synced table: the server keeps them; a workstation never sends them as values. */
export const SYNC_COLUMN_NAMES = ['id', 'updated_at', 'updated_by', 'synced_at', 'server_seq', 'deleted'] as const;

/** A column value on the wire: JSON scalars only (json columns travel as their text). */
export const WireValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export type WireValue = z.infer<typeof WireValue>;

/**
 * A value a workstation pushes: a JSON scalar, or one of the two SQLite values JSON cannot carry
 * exactly, tagged: an integer beyond ±2^53 as its decimal digits, a BLOB as base64. A REAL travels
 * as a JSON number (JavaScript writes the shortest text that reads back as the same double), text
 * with NUL characters as a JSON string. The server compares bases with them bit for bit; it stores
 * neither tagged kind (they are refused with a sentence, and the workstation holds the change back).
 */
export const PushValue = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.null(),
  z.strictObject({ $int: z.string().regex(/^-?\d{1,20}$/, 'must be the digits of an integer') }),
  z.strictObject({ $blob: z.string().max(16 * 1024 * 1024) }),
]);
export type PushValue = z.infer<typeof PushValue>;

export function isTaggedValue(v: unknown): v is { $int: string } | { $blob: string } {
  return typeof v === 'object' && v !== null && ('$int' in v || '$blob' in v);
}

export const ColumnInfo = z.object({
  name: z.string(),
  type: z.enum(['text', 'integer', 'real', 'datetime', 'json', 'boolean', 'any']),
  nullable: z.boolean(),
  maxLength: z.number().optional(),
  values: z.array(z.string()).optional(),
  serverOwned: z.boolean().optional(),
});
export type ColumnInfo = z.infer<typeof ColumnInfo>;

/** The SQLite declared type of a column type (what `PRAGMA table_info` shows; `any`: none). */
export function sqliteDeclaredType(type: ColumnInfo['type']): string {
  switch (type) {
    case 'text':
    case 'json':
      return 'TEXT';
    case 'integer':
    case 'boolean':
      return 'INTEGER';
    case 'real':
      return 'REAL';
    case 'datetime':
      return 'DATETIME';
    case 'any':
      return '';
  }
}

export const TableInfo = z.object({
  name: z.string(),
  label: z.string(),
  columns: z.array(ColumnInfo),
  /** Columns of the master's table an admin keeps out of the sync: a workstation neither sends nor receives them. */
  excluded: z.array(z.string()).optional(),
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
  /** The largest request body the server reads: a push batch above it is split by the SDK. */
  maxBodyBytes: z.number(),
  /** What this server understands beyond protocol 1's first release (an SDK sends the matching fields only then). */
  features: z.array(z.string()).optional(),
  /**
   * Version of the learned sync schema (the tables and columns below). It changes when an admin
   * applies a migration or excludes something: a workstation then brings its file up to date
   * before it pulls. Absent from servers before it.
   */
  schemaVersion: z.number().optional(),
  tables: z.array(TableInfo),
});

/**
 * Features a server announces in `/sync/info`: `push-cursor` (a push's `cursor` is checked),
 * `refusals` (refused changes listed per change, `/sync/refusals`), `give-back-lineage` (a push's
 * `giveBackFrom`), `number-uses` (`POST /numbers/uses`). A newer SDK talking to an older server
 * leaves out what it does not announce.
 */
export const SERVER_FEATURES = ['push-cursor', 'refusals', 'give-back-lineage', 'number-uses'] as const;
export type ServerFeature = (typeof SERVER_FEATURES)[number];
export type SyncInfoResponse = z.infer<typeof SyncInfoResponse>;

export const SyncSettings = z.strictObject({
  intervalMinutes: z.number().int().min(5, 'must be at least 5 minutes').max(1440, 'must be at most 1440 minutes (a day)'),
});
export type SyncSettings = z.infer<typeof SyncSettings>;

export const PushChange = z.strictObject({
  table: z.string().min(1, 'is required').max(64),
  op: z.enum(['upsert', 'delete']),
  id: Id,
  /**
   * Server version (`server_seq`) of the row the workstation last saw; 0 for a row it created. With
   * `restore`: the version the workstation holds from before the master was restored (its lost version).
   */
  baseVersion: z.number().int().min(0),
  /** When the workstation made the change, by its clock (ISO 8601 or SQLite format). */
  updatedAt: z.string().min(10).max(40),
  /**
   * Upserts: the row's values (data columns). Only the `changed` columns are checked against the
   * column rules: a value an older app left in another column never blocks an edit.
   */
  values: z.record(z.string(), PushValue).optional(),
  /** Upserts: which data columns this change touched; absent = all given in `values`. */
  changed: z.array(z.string().max(64)).max(200).optional(),
  /**
   * Upserts of rows the workstation had from the server: each changed column's value before its
   * edit. A column whose master value is no longer this was changed by someone else meanwhile:
   * the server judges it as a conflict, whatever the version numbers say.
   */
  base: z.record(z.string(), PushValue).optional(),
  /**
   * A give-back after a restore: `values` are the row as this workstation last synced it, a version
   * the restored master lost. The server takes each column the restored master still holds as it was
   * at the restore, records a conflict where someone changed it since, and skips what it has already.
   */
  restore: z.boolean().optional(),
});
export type PushChange = z.infer<typeof PushChange>;

export const PushRequest = z.strictObject({
  protocolVersion: z.literal(PROTOCOL_VERSION, {
    error: `must be ${PROTOCOL_VERSION} (this server speaks sync protocol v${PROTOCOL_VERSION})`,
  }),
  clientId: ClientId,
  batchId: ClientId,
  generation: z.string().min(1, 'is required').max(100),
  /** The workstation's clock when it sent the batch: the server measures clock skew with it. */
  clientTime: z.string().min(10).max(40),
  /** Ties this push to the pulls that follow it: one sync_log row per sync. */
  syncId: z.string().max(100).optional(),
  /**
   * The workstation's pull cursor. A cursor from before purged deletions is answered 409
   * REINITIALIZE before anything is applied (a stale edit of a purged row must not come back as new).
   */
  cursor: z.number().int().min(0).optional(),
  /**
   * Give-backs (`restore` changes): the generation the workstation synced them under. The server
   * judges them against the history that generation shares with the master's, also across several
   * restores.
   */
  giveBackFrom: z.string().min(1).max(100).optional(),
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
  /**
   * Values the master stores in another form than sent (a date-time in SQLite's), when the row
   * itself is not in the answer: the workstation writes these columns so it holds what the master holds.
   */
  stored: z.record(z.string(), WireValue).optional(),
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
  /** The learned schema's version when the batch was applied (see `/sync/info`). */
  schemaVersion: z.number().optional(),
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
  /** The learned schema's version: a workstation that holds another one brings its file up to date first (see `/sync/info`). */
  schemaVersion: z.number().optional(),
});
export type PullResponse = z.infer<typeof PullResponse>;

/**
 * One change a push was refused for, for what it is (a column rule, an unknown table or column, a
 * row too large): in `details.refused` of the 4xx answer. Nothing of the batch was applied; the
 * workstation holds these changes back (its quarantine) and sends the rest again at once.
 */
export interface RefusedChange {
  /** Index in the batch's `changes`. */
  index: number;
  table: string;
  id: string;
  /** The column whose value was refused, when one was. */
  column: string | null;
  code: string;
  message: string;
  /** The server's record of this refusal (the dashboard's Refused changes page). */
  refusalId: number | null;
}

export interface PushRefusedDetails {
  refused: RefusedChange[];
}

export function isPushRefusedDetails(v: unknown): v is PushRefusedDetails {
  return typeof v === 'object' && v !== null && Array.isArray((v as PushRefusedDetails).refused);
}

export const REFUSAL_STATUSES = ['open', 'accepted', 'resubmitted', 'discarded', 'fixed'] as const;
export type RefusalStatus = (typeof REFUSAL_STATUSES)[number];

/** A refused change as the server recorded it, for the dashboard's Refused changes page. */
export interface RefusalView {
  id: number;
  clientId: string;
  user: string;
  table: string;
  rowId: string;
  op: 'upsert' | 'delete';
  column: string | null;
  code: string;
  message: string;
  /** The refused value as text, cut to 200 characters. */
  value: string | null;
  /** Whether an admin may take the value anyway (a rule of the column, not its type). */
  overridable: boolean;
  /** The values the workstation sent, for a fix (null when the change was too large to keep). */
  values: Record<string, unknown> | null;
  firstSeenAt: string;
  lastSeenAt: string;
  times: number;
  status: RefusalStatus;
  resolvedAt: string | null;
  resolvedBy: string | null;
  /** What was done, as a sentence. */
  resolution: string | null;
}

export const RefusalQuery = z.strictObject({
  status: z.enum(['open', 'resolved', 'all']).default('open'),
  limit: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(1000, 'must be at most 1000').default(200),
  before: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').optional(),
});
export type RefusalQuery = z.infer<typeof RefusalQuery>;

export const ResubmitRefusalRequest = z.strictObject({ values: z.record(z.string(), WireValue) });
export type ResubmitRefusalRequest = z.infer<typeof ResubmitRefusalRequest>;

/** A workstation asks what became of the changes it holds back. */
export const RefusalStatusQuery = z.strictObject({
  clientId: z.string().min(1).max(100),
  ids: z
    .string()
    .regex(/^\d{1,15}(,\d{1,15}){0,999}$/, 'must be refusal ids separated by commas')
    .transform((v) => v.split(',').map(Number)),
});
export type RefusalStatusQuery = z.infer<typeof RefusalStatusQuery>;

export interface RefusalOutcome {
  id: number;
  status: RefusalStatus;
  table: string;
  rowId: string;
  /** When an admin resolved it: the master's row now (null when the master has no such row). */
  row?: Record<string, WireValue> | null;
  version?: number;
  deleted?: boolean;
}

/** A workstation reports a change it held back without the server seeing it (a row too large to send). */
export const ReportRefusalRequest = z.strictObject({
  clientId: z.string().min(1).max(100),
  refused: z
    .array(
      z.strictObject({
        table: z.string().min(1).max(64),
        id: z.string().min(1).max(SYNC_LIMITS.idMaxLength),
        op: z.enum(['upsert', 'delete']),
        code: z.enum(['PAYLOAD_TOO_LARGE']),
        message: z.string().min(1).max(500),
      }),
    )
    .min(1)
    .max(100),
});
export type ReportRefusalRequest = z.infer<typeof ReportRefusalRequest>;

/**
 * Headers the SDK sends on every request: who the workstation is and which copy of its file speaks,
 * and its clock. A second copy of a file (a counter going back, two histories under one client id)
 * is answered 409 WORKSTATION_CLONED.
 */
export const WORKSTATION_HEADERS = {
  clientId: 'x-cacpq-client-id',
  fileId: 'x-cacpq-file-id',
  /** Goes up by one at every sync, durably, before the sync's first request. */
  syncCounter: 'x-cacpq-sync-counter',
  syncId: 'x-cacpq-sync-id',
  /** The workstation's clock when it sent the request (ISO 8601). */
  clientTime: 'x-cacpq-client-time',
  /** The PC's host name, to name it to an admin. */
  host: 'x-cacpq-host',
} as const;

/** Body of the 409 WORKSTATION_CLONED answer: the file speaking is a copy; it carries on under a new id. */
export interface WorkstationClonedDetails {
  clientId: string;
  newClientId: string;
  reason: 'copied' | 'rolled-back';
  /** The PC that keeps the client id, as last seen. */
  original: { host: string | null; lastSeenAt: string };
}

/** Body of the 409 REINITIALIZE answer: what the workstation needs to start over safely. */
export const ReinitializeDetails = z.object({
  reason: z.enum(['generation', 'cursor-expired']),
  generation: z.string(),
  /** Changes the master holds up to here; the workstation re-pushes its rows newer than this. */
  lastSeq: z.number(),
  /**
   * The last change the workstation's history shares with the master's (across every restore since
   * it last synced): rows at or below this version are in the master; workstation rows above it may
   * be lost.
   */
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

/** Numbers a workstation took from its reserved block while offline, registered at its next sync. */
export const RegisterNumbersRequest = z.strictObject({
  clientId: ClientId,
  uses: z
    .array(
      z.strictObject({
        number: z.string().min(1).max(100),
        kind: z.enum(['quote', 'project']),
        usedAt: z.string().min(10).max(40),
        table: z.string().min(1).max(64).optional(),
        id: z.string().min(1).max(SYNC_LIMITS.idMaxLength).optional(),
      }),
    )
    .min(1)
    .max(SYNC_LIMITS.maxNumberUses),
});
export type RegisterNumbersRequest = z.infer<typeof RegisterNumbersRequest>;

export interface RegisterNumbersResponse {
  registered: number;
  /** Numbers another record uses too: flagged to the admins. */
  duplicates: string[];
}

export const AllocateRequest = z.strictObject({ clientId: ClientId.optional(), requestId: NumberRequestId.optional() });
export const ReserveRequest = z.strictObject({
  count: z.number().int().min(1, 'must be at least 1').max(SYNC_LIMITS.maxReserve, `must be at most ${SYNC_LIMITS.maxReserve}`),
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
