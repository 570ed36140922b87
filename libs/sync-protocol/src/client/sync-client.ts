import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { io, type Socket } from 'socket.io-client';
import { isApiErrorBody } from '../errors';
import { normalizeFingerprint, trustedAgent, trustedFetch, untrustedCause, type ServerTrust } from './trust';
import {
  SYNC_NAMESPACE,
  WORKSTATION_HEADERS,
  isPushRefusedDetails,
  type IssuedNumber,
  type NumberKind,
  type PullResponse,
  type PushChange,
  type PushRequest,
  type PushResponse,
  type PushValue,
  type RefusalOutcome,
  type RefusedChange,
  type RegisterNumbersResponse,
  type ReinitializeDetails,
  type ServerFeature,
  type SyncInfoResponse,
  type SyncServerEvents,
  type TableInfo,
  type WireValue,
  type WorkstationClonedDetails,
} from '../sync';
import {
  LOCAL_SCHEMA_VERSION,
  SDK_TABLES,
  dataColumns,
  installLocalSchema,
  installSdkTables,
  quoteIdent as q,
  triggerSql,
} from './local-schema';

const gunzip = promisify(zlib.gunzip);

/** A request body already serialised (a pending batch is kept as exactly the text that is sent). */
class RawJson {
  constructor(readonly text: string) {}
}

export class SyncError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number | null = null,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'SyncError';
  }
}

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
  intervalMinutes: number;
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
}

interface OutboxEntry {
  seq: number;
  table_name: string;
  row_id: string;
  op: 'insert' | 'update' | 'delete';
  base_version: number;
  changed: string;
  old_values: string | null;
  changed_at: string;
}

interface PendingBatch {
  body: PushRequest;
  /** The outbox entries the batch holds: every one with a sequence in (from, to], `entries` of them. */
  from: number;
  to: number;
  entries: number;
  rows: { table: string; id: string; maxSeq: number }[];
}

type Row = Record<string, WireValue>;

/** Keys of `_sync_state` in the workstation file. */
type StateKey =
  | 'server'
  | 'token'
  | 'client_id'
  | 'generation'
  | 'cursor'
  | 'last_sync_at'
  | 'last_status'
  | 'last_error'
  | 'interval_minutes'
  | 'tables'
  | 'applying'
  | 'file_id'
  | 'sync_counter'
  | 'local_schema'
  | 'max_body_bytes'
  | 'features'
  | 'tls_fingerprint'
  | 'tls_ca';

/** The largest batch of outbox entries in one push. */
const MAX_BATCH = 2000;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** A column value as the wire carries it exactly: BLOBs and integers beyond 2^53 tagged. */
function toWire(v: unknown): PushValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v >= -BigInt(MAX_SAFE) && v <= BigInt(MAX_SAFE) ? Number(v) : { $int: v.toString() };
  if (Buffer.isBuffer(v)) return { $blob: v.toString('base64') };
  return v as PushValue;
}

/** A pulled value as SQLite stores it: the tagged kinds back to a bigint or a Buffer. */
function fromWire(v: unknown): unknown {
  if (v !== null && typeof v === 'object') {
    if ('$int' in v) return BigInt((v as { $int: string }).$int);
    if ('$blob' in v) return Buffer.from((v as { $blob: string }).$blob, 'base64');
  }
  return v;
}

/** Trust options checked before any file is touched: a fingerprint in its canonical form, a CA that is PEM. */
function checkTrust(trust: ServerTrust | undefined, server: string | undefined): ServerTrust | undefined {
  if (!trust || (trust.fingerprint === undefined && trust.ca === undefined)) return undefined;
  if (trust.fingerprint !== undefined && trust.ca !== undefined) {
    throw new SyncError('BAD_TRUST', 'Give either a fingerprint to pin or a CA to verify against, not both.');
  }
  if (server !== undefined && !server.startsWith('https:')) {
    throw new SyncError('TLS_NOT_HTTPS', `--ca and --fingerprint are for an https:// server (got ${server}).`);
  }
  if (trust.fingerprint !== undefined) {
    const fingerprint = normalizeFingerprint(trust.fingerprint);
    if (!fingerprint) {
      throw new SyncError(
        'BAD_FINGERPRINT',
        `"${trust.fingerprint}" is not a SHA-256 fingerprint: expected 64 hex digits, in pairs separated by colons or not (as the server prints it at start).`,
      );
    }
    return { fingerprint };
  }
  if (!/-----BEGIN CERTIFICATE-----/.test(trust.ca ?? '')) {
    throw new SyncError('BAD_CA', 'The CA must be PEM certificates (a "-----BEGIN CERTIFICATE-----" block).');
  }
  return { ca: trust.ca };
}

/**
 * A workstation's side of the sync protocol, over its own SQLite file. Local changes are
 * captured by triggers into an outbox inside that file, so any program that writes it is synced.
 * A sync uploads first (all or nothing per batch, safely retried), then downloads.
 *
 * Nothing a workstation holds is ever stuck behind a change the server refuses: the refused change
 * is held back (its quarantine, listed by {@link quarantine}) and the rest of the outbox syncs in the
 * same sync; it goes again once it is edited here, or lets go once an admin has decided on it.
 */
export class SyncClient extends EventEmitter<SyncClientEvents> {
  private inFlight: Promise<SyncSummary> | null = null;
  /** During a re-initialisation: the generation pushes are made under, before the file takes it. */
  private generationOverride: string | null = null;
  private readonly stmts = new Map<string, Database.Statement>();
  private hasStateTable = false;
  private timer: NodeJS.Timeout | null = null;
  private socket: Socket | null = null;
  private readonly explicitFetch: typeof fetch | undefined;
  /** Trust given for this run; written to the file after the first request that succeeds with it. */
  private givenTrust: ServerTrust | undefined;
  private fetcher: { key: string; fetch: typeof fetch } | null = null;
  private readonly maxAttempts: number;
  private readonly backoffBaseMs: number;
  private readonly timeoutMs: number;
  private readonly hostName: string;
  private readonly now: () => Date;
  /** The sync in progress (its counter and id go on every request), or null between syncs. */
  private current: { id: string; counter: number } | null = null;
  /** Outbox entries per push batch: halved when a batch is too large for the server, grown back slowly. */
  private batchLimit = MAX_BATCH;

  private constructor(
    readonly db: Database.Database,
    readonly file: string,
    opts: SyncClientOptions,
  ) {
    super();
    this.explicitFetch = opts.fetch;
    this.givenTrust = opts.trust;
    this.maxAttempts = opts.maxAttempts ?? 6;
    this.backoffBaseMs = opts.backoffBaseMs ?? 500;
    this.timeoutMs = opts.requestTimeoutMs ?? 60_000;
    this.hostName = (opts.hostName ?? process.env.CACPQ_HOST_NAME ?? os.hostname()).slice(0, 255);
    this.now = opts.clock ?? (() => new Date());
  }

  /** Creates the local file of a new workstation from a server snapshot (its first sync). */
  static async init(params: { file: string; server: string; token: string; clientId?: string } & SyncClientOptions): Promise<SyncClient> {
    params = { ...params, trust: checkTrust(params.trust, params.server) };
    if (fs.existsSync(params.file) && fs.statSync(params.file).size > 0) {
      throw new SyncError('LOCAL_FILE_EXISTS', `${params.file} exists already; a workstation is initialised once (use sync on it).`);
    }
    const db = new Database(params.file);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.pragma('synchronous = NORMAL');
    const client = new SyncClient(db, params.file, params);
    try {
      client.setState('server', params.server.replace(/\/$/, ''));
      client.setState('token', params.token);
      client.setState('client_id', params.clientId ?? `ws-${randomUUID()}`);
      client.setState('file_id', randomUUID());
      client.beginSync(randomUUID());
      const info = await client.request<SyncInfoResponse>('GET', '/api/v1/sync/info');
      installLocalSchema(db, info.tables);
      client.setState('tables', JSON.stringify(info.tables));
      client.setState('interval_minutes', String(info.syncIntervalMinutes));
      client.setState('max_body_bytes', String(info.maxBodyBytes ?? 0));
      client.setState('features', JSON.stringify(info.features ?? []));
      await client.loadSnapshot();
      client.recordResult('success', null);
      client.current = null;
      return client;
    } catch (err) {
      db.close();
      fs.rmSync(params.file, { force: true });
      for (const ext of ['-wal', '-shm']) fs.rmSync(params.file + ext, { force: true });
      throw err;
    }
  }

