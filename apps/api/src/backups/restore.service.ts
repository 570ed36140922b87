import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import {
  MasterStore,
  SERVER_MIGRATIONS,
  SqliteJobsRepository,
  SqliteRestoreRepository,
  openBackupServerFile,
  runDbWorker,
  sqlTime,
  syncState,
  type BackupServerFile,
  type JobsRepository,
  type RestoreRepository,
} from '@cacpq/db';
import type { BackupView, JobView, RestorePreview, RestoreRequest } from '@cacpq/sync-protocol';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Principal } from '../common/request-context';
import { ApiException } from '../common/api-exception';
import { LOGGER } from '../common/tokens';
import { SyncEvents } from '../sync/sync-events';
import { AdminWritesService } from '../sync/admin-writes.service';
import { TABLE_SPECS, type StoredValue } from '../sync/row-values';
import { BackupsService, summary, type BackupMaterial } from './backups.service';
import { faultPoint } from '../common/fault-points';
import { JobsService, type JobContext } from '../jobs/jobs.service';
import { MaintenanceMode } from '../maintenance/maintenance-mode';

/** The tables that sync now (the learned schema in force): what a selective restore may take. */
const synced = (): Set<string> => new Set(TABLE_SPECS.keys());

/** What JobsService writes on the jobs a stop cut off. */
const INTERRUPTED_MESSAGE = 'The server stopped before this job finished; nothing it had not completed was kept.';

class SwapFailed extends Error {}

/**
 * Restores. A full restore runs in a fixed order: maintenance mode (sync answers 503 with
 * Retry-After) → a pre-restore snapshot of the master → the candidate copied out of the
 * catalogue, its sha256, integrity and foreign keys checked → migrated, given a new generation,
 * issued numbers carried in → swapped in (stale -wal/-shm removed) → integrity check of the
 * master → maintenance mode ends → workstations and the dashboard are told. Any failure before
 * the swap leaves the master untouched. Workstations then give back every change the backup
 * lacks (the sync protocol's re-initialisation), so nothing any of them holds is lost.
 *
 * A selective restore (some tables, or some records) writes the backup's versions through the
 * sync engine as ordinary changes by the admin, so every workstation pulls them.
 */
@Injectable()
export class RestoreService implements OnModuleInit {
  private readonly jobRows: JobsRepository;
  private readonly master: RestoreRepository;

  constructor(
    private readonly store: MasterStore,
    private readonly backups: BackupsService,
    private readonly jobs: JobsService,
    private readonly maintenance: MaintenanceMode,
    private readonly writes: AdminWritesService,
    private readonly syncEvents: SyncEvents,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.jobRows = new SqliteJobsRepository(() => store.hubDb);
    this.master = new SqliteRestoreRepository(() => store.serverDb);
  }

  /**
   * A restore cut off by a stop is either done (its new generation is the master's: the swap
   * happened) or not started (the old master is in place); the job record says which.
   */
  onModuleInit(): void {
    const rows = this.jobRows.cutOff('restore', INTERRUPTED_MESSAGE);
    const generation = this.store.generation;
    for (const r of rows) {
      const planned = r.result ? (r.result as { newGeneration?: string }).newGeneration : undefined;
      const swapped = planned !== undefined && planned === generation;
      this.jobRows.markInterrupted(
        r.id,
        sqlTime(),
        swapped
          ? `The server stopped after the swap: the restore took effect (generation ${generation}); the master was checked when it reopened.`
          : 'The server stopped before the swap: the master was left as it was before the restore.',
      );
    }
  }

  confirmPhrase(b: BackupView): string {
    return `restore ${b.name}`;
  }

  preview(id: number): RestorePreview {
    const backup = this.backups.get(id);
    const server = backup.files.find((f) => f.role === 'server');
    const tables = [...synced()].map((t) => ({
      table: t,
      backup: server?.rowCounts[t] ?? 0,
      now: this.master.rowCount(t),
    }));
    const lastSeq = syncState(this.store.serverDb).lastSeq();
    return {
      backup,
      confirmPhrase: this.confirmPhrase(backup),
      tables,
      changesSince: server?.lastSeq !== null && server?.lastSeq !== undefined ? Math.max(0, lastSeq - server.lastSeq) : null,
    };
  }

