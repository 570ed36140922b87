import { Inject, Injectable } from '@nestjs/common';
import {
  MasterStore,
  REINDEX_STATEMENTS,
  SqliteFileMaintenanceRepository,
  SqliteServerMaintenanceRepository,
  VACUUM_STATEMENTS,
  checkIntegrity,
  fileBytes,
  fileStamp,
  freeBytes,
  fsyncPath,
  runDbWorker,
  sqlTime,
  type FileMaintenanceRepository,
  type ServerMaintenanceRepository,
} from '@cacpq/db';
import type { JobView, MaintenanceJob } from '@cacpq/sync-protocol';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { isDiskFull } from '../common/disk-full';
import type { Principal } from '../common/request-context';
import { LOGGER } from '../common/tokens';
import { SettingsService } from '../settings/settings.service';
import { AdminWritesService } from '../sync/admin-writes.service';
import { faultPoint } from '../common/fault-points';
import { JobRefusal, JobsService, type JobContext } from '../jobs/jobs.service';
import { MaintenanceMode } from './maintenance-mode';

/**
 * The guide's maintenance, run by the server that owns the files, so nobody has to close the app:
 * - integrity: integrity_check + foreign_key_check of every file (weekly);
 * - vacuum: VACUUM + ANALYZE (monthly), refused when free disk is under twice the database;
 * - reindex, optimize (`PRAGMA optimize`), checkpoint (WAL into the database files);
 * - prune-sync-log: older than 90 days, and beyond the newest 10,000 rows;
 * - archive-quotes: quotes older than 2 years into `archived_quotes`, an `.sql` dump in `archives/`,
 *   and a delete through sync so workstations drop them too.
 * integrity, vacuum and reindex read or rewrite whole files: they run on a worker thread while
 * the master files are closed to requests (maintenance mode: 503 with Retry-After), so the server
 * keeps answering everything else and shows progress.
 */
@Injectable()
export class MaintenanceService {
  private readonly server: ServerMaintenanceRepository;
  private readonly files: Record<'server' | 'numbers' | 'hub', FileMaintenanceRepository>;

  constructor(
    private readonly store: MasterStore,
    private readonly jobs: JobsService,
    private readonly maintenance: MaintenanceMode,
    private readonly settings: SettingsService,
    private readonly writes: AdminWritesService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.server = new SqliteServerMaintenanceRepository(() => store.serverDb);
    this.files = {
      server: new SqliteFileMaintenanceRepository(() => store.serverDb),
      numbers: new SqliteFileMaintenanceRepository(() => store.numbersDb),
      hub: new SqliteFileMaintenanceRepository(() => store.hubDb),
    };
  }

  /** Refusals known before queueing (a VACUUM without the disk for it) come back as an Error with the sentence. */
  precheck(job: MaintenanceJob): string | null {
    if (job !== 'vacuum') return null;
    const need = 2 * (fileBytes(this.store.layout.serverDb) + fileBytes(`${this.store.layout.serverDb}-wal`));
    const free = freeBytes(this.store.layout.databaseDir);
    if (free >= need) return null;
    return `VACUUM needs free disk of at least twice the database (${mb(need)} MB) and ${mb(free)} MB are free; it was not run. Free some space (old backups) first.`;
  }

  request(job: MaintenanceJob, who: { trigger: JobView['trigger']; requestedBy: string }, now?: Date): JobView {
    const by: Principal = { kind: 'local', userId: null, username: who.requestedBy, role: 'admin' };
    return this.jobs.enqueue(job, {}, who, (ctx) => this.run(job, ctx, now ?? new Date(), by));
  }

  private run(job: MaintenanceJob, ctx: JobContext, now: Date, by: Principal): Promise<Record<string, unknown>> {
    switch (job) {
      case 'integrity':
        return this.integrity(ctx);
      case 'vacuum':
        return this.vacuum(ctx);
      case 'reindex':
        return this.heavy(ctx, 'REINDEX', REINDEX_STATEMENTS);
      case 'optimize':
        return Promise.resolve(this.optimize());
      case 'checkpoint':
        return Promise.resolve(this.checkpoint());
      case 'prune-sync-log':
        return Promise.resolve(this.pruneSyncLog(now));
      case 'archive-quotes':
        return this.archiveQuotes(ctx, now, by);
    }
  }