  /** Opens an initialised workstation file (bringing the SDK's tables and triggers of an older file up to date). */
  static open(file: string, opts: SyncClientOptions = {}): SyncClient {
    opts = { ...opts, trust: checkTrust(opts.trust, undefined) };
    if (!fs.existsSync(file)) throw new SyncError('NOT_INITIALISED', `${file} does not exist; run init first.`);
    const db = new Database(file);
    db.pragma('busy_timeout = 5000');
    // The SDK's own commits (outbox bookkeeping, pulled pages) need no fsync each: after a power
    // cut the worst case is a batch sent again (the server replays it by batch id) or a page pulled
    // again. The desktop app's writes keep its own connection's setting. The sync counter is the
    // exception (see beginSync).
    db.pragma('synchronous = NORMAL');
    const client = new SyncClient(db, file, opts);
    if (!client.getState('server')) {
      db.close();
      throw new SyncError('NOT_INITIALISED', `${file} is not a CACPQ workstation file; run init first.`);
    }
    db.exec(SDK_TABLES);
    client.upgrade();
    if (opts.trust && !client.serverUrl().startsWith('https:')) {
      db.close();
      throw new SyncError('TLS_NOT_HTTPS', `--ca and --fingerprint are for an https:// server; ${file} syncs with ${client.serverUrl()}.`);
    }
    return client;
  }

  /** A file written by an older SDK: new tables, exact-base triggers, a file identity. Its outbox is kept as it is. */
  private upgrade(): void {
    if (Number(this.getState('local_schema') ?? 1) >= LOCAL_SCHEMA_VERSION && this.getState('file_id')) return;
    this.db.transaction(() => {
      installSdkTables(this.db);
      for (const table of this.tables) this.db.exec(triggerSql(table));
      if (!this.getState('file_id')) this.setState('file_id', randomUUID());
      this.setState('local_schema', String(LOCAL_SCHEMA_VERSION));
    })();
  }