  /** Checks the request (confirmation, tables, ids) and queues the restore job. */
  request(id: number, body: RestoreRequest, who: Principal): JobView {
    const backup = this.backups.get(id);
    const phrase = this.confirmPhrase(backup);
    if (body.confirm.trim() !== phrase) {
      throw new ApiException(
        'CONFIRMATION_REQUIRED',
        `To restore, type the confirmation phrase exactly: "${phrase}". Nothing was changed.`,
        { confirmPhrase: phrase },
      );
    }
    if (backup.status !== 'verified') {
      throw new ApiException(
        'BACKUP_NOT_RESTORABLE',
        `Backup ${backup.name} did not verify (${backup.problem ?? 'unknown'}); it cannot be restored.`,
      );
    }
    this.backups.assertOnDisk(backup);
    const known = synced();
    const unknown = (body.tables ?? []).filter((t) => !known.has(t));
    if (unknown.length) {
      throw new ApiException(
        'UNKNOWN_TABLE',
        `Only synced tables can be restored selectively; ${unknown.join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not one (${[...known].join(', ')}).`,
      );
    }
    const selective = body.tables !== undefined || body.ids !== undefined;
    if (selective && backup.kind !== 'monthly') this.checkIdsInBackup(backup, body);
    const params = {
      backupId: backup.id,
      name: backup.name,
      ...(body.tables ? { tables: body.tables } : {}),
      ...(body.ids ? { ids: body.ids } : {}),
    };
    return this.jobs.enqueue('restore', params, { trigger: 'manual', requestedBy: who.username }, (ctx) =>
      selective ? this.restoreSelected(backup, body, who, ctx) : this.restoreAll(backup, ctx),
    );
  }

  /** Records asked for must be in the backup: answered before anything is queued (plain files only; archives are checked in the job). */
  private checkIdsInBackup(backup: BackupView, body: RestoreRequest): void {
    if (!body.ids) return;
    let db: BackupServerFile;
    try {
      db = openBackupServerFile(this.backups.filePath(backup, 'server'));
    } catch (err) {
      if (err instanceof ApiException) throw err;
      throw new ApiException('BACKUP_NOT_RESTORABLE', `Backup ${backup.name} cannot be read (${(err as Error).message}).`);
    }
    try {
      const missing = this.findMissing(db, body);
      if (missing.length) throw this.notInBackup(backup, missing);
      this.assertUnambiguous(db, backup, body);
    } finally {
      db.close();
    }
  }

  /** Without `tables`, an id must name one row: legacy masters number every table 1, 2, 3, … */
  private assertUnambiguous(db: BackupServerFile, backup: BackupView, body: RestoreRequest): void {
    if (body.tables || !body.ids) return;
    const tables = [...synced()].filter((t) => db.hasTable(t));
    for (const id of body.ids) {
      const holders = tables.filter((t) => db.hasRow(t, id));
      if (holders.length > 1) {
        throw new ApiException(
          'VALIDATION_FAILED',
          `In backup ${backup.name} the id ${id} names a row in ${holders.join(' and ')}; say which with "tables". Nothing was restored.`,
        );
      }
    }
  }

  private findMissing(db: BackupServerFile, body: RestoreRequest): string[] {
    const tables = (body.tables ?? [...synced()]).filter((t) => db.hasTable(t));
    return body.ids!.filter((id) => !tables.some((t) => db.hasRow(t, id)));
  }

  private notInBackup(backup: BackupView, missing: string[]): ApiException {
    return new ApiException(
      'NOT_IN_BACKUP',
      `Backup ${backup.name} does not hold ${missing.length === 1 ? 'the record' : 'the records'} ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}; nothing was restored.`,
      { missing },
    );
  }

  // ------------------------------------------------------------------ full restore

