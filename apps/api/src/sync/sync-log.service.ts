import { MasterStore, SqliteSyncLogWritesRepository, sqlTime, type SyncLogWritesRepository } from '@cacpq/db';
import { Injectable } from '@nestjs/common';
import { ApiException } from '../common/api-exception';
import { isDiskFull } from '../common/disk-full';
import { DomainEvents } from '../events/domain-events';

interface OpenSync {
  logId: number;
  startedAt: number;
  touched: number;
  /** Records pulled per page already counted, by the page's cursor: a page asked again (its answer was lost) replaces its count. */
  pages: Map<string, number>;
  /** The last page was answered; kept a while so that a retry of it is still recognised. */
  done: boolean;
}

/** How long an ended sync is remembered for retries of its last answer. */
const ENDED_KEPT_MS = 10 * 60_000;

/**
 * One `sync_log` row per sync, with the guide's columns plus user, client id and error. A sync
 * is a push and the pull pages after it, tied together by the workstation's sync id; a pull
 * without a push is a sync of its own.
 */
@Injectable()
export class SyncLogService {
  private readonly open = new Map<string, OpenSync>();
  private readonly rows: SyncLogWritesRepository;

  constructor(
    store: MasterStore,
    private readonly events: DomainEvents,
  ) {
    this.rows = new SqliteSyncLogWritesRepository(() => store.serverDb);
  }

  private key(clientId: string, syncId: string | undefined): string | null {
    return syncId ? `${clientId}\u0000${syncId}` : null;
  }

  private insert(
    user: string,
    clientId: string,
    status: string,
    pushed: number,
    pulled: number,
    conflicts: number,
    durationMs: number,
    error: string | null,
  ): number {
    return this.rows.insert({ at: sqlTime(), status, pushed, pulled, conflicts, durationMs, user, clientId, error });
  }

  recordPush(e: { user: string; clientId: string; syncId?: string; pushed: number; conflicts: number; startedAt: number }): void {
    this.prune();
    const logId = this.insert(e.user, e.clientId, 'success', e.pushed, 0, e.conflicts, Date.now() - e.startedAt, null);
    const key = this.key(e.clientId, e.syncId);
    // A sync of several push batches has a row per batch: the one before this has ended.
    const earlier = key ? this.open.get(key) : undefined;
    if (key) this.open.set(key, { logId, startedAt: e.startedAt, touched: Date.now(), pages: new Map(), done: false });
    this.events.publish('sync.rows', { direction: 'pushed', rows: e.pushed, conflicts: e.conflicts });
    if (earlier && !earlier.done) {
      this.events.publish('sync.ended', { status: 'success', durationMs: earlier.touched - earlier.startedAt });
      this.finished(earlier.logId);
    }
    if (!key) {
      this.events.publish('sync.ended', { status: 'success', durationMs: Date.now() - e.startedAt });
      this.finished(logId);
    }
  }

  /**
   * A pulled page (or a snapshot, `page: 'snapshot'`). With a sync id and the page's cursor, a page
   * asked again because its answer was lost is counted once, in its own sync's row, even after the
   * sync's last page.
   */
  recordPull(e: {
    user: string;
    clientId: string;
    syncId?: string;
    page?: string;
    pulled: number;
    startedAt: number;
    done: boolean;
  }): void {
    this.prune();
    const key = this.key(e.clientId, e.syncId);
    const open = key ? this.open.get(key) : undefined;
    if (open) {
      const before = e.page !== undefined ? open.pages.get(e.page) : undefined;
      const added = e.pulled - (before ?? 0);
      if (e.page !== undefined) open.pages.set(e.page, e.pulled);
      this.rows.addPulled(open.logId, added, open.done ? this.rows.durationOf(open.logId) : Date.now() - open.startedAt);
      open.touched = Date.now();
      this.events.publish('sync.rows', { direction: 'pulled', rows: added, conflicts: 0 });
      if (e.done && !open.done) {
        open.done = true;
        this.events.publish('sync.ended', { status: 'success', durationMs: Date.now() - open.startedAt });
        this.finished(open.logId);
      }
      return;
    }
    const logId = this.insert(e.user, e.clientId, 'success', 0, e.pulled, 0, Date.now() - e.startedAt, null);
    if (key) {
      const pages = new Map(e.page !== undefined ? [[e.page, e.pulled]] : []);
      this.open.set(key, { logId, startedAt: e.startedAt, touched: Date.now(), pages, done: e.done });
    }
    this.events.publish('sync.rows', { direction: 'pulled', rows: e.pulled, conflicts: 0 });
    if (!key || e.done) {
      this.events.publish('sync.ended', { status: 'success', durationMs: Date.now() - e.startedAt });
      this.finished(logId);
    }
  }