  /** Runs `fn` with the master files closed to requests and the dashboard told. */
  private async holding<T>(ctx: JobContext, what: string, fn: () => Promise<T>): Promise<T> {
    this.maintenance.enter(what, ctx.id);
    try {
      await this.store.suspend(what);
      try {
        return await fn();
      } finally {
        await this.store.resume();
      }
    } finally {
      this.maintenance.exit();
    }
  }

  private async integrity(ctx: JobContext): Promise<Record<string, unknown>> {
    const l = this.store.layout;
    const files: Record<string, { integrity: string; foreignKeyProblems: number }> = {};
    await this.holding(ctx, 'the weekly integrity check', async () => {
      let i = 0;
      for (const [name, file] of [
        ['server.db', l.serverDb],
        ['generated_numbers.db', l.numbersDb],
      ] as const) {
        ctx.progress(0.05 + 0.45 * i++, `integrity_check and foreign_key_check of ${name}`);
        const r = await runDbWorker({ file, check: 'integrity_check', foreignKeys: true });
        files[name] = { integrity: r.check ?? r.problem ?? 'not run', foreignKeyProblems: r.foreignKeyProblems };
      }
    });
    ctx.progress(0.95, 'integrity_check of hub.db');
    const hub = checkIntegrity(this.store.hubDb);
    const hubFk = this.files.hub.foreignKeyProblems();
    files['hub.db'] = { integrity: hub, foreignKeyProblems: hubFk };
    const bad = Object.entries(files).filter(([, r]) => r.integrity !== 'ok' || r.foreignKeyProblems > 0);
    ctx.note({ files });
    if (bad.length) {
      throw new Error(
        `Integrity problems: ${bad.map(([n, r]) => `${n}: ${r.integrity}${r.foreignKeyProblems ? `, ${r.foreignKeyProblems} foreign key violations` : ''}`).join('; ')}. Restore from the last verified backup or contact support.`,
      );
    }
    return { files, ok: true };
  }

  private async vacuum(ctx: JobContext): Promise<Record<string, unknown>> {
    const refusal = this.precheck('vacuum');
    if (refusal) throw new JobRefusal(refusal);
    const l = this.store.layout;
    // The files with their WALs: what the disk holds for each before and after.
    const size = (f: string) => fileBytes(f) + fileBytes(`${f}-wal`);
    const before = { server: size(l.serverDb), numbers: size(l.numbersDb) };
    await this.heavy(ctx, 'VACUUM', VACUUM_STATEMENTS);
    const after = { server: size(l.serverDb), numbers: size(l.numbersDb) };
    const reclaimed = before.server + before.numbers - after.server - after.numbers;
    this.logger.info({ before, after, reclaimed }, 'VACUUM finished');
    return { before, after, reclaimedBytes: reclaimed };
  }

  /** VACUUM or REINDEX on a worker; progress from the WAL growing (the rewritten pages land there first). */
  private async heavy(ctx: JobContext, label: string, sql: readonly string[]): Promise<Record<string, unknown>> {
    const l = this.store.layout;
    const timings: Record<string, { sql: string; ms: number }[]> = {};
    await this.holding(ctx, label === 'VACUUM' ? 'VACUUM (reclaiming space)' : 'REINDEX', async () => {
      let i = 0;
      for (const [name, file, share] of [
        ['server.db', l.serverDb, 0.9],
        ['generated_numbers.db', l.numbersDb, 0.08],
      ] as const) {
        const base = i;
        const size = Math.max(1, fileBytes(file));
        ctx.progress(base, `${label} ${name}`);
        await faultPoint(`${label.toLowerCase()}.running`);
        const r = await runDbWorker({ file, journalMode: 'WAL', synchronous: 'FULL', exec: [...sql], checkpoint: true }, () =>
          ctx.progress(base + share * Math.min(0.95, fileBytes(`${file}-wal`) / size), `${label} ${name}`),
        );
        if (r.problem && isDiskFull(r.problem)) {
          throw new Error(
            `${label} of ${name} failed: the disk ran full while it ran (${r.problem}). The file is as it was before (SQLite rolled the work back); free some space and run it again.`,
          );
        }
        if (r.problem)
          throw new Error(`${label} of ${name} failed: ${r.problem}. The file is as it was before (SQLite rolled the work back).`);
        timings[name] = r.results;
        i += share;
      }
    });
    return { timings };
  }