  private async restoreAll(backup: BackupView, ctx: JobContext): Promise<Record<string, unknown>> {
    const generation = randomUUID();
    ctx.note({ newGeneration: generation, previousGeneration: this.store.generation });
    this.maintenance.enter(`a restore from ${backup.name}`, ctx.id);
    let material: BackupMaterial | null = null;
    try {
      ctx.progress(0.02, 'pre-restore snapshot');
      const snapshot = await this.backups.take('pre-restore', {
        ...ctx,
        progress: (f, p) => ctx.progress(0.02 + 0.38 * f, p && `pre-restore snapshot: ${p}`),
      });
      ctx.note({ preRestore: summary(snapshot) });

      ctx.progress(0.4, 'checking the backup');
      material = await this.backups.material(backup, `restore-${ctx.id}`);
      const check = await runDbWorker({ file: material.server, check: 'integrity_check', foreignKeys: true, describe: true }, () =>
        ctx.progress(0.5, 'checking the backup'),
      );
      if (check.problem) throw new Error(`The backup's server.db did not verify (${check.problem}); the master was not touched.`);
      const known = new Set(SERVER_MIGRATIONS.map((m) => m.name));
      const newer = check.migrations.filter((m) => !known.has(m));
      if (newer.length) {
        throw new Error(
          `The backup was written by a newer version of this server (schema ${newer.join(', ')}); upgrade the server first. The master was not touched.`,
        );
      }
      if (material.numbers) {
        const n = await runDbWorker({ file: material.numbers, check: 'integrity_check', foreignKeys: true });
        if (n.problem) throw new Error(`The backup's generated_numbers.db did not verify (${n.problem}); the master was not touched.`);
      }

      ctx.progress(0.6, 'preparing the restored files');
      const prepared = await this.store.prepareRestoreCandidate({ server: material.server, numbers: material.numbers, generation });
      ctx.note({ restoredSeq: prepared.restoredSeq, carriedNumbers: prepared.carriedNumbers });
      for (const file of [material.server, material.numbers]) {
        if (!file) continue;
        const r = await runDbWorker({ file, check: 'integrity_check', foreignKeys: true });
        if (r.problem) throw new Error(`The migrated copy of the backup did not verify (${r.problem}); the master was not touched.`);
      }

      ctx.progress(0.75, 'swapping the files');
      await faultPoint('restore.before-swap');
      const held = `a restore from ${backup.name}`;
      try {
        await this.store.suspend(held);
        if (material.numbers) this.store.replaceFile('numbers', material.numbers);
        await faultPoint('restore.between-swaps');
        this.store.replaceFile('server', material.server);
        await faultPoint('restore.after-swap');
        // The files now in place, checked before anything reads them.
        ctx.progress(0.85, 'checking the restored master');
        for (const file of [this.store.layout.serverDb, this.store.layout.numbersDb]) {
          const r = await runDbWorker({ file, check: 'integrity_check' });
          if (r.problem) throw new SwapFailed(`the restored ${file} failed its check: ${r.problem}`);
        }
        await this.store.resume();
      } catch (err) {
        if (this.store.suspended) await this.rollBack(snapshot, err as Error);
        throw err;
      }
      if (this.store.generation !== generation) throw new Error('The restored master does not carry the new generation.');
      ctx.progress(1, 'done');
      this.logger.warn({ backup: backup.name, generation, restoredSeq: prepared.restoredSeq }, 'master restored from a backup');
      return { restored: backup.name, generation, integrity: 'ok' };
    } finally {
      material?.cleanup();
      if (!this.store.suspended) {
        this.maintenance.exit();
        // Workstations sync at once: a new generation makes them give back what the backup lacks.
        this.syncEvents.generationChanged(this.store.generation);
      }
    }
  }

