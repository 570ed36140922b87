import type { EventEmitter } from 'node:events';
import type { PushRequest, WireValue, WorkstationClonedDetails } from '@cacpq/sync-protocol';
import type { SyncError } from './errors';
import type { ServerTrust } from './trust';

export type SyncState = 'idle' | 'syncing' | 'reinitializing' | 'error' | 'offline';

export interface SyncProgress {
  phase: 'snapshot' | 'push' | 'pull' | 'reinitialize';
  done: number;
  total?: number;
}

export interface SyncSummary {
  pushed: number;
  pulled: number;
  conflicts: number;
  reinitialized: boolean;
  cursor: number;
  generation: string;
  durationMs: number;
  clockCorrected: boolean;
  /** Rows whose changes are held back (refused by the server) after this sync. */
  heldBack: number;
  /** Rows newly held back in this sync. */
  newlyHeld: number;
  /** Set when this file turned out to be a copy of another workstation's: it carries on under a new client id. */
  reidentified: { from: string; to: string; reason: WorkstationClonedDetails['reason'] } | null;
  /** Numbers this workstation used offline that another record uses too (flagged to the admins). */
  duplicateNumbers: string[];
}

/** A change the server refused for what it is, held back on this workstation until it is fixed here or an admin decides. */
export interface HeldChange {
  table: string;
  id: string;
  op: 'upsert' | 'delete';
  column: string | null;
  code: string;
  message: string;
  /** The server's record of the refusal (its Refused changes page). */
  refusalId: number | null;
  heldAt: string;
}

export interface LocalStatus {
  server: string;
  clientId: string;
  generation: string;
  cursor: number;
  pendingChanges: number;
  pendingRows: number;
  lastSyncAt: string | null;
  lastStatus: string | null;
  lastError: string | null;
  /** Minutes between scheduled syncs (`start()`): the server's setting, or this workstation's own. */
  intervalMinutes: number;
  /** Whose interval that is: the server's (an admin's setting) or this workstation's (`setSchedule`). */
  intervalSetBy: 'server' | 'workstation';
  reservedNumbers: number;
  /** Rows whose changes are held back, refused by the server. */
  heldBack: number;
  /** How the server's HTTPS certificate is checked: the system's CAs, a CA file, or a pinned fingerprint. */
  trust: { kind: 'system' } | { kind: 'ca' } | { kind: 'fingerprint'; fingerprint: string };
}

export interface SyncClientEvents {
  status: [SyncState];
  progress: [SyncProgress];
  synced: [SyncSummary];
  error: [SyncError];
  /** Changes the server refused, now held back on this workstation (the app may show them to its user). */
  quarantined: [HeldChange[]];
}

export interface SyncClientOptions {
  /** How many times a request is tried on network errors and 503 answers. */
  maxAttempts?: number;
  /** First backoff delay; it doubles per attempt (with jitter), capped at 30 s. */
  backoffBaseMs?: number;
  requestTimeoutMs?: number;
  fetch?: typeof fetch;
  /** How this PC is named to the admins (default: its host name). */
  hostName?: string;
  /** This PC's clock (default: the system clock); tests give each simulated PC its own. */
  clock?: () => Date;
  /**
   * How to trust an HTTPS server the system's CAs do not vouch for (a NAS's self-signed
   * certificate): pin its SHA-256 fingerprint, or give its CA (PEM). Kept in the workstation file
   * once a request with it has succeeded, so later syncs need not repeat it.
   */
  trust?: ServerTrust;
  /**
   * Whether the SDK adds the tables and columns the master gained to this file (default true). An
   * app that migrates its own file sets false: until it has, the workstation syncs what it has.
   */
  applySchemaChanges?: boolean;
}

export interface OutboxEntry {
  seq: number;
  table_name: string;
  row_id: string;
  op: 'insert' | 'update' | 'delete';
  base_version: number;
  changed: string;
  old_values: string | null;
  changed_at: string;
}

export interface PendingBatch {
  body: PushRequest;
  /** The outbox entries the batch holds: every one with a sequence in (from, to], `entries` of them. */
  from: number;
  to: number;
  entries: number;
  rows: { table: string; id: string; maxSeq: number }[];
}

export type Row = Record<string, WireValue>;

/** Keys of `_sync_state` in the workstation file. */
export type StateKey =
  | 'server'
  | 'token'
  | 'client_id'
  | 'generation'
  | 'cursor'
  | 'last_sync_at'
  | 'last_status'
  | 'last_error'
  | 'interval_minutes'
  /** This workstation's own sync interval (`setSchedule`), in place of the server's. */
  | 'local_interval_minutes'
  | 'tables'
  | 'schema_fingerprint'
  | 'applying'
  | 'file_id'
  | 'sync_counter'
  | 'local_schema'
  | 'max_body_bytes'
  | 'features'
  | 'tls_fingerprint'
  | 'tls_ca';

/** Where the parts of a client report what happens (the SyncClient itself). */
export type SyncEvents = EventEmitter<SyncClientEvents>;