  private optimize(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, file] of [
      ['server.db', this.files.server],
      ['generated_numbers.db', this.files.numbers],
      ['hub.db', this.files.hub],
    ] as const) {
      const started = Date.now();
      file.optimize();
      out[name] = { ms: Date.now() - started };
    }
    return out;
  }

  private checkpoint(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, file, repo] of [
      ['server.db', this.store.layout.serverDb, this.files.server],
      ['generated_numbers.db', this.store.layout.numbersDb, this.files.numbers],
      ['hub.db', this.store.layout.hubDb, this.files.hub],
    ] as const) {
      const walBefore = fileBytes(`${file}-wal`);
      const r = repo.checkpoint();
      out[name] = { walBytesBefore: walBefore, walBytesAfter: fileBytes(`${file}-wal`), busy: r.busy };
    }
    return out;
  }

  /** The guide's two statements, verbatim in effect, in one transaction. */
  pruneSyncLog(now: Date = new Date()): Record<string, unknown> {
    const days = this.settings.get('maintenance.syncLog.days');
    const keep = this.settings.get('maintenance.syncLog.maxRows');
    const cutoff = sqlTime(new Date(now.getTime() - days * 86_400_000)).slice(0, 19);
    const r = this.server.pruneSyncLog(cutoff, keep);
    return { olderThanDays: days, removedOld: r.removedOld, keptNewest: keep, removedExcess: r.removedExcess, rowsLeft: r.rowsLeft };
  }

  /**
   * Quotes created more than N years ago: copied into `archived_quotes`, written to an `.sql` dump in
   * `archives/` (fsynced first), then deleted through the sync engine so every workstation drops them.
   */
  async archiveQuotes(ctx: JobContext, now: Date, by: Principal): Promise<Record<string, unknown>> {
    const years = this.settings.get('maintenance.archiveQuotes.years');
    const cutoffDate = new Date(now.getTime());
    cutoffDate.setFullYear(cutoffDate.getFullYear() - years);
    const cutoff = sqlTime(cutoffDate);
    // The columns both tables have (an adopted legacy quotes table may hold extra ones of the old app).
    const cols = this.server.archivableColumns();
    const rows = this.server.quotesCreatedBefore(cols, cutoff);
    if (rows.length === 0) return { archived: 0, cutoff, years };
    ctx.progress(0.2, `writing ${rows.length} quotes to the SQL dump`);
    fs.mkdirSync(this.store.layout.archivesDir, { recursive: true });
    const dump = path.join(this.store.layout.archivesDir, `archived_quotes_${fileStamp(now)}.sql`);
    const archivedAt = sqlTime();
    const ddl = this.server.archivedQuotesDdl();
    const lines = [
      `-- CACPQ: ${rows.length} quotes created before ${cutoff} UTC, archived ${archivedAt} UTC by job ${ctx.id}.`,
      'BEGIN TRANSACTION;',
      `${ddl.replace(/^CREATE TABLE "?archived_quotes"?/, 'CREATE TABLE IF NOT EXISTS "archived_quotes"')};`,
      ...rows.map(
        (r) =>
          `INSERT OR REPLACE INTO "archived_quotes" (${[...cols, 'archived_at', 'archive_job'].map((c) => `"${c}"`).join(', ')}) VALUES (${[
            ...cols.map((c) => sqlLiteral(r[c])),
            sqlLiteral(archivedAt),
            String(ctx.id),
          ].join(', ')});`,
      ),
      'COMMIT;',
      '',
    ];
    // Written and fsynced first, named only once the rows have moved: a failed move leaves no dump
    // claiming quotes were archived.
    fs.writeFileSync(`${dump}.partial`, lines.join('\n'));
    fsyncPath(`${dump}.partial`);
    ctx.progress(0.6, 'moving the quotes into archived_quotes');
    let lastSeq = 0;
    try {
      this.writes.transaction(() => {
        for (const r of rows) {
          this.server.archiveQuote(cols, r, archivedAt, ctx.id);
          lastSeq = this.writes.applyServerVersion('quotes', String(r.id), null, by) ?? lastSeq;
        }
      });
    } catch (err) {
      fs.rmSync(`${dump}.partial`, { force: true });
      throw err;
    }
    fs.renameSync(`${dump}.partial`, dump);
    if (lastSeq) this.writes.announce(lastSeq);
    return { archived: rows.length, cutoff, years, dump: path.relative(this.store.layout.root, dump) };
  }
}

function sqlLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return `'${String(v).replace(/'/g, "''")}'`;
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0);
}