  /** Prepared once per SQL text: the hot loops run the same few statements thousands of times. */
  private stmt(sql: string): Database.Statement {
    let st = this.stmts.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.stmts.set(sql, st);
    }
    return st;
  }

  private getState(key: StateKey): string | null {
    if (!this.hasStateTable) {
      this.hasStateTable = !!this.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sync_state'`).get();
      if (!this.hasStateTable) return null;
    }
    return (this.stmt('SELECT value FROM _sync_state WHERE key = ?').get(key) as { value: string | null } | undefined)?.value ?? null;
  }

  private setState(key: StateKey, value: string | null): void {
    if (!this.hasStateTable) {
      this.db.exec('CREATE TABLE IF NOT EXISTS _sync_state (key TEXT PRIMARY KEY NOT NULL, value TEXT)');
      this.hasStateTable = true;
    }
    if (value === null) this.stmt('DELETE FROM _sync_state WHERE key = ?').run(key);
    else
      this.stmt('INSERT INTO _sync_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  /**
   * A sync starts: the file's sync counter goes up by one, written with a full fsync before the first
   * request, so it never goes back after a power cut. A copy of this file shows itself by a counter
   * the server has seen already.
   */
  private beginSync(id: string): void {
    const counter = Number(this.getState('sync_counter') ?? 0) + 1;
    this.db.pragma('synchronous = FULL');
    try {
      this.setState('sync_counter', String(counter));
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
    this.current = { id, counter };
  }

  private tablesCache: TableInfo[] | null = null;
  private featureCache: Set<string> | null = null;

  /** Whether the server announced a feature (an older server gets only what it understands). */
  private serverHas(feature: ServerFeature): boolean {
    this.featureCache ??= new Set(JSON.parse(this.getState('features') ?? '[]') as string[]);
    return this.featureCache.has(feature);
  }

  private get tables(): TableInfo[] {
    this.tablesCache ??= JSON.parse(this.getState('tables') ?? '[]') as TableInfo[];
    return this.tablesCache;
  }

  private table(name: string): TableInfo {
    const t = this.tables.find((x) => x.name === name);
    if (!t) throw new SyncError('UNKNOWN_TABLE', `The local file has no synced table ${name}.`);
    return t;
  }

  /** Runs `fn` with change capture off: what the server sends is not sent back. */
  private applying<T>(fn: () => T): T {
    return this.db.transaction(() => {
      this.stmt(`INSERT OR REPLACE INTO _sync_state (key, value) VALUES ('applying', '1')`).run();
      try {
        return fn();
      } finally {
        this.stmt(`DELETE FROM _sync_state WHERE key = 'applying'`).run();
      }
    })();
  }

  status(): LocalStatus {
    const pending = this.stmt('SELECT COUNT(*) AS n, COUNT(DISTINCT table_name || char(0) || row_id) AS r FROM _sync_outbox').get() as {
      n: number;
      r: number;
    };
    const reserved = this.stmt('SELECT COUNT(*) AS n FROM _sync_numbers WHERE used_at IS NULL').get() as { n: number };
    return {
      server: this.getState('server') ?? '',
      clientId: this.getState('client_id') ?? '',
      generation: this.getState('generation') ?? '',
      cursor: Number(this.getState('cursor') ?? 0),
      pendingChanges: pending.n,
      pendingRows: pending.r,
      lastSyncAt: this.getState('last_sync_at'),
      lastStatus: this.getState('last_status'),
      lastError: this.getState('last_error'),
      intervalMinutes: Number(this.getState('interval_minutes') ?? 120),
      reservedNumbers: reserved.n,
      heldBack: this.heldCount(),
      trust: this.trustStatus(),
    };
  }

  private trustStatus(): LocalStatus['trust'] {
    const trust = this.trust();
    if (trust.fingerprint) return { kind: 'fingerprint', fingerprint: trust.fingerprint };
    return trust.ca ? { kind: 'ca' } : { kind: 'system' };
  }

  private serverUrl(): string {
    return this.getState('server') ?? '';
  }

  /** The trust given for this run, else the one kept in the file. */
  private trust(): ServerTrust {
    if (this.givenTrust) return this.givenTrust;
    const fingerprint = this.getState('tls_fingerprint');
    const ca = this.getState('tls_ca');
    return { ...(fingerprint ? { fingerprint } : {}), ...(ca ? { ca } : {}) };
  }

  /** fetch for the server: over HTTPS, one that checks the certificate as the trust says. */
  private fetchFor(server: string): typeof fetch {
    if (this.explicitFetch) return this.explicitFetch;
    if (!server.startsWith('https:')) return fetch;
    const trust = this.trust();
    const key = `${trust.fingerprint ?? ''}|${trust.ca ?? ''}`;
    if (this.fetcher?.key !== key) this.fetcher = { key, fetch: trustedFetch(trust) };
    return this.fetcher.fetch;
  }

  /** After a request that succeeded with trust given for this run: keep it for the next runs. */
  private keepGivenTrust(): void {
    const given = this.givenTrust;
    if (!given || !this.hasStateTable) return;
    this.givenTrust = undefined;
    if (given.fingerprint) this.setState('tls_fingerprint', given.fingerprint);
    else this.setState('tls_fingerprint', null);
    if (given.ca) this.setState('tls_ca', given.ca);
    else this.setState('tls_ca', null);
  }

  private heldCount(): number {
    return (this.stmt('SELECT COUNT(*) AS n FROM _sync_quarantine').get() as { n: number }).n;
  }

  /** The changes held back on this workstation, oldest first: what the server refused, and why. */
  quarantine(): HeldChange[] {
    return (
      this.stmt('SELECT * FROM _sync_quarantine ORDER BY held_at, table_name, row_id').all() as {
        table_name: string;
        row_id: string;
        op: 'upsert' | 'delete';
        column_name: string | null;
        code: string;
        message: string;
        refusal_id: number | null;
        held_at: string;
      }[]
    ).map((r) => ({
      table: r.table_name,
      id: r.row_id,
      op: r.op,
      column: r.column_name,
      code: r.code,
      message: r.message,
      refusalId: r.refusal_id,
      heldAt: r.held_at,
    }));
  }

  // ---------------------------------------------------------------- HTTP

  /** Who this workstation is, its file copy, its sync and its clock: on every request. */
  private identityHeaders(): Record<string, string> {
    const h: Record<string, string> = {
      [WORKSTATION_HEADERS.clientTime]: this.now().toISOString(),
      [WORKSTATION_HEADERS.host]: this.hostName.replace(/[^\x20-\x7e]/g, '?'),
    };
    const clientId = this.getState('client_id');
    if (clientId) h[WORKSTATION_HEADERS.clientId] = clientId;
    const fileId = this.getState('file_id');
    if (fileId && this.current) {
      h[WORKSTATION_HEADERS.fileId] = fileId;
      h[WORKSTATION_HEADERS.syncCounter] = String(this.current.counter);
      h[WORKSTATION_HEADERS.syncId] = this.current.id;
    }
    return h;
  }

  private async request<T>(method: string, path: string, body?: unknown, raw = false, attempts = this.maxAttempts): Promise<T> {
    const server = this.getState('server');
    const token = this.getState('token');
    let lastError: SyncError | null = null;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let res: Response;
      let answer: Buffer;
      try {
        res = await this.fetchFor(server ?? '')(`${server}${path}`, {
          method,
          headers: {
            Authorization: `Bearer ${token}`,
            Accept: raw ? 'application/gzip' : 'application/json',
            ...this.identityHeaders(),
            ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
          },
          body: body === undefined ? undefined : body instanceof RawJson ? body.text : JSON.stringify(body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        // The whole answer belongs to the attempt: a connection cut inside it is retried like one
        // cut before it (a push is replayed by its batch id, a number by its request id).
        answer = Buffer.from(await res.arrayBuffer());
      } catch (err) {
        // A certificate refused is not a network blip: say so at once, and never retry it.
        const untrusted = untrustedCause(err);
        if (untrusted) throw new SyncError(untrusted.code, untrusted.message);
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
        lastError = new SyncError('NETWORK', `Cannot reach the CACPQ server at ${server} (${cause}).`);
        if (attempt < attempts) await sleep(this.backoff(attempt));
        continue;
      }
      if (res.status === 503 || res.status === 502 || res.status === 504) {
        const retryAfter = Number(res.headers.get('retry-after'));
        const text = answer.toString('utf8');
        lastError = new SyncError(
          'SERVICE_UNAVAILABLE',
          parseError(text)?.message ?? `The server answered ${res.status}; it is busy or in maintenance.`,
          res.status,
        );
        if (attempt < attempts)
          await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter * 1000, 300_000) : this.backoff(attempt));
        continue;
      }
      if (!res.ok) {
        const text = answer.toString('utf8');
        const apiError = parseError(text);
        throw new SyncError(
          apiError?.code ?? `HTTP_${res.status}`,
          apiError?.message ?? `The server answered HTTP ${res.status} to ${method} ${path}.`,
          res.status,
          apiError?.details,
        );
      }
      this.keepGivenTrust();
      if (raw) return { bytes: answer, headers: res.headers } as T;
      try {
        return JSON.parse(answer.toString('utf8')) as T;
      } catch {
        throw new SyncError('PROTOCOL', `The server's answer to ${method} ${path} is not JSON.`, res.status);
      }
    }
    throw lastError ?? new SyncError('NETWORK', 'The request failed.');
  }

  private backoff(attempt: number): number {
    const base = Math.min(30_000, this.backoffBaseMs * 2 ** (attempt - 1));
    return base / 2 + Math.random() * (base / 2);
  }

  // ---------------------------------------------------------------- sync

  /** One sync now: upload, then download. Concurrent calls share the sync in progress. */
  syncNow(): Promise<SyncSummary> {
    if (!this.inFlight) {
      this.inFlight = this.runSync().finally(() => {
        this.inFlight = null;
        this.current = null;
      });
    }
    return this.inFlight;
  }

  private async runSync(): Promise<SyncSummary> {
    const started = Date.now();
    this.generationOverride = null;
    this.emit('status', 'syncing');
    const summary: SyncSummary = {
      pushed: 0,
      pulled: 0,
      conflicts: 0,
      reinitialized: false,
      cursor: 0,
      generation: '',
      durationMs: 0,
      clockCorrected: false,
      heldBack: 0,
      newlyHeld: 0,
      reidentified: null,
      duplicateNumbers: [],
    };
    try {
      for (let attempt = 0; ; attempt++) {
        const syncId = randomUUID();
        this.beginSync(syncId);
        try {
          await this.syncOnce(syncId, summary);
          break;
        } catch (err) {
          // A copy of another workstation's file, noticed by the server: carry on under the new id it gave.
          if (!(err instanceof SyncError) || err.code !== 'WORKSTATION_CLONED' || attempt > 0) throw err;
          summary.reidentified = this.reidentify(err.details as WorkstationClonedDetails);
        }
      }
      summary.cursor = Number(this.getState('cursor'));
      summary.generation = this.getState('generation') ?? '';
      summary.heldBack = this.heldCount();
      summary.durationMs = Date.now() - started;
      this.recordResult('success', null);
      this.emit('status', 'idle');
      this.emit('synced', summary);
      return summary;
    } catch (err) {
      const e = err instanceof SyncError ? err : new SyncError('LOCAL', (err as Error).message);
      this.recordResult('error', `${e.code}: ${e.message}`);
      this.emit('status', e.code === 'NETWORK' ? 'offline' : 'error');
      if (this.listenerCount('error') > 0) this.emit('error', e);
      throw e;
    }
  }

  private async syncOnce(syncId: string, summary: SyncSummary): Promise<void> {
    const info = await this.request<SyncInfoResponse>('GET', '/api/v1/sync/info');
    this.setState('interval_minutes', String(info.syncIntervalMinutes));
    if (info.maxBodyBytes) this.setState('max_body_bytes', String(info.maxBodyBytes));
    this.setState('features', JSON.stringify(info.features ?? []));
    this.featureCache = null;
    try {
      if (this.getState('generation') !== info.generation)
        throw new SyncError('REINITIALIZE', 'generation changed', 409, await this.reinitDetails());
      await this.settleHeld();
      await this.pushOutbox(syncId, summary, true);
      await this.registerNumbers(summary);
      await this.pullChanges(syncId, summary);
    } catch (err) {
      if (!(err instanceof SyncError) || err.code !== 'REINITIALIZE') throw err;
      await this.reinitialize(err.details as ReinitializeDetails, syncId, summary);
      await this.registerNumbers(summary);
    }
  }

  /**
   * This file is a copy of another workstation's (a re-imaged PC, an old copy put back): it takes
   * the new client id the server gave and a new file identity; its unused reserved numbers are void
   * (the other copy holds the same ones). Batches sent under the old id are built again.
   */
  private reidentify(d: WorkstationClonedDetails): SyncSummary['reidentified'] {
    const from = this.getState('client_id') ?? d.clientId;
    this.db.transaction(() => {
      this.setState('client_id', d.newClientId);
      this.setState('file_id', randomUUID());
      this.setState('sync_counter', '0');
      this.stmt('DELETE FROM _sync_numbers WHERE used_at IS NULL').run();
      this.stmt('DELETE FROM _sync_pending').run();
    })();
    return { from, to: d.newClientId, reason: d.reason };
  }

  private async reinitDetails(): Promise<ReinitializeDetails> {
    // Ask the server why: a pull with our generation answers REINITIALIZE with the details.
    try {
      await this.request(
        'GET',
        `/api/v1/sync/pull?${new URLSearchParams({ generation: this.getState('generation') ?? '-', clientId: this.getState('client_id')!, cursor: '0', limit: '1' })}`,
      );
    } catch (err) {
      if (err instanceof SyncError && err.code === 'REINITIALIZE') return err.details as ReinitializeDetails;
      throw err;
    }
    throw new SyncError('PROTOCOL', 'The server changed generation but did not say how to re-initialise.');
  }

  private recordResult(status: 'success' | 'error', error: string | null): void {
    this.setState('last_sync_at', new Date().toISOString());
    this.setState('last_status', status);
    this.setState('last_error', error);
  }

  // ---------------------------------------------------------------- the outbox

  /** Each changed column's value before this workstation's first edit of it, per row, exactly (outbox and held entries). */
  private bases(
    entries: { seq: number; table_name: string; row_id: string; changed: string; old_values: string | null }[],
  ): Map<string, Record<string, PushValue>> {
    const out = new Map<string, Record<string, PushValue>>();
    if (entries.length === 0) return out;
    const exact = new Map<number, Record<string, unknown>>();
    const lo = Math.min(...entries.map((e) => e.seq));
    const hi = Math.max(...entries.map((e) => e.seq));
    for (const source of ['_sync_outbox_base', '_sync_held_base']) {
      const rows = this.stmt(`SELECT seq, col, value FROM ${source} WHERE seq >= ? AND seq <= ?`).safeIntegers(true).all(lo, hi) as {
        seq: bigint;
        col: string;
        value: unknown;
      }[];
      for (const r of rows) {
        const seq = Number(r.seq);
        let m = exact.get(seq);
        if (!m) exact.set(seq, (m = {}));
        m[r.col] = r.value;
      }
    }
    for (const e of [...entries].sort((a, b) => a.seq - b.seq)) {
      const key = `${e.table_name}\u0000${e.row_id}`;
      let base = out.get(key);
      if (!base) out.set(key, (base = {}));
      // Files of version 1: the JSON the old trigger wrote (15 significant digits for REALs).
      const old = exact.get(e.seq) ?? (e.old_values ? (JSON.parse(e.old_values) as Record<string, unknown>) : {});
      for (const c of e.changed.split(',')) if (c && !(c in base) && c in old) base[c] = toWire(old[c]);
    }
    return out;
  }

  /** The row's values as the wire carries them: exact (a BLOB or an integer beyond 2^53 read again, tagged). */
  private readRow(table: TableInfo, id: string): Record<string, PushValue> | undefined {
    const row = this.rowStatement(table).get(id) as Record<string, unknown> | undefined;
    if (!row) return undefined;
    let exact: Record<string, unknown> | null = null;
    for (const k in row) {
      const v = row[k];
      if (typeof v === 'number' ? v > MAX_SAFE || v < -MAX_SAFE : v !== null && typeof v === 'object') {
        exact ??= this.rowStatement(table).safeIntegers(true).get(id) as Record<string, unknown>;
        this.rowStatement(table).safeIntegers(false);
        row[k] = toWire(exact[k]);
      }
    }
    return row as Record<string, PushValue>;
  }

  /**
   * The next batch: the oldest outbox entries after `afterSeq`, in order. A row's later edits past
   * the cut go in a later batch, based on the version the server gives this one (the values sent
   * are always the row as it is now). The batch stops before any row of the batch still in flight,
   * so two batches on the wire never touch the same row.
   */
  private nextBatch(limit: number, afterSeq = 0, inFlight: ReadonlySet<string> = new Set()): PendingBatch | null {
    const all = this.stmt('SELECT * FROM _sync_outbox WHERE seq > ? ORDER BY seq LIMIT ?').all(afterSeq, limit) as OutboxEntry[];
    const blockedAt = all.findIndex((e) => inFlight.has(`${e.table_name}\u0000${e.row_id}`));
    const entries = blockedAt < 0 ? all : all.slice(0, blockedAt);
    if (entries.length === 0) return null;
    const groups = new Map<string, OutboxEntry[]>();
    for (const e of entries) {
      const key = `${e.table_name}\u0000${e.row_id}`;
      const g = groups.get(key);
      if (g) g.push(e);
      else groups.set(key, [e]);
    }
    const bases = this.bases(entries.filter((e) => e.op === 'update'));
    const changes: PushChange[] = [];
    const rows: PendingBatch['rows'] = [];
    for (const [key, group] of groups) {
      const first = group[0];
      const last = group[group.length - 1];
      const table = this.table(first.table_name);
      rows.push({ table: table.name, id: first.row_id, maxSeq: last.seq });
      const updatedAt = group.reduce((m, e) => (e.changed_at > m ? e.changed_at : m), first.changed_at);
      if (last.op === 'delete') {
        // Created and deleted before it ever reached the server: nothing to send.
        if (first.op === 'insert' && first.base_version === 0) continue;
        changes.push({ table: table.name, op: 'delete', id: first.row_id, baseVersion: first.base_version, updatedAt });
        continue;
      }
      const row = this.readRow(table, first.row_id);
      if (!row) continue;
      const cols = this.dataColumnNames(table);
      const everything = group.some((e) => e.op === 'insert' || e.op === 'delete');
      const changed = everything ? cols : [...new Set(group.flatMap((e) => e.changed.split(',').filter(Boolean)))];
      // What each changed column held before this workstation's first edit of it: the server
      // compares it with the master's value, so another's edit in between is always a conflict.
      const base = everything ? undefined : bases.get(key);
      changes.push({
        table: table.name,
        op: 'upsert',
        id: first.row_id,
        baseVersion: first.base_version,
        updatedAt,
        values: row,
        changed,
        ...(base && Object.keys(base).length > 0 ? { base } : {}),
      });
    }
    return {
      from: afterSeq,
      to: entries[entries.length - 1].seq,
      entries: entries.length,
      rows,
      body: {
        protocolVersion: 1,
        clientId: this.getState('client_id')!,
        batchId: randomUUID(),
        generation: this.generationOverride ?? this.getState('generation')!,
        clientTime: this.now().toISOString(),
        changes,
      },
    };
  }

  /** The largest body this workstation sends: the server's limit, less room for the envelope. */
  private get maxBodyBytes(): number {
    const limit = Number(this.getState('max_body_bytes') ?? 0);
    return limit > 0 ? Math.floor(limit * 0.95) : Number.POSITIVE_INFINITY;
  }

  /**
   * Holds back every change of a row the server refused for what it is: its outbox entries and bases
   * move to the quarantine, with the server's reason, until the row is edited here again or an
   * admin decides on the server.
   */
  private hold(items: Omit<HeldChange, 'heldAt'>[]): HeldChange[] {
    const at = new Date().toISOString();
    const held: HeldChange[] = [];
    this.db.transaction(() => {
      for (const it of items) {
        this.stmt(`INSERT OR REPLACE INTO _sync_held SELECT * FROM _sync_outbox WHERE table_name = ? AND row_id = ?`).run(it.table, it.id);
        this.stmt(
          `INSERT OR REPLACE INTO _sync_held_base SELECT b.* FROM _sync_outbox_base b JOIN _sync_outbox o ON o.seq = b.seq WHERE o.table_name = ? AND o.row_id = ?`,
        ).run(it.table, it.id);
        this.stmt(`DELETE FROM _sync_outbox_base WHERE seq IN (SELECT seq FROM _sync_outbox WHERE table_name = ? AND row_id = ?)`).run(
          it.table,
          it.id,
        );
        this.stmt('DELETE FROM _sync_outbox WHERE table_name = ? AND row_id = ?').run(it.table, it.id);
        this.stmt(
          `INSERT OR REPLACE INTO _sync_quarantine (table_name, row_id, op, column_name, code, message, refusal_id, held_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(it.table, it.id, it.op, it.column, it.code, it.message, it.refusalId, at);
        held.push({ ...it, heldAt: at });
      }
    })();
    if (held.length > 0) this.emit('quarantined', held);
    return held;
  }

  /** A held row edited here again goes back into the outbox with everything it held: its new edit may be the fix. */
  private releaseEdited(): void {
    if (this.heldCount() === 0) return;
    const edited = this.stmt(
      `SELECT q.table_name, q.row_id FROM _sync_quarantine q WHERE EXISTS (SELECT 1 FROM _sync_outbox o WHERE o.table_name = q.table_name AND o.row_id = q.row_id)`,
    ).all() as { table_name: string; row_id: string }[];
    if (edited.length === 0) return;
    this.db.transaction(() => {
      for (const r of edited) this.release(r.table_name, r.row_id, true);
    })();
  }

  /** Ends a row's quarantine: its held entries go back into the outbox, or are dropped (an admin decided). */
  private release(table: string, id: string, back: boolean): void {
    if (back) {
      this.stmt(
        `INSERT OR REPLACE INTO _sync_outbox_base SELECT b.* FROM _sync_held_base b JOIN _sync_held h ON h.seq = b.seq WHERE h.table_name = ? AND h.row_id = ?`,
      ).run(table, id);
      this.stmt('INSERT OR REPLACE INTO _sync_outbox SELECT * FROM _sync_held WHERE table_name = ? AND row_id = ?').run(table, id);
    }
    this.stmt(`DELETE FROM _sync_held_base WHERE seq IN (SELECT seq FROM _sync_held WHERE table_name = ? AND row_id = ?)`).run(table, id);
    this.stmt('DELETE FROM _sync_held WHERE table_name = ? AND row_id = ?').run(table, id);
    this.stmt('DELETE FROM _sync_quarantine WHERE table_name = ? AND row_id = ?').run(table, id);
  }

  /**
   * Asks the server what became of the held rows: where an admin took, fixed or discarded the
   * change, the held entries go and the master's row is written here (columns edited since are kept).
   */
  private async settleHeld(): Promise<void> {
    const held = this.stmt('SELECT table_name, row_id, refusal_id FROM _sync_quarantine WHERE refusal_id IS NOT NULL').all() as {
      table_name: string;
      row_id: string;
      refusal_id: number;
    }[];
    for (let i = 0; i < held.length; i += 500) {
      const chunk = held.slice(i, i + 500);
      const outcomes = await this.request<RefusalOutcome[]>(
        'GET',
        `/api/v1/sync/refusals?${new URLSearchParams({ clientId: this.getState('client_id')!, ids: chunk.map((h) => h.refusal_id).join(',') })}`,
      );
      const decided = outcomes.filter((o) => o.status !== 'open');
      if (decided.length === 0) continue;
      this.applying(() => {
        for (const o of decided) {
          const h = chunk.find((x) => x.refusal_id === o.id);
          if (!h) continue;
          this.release(h.table_name, h.row_id, false);
          if (o.status === 'fixed' || !this.tables.some((t) => t.name === h.table_name)) continue;
          const table = this.table(h.table_name);
          if (o.row) this.applyRow(table, o.row, o.version ?? 0, o.deleted ?? false);
          else this.applyRow(table, { id: h.row_id }, 0, true);
        }
      });
    }
  }

  /**
   * Uploads the outbox. Batches whose answers never came (a crash, a cut connection) are resent
   * first, byte for byte, so the server replays them. Then the next batch is built and sent while
   * the previous one is still on the wire; answers are applied in order. A change the server refuses
   * for what it is is held back and the rest goes again at once; a batch too large for the server
   * is split, never held back.
   */
  private async pushOutbox(syncId: string, summary: SyncSummary, withCursor: boolean): Promise<void> {
    this.releaseEdited();
    const account = (batch: PendingBatch, answer: PushResponse | null) => {
      this.applyPushAnswer(batch, answer);
      summary.pushed += batch.body.changes.length;
      summary.conflicts += answer?.conflicts ?? 0;
      summary.clockCorrected ||= answer?.clockCorrected ?? false;
      this.emit('progress', { phase: 'push', done: summary.pushed });
    };
    const send = (batch: PendingBatch, bodyText: string) =>
      batch.body.changes.length > 0
        ? this.request<PushResponse>('POST', '/api/v1/sync/push', new RawJson(bodyText))
        : Promise.resolve(null);
    /** Answers a batch's fate; false when it was refused (its refused rows held back, its pending record gone). */
    const settle = async (batch: PendingBatch, answer: Promise<PushResponse | null>): Promise<boolean> => {
      try {
        account(batch, await answer);
        return true;
      } catch (err) {
        if (!(await this.refused(batch, err, summary))) throw err;
        return false;
      }
    };

    const unanswered = this.stmt('SELECT batch_id, rows, body FROM _sync_pending ORDER BY seq').all() as {
      batch_id: string;
      rows: string;
      body: string;
    }[];
    for (const p of unanswered) {
      const kept = JSON.parse(p.rows) as PendingBatch['rows'] | Omit<PendingBatch, 'body'>;
      // Files of version 1 kept only the rows: their batch covered every entry up to its highest sequence.
      const batch: PendingBatch = Array.isArray(kept)
        ? {
            rows: kept,
            from: 0,
            to: Math.max(0, ...kept.map((r) => r.maxSeq)),
            entries: kept.length,
            body: JSON.parse(p.body) as PushRequest,
          }
        : { ...kept, body: JSON.parse(p.body) as PushRequest };
      await settle(batch, send(batch, p.body));
    }

    let inFlight: { batch: PendingBatch; answer: Promise<PushResponse | null> } | null = null;
    for (;;) {
      const rowsInFlight = new Set(inFlight ? inFlight.batch.rows.map((r) => `${r.table}\u0000${r.id}`) : []);
      const next = this.nextBatch(this.batchLimit, inFlight ? inFlight.batch.to : 0, rowsInFlight);
      if (!next) {
        if (!inFlight) return;
        // Nothing more can go until the batch on the wire is answered.
        await settle(inFlight.batch, inFlight.answer);
        inFlight = null;
        continue;
      }
      next.body.syncId = syncId;
      if (withCursor && this.serverHas('push-cursor')) next.body.cursor = Number(this.getState('cursor') ?? 0);
      const bodyText = JSON.stringify(next.body);
      if (Buffer.byteLength(bodyText) > this.maxBodyBytes) {
        if (next.entries > 1) {
          // Larger than the server takes: fewer entries per batch from here on.
          this.batchLimit = Math.max(1, Math.floor(next.entries / 2));
          continue;
        }
        // One change alone is larger than the server takes: held back, and reported so admins see it.
        await this.holdTooLarge(next, summary);
        continue;
      }
      // Kept in the file before sending: a retry after a lost answer resends the same bytes.
      this.stmt('INSERT INTO _sync_pending (batch_id, rows, body) VALUES (?, ?, ?)').run(
        next.body.batchId,
        JSON.stringify({ from: next.from, to: next.to, entries: next.entries, rows: next.rows }),
        bodyText,
      );
      const answer = send(next, bodyText);
      answer.catch(() => undefined); // awaited below, in order; this only keeps an early failure from going unhandled
      if (inFlight && !(await settle(inFlight.batch, inFlight.answer))) {
        // The batch before was refused in part: once this one is answered, its other rows go again.
        await settle(next, answer);
        inFlight = null;
        continue;
      }
      inFlight = { batch: next, answer };
      if (this.batchLimit < MAX_BATCH && Buffer.byteLength(bodyText) < this.maxBodyBytes / 4)
        this.batchLimit = Math.min(MAX_BATCH, this.batchLimit * 2);
    }
  }

  /**
   * A batch the server answered 4xx for what it holds: the refused changes it lists are held back;
   * without such a list (a 413, or an older server), a batch of several rows is split and a single
   * row is held back with the server's reason. Returns false when the error is not of that kind.
   */
  private async refused(batch: PendingBatch, err: unknown, summary: SyncSummary): Promise<boolean> {
    if (!(err instanceof SyncError) || err.status === null) return false;
    const refusable = err.status === 400 || err.status === 413 || err.status === 422;
    if (!refusable) return false;
    this.stmt('DELETE FROM _sync_pending WHERE batch_id = ?').run(batch.body.batchId);
    if (isPushRefusedDetails(err.details) && err.details.refused.length > 0) {
      const items = err.details.refused
        .map((r: RefusedChange) => {
          const c = batch.body.changes[r.index];
          if (!c) return null;
          return { table: c.table, id: c.id, op: c.op, column: r.column, code: r.code, message: r.message, refusalId: r.refusalId };
        })
        .filter((x): x is NonNullable<typeof x> => x !== null);
      summary.newlyHeld += this.hold(items).length;
      return true;
    }
    if (batch.entries > 1) {
      this.batchLimit = Math.max(1, Math.floor(batch.entries / 2));
      return true;
    }
    const c = batch.body.changes[0];
    if (!c) return false;
    const items = [
      { table: c.table, id: c.id, op: c.op, column: null, code: err.code, message: err.message, refusalId: null as number | null },
    ];
    if (err.status === 413) items[0].refusalId = await this.report(c.table, c.id, c.op, err.message);
    summary.newlyHeld += this.hold(items).length;
    return true;
  }

  private async holdTooLarge(batch: PendingBatch, summary: SyncSummary): Promise<void> {
    const c = batch.body.changes[0];
    const bytes = Buffer.byteLength(JSON.stringify(c));
    const message = `The row is ${bytes} bytes as JSON, more than the ${this.getState('max_body_bytes')} bytes the server accepts in one request; make it smaller (its longest texts) to sync it.`;
    const refusalId = await this.report(c.table, c.id, c.op, message);
    summary.newlyHeld += this.hold([
      { table: c.table, id: c.id, op: c.op, column: null, code: 'PAYLOAD_TOO_LARGE', message, refusalId },
    ]).length;
  }

  /** Tells the server about a change held back that it never saw (too large to send), for its Refused changes page. */
  private async report(table: string, id: string, op: 'upsert' | 'delete', message: string): Promise<number | null> {
    try {
      const r = await this.request<{ ids: (number | null)[] }>('POST', '/api/v1/sync/refusals', {
        clientId: this.getState('client_id'),
        refused: [{ table, id, op, code: 'PAYLOAD_TOO_LARGE', message: message.slice(0, 500) }],
      });
      return r.ids[0] ?? null;
    } catch {
      return null;
    }
  }

  private applyPushAnswer(batch: PendingBatch, answer: PushResponse | null): void {
    const maxSeqOf = new Map(batch.rows.map((r) => [`${r.table}\u0000${r.id}`, r.maxSeq]));
    const rebase = this.stmt('UPDATE _sync_outbox SET base_version = ? WHERE table_name = ? AND row_id = ? AND seq > ?');
    this.applying(() => {
      for (const r of answer?.results ?? []) {
        const maxSeq = maxSeqOf.get(`${r.table}\u0000${r.id}`) ?? 0;
        let taken = true;
        if (r.row || r.deleted) taken = this.applyRow(this.table(r.table), r.row ?? { id: r.id }, r.version, r.deleted, maxSeq);
        else this.stmt(`UPDATE ${q(r.table)} SET server_seq = ? WHERE id = ?`).run(r.version, r.id);
        if (r.stored && !r.row) this.writeStored(r.table, r.id, r.stored, maxSeq);
        // Edits made while this batch was in flight now build on the version the server gave it, but
        // only where this workstation took that version: a row it deleted meanwhile never saw what
        // others changed in it, and its delete must meet those changes as a conflict.
        if (taken) rebase.run(r.version, r.table, r.id, maxSeq);
      }
      // The batch holds every entry in its range, so one range delete clears it.
      this.stmt('DELETE FROM _sync_outbox_base WHERE seq > ? AND seq <= ?').run(batch.from, batch.to);
      this.stmt('DELETE FROM _sync_outbox WHERE seq > ? AND seq <= ?').run(batch.from, batch.to);
      this.stmt('DELETE FROM _sync_pending WHERE batch_id = ?').run(batch.body.batchId);
    });
  }

  /**
   * Values the master stores in another form than this workstation sent them (a date-time in
   * SQLite's): written here too, but for columns edited again since the batch was built.
   */
  private writeStored(table: string, id: string, stored: Record<string, unknown>, afterSeq: number): void {
    const edited = new Set(
      (
        this.stmt('SELECT changed FROM _sync_outbox WHERE table_name = ? AND row_id = ? AND seq > ?')
          .pluck()
          .all(table, id, afterSeq) as string[]
      ).flatMap((c) => c.split(',')),
    );
    const known = new Set(this.dataColumnNames(this.table(table)));
    const cols = Object.keys(stored).filter((c) => known.has(c) && !edited.has(c));
    if (cols.length === 0) return;
    this.stmt(`UPDATE ${q(table)} SET ${cols.map((c) => `${q(c)} = ?`).join(', ')} WHERE id = ?`).run(
      ...cols.map((c) => fromWire(stored[c])),
      id,
    );
  }

  /** Numbers taken offline from the reserved block are registered with the server, with the record using each. */
  private async registerNumbers(summary: SyncSummary): Promise<void> {
    const used = this.stmt(
      'SELECT number, kind, used_at, record_table, record_id FROM _sync_numbers WHERE used_at IS NOT NULL AND registered_at IS NULL LIMIT 500',
    ).all() as { number: string; kind: NumberKind; used_at: string; record_table: string | null; record_id: string | null }[];
    if (used.length === 0 || !this.serverHas('number-uses')) return;
    const answer = await this.request<RegisterNumbersResponse>('POST', '/api/v1/numbers/uses', {
      clientId: this.getState('client_id'),
      uses: used.map((u) => ({
        number: u.number,
        kind: u.kind,
        usedAt: u.used_at,
        ...(u.record_table && u.record_id ? { table: u.record_table, id: u.record_id } : {}),
      })),
    });
    const mark = this.stmt('UPDATE _sync_numbers SET registered_at = ? WHERE number = ?');
    const at = new Date().toISOString();
    this.db.transaction(() => used.forEach((u) => mark.run(at, u.number)))();
    summary.duplicateNumbers.push(...answer.duplicates);
  }

  // ---------------------------------------------------------------- applying the master's rows

  /** Whether pulled rows can be written straight: nothing pending, and which rows are held back. */
  private quickApplyFlags(): { noPending: boolean; noTombstones: boolean; held: Set<string> | null } {
    const heldRows =
      this.heldCount() > 0
        ? (this.stmt('SELECT table_name, row_id FROM _sync_quarantine').all() as { table_name: string; row_id: string }[])
        : [];
    return {
      noPending: !this.stmt('SELECT 1 FROM _sync_outbox LIMIT 1').get(),
      noTombstones: !this.stmt('SELECT 1 FROM _sync_tombstones LIMIT 1').get(),
      held: heldRows.length > 0 ? new Set(heldRows.map((r) => `${r.table_name}\u0000${r.row_id}`)) : null,
    };
  }

  /**
   * Writes the master's version of a row locally. Columns with local changes not yet pushed (or held
   * back) are kept (they go up at the next push, based on this version); a server delete of a row
   * with local changes waits for that push, where the server records the conflict.
   */
  /** Returns whether the row now stands at `seq` here (false when a local delete not yet pushed kept it deleted). */
  private applyRow(
    table: TableInfo,
    values: Row,
    seq: number,
    deleted: boolean,
    skipUpTo = 0,
    quick: { noPending: boolean; noTombstones: boolean; held: Set<string> | null } = { noPending: false, noTombstones: false, held: null },
  ): boolean {
    const id = values.id as string;
    const checkHeld = !quick.noPending || quick.held?.has(`${table.name}\u0000${id}`) === true;
    const pending = !checkHeld
      ? []
      : (this.stmt(
          `SELECT op, changed FROM _sync_outbox WHERE table_name = ? AND row_id = ? AND seq > ?
           UNION ALL SELECT op, changed FROM _sync_held WHERE table_name = ? AND row_id = ?`,
        ).all(table.name, id, skipUpTo, table.name, id) as {
          op: string;
          changed: string;
        }[]);
    if (deleted) {
      if (pending.length > 0) return false;
      this.stmt(`DELETE FROM ${q(table.name)} WHERE id = ?`).run(id);
      this.stmt('INSERT OR REPLACE INTO _sync_tombstones (table_name, row_id, seq, deleted_at) VALUES (?, ?, ?, ?)').run(
        table.name,
        id,
        seq,
        (values.updated_at as string) ?? null,
      );
      return true;
    }
    // A row deleted here and not yet pushed stays deleted: the delete goes up and the server decides.
    if (pending.some((p) => p.op === 'delete')) return false;
    const keep =
      pending.length === 0
        ? null
        : new Set(
            pending.some((p) => p.op !== 'update') ? dataColumns(table) : pending.flatMap((p) => p.changed.split(',').filter(Boolean)),
          );
    const cols = this.columnNames(table);
    const args = new Array<unknown>(cols.length);
    for (let i = 0; i < cols.length; i++) {
      const c = cols[i];
      const v = c === 'server_seq' ? seq : values[c];
      // A BLOB or an integer beyond 2^53 of legacy data arrives tagged: written as SQLite holds it.
      args[i] = v === undefined ? null : v !== null && typeof v === 'object' ? fromWire(v) : v;
    }
    this.upsertStatement(table, keep).run(...args);
    if (!quick.noTombstones) this.stmt('DELETE FROM _sync_tombstones WHERE table_name = ? AND row_id = ?').run(table.name, id);
    if (pending.length > 0) {
      this.stmt('UPDATE _sync_outbox SET base_version = ? WHERE table_name = ? AND row_id = ? AND seq > ?').run(
        seq,
        table.name,
        id,
        skipUpTo,
      );
    }
    return true;
  }

  private readonly columnCache = new Map<string, string[]>();
  private readonly dataColumnCache = new Map<string, string[]>();
  private readonly rowStatements = new Map<string, Database.Statement>();

  private dataColumnNames(table: TableInfo): string[] {
    let cols = this.dataColumnCache.get(table.name);
    if (!cols) {
      cols = dataColumns(table);
      this.dataColumnCache.set(table.name, cols);
    }
    return cols;
  }

  private rowStatement(table: TableInfo): Database.Statement {
    let st = this.rowStatements.get(table.name);
    if (!st) {
      // Exactly the data columns: the row read is the `values` object sent.
      st = this.db.prepare(`SELECT ${this.dataColumnNames(table).map(q).join(', ')} FROM ${q(table.name)} WHERE id = ?`);
      this.rowStatements.set(table.name, st);
    }
    return st;
  }

  private columnNames(table: TableInfo): string[] {
    let cols = this.columnCache.get(table.name);
    if (!cols) {
      cols = table.columns.map((c) => c.name);
      this.columnCache.set(table.name, cols);
    }
    return cols;
  }

  private readonly upserts = new Map<string, Database.Statement>();

  /** The upsert of a pulled row; columns with unpushed local changes (`keep`) are left as they are. */
  private upsertStatement(table: TableInfo, keep: Set<string> | null): Database.Statement {
    const key = `${table.name}\u0000${keep ? [...keep].sort().join(',') : '*'}`;
    let st = this.upserts.get(key);
    if (!st) {
      const cols = this.columnNames(table);
      const assign = cols.filter((c) => c !== 'id' && !keep?.has(c));
      st = this.db.prepare(`INSERT INTO ${q(table.name)} (${cols.map(q).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})
        ON CONFLICT(id) DO UPDATE SET ${assign.map((c) => `${q(c)} = excluded.${q(c)}`).join(', ')}`);
      this.upserts.set(key, st);
    }
    return st;
  }

  /**
   * Downloads changes page by page up to the bound the server fixed on the first page. The next
   * page is asked for while this one is written; the cursor moves in the same transaction as the
   * rows it covers, so an interrupted pull resumes exactly where it stopped.
   */
  private async pullChanges(syncId: string, summary: SyncSummary): Promise<void> {
    const fetchPage = (cursor: number, until: number | undefined) => {
      const query = new URLSearchParams({
        generation: this.getState('generation')!,
        clientId: this.getState('client_id')!,
        cursor: String(cursor),
        limit: '5000',
        syncId,
        ...(until !== undefined ? { until: String(until) } : {}),
      });
      const page = this.request<PullResponse>('GET', `/api/v1/sync/pull?${query}`);
      page.catch(() => undefined); // awaited in order below
      return page;
    };
    let next = fetchPage(Number(this.getState('cursor') ?? 0), undefined);
    for (;;) {
      const page = await next;
      if (page.hasMore) next = fetchPage(page.cursor, page.until);
      this.applying(() => {
        // Asked once per page: with nothing pending and no tombstones, rows are written straight.
        const quick = this.quickApplyFlags();
        for (const change of page.changes) this.applyRow(this.table(change.table), change.values, change.seq, change.deleted, 0, quick);
        this.setState('cursor', String(page.cursor));
      });
      summary.pulled += page.changes.length;
      this.emit('progress', { phase: 'pull', done: summary.pulled });
      if (!page.hasMore) return;
    }
  }

  /** Replaces the local copy with a server snapshot, keeping rows that have local changes (pending or held back). */
  private async loadSnapshot(): Promise<number> {
    this.emit('progress', { phase: 'snapshot', done: 0 });
    const { bytes, headers } = await this.request<{ bytes: Buffer; headers: Headers }>(
      'GET',
      // Its own sync id: a snapshot fetched again after a cut answer is logged as one sync.
      `/api/v1/sync/snapshot?${new URLSearchParams({ clientId: this.getState('client_id')!, syncId: randomUUID() })}`,
      undefined,
      true,
    );
    const tmp = `${this.file}.snapshot-${process.pid}`;
    fs.writeFileSync(tmp, await gunzip(bytes));
    let rows = 0;
    this.stmt('ATTACH DATABASE ? AS snap').run(tmp);
    try {
      this.applying(() => {
        for (const table of this.tables) {
          const cols = table.columns.map((c) => q(c.name)).join(', ');
          const t = `'${table.name.replace(/'/g, "''")}'`;
          const pendingRows = `(SELECT row_id FROM _sync_outbox WHERE table_name = ${t} UNION SELECT row_id FROM _sync_held WHERE table_name = ${t})`;
          this.db.exec(`DELETE FROM ${q(table.name)} WHERE id NOT IN ${pendingRows}`);
          rows += this.stmt(`INSERT OR IGNORE INTO ${q(table.name)} (${cols}) SELECT ${cols} FROM snap.${q(table.name)}`).run().changes;
        }
        this.db.exec('DELETE FROM _sync_tombstones');
        const info = Object.fromEntries(
          (this.stmt('SELECT key, value FROM snap.snapshot_info').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]),
        );
        this.setState('generation', info.generation ?? headers.get('x-generation'));
        this.setState('cursor', info.last_seq ?? headers.get('x-snapshot-seq'));
      });
    } finally {
      this.db.exec('DETACH DATABASE snap');
      fs.rmSync(tmp, { force: true });
    }
    this.emit('progress', { phase: 'snapshot', done: rows, total: rows });
    return rows;
  }

  /**
   * The master was restored (new generation) or this workstation was away too long. After a restore
   * it gives back what the restored master lacks: every row it synced after the backup, as it last
   * synced it (its own unsynced edits left out: they go up after, as ordinary changes), judged by the
   * server column by column against what the restore left, never by time alone. Then its own edits,
   * then a fresh snapshot.
   */
  private async reinitialize(details: ReinitializeDetails, syncId: string, summary: SyncSummary): Promise<void> {
    this.emit('status', 'reinitializing');
    summary.reinitialized = true;
    this.stmt('DELETE FROM _sync_pending').run();
    const restoredSeq = details.reason === 'generation' ? details.restoredSeq : Number.MAX_SAFE_INTEGER;
    const changes: PushChange[] = [];
    for (const table of this.tables) {
      const cols = this.dataColumnNames(table);
      const rows = this.stmt(`SELECT id FROM ${q(table.name)} WHERE server_seq > ?`)
        .pluck()
        .all(restoredSeq) as string[];
      if (rows.length === 0) continue;
      const entries = [
        ...(this.stmt('SELECT * FROM _sync_outbox WHERE table_name = ?').all(table.name) as OutboxEntry[]),
        ...(this.stmt('SELECT * FROM _sync_held WHERE table_name = ?').all(table.name) as OutboxEntry[]),
      ];
      const created = new Set(entries.filter((e) => e.op === 'insert').map((e) => e.row_id));
      const bases = this.bases(entries.filter((e) => e.op === 'update'));
      const meta = this.stmt(`SELECT server_seq, updated_at FROM ${q(table.name)} WHERE id = ?`);
      for (const id of rows) {
        if (created.has(id)) continue;
        const row = this.readRow(table, id);
        if (!row) continue;
        // As this workstation last synced it: a column edited here since goes back as it was before that edit.
        const lastSynced = { ...row, ...(bases.get(`${table.name}\u0000${id}`) ?? {}) };
        const m = meta.get(id) as { server_seq: number; updated_at: string };
        changes.push({
          table: table.name,
          op: 'upsert',
          id,
          baseVersion: m.server_seq,
          updatedAt: toIso(m.updated_at ?? new Date().toISOString()),
          values: Object.fromEntries(cols.map((c) => [c, lastSynced[c] ?? null])),
          changed: cols,
          restore: true,
        });
      }
    }
    const gone = this.stmt('SELECT table_name, row_id, seq, deleted_at FROM _sync_tombstones WHERE seq > ?').all(restoredSeq) as {
      table_name: string;
      row_id: string;
      seq: number;
      deleted_at: string | null;
    }[];
    for (const t of gone)
      changes.push({
        table: t.table_name,
        op: 'delete',
        id: t.row_id,
        baseVersion: t.seq,
        updatedAt: toIso(t.deleted_at ?? new Date().toISOString()),
        restore: true,
      });
    // The file keeps the old generation until the new snapshot is in: a crash anywhere in between
    // means the next sync re-initialises again rather than pulling with a cursor of another generation.
    const from = this.getState('generation');
    this.generationOverride = details.generation;
    await this.giveBack(changes, details.generation, from, syncId, summary);
    // Local edits not yet pushed go up as ordinary changes, based on what the master now holds.
    // After a restore, versions above restoredSeq were lost; field decisions rest on the base values.
    // (Away too long, the versions still hold: an edit of a row deleted and purged since stays an
    // edit of that row, which the server keeps as a conflict, never a new row.)
    if (details.reason === 'generation') {
      this.applying(() => {
        this.stmt('UPDATE _sync_outbox SET base_version = min(base_version, ?)').run(details.restoredSeq);
        this.stmt('UPDATE _sync_held SET base_version = min(base_version, ?)').run(details.restoredSeq);
      });
    }
    await this.pushOutbox(syncId, summary, false);
    try {
      summary.pulled += await this.loadSnapshot();
    } finally {
      this.generationOverride = null;
    }
  }

  /** Sends give-backs in batches the server takes (split when too large); one the server cannot take is left out (it recorded it). */
  private async giveBack(
    changes: PushChange[],
    generation: string,
    from: string | null,
    syncId: string,
    summary: SyncSummary,
  ): Promise<void> {
    let limit = this.batchLimit;
    let done = 0;
    for (let i = 0; i < changes.length;) {
      let slice = changes.slice(i, i + limit);
      const body: PushRequest = {
        protocolVersion: 1,
        clientId: this.getState('client_id')!,
        batchId: randomUUID(),
        generation,
        clientTime: this.now().toISOString(),
        syncId,
        ...(from && this.serverHas('give-back-lineage') ? { giveBackFrom: from } : {}),
        changes: slice,
      };
      const text = JSON.stringify(body);
      if (Buffer.byteLength(text) > this.maxBodyBytes && slice.length > 1) {
        limit = Math.max(1, Math.floor(slice.length / 2));
        continue;
      }
      try {
        const answer = await this.request<PushResponse>('POST', '/api/v1/sync/push', new RawJson(text));
        summary.conflicts += answer.conflicts;
      } catch (err) {
        if (!(err instanceof SyncError) || (err.status !== 400 && err.status !== 413)) throw err;
        if (isPushRefusedDetails(err.details) && err.details.refused.length > 0) {
          // The master cannot take these (the server recorded each for the admins): the rest goes again.
          const refused = new Set(err.details.refused.map((r) => r.index));
          slice = slice.filter((_, k) => !refused.has(k));
          changes.splice(i, limit, ...slice);
          continue;
        }
        if (slice.length > 1) {
          limit = Math.max(1, Math.floor(slice.length / 2));
          continue;
        }
        // A single give-back too large to send: kept here (its row stays in the file), reported.
        await this.report(slice[0].table, slice[0].id, slice[0].op, err.message);
      }
      i += slice.length;
      done += slice.length;
      summary.pushed += slice.length;
      this.emit('progress', { phase: 'reinitialize', done, total: changes.length });
    }
  }

  // ---------------------------------------------------------------- schedule and pokes

  /** Syncs now and then every `syncIntervalMinutes` from the server; pulls at once on a poke. */
  start(): void {
    const schedule = () => {
      this.timer = setTimeout(run, Math.max(1, Number(this.getState('interval_minutes') ?? 120)) * 60_000);
      this.timer.unref();
    };
    const run = () => {
      this.syncNow()
        .catch(() => undefined)
        .finally(schedule);
    };
    run();
    const server = this.serverUrl();
    this.socket = io(`${server}${SYNC_NAMESPACE}`, {
      ...(server.startsWith('https:') && !this.explicitFetch ? { agent: trustedAgent(this.trust()) as never } : {}),
      auth: { token: this.getState('token') },
      transports: ['websocket'],
      reconnectionDelayMax: 30_000,
    });
    const onChanges = (...[event]: SyncServerEvents['changes.available']) => {
      if (event.lastSeq > Number(this.getState('cursor') ?? 0)) this.syncNow().catch(() => undefined);
    };
    this.socket.on('changes.available', onChanges);
    this.socket.on('generation.changed', () => this.syncNow().catch(() => undefined));
    // The server ended the connection (token revoked, account disabled) and will refuse syncs too:
    // say so now rather than at the next scheduled sync. socket.io does not reconnect after this.
    this.socket.on('revoked', (...[event]: SyncServerEvents['revoked']) => {
      const e = new SyncError('REVOKED', event.message, 401);
      this.setState('last_status', 'error');
      this.setState('last_error', `${e.code}: ${e.message}`);
      this.emit('status', 'error');
      if (this.listenerCount('error') > 0) this.emit('error', e);
    });
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.socket?.disconnect();
    this.socket = null;
  }

  async close(): Promise<void> {
    this.stop();
    await this.inFlight?.catch(() => undefined);
    this.db.close();
  }

  // ---------------------------------------------------------------- numbers

  /**
   * The next quote or project number from the server; offline, one from a reserved block. Name the
   * record it is for: a number used offline is registered with it at the next sync, so a number two
   * records use (two copies of this file) is caught.
   */
  async allocateNumber(kind: NumberKind, record?: { table: string; id: string }): Promise<{ number: string; offline: boolean }> {
    try {
      // One request id for every attempt: a retry after a lost answer gets the same number, not another.
      // Two attempts: offline, the reserved block is the answer, and the person is waiting for it.
      const issued = await this.request<IssuedNumber>(
        'POST',
        `/api/v1/numbers/${kind}`,
        { clientId: this.getState('client_id'), requestId: randomUUID() },
        false,
        Math.min(2, this.maxAttempts),
      );
      return { number: issued.number, offline: false };
    } catch (err) {
      if (!(err instanceof SyncError) || (err.code !== 'NETWORK' && err.code !== 'SERVICE_UNAVAILABLE')) throw err;
      const reserved = this.stmt('SELECT number FROM _sync_numbers WHERE kind = ? AND used_at IS NULL ORDER BY number LIMIT 1').get(
        kind,
      ) as { number: string } | undefined;
      if (!reserved)
        throw new SyncError('OFFLINE_NO_NUMBERS', `The server is unreachable and no ${kind} numbers are reserved on this workstation.`);
      this.stmt('UPDATE _sync_numbers SET used_at = ?, record_table = ?, record_id = ? WHERE number = ?').run(
        this.now().toISOString(),
        record?.table ?? null,
        record?.id ?? null,
        reserved.number,
      );
      return { number: reserved.number, offline: true };
    }
  }

  async reserveNumbers(kind: NumberKind, count: number): Promise<string[]> {
    const issued = await this.request<IssuedNumber[]>('POST', `/api/v1/numbers/${kind}/reserve`, {
      count,
      clientId: this.getState('client_id'),
      requestId: randomUUID(),
    });
    const insert = this.stmt('INSERT OR IGNORE INTO _sync_numbers (number, kind, reserved_at) VALUES (?, ?, ?)');
    this.db.transaction(() => issued.forEach((n) => insert.run(n.number, kind, n.issuedAt)))();
    return issued.map((n) => n.number);
  }
}

function parseError(text: string) {
  try {
    const body = JSON.parse(text) as unknown;
    return isApiErrorBody(body) ? body : null;
  } catch {
    return null;
  }
}

function toIso(value: string): string {
  return value.includes('T') ? value : `${value.replace(' ', 'T')}Z`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
