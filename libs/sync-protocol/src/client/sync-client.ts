import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { io, type Socket } from 'socket.io-client';
import { isApiErrorBody } from '../errors';
import {
  SYNC_NAMESPACE,
  type IssuedNumber,
  type NumberKind,
  type PullResponse,
  type PushChange,
  type PushRequest,
  type PushResponse,
  type ReinitializeDetails,
  type SyncInfoResponse,
  type SyncServerEvents,
  type TableInfo,
  type WireValue,
} from '../sync';
import { SDK_TABLES, dataColumns, installLocalSchema, quoteIdent as q } from './local-schema';

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
}

export interface SyncClientEvents {
  status: [SyncState];
  progress: [SyncProgress];
  synced: [SyncSummary];
  error: [SyncError];
}

export interface SyncClientOptions {
  /** How many times a request is tried on network errors and 503 answers. */
  maxAttempts?: number;
  /** First backoff delay; it doubles per attempt (with jitter), capped at 30 s. */
  backoffBaseMs?: number;
  requestTimeoutMs?: number;
  fetch?: typeof fetch;
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
  | 'applying';

/**
 * A workstation's side of the sync protocol, over its own SQLite file. Local changes are
 * captured by triggers into an outbox inside that file, so any program that writes it is synced.
 * A sync uploads first (all or nothing per batch, safely retried), then downloads.
 */
export class SyncClient extends EventEmitter<SyncClientEvents> {
  private inFlight: Promise<SyncSummary> | null = null;
  /** During a re-initialisation: the generation pushes are made under, before the file takes it. */
  private generationOverride: string | null = null;
  private readonly stmts = new Map<string, Database.Statement>();
  private hasStateTable = false;
  private timer: NodeJS.Timeout | null = null;
  private socket: Socket | null = null;
  private readonly fetchImpl: typeof fetch;
  private readonly maxAttempts: number;
  private readonly backoffBaseMs: number;
  private readonly timeoutMs: number;

  private constructor(
    readonly db: Database.Database,
    readonly file: string,
    opts: SyncClientOptions,
  ) {
    super();
    this.fetchImpl = opts.fetch ?? fetch;
    this.maxAttempts = opts.maxAttempts ?? 6;
    this.backoffBaseMs = opts.backoffBaseMs ?? 500;
    this.timeoutMs = opts.requestTimeoutMs ?? 60_000;
  }

  /** Creates the local file of a new workstation from a server snapshot (its first sync). */
  static async init(params: { file: string; server: string; token: string; clientId?: string } & SyncClientOptions): Promise<SyncClient> {
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
      const info = await client.request<SyncInfoResponse>('GET', '/api/v1/sync/info');
      installLocalSchema(db, info.tables);
      client.setState('tables', JSON.stringify(info.tables));
      client.setState('interval_minutes', String(info.syncIntervalMinutes));
      await client.loadSnapshot();
      client.recordResult('success', null);
      return client;
    } catch (err) {
      db.close();
      fs.rmSync(params.file, { force: true });
      for (const ext of ['-wal', '-shm']) fs.rmSync(params.file + ext, { force: true });
      throw err;
    }
  }

