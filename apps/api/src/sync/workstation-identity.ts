import { MasterStore, SqliteWorkstationsRepository, sqlTime, type WorkstationFileRecord, type WorkstationsRepository } from '@cacpq/db';
import { WORKSTATION_HEADERS, type WorkstationClonedDetails } from '@cacpq/sync-protocol';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ApiException } from '../common/api-exception';
import type { AppRequest, Principal } from '../common/request-context';
import { LOGGER } from '../common/tokens';
import { parseClientTime } from './row-values';
import { WorkstationClocks } from './workstation-clocks';

type FileRecord = WorkstationFileRecord;

const CLIENT_ID = /^[A-Za-z0-9._:@-]{1,100}$/;
const TOKEN = /^[A-Za-z0-9._:-]{1,100}$/;

function header(req: AppRequest, name: string, pattern: RegExp): string | null {
  const v = req.headers[name];
  return typeof v === 'string' && pattern.test(v) ? v : null;
}

/**
 * Which copy of a workstation file speaks for each client id. Every workstation file carries a file
 * identity and a sync counter that goes up by one at every sync; the server keeps the latest of both
 * (hub.db `workstation_files`). A second copy is noticed at its first sync: its counter goes back or
 * repeats under another sync (an old copy put back, a re-imaged laptop), or a file identity that
 * was replaced speaks again (two histories under one client id). It is answered 409
 * WORKSTATION_CLONED with a new client id to carry on under, its reserved numbers are void, and
 * the copy is recorded for the admins' alert, naming both PCs.
 */
@Injectable()
export class WorkstationIdentity implements OnModuleDestroy {
  private readonly cache = new Map<string, FileRecord>();
  /** Records changed since they were last written; written together every few seconds. */
  private readonly dirty = new Set<string>();
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: MasterStore,
    private readonly clocks: WorkstationClocks,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.workstations = new SqliteWorkstationsRepository(() => store.hubDb);
  }

  private readonly workstations: WorkstationsRepository;

  private get hub(): Database.Database {
    return this.store.hubDb;
  }

  private load(clientId: string): FileRecord | null {
    const cached = this.cache.get(clientId);
    if (cached) return cached;
    const rec = this.workstations.file(clientId);
    if (!rec) return null;
    this.cache.set(clientId, rec);
    return rec;
  }

  /**
   * Keeps a record. A new workstation or file is written at once; a counter moving on is written
   * within a few seconds, with others (one commit, not one per sync). A crash in between loses only
   * counter steps, which delays noticing a copy by a sync at most.
   */
  private save(clientId: string, rec: FileRecord, now = false): void {
    this.cache.set(clientId, rec);
    this.dirty.add(clientId);
    if (now) return this.flush();
    this.flushTimer ??= setTimeout(() => this.flush(), 5000).unref();
  }

  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.dirty.size === 0) return;
    const ids = [...this.dirty];
    this.dirty.clear();
    try {
      this.hub.transaction(() => {
        for (const id of ids) this.write(id, this.cache.get(id)!);
      })();
    } catch (err) {
      for (const id of ids) this.dirty.add(id);
      this.logger.warn({ err }, 'workstation file records not written; kept to write again');
    }
  }

  onModuleDestroy(): void {
    this.flush();
  }

  private write(clientId: string, rec: FileRecord): void {
    this.workstations.saveFile(clientId, rec);
  }

  /**
   * Reads a workstation request's headers: measures its clock, and checks which copy of its file
   * speaks. Requests without them (the command line's admin calls, older SDKs) pass as they are.
   */
  observe(req: AppRequest, who: Principal): void {
    const clientId = header(req, WORKSTATION_HEADERS.clientId, CLIENT_ID);
    if (!clientId) return;
    const time = header(req, WORKSTATION_HEADERS.clientTime, /^[0-9T:.+Z -]{10,40}$/);
    const clientNow = time ? parseClientTime(time) : null;
    if (clientNow) this.clocks.record(clientId, who.username, clientNow.getTime() - req.receivedAt);
    const fileId = header(req, WORKSTATION_HEADERS.fileId, TOKEN);
    const counterText = header(req, WORKSTATION_HEADERS.syncCounter, /^\d{1,15}$/);
    if (!fileId || !counterText) return;
    const counter = Number(counterText);
    const syncId = header(req, WORKSTATION_HEADERS.syncId, TOKEN);
    const rawHost = req.headers[WORKSTATION_HEADERS.host];
    const host = typeof rawHost === 'string' && /^[\x20-\x7e]{1,255}$/.test(rawHost) ? rawHost : null;
    const now = sqlTime();
    const rec = this.load(clientId);
    if (!rec) {
      this.save(clientId, { fileId, counter, syncId, host, user: who.username, retired: [], lastSeenAt: now }, true);
      return;
    }
    if (rec.fileId === fileId) {
      if (counter > rec.counter) {
        this.save(clientId, { ...rec, counter, syncId, host: host ?? rec.host, user: who.username, lastSeenAt: now });
        return;
      }
      if (counter === rec.counter && syncId === rec.syncId) return;
      throw this.copied(clientId, rec, counter < rec.counter ? 'rolled-back' : 'copied', host, who);
    }
    // Another file under this client id. An identity that was replaced speaking again is a second
    // history interleaving with the first; a new one is the workstation set up anew (its old file gone).
    if (rec.retired.includes(fileId)) throw this.copied(clientId, rec, 'copied', host, who);
    this.save(
      clientId,
      {
        fileId,
        counter,
        syncId,
        host: host ?? rec.host,
        user: who.username,
        retired: [...rec.retired, rec.fileId].slice(-20),
        lastSeenAt: now,
      },
      true,
    );
  }

  private copied(
    clientId: string,
    rec: FileRecord,
    reason: WorkstationClonedDetails['reason'],
    host: string | null,
    who: Principal,
  ): ApiException {
    const newClientId = `${clientId.slice(0, 80)}-copy-${randomBytes(3).toString('hex')}`;
    this.workstations.recordCopy({
      clientId,
      newClientId,
      reason,
      user: who.username,
      originalHost: rec.host,
      copyHost: host,
      detectedAt: sqlTime(),
    });
    const details: WorkstationClonedDetails = { clientId, newClientId, reason, original: { host: rec.host, lastSeenAt: rec.lastSeenAt } };
    this.logger.warn({ clientId, newClientId, reason, originalHost: rec.host, copyHost: host }, 'a copy of a workstation file was noticed');
    const what = reason === 'rolled-back' ? 'an older copy of' : 'a copy of';
    return new ApiException(
      'WORKSTATION_CLONED',
      `This file is ${what} workstation ${clientId}'s (which last synced from ${rec.host ?? 'an unnamed PC'} at ${rec.lastSeenAt} UTC): it carries on as a new workstation, ${newClientId}, and its reserved numbers are void.`,
      details,
    );
  }
}
