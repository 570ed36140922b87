import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { io, type Socket } from 'socket.io-client';
import {
  SYNC_NAMESPACE,
  SyncSettings,
  type NumberKind,
  type ReinitializeDetails,
  type SyncInfoResponse,
  type SyncServerEvents,
  type WorkstationClonedDetails,
} from '@cacpq/sync-protocol';
import { adoptFile, type AdoptParams, type AdoptReport } from './adopt';
import { SyncError } from './errors';
import { LocalStore } from './local-store';
import { SDK_TABLES, installLocalSchema } from './local-schema';
import { Numbers } from './numbers';
import { Puller } from './pull';
import { Pusher } from './push';
import { Reinitializer } from './reinitialize';
import { applySchemaPlan, planSchema } from './schema-evolution';
import { Remote, checkTrust } from './remote';
import type { HeldChange, LocalStatus, SyncClientEvents, SyncClientOptions, SyncSummary } from './types';

export { SyncError, ProtocolError } from './errors';
export type { HeldChange, LocalStatus, SyncClientEvents, SyncClientOptions, SyncProgress, SyncState, SyncSummary } from './types';

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
  private timer: NodeJS.Timeout | null = null;
  /** Between {@link start} and {@link stop}: a scheduled sync is always pending or running. */
  private scheduled = false;
  private socket: Socket | null = null;
  /** The file: its state, outbox and held changes, the master's rows written into it. */
  private readonly store: LocalStore;
  /** The server: requests, retries, trust, and the check of every answer. */
  private readonly remote: Remote;
  private readonly pusher: Pusher;
  private readonly puller: Puller;
  private readonly reinit: Reinitializer;
  private readonly numbers: Numbers;

  private constructor(
    readonly db: Database.Database,
    readonly file: string,
    private readonly opts: SyncClientOptions,
  ) {
    super();
    const now = opts.clock ?? (() => new Date());
    const hostName = (opts.hostName ?? process.env.CACPQ_HOST_NAME ?? os.hostname()).slice(0, 255);
    this.store = new LocalStore(db);
    this.remote = new Remote(this.store, { ...opts, hostName }, now);
    this.pusher = new Pusher(this.store, this.remote, this, now);
    this.puller = new Puller(this.store, this.remote, this, file);
    this.reinit = new Reinitializer(this.store, this.remote, this.pusher, this.puller, this, now);
    this.numbers = new Numbers(this.store, this.remote, now);
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
      client.store.setState('server', params.server.replace(/\/$/, ''));
      client.store.setState('token', params.token);
      client.store.setState('client_id', params.clientId ?? `ws-${randomUUID()}`);
      client.store.setState('file_id', randomUUID());
      client.store.beginSync(randomUUID());
      const info = await client.remote.info();
      installLocalSchema(db, info.tables);
      client.store.setState('tables', JSON.stringify(info.tables));
      client.store.setState('interval_minutes', String(info.syncIntervalMinutes));
      client.store.setState('max_body_bytes', String(info.maxBodyBytes ?? 0));
      client.store.setState('features', JSON.stringify(info.features ?? []));
      await client.puller.loadSnapshot();
      client.store.recordResult('success', null);
      client.store.current = null;
      return client;
    } catch (err) {
      db.close();
      fs.rmSync(params.file, { force: true });
      for (const ext of ['-wal', '-shm']) fs.rmSync(params.file + ext, { force: true });
      throw err;
    }
  }

  /**
   * Takes over the desktop app's existing local database in place, with its unsynced changes
   * (backup beside it, ids converted as the server converted the master's, reconciled with the
   * master, first sync): see adopt.ts. Returns what happened to each table.
   */
  static adopt(params: AdoptParams): Promise<AdoptReport> {
    return adoptFile(params, (file, opts) => SyncClient.open(file, opts));
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
    if (!client.store.getState('server')) {
      db.close();
      throw new SyncError('NOT_INITIALISED', `${file} is not a CACPQ workstation file; run init first.`);
    }
    db.exec(SDK_TABLES);
    client.store.upgrade();
    if (opts.trust && !client.remote.serverUrl().startsWith('https:')) {
      db.close();
      throw new SyncError(
        'TLS_NOT_HTTPS',
        `--ca and --fingerprint are for an https:// server; ${file} syncs with ${client.remote.serverUrl()}.`,
      );
    }
    return client;
  }

  status(): LocalStatus {
    const pending = this.store
      .stmt('SELECT COUNT(*) AS n, COUNT(DISTINCT table_name || char(0) || row_id) AS r FROM _sync_outbox')
      .get() as {
      n: number;
      r: number;
    };
    const reserved = this.store.stmt('SELECT COUNT(*) AS n FROM _sync_numbers WHERE used_at IS NULL').get() as { n: number };
    return {
      server: this.store.getState('server') ?? '',
      clientId: this.store.getState('client_id') ?? '',
      generation: this.store.getState('generation') ?? '',
      cursor: Number(this.store.getState('cursor') ?? 0),
      pendingChanges: pending.n,
      pendingRows: pending.r,
      lastSyncAt: this.store.getState('last_sync_at'),
      lastStatus: this.store.getState('last_status'),
      lastError: this.store.getState('last_error'),
      intervalMinutes: this.intervalMinutes(),
      intervalSetBy: this.store.getState('local_interval_minutes') ? 'workstation' : 'server',
      reservedNumbers: reserved.n,
      heldBack: this.store.heldCount(),
      trust: this.remote.trustStatus(),
    };
  }

  /** The changes held back on this workstation, oldest first: what the server refused, and why. */
  quarantine(): HeldChange[] {
    return this.store.quarantine();
  }

  // ---------------------------------------------------------------- sync

  /** One sync now: upload, then download. Concurrent calls share the sync in progress. */
  syncNow(): Promise<SyncSummary> {
    if (!this.inFlight) {
      this.inFlight = this.runSync().finally(() => {
        this.inFlight = null;
        this.store.current = null;
      });
    }
    return this.inFlight;
  }

  private async runSync(): Promise<SyncSummary> {
    const started = Date.now();
    this.pusher.generationOverride = null;
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
        this.store.beginSync(syncId);
        try {
          await this.syncOnce(syncId, summary);
          break;
        } catch (err) {
          // A copy of another workstation's file, noticed by the server: carry on under the new id it gave.
          if (!(err instanceof SyncError) || err.code !== 'WORKSTATION_CLONED' || attempt > 0) throw err;
          summary.reidentified = this.store.reidentify(err.details as WorkstationClonedDetails);
        }
      }
      summary.cursor = Number(this.store.getState('cursor'));
      summary.generation = this.store.getState('generation') ?? '';
      summary.heldBack = this.store.heldCount();
      summary.durationMs = Date.now() - started;
      this.store.recordResult('success', null);
      this.emit('status', 'idle');
      this.emit('synced', summary);
      return summary;
    } catch (err) {
      const e = err instanceof SyncError ? err : new SyncError('LOCAL', (err as Error).message);
      this.store.recordResult('error', `${e.code}: ${e.message}`);
      this.emit('status', e.code === 'NETWORK' ? 'offline' : 'error');
      if (this.listenerCount('error') > 0) this.emit('error', e);
      throw e;
    }
  }

  private async syncOnce(syncId: string, summary: SyncSummary): Promise<void> {
    const info = await this.remote.info();
    this.followSchema(info);
    this.store.setState('interval_minutes', String(info.syncIntervalMinutes));
    if (info.maxBodyBytes) this.store.setState('max_body_bytes', String(info.maxBodyBytes));
    this.store.setState('features', JSON.stringify(info.features ?? []));
    this.store.forgetFeatures();
    try {
      if (this.store.getState('generation') !== info.generation)
        throw new SyncError('REINITIALIZE', 'generation changed', 409, await this.reinit.reinitDetails());
      await this.pusher.settleHeld();
      await this.pusher.pushOutbox(syncId, summary, true);
      await this.numbers.registerNumbers(summary);
      await this.puller.pullChanges(syncId, summary);
    } catch (err) {
      if (!(err instanceof SyncError) || err.code !== 'REINITIALIZE') throw err;
      await this.reinit.reinitialize(err.details as ReinitializeDetails, syncId, summary);
      await this.numbers.registerNumbers(summary);
    }
  }

  /**
   * Brings the file up to date with the master's schema before anything is pulled (see
   * {@link planSchema}); the outbox is kept. Changes held back for a schema the master lacked go
   * again once it changed.
   */
  private followSchema(info: Pick<SyncInfoResponse, 'tables' | 'schemaVersion'>): void {
    const plan = planSchema(this.db, info, this.opts.applySchemaChanges !== false);
    if (plan.fingerprint === this.store.getState('schema_fingerprint')) return;
    applySchemaPlan(this.db, plan);
    this.store.setTables(plan.tables);
    this.store.setState('schema_fingerprint', plan.fingerprint);
    this.store.releaseSchemaAhead();
  }

  // ---------------------------------------------------------------- schedule and pokes

  /**
   * Syncs now and then on the schedule: every `syncIntervalMinutes` of the server (an admin's
   * setting), or this workstation's own interval ({@link setSchedule}). Pulls at once on a poke.
   */
  start(): void {
    this.scheduled = true;
    this.runScheduled();
    this.socket = io(`${this.remote.serverUrl()}${SYNC_NAMESPACE}`, {
      ...this.remote.socketAgent(),
      auth: { token: this.store.getState('token') },
      transports: ['websocket'],
      reconnectionDelayMax: 30_000,
    });
    const onChanges = (...[event]: SyncServerEvents['changes.available']) => {
      if (event.lastSeq > Number(this.store.getState('cursor') ?? 0)) this.syncNow().catch(() => undefined);
    };
    this.socket.on('changes.available', onChanges);
    this.socket.on('generation.changed', () => this.syncNow().catch(() => undefined));
    // The server ended the connection (token revoked, account disabled) and will refuse syncs too:
    // say so now rather than at the next scheduled sync. socket.io does not reconnect after this.
    this.socket.on('revoked', (...[event]: SyncServerEvents['revoked']) => {
      const e = new SyncError('REVOKED', event.message, 401);
      this.store.setState('last_status', 'error');
      this.store.setState('last_error', `${e.code}: ${e.message}`);
      this.emit('status', 'error');
      if (this.listenerCount('error') > 0) this.emit('error', e);
    });
  }

  /**
   * This workstation's own interval between scheduled syncs, in place of the server's (the guide's
   * `sync:setSchedule`, e.g. 240 for a PC on a slow VPN); `null` goes back to the server's. A whole
   * number of minutes in the server setting's range (5 to 1440), else a `SyncError`
   * `VALIDATION_FAILED`. Kept in the file; a running schedule counts the new interval from now.
   * Pokes from the server still sync at once.
   */
  setSchedule(minutes: number | null): void {
    const range = SyncSettings.shape.intervalMinutes;
    if (minutes !== null && !range.safeParse(minutes).success) {
      throw new SyncError(
        'VALIDATION_FAILED',
        `The sync interval must be a whole number of minutes from ${range.minValue} to ${range.maxValue}; got ${minutes}.`,
      );
    }
    this.store.setState('local_interval_minutes', minutes === null ? null : String(minutes));
    if (this.scheduled && this.timer) this.scheduleNext();
  }

  /** Minutes between scheduled syncs: this workstation's own setting, else the server's. */
  private intervalMinutes(): number {
    return Number(this.store.getState('local_interval_minutes') ?? this.store.getState('interval_minutes') ?? 120);
  }

  private scheduleNext(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.runScheduled(), Math.max(1, this.intervalMinutes()) * 60_000);
    this.timer.unref();
  }

  private runScheduled(): void {
    this.timer = null;
    this.syncNow()
      .catch(() => undefined)
      .finally(() => {
        if (this.scheduled) this.scheduleNext();
      });
  }

  stop(): void {
    this.scheduled = false;
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
  allocateNumber(kind: NumberKind, record?: { table: string; id: string }): Promise<{ number: string; offline: boolean }> {
    return this.numbers.allocateNumber(kind, record);
  }

  reserveNumbers(kind: NumberKind, count: number): Promise<string[]> {
    return this.numbers.reserveNumbers(kind, count);
  }
}