  /**
   * Records a failed sync. Never throws: the caller rethrows the sync's own error, which must not be
   * masked by this row failing too (on a full disk, say, the row cannot be written either).
   */
  recordError(e: { user: string; clientId: string; syncId?: string; startedAt: number; error: unknown }): void {
    try {
      this.recordErrorRow(e);
    } catch {
      // The row could not be written (the disk is full, say): the sync still ends, in the metrics at least.
      const key = this.key(e.clientId, e.syncId);
      if (key) this.open.delete(key);
      this.events.publish('sync.ended', { status: 'error', durationMs: Date.now() - e.startedAt });
    }
  }

  private recordErrorRow(e: { user: string; clientId: string; syncId?: string; startedAt: number; error: unknown }): void {
    const message =
      e.error instanceof ApiException
        ? `${e.error.code}: ${(e.error.getResponse() as { message: string }).message}`
        : `${isDiskFull(e.error) ? 'DISK_FULL' : 'INTERNAL'}: ${(e.error as Error).message}`;
    const key = this.key(e.clientId, e.syncId);
    const open = key ? this.open.get(key) : undefined;
    if (open && key && !open.done) {
      this.rows.markFailed(open.logId, message, Date.now() - open.startedAt);
      this.open.delete(key);
      this.events.publish('sync.ended', { status: 'error', durationMs: Date.now() - open.startedAt });
      this.finished(open.logId);
      return;
    }
    const logId = this.insert(e.user, e.clientId, 'error', 0, 0, 0, Date.now() - e.startedAt, message);
    this.events.publish('sync.ended', { status: 'error', durationMs: Date.now() - e.startedAt });
    this.finished(logId);
  }

  /**
   * Tells the dashboards a sync ended, with its row as it stands. Deferred: a push writes its row
   * inside its own transaction, so the row is read (and announced) only once that has committed.
   */
  private finished(logId: number): void {
    setImmediate(() => {
      try {
        const r = this.rows.entry(logId);
        if (!r) return;
        this.events.publish('sync.finished', {
          id: r.id as number,
          at: r.timestamp as string,
          user: r.user as string | null,
          clientId: r.client_id as string | null,
          status: r.status as string,
          recordsPulled: r.records_pulled as number,
          recordsPushed: r.records_pushed as number,
          conflicts: r.conflicts as number,
          durationMs: r.duration_ms as number,
          error: r.error as string | null,
        });
      } catch {
        // The master is held by a restore or VACUUM: the dashboard's next snapshot has the figures.
      }
    });
  }

  private prunedAt = 0;

  /** Syncs whose workstation went away mid-way are closed after an hour; ended ones forgotten after ten minutes. */
  private prune(): void {
    const now = Date.now();
    if (now - this.prunedAt < 10_000) return;
    this.prunedAt = now;
    for (const [k, v] of this.open) {
      if (v.done ? v.touched >= now - ENDED_KEPT_MS : v.touched >= now - 3600_000) continue;
      this.open.delete(k);
      if (v.done) continue;
      this.events.publish('sync.ended', { status: 'success', durationMs: v.touched - v.startedAt });
      this.finished(v.logId);
    }
  }
}