  /** Opens an initialised workstation file. */
  static open(file: string, opts: SyncClientOptions = {}): SyncClient {
    if (!fs.existsSync(file)) throw new SyncError('NOT_INITIALISED', `${file} does not exist; run init first.`);
    const db = new Database(file);
    db.pragma('busy_timeout = 5000');
    // The SDK's own commits (outbox bookkeeping, pulled pages) need no fsync each: after a power
    // cut the worst case is a batch sent again (the server replays it by batch id) or a page pulled
    // again. The desktop app's writes keep its own connection's setting.
    db.pragma('synchronous = NORMAL');
    const client = new SyncClient(db, file, opts);
    if (!client.getState('server')) {
      db.close();
      throw new SyncError('NOT_INITIALISED', `${file} is not a CACPQ workstation file; run init first.`);
    }
    db.exec(SDK_TABLES);
    return client;
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

  private tablesCache: TableInfo[] | null = null;

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
    };
  }

  // ---------------------------------------------------------------- HTTP

  private async request<T>(method: string, path: string, body?: unknown, raw = false): Promise<T> {
    const server = this.getState('server');
    const token = this.getState('token');
    let lastError: SyncError | null = null;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      let res: Response;
      let answer: Buffer;
      try {
        res = await this.fetchImpl(`${server}${path}`, {
          method,
          headers: {
            Authorization: `Bearer ${token}`,
            Accept: raw ? 'application/gzip' : 'application/json',
            ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
          },
          body: body === undefined ? undefined : body instanceof RawJson ? body.text : JSON.stringify(body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        // The whole answer belongs to the attempt: a connection cut inside it is retried like one
        // cut before it (a push is replayed by its batch id, a number by its request id).
        answer = Buffer.from(await res.arrayBuffer());
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
        lastError = new SyncError('NETWORK', `Cannot reach the CACPQ server at ${server} (${cause}).`);
        if (attempt < this.maxAttempts) await sleep(this.backoff(attempt));
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
        if (attempt < this.maxAttempts)
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
      });
    }
    return this.inFlight;
  }

  private async runSync(): Promise<SyncSummary> {
    const started = Date.now();
    this.generationOverride = null;
    this.emit('status', 'syncing');
    const syncId = randomUUID();
    const summary: SyncSummary = {
      pushed: 0,
      pulled: 0,
      conflicts: 0,
      reinitialized: false,
      cursor: 0,
      generation: '',
      durationMs: 0,
      clockCorrected: false,
    };
    try {
      const info = await this.request<SyncInfoResponse>('GET', '/api/v1/sync/info');
      this.setState('interval_minutes', String(info.syncIntervalMinutes));
      try {
        if (this.getState('generation') !== info.generation)
          throw new SyncError('REINITIALIZE', 'generation changed', 409, await this.reinitDetails());
        await this.pushOutbox(syncId, summary);
        await this.pullChanges(syncId, summary);
      } catch (err) {
        if (!(err instanceof SyncError) || err.code !== 'REINITIALIZE') throw err;
        await this.reinitialize(err.details as ReinitializeDetails, syncId, summary);
      }
      summary.cursor = Number(this.getState('cursor'));
      summary.generation = this.getState('generation') ?? '';
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
    const changes: PushChange[] = [];
    const rows: PendingBatch['rows'] = [];
    for (const group of groups.values()) {
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
      const row = this.rowStatement(table).get(first.row_id) as Row | undefined;
      if (!row) continue;
      const cols = this.dataColumnNames(table);
      const everything = group.some((e) => e.op === 'insert' || e.op === 'delete');
      const changed = everything ? cols : [...new Set(group.flatMap((e) => e.changed.split(',').filter(Boolean)))];
      // What each changed column held before this workstation's first edit of it: the server
      // compares it with the master's value, so another's edit in between is always a conflict.
      const base: Row = {};
      if (!everything) {
        for (const e of group) {
          const old = e.old_values ? (JSON.parse(e.old_values) as Row) : {};
          for (const c of e.changed.split(',')) if (c && !(c in base) && c in old) base[c] = old[c];
        }
      }
      changes.push({
        table: table.name,
        op: 'upsert',
        id: first.row_id,
        baseVersion: first.base_version,
        updatedAt,
        values: row,
        changed,
        ...(Object.keys(base).length > 0 ? { base } : {}),
      });
    }
    return {
      rows,
      body: {
        protocolVersion: 1,
        clientId: this.getState('client_id')!,
        batchId: randomUUID(),
        generation: this.generationOverride ?? this.getState('generation')!,
        clientTime: new Date().toISOString(),
        changes,
      },
    };
  }

  /**
   * Uploads the outbox. Batches whose answers never came (a crash, a cut connection) are resent
   * first, byte for byte, so the server replays them. Then the next batch is built and sent while
   * the previous one is still on the wire; answers are applied in order.
   */
  private async pushOutbox(syncId: string, summary: SyncSummary): Promise<void> {
    const limit = 2000;
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

    const unanswered = this.stmt('SELECT batch_id, rows, body FROM _sync_pending ORDER BY seq').all() as {
      batch_id: string;
      rows: string;
      body: string;
    }[];
    for (const p of unanswered) {
      const batch: PendingBatch = { rows: JSON.parse(p.rows) as PendingBatch['rows'], body: JSON.parse(p.body) as PushRequest };
      account(batch, await send(batch, p.body));
    }

    let inFlight: { batch: PendingBatch; answer: Promise<PushResponse | null> } | null = null;
    for (;;) {
      const rowsInFlight = new Set(inFlight ? inFlight.batch.rows.map((r) => `${r.table}\u0000${r.id}`) : []);
      const afterSeq = inFlight ? Math.max(0, ...inFlight.batch.rows.map((r) => r.maxSeq)) : 0;
      const next = this.nextBatch(limit, afterSeq, rowsInFlight);
      if (!next) {
        if (!inFlight) return;
        // Nothing more can go until the batch on the wire is answered.
        account(inFlight.batch, await inFlight.answer);
        inFlight = null;
        continue;
      }
      next.body.syncId = syncId;
      const bodyText = JSON.stringify(next.body);
      // Kept in the file before sending: a retry after a lost answer resends the same bytes.
      this.stmt('INSERT INTO _sync_pending (batch_id, rows, body) VALUES (?, ?, ?)').run(
        next.body.batchId,
        JSON.stringify(next.rows),
        bodyText,
      );
      const answer = send(next, bodyText);
      answer.catch(() => undefined); // awaited below, in order; this only keeps an early failure from going unhandled
      if (inFlight) account(inFlight.batch, await inFlight.answer);
      inFlight = { batch: next, answer };
    }
  }

  private applyPushAnswer(batch: PendingBatch, answer: PushResponse | null): void {
    const maxSeqOf = new Map(batch.rows.map((r) => [`${r.table}\u0000${r.id}`, r.maxSeq]));
    const rebase = this.stmt('UPDATE _sync_outbox SET base_version = ? WHERE table_name = ? AND row_id = ? AND seq > ?');
    this.applying(() => {
      for (const r of answer?.results ?? []) {
        const maxSeq = maxSeqOf.get(`${r.table}\u0000${r.id}`) ?? 0;
        if (r.row) this.applyRow(this.table(r.table), r.row, r.version, r.deleted, maxSeq);
        else if (!r.deleted) this.stmt(`UPDATE ${q(r.table)} SET server_seq = ? WHERE id = ?`).run(r.version, r.id);
        // Edits made while this batch was in flight now build on the version the server gave it.
        rebase.run(r.version, r.table, r.id, maxSeq);
      }
      // The batch holds every entry up to its highest sequence, so one range delete clears it.
      this.stmt('DELETE FROM _sync_outbox WHERE seq <= ?').run(Math.max(0, ...batch.rows.map((r) => r.maxSeq)));
      this.stmt('DELETE FROM _sync_pending WHERE batch_id = ?').run(batch.body.batchId);
    });
  }

  /**
   * Writes the master's version of a row locally. Columns with local changes not yet pushed are
   * kept (they go up at the next push, based on this version); a server delete of a row with
   * local changes waits for that push, where the server records the conflict.
   */
  private quickApplyFlags(): { noPending: boolean; noTombstones: boolean } {
    return {
      noPending: !this.stmt('SELECT 1 FROM _sync_outbox LIMIT 1').get(),
      noTombstones: !this.stmt('SELECT 1 FROM _sync_tombstones LIMIT 1').get(),
    };
  }

  private applyRow(
    table: TableInfo,
    values: Row,
    seq: number,
    deleted: boolean,
    skipUpTo = 0,
    quick: { noPending: boolean; noTombstones: boolean } = { noPending: false, noTombstones: false },
  ): void {
    const id = values.id as string;
    const pending = quick.noPending
      ? []
      : (this.stmt('SELECT op, changed FROM _sync_outbox WHERE table_name = ? AND row_id = ? AND seq > ?').all(
          table.name,
          id,
          skipUpTo,
        ) as {
          op: string;
          changed: string;
        }[]);
    if (deleted) {
      if (pending.length > 0) return;
      this.stmt(`DELETE FROM ${q(table.name)} WHERE id = ?`).run(id);
      this.stmt('INSERT OR REPLACE INTO _sync_tombstones (table_name, row_id, seq, deleted_at) VALUES (?, ?, ?, ?)').run(
        table.name,
        id,
        seq,
        (values.updated_at as string) ?? null,
      );
      return;
    }
    // A row deleted here and not yet pushed stays deleted: the delete goes up and the server decides.
    if (pending.some((p) => p.op === 'delete')) return;
    const keep =
      pending.length === 0
        ? null
        : new Set(
            pending.some((p) => p.op !== 'update') ? dataColumns(table) : pending.flatMap((p) => p.changed.split(',').filter(Boolean)),
          );
    const cols = this.columnNames(table);
    this.upsertStatement(table, keep).run(...cols.map((c) => (c === 'server_seq' ? seq : (values[c] ?? null))));
    if (!quick.noTombstones) this.stmt('DELETE FROM _sync_tombstones WHERE table_name = ? AND row_id = ?').run(table.name, id);
    if (pending.length > 0) {
      this.stmt('UPDATE _sync_outbox SET base_version = ? WHERE table_name = ? AND row_id = ? AND seq > ?').run(
        seq,
        table.name,
        id,
        skipUpTo,
      );
    }
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

  /** Replaces the local copy with a server snapshot, keeping rows that have local changes. */
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
          const pendingRows = `(SELECT row_id FROM _sync_outbox WHERE table_name = ${`'${table.name}'`})`;
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
   * The master was restored (new generation) or this workstation was away too long: give back
   * every row version the master may have lost, push local changes, then take a fresh snapshot.
   */
  private async reinitialize(details: ReinitializeDetails, syncId: string, summary: SyncSummary): Promise<void> {
    this.emit('status', 'reinitializing');
    summary.reinitialized = true;
    this.stmt('DELETE FROM _sync_pending').run();
    const restoredSeq = details.reason === 'generation' ? details.restoredSeq : Number.MAX_SAFE_INTEGER;
    const changes: PushChange[] = [];
    for (const table of this.tables) {
      const cols = dataColumns(table);
      const rows = this.stmt(`SELECT * FROM ${q(table.name)} WHERE server_seq > ?`).all(restoredSeq) as Row[];
      for (const row of rows) {
        changes.push({
          table: table.name,
          op: 'upsert',
          id: row.id as string,
          baseVersion: 0,
          updatedAt: toIso(row.updated_at as string),
          values: Object.fromEntries(cols.map((c) => [c, row[c] ?? null])),
          changed: cols,
          restore: true,
        });
      }
      const gone = this.stmt('SELECT row_id, seq, deleted_at FROM _sync_tombstones WHERE table_name = ? AND seq > ?').all(
        table.name,
        restoredSeq,
      ) as {
        row_id: string;
        deleted_at: string | null;
      }[];
      for (const t of gone)
        changes.push({
          table: table.name,
          op: 'delete',
          id: t.row_id,
          baseVersion: 0,
          updatedAt: toIso(t.deleted_at ?? new Date().toISOString()),
          restore: true,
        });
    }
    // The file keeps the old generation until the new snapshot is in: a crash anywhere in between
    // means the next sync re-initialises again rather than pulling with a cursor of another generation.
    this.generationOverride = details.generation;
    for (let i = 0; i < changes.length; i += 2000) {
      const body: PushRequest = {
        protocolVersion: 1,
        clientId: this.getState('client_id')!,
        batchId: randomUUID(),
        generation: details.generation,
        clientTime: new Date().toISOString(),
        syncId,
        changes: changes.slice(i, i + 2000),
      };
      const answer = await this.request<PushResponse>('POST', '/api/v1/sync/push', body);
      summary.pushed += body.changes.length;
      summary.conflicts += answer.conflicts;
      this.emit('progress', { phase: 'reinitialize', done: Math.min(i + 2000, changes.length), total: changes.length });
    }
    // Local edits not yet pushed go up as ordinary changes, based on what the master now holds.
    // Versions above restoredSeq were lost with the restore; field decisions rest on the base values.
    this.applying(() =>
      this.stmt('UPDATE _sync_outbox SET base_version = min(base_version, ?)').run(
        details.reason === 'generation' ? details.restoredSeq : 0,
      ),
    );
    await this.pushOutbox(syncId, summary);
    try {
      summary.pulled += await this.loadSnapshot();
    } finally {
      this.generationOverride = null;
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
    this.socket = io(`${this.getState('server')}${SYNC_NAMESPACE}`, {
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

  /** The next quote or project number from the server; offline, one from a reserved block. */
  async allocateNumber(kind: NumberKind): Promise<{ number: string; offline: boolean }> {
    try {
      // One request id for every attempt: a retry after a lost answer gets the same number, not another.
      const issued = await this.request<IssuedNumber>('POST', `/api/v1/numbers/${kind}`, {
        clientId: this.getState('client_id'),
        requestId: randomUUID(),
      });
      return { number: issued.number, offline: false };
    } catch (err) {
      if (!(err instanceof SyncError) || (err.code !== 'NETWORK' && err.code !== 'SERVICE_UNAVAILABLE')) throw err;
      const reserved = this.stmt('SELECT number FROM _sync_numbers WHERE kind = ? AND used_at IS NULL ORDER BY number LIMIT 1').get(
        kind,
      ) as { number: string } | undefined;
      if (!reserved)
        throw new SyncError('OFFLINE_NO_NUMBERS', `The server is unreachable and no ${kind} numbers are reserved on this workstation.`);
      this.stmt('UPDATE _sync_numbers SET used_at = ? WHERE number = ?').run(new Date().toISOString(), reserved.number);
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