  /**
   * After a failure with the files closed: puts the pre-restore snapshot back and reopens. If even
   * that cannot open, the master stays closed and in maintenance mode (sync keeps answering 503)
   * rather than serve a damaged file; the job's error says what to do.
   */
  private async rollBack(snapshot: BackupView, cause: Error): Promise<void> {
    this.logger.error(
      { err: cause, snapshot: snapshot.name },
      'restore failed after closing the master; putting the pre-restore snapshot back',
    );
    try {
      if (!(cause instanceof SwapFailed) && this.store.suspended) {
        // Nothing was replaced yet, or the new files are fine but did not open: try them as they are first.
        try {
          await this.store.resume();
          return;
        } catch {
          // fall through to the snapshot
        }
      }
      const back = await this.backups.material(snapshot, `rollback-${snapshot.id}`);
      try {
        if (back.numbers) this.store.replaceFile('numbers', back.numbers);
        this.store.replaceFile('server', back.server);
      } finally {
        back.cleanup();
      }
      await this.store.resume();
    } catch (err) {
      this.logger.fatal({ err }, 'the master could not be reopened; it stays in maintenance mode');
      throw new Error(
        `The restore failed (${cause.message}) and the master could not be reopened (${(err as Error).message}). It stays in maintenance mode; restart the server, and restore ${snapshot.name} if it does not start.`,
      );
    }
  }

  // ------------------------------------------------------------------ selective restore

  private async restoreSelected(
    backup: BackupView,
    body: RestoreRequest,
    who: Principal,
    ctx: JobContext,
  ): Promise<Record<string, unknown>> {
    ctx.progress(0.02, 'pre-restore snapshot');
    const snapshot = await this.backups.take('pre-restore', {
      ...ctx,
      progress: (f, p) => ctx.progress(0.02 + 0.48 * f, p && `pre-restore snapshot: ${p}`),
    });
    ctx.note({ preRestore: summary(snapshot) });
    ctx.progress(0.5, 'reading the backup');
    const material = await this.backups.material(backup, `restore-${ctx.id}`);
    try {
      // Brought to the current schema (an older backup may lack columns) on the work copy only.
      await this.store.prepareRestoreCandidate({
        server: material.server,
        numbers: null,
        generation: this.store.generation,
        readOnly: true,
      });
      const src = openBackupServerFile(material.server);
      try {
        if (body.ids) {
          const missing = this.findMissing(src, body);
          if (missing.length) throw this.notInBackup(backup, missing);
          this.assertUnambiguous(src, backup, body);
        }
        const tables = body.tables ?? [...synced()];
        const perTable: Record<string, number> = {};
        let lastSeq = 0;
        ctx.progress(0.7, 'applying the backup versions');
        this.writes.transaction(() => {
          for (const table of tables) {
            // The backup's columns of those that sync now: one from before a migration lacks the newer ones (left as they are).
            const inFile = new Set(src.columns(table));
            const cols = TABLE_SPECS.get(table)!
              .dataColumns.map((c) => c.name)
              .filter((c) => inFile.has(c));
            const rows = (body.ids ? body.ids.flatMap((id) => src.rows(table, cols, id)) : src.rows(table, cols)) as Record<
              string,
              StoredValue
            >[];
            let changed = 0;
            const inBackup = new Set<string>();
            for (const row of rows) {
              inBackup.add(String(row.id));
              const values = row.deleted === 1 ? null : Object.fromEntries(cols.map((c) => [c, row[c] ?? null]));
              const seq = this.writes.applyServerVersion(table, String(row.id), values, who);
              if (seq !== null) {
                changed++;
                lastSeq = seq;
              }
            }
            if (!body.ids) {
              // The whole table as it was: rows created since the backup are deleted (kept in the pre-restore snapshot).
              const ids = this.master.liveIds(table);
              for (const id of ids) {
                if (inBackup.has(id)) continue;
                const seq = this.writes.applyServerVersion(table, id, null, who);
                if (seq !== null) {
                  changed++;
                  lastSeq = seq;
                }
              }
            }
            if (changed || !body.ids) perTable[table] = changed;
          }
        });
        if (lastSeq) this.writes.announce(lastSeq);
        ctx.progress(1, 'done');
        return { restored: backup.name, selective: true, changedRows: perTable, lastSeq };
      } finally {
        src.close();
      }
    } finally {
      material.cleanup();
    }
  }
}
