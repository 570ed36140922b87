import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import {
  MasterStore,
  SqliteBackupCatalogueRepository,
  countRows,
  fileBytes,
  fileStamp,
  freeBytes,
  fsyncDir,
  fsyncPath,
  localDate,
  onlineBackup,
  parseFileStamp,
  parseSqlTime,
  removeDatabaseFile,
  runDbWorker,
  sha256File,
  sqlTime,
  type BackupCatalogueRepository,
  type DbWorkerResult,
} from '@cacpq/db';
import type { BackupFileView, BackupKind, BackupView, BackupsQuery, JobView } from '@cacpq/sync-protocol';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { ApiException } from '../common/api-exception';
import { isDiskFull } from '../common/disk-full';
import { LOGGER } from '../common/tokens';
import { SettingsService } from '../settings/settings.service';
import { extractEntries, writeZip, verifyZip } from './zip';
import { JobRefusal, JobsService, type JobContext } from '../jobs/jobs.service';
import { DomainEvents } from '../events/domain-events';
import { faultPoint } from '../common/fault-points';
import { retentionKeepsFrom } from './retention';

type Role = BackupFileView['role'];
const ROLE_FILES: Record<Role, string> = { server: 'server.db', numbers: 'generated_numbers.db' };
const ROLE_PREFIX: Record<Role, string> = { server: 'server', numbers: 'generated_numbers' };
const STAMPED = /^(server|generated_numbers)_(\d{4}-\d{2}-\d{2}_\d{6})\.db$/;
const DATED_DIR = /^\d{4}-\d{2}-\d{2}(_\d{6})?$/;
const ARCHIVE = /^CACPQ_(\d{4})-(\d{2})(_\d+)?\.zip$/;

/** A backup set on disk: plain files (daily, manual, weekly, pre-restore) or one zip (monthly). */
interface DiskSet {
  name: string;
  kind: BackupKind;
  createdAt: Date;
  /** Absolute paths per role of the plain files present. */
  files: Partial<Record<Role, string>>;
  zip: string | null;
}

/** What a restore works from: both files extracted or copied into the work directory. */
export interface BackupMaterial {
  backup: BackupView;
  server: string;
  numbers: string | null;
  cleanup(): void;
}

export function checkFor(kind: BackupKind): 'quick_check' | 'integrity_check' {
  return kind === 'daily' || kind === 'manual' ? 'quick_check' : 'integrity_check';
}

/**
 * The backup catalogue and the backups themselves. A backup is copied through SQLite's online
 * backup API on the connection that owns the master (never a file copy), into a `.partial` file
 * that is fsynced and verified (quick_check or integrity_check, row counts equal to the master's
 * at the moment the copy completed, sha256) before it is renamed to its final name and listed.
 * Files with the guide's names written by the old PowerShell scripts are found, verified and listed.
 */
@Injectable()
export class BackupsService implements OnModuleInit {
  private scanning: Promise<void> = Promise.resolve();
  /** Links leading outside the backup directories, warned about once each. */
  private readonly outsideLinks = new Set<string>();
  private readonly catalogue: BackupCatalogueRepository;

  constructor(
    private readonly store: MasterStore,
    private readonly jobs: JobsService,
    private readonly events: DomainEvents,
    private readonly settings: SettingsService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.catalogue = new SqliteBackupCatalogueRepository(() => store.hubDb);
  }

  private get layout() {
    return this.store.layout;
  }

  /** Leftovers of a job the server did not finish (a kill during a backup) go; then the disk is scanned. */
  onModuleInit(): void {
    const removed: string[] = [];
    for (const dir of [
      this.layout.dailyBackupsDir,
      this.layout.manualBackupsDir,
      this.layout.weeklyBackupsDir,
      this.layout.preRestoreDir,
      this.layout.archivesDir,
    ]) {
      if (!fs.existsSync(dir)) continue;
      for (const entry of fs.readdirSync(dir)) {
        if (!entry.includes('.partial')) continue;
        fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
        removed.push(path.join(dir, entry));
      }
    }
    if (fs.existsSync(this.layout.workDir)) fs.rmSync(this.layout.workDir, { recursive: true, force: true });
    if (removed.length) this.logger.warn({ removed }, 'removed unfinished backup files left by a stopped server');
    void this.scan().catch((err: unknown) => this.logger.error({ err }, 'scanning the backup directories failed'));
  }

  // ------------------------------------------------------------------ catalogue

  async list(q: BackupsQuery = {}): Promise<BackupView[]> {
    await this.scan();
    return this.catalogue.list(q.kind);
  }

  get(id: number): BackupView {
    const backup = this.catalogue.get(id);
    if (!backup) throw new ApiException('NOT_FOUND', `There is no backup ${id} in the catalogue.`);
    return backup;
  }

  /** Finds backups on disk that the catalogue lacks (or that changed), verifies and lists them; forgets vanished ones. */
  scan(): Promise<void> {
    this.scanning = this.scanning
      .then(() => this.scanOnce())
      .catch((err: unknown) => {
        this.logger.error({ err }, 'backup scan failed');
      });
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    const sets = this.discover();
    const known = new Map(this.catalogue.all().map((r) => [r.name, r]));
    let changed = false;
    for (const set of sets) {
      const row = known.get(set.name);
      known.delete(set.name);
      let fp: string;
      let verified: Awaited<ReturnType<BackupsService['verifySet']>>;
      try {
        fp = fingerprint(set);
        if (row && row.fingerprint === fp) continue;
        verified = await this.verifySet(set);
      } catch (err) {
        // One unreadable set (vanished mid-scan, a dangling link) never stops the rest being catalogued.
        this.logger.warn({ backup: set.name, err }, 'a backup on disk could not be read; skipped');
        continue;
      }
      const origin = row?.origin ?? 'found';
      this.catalogue.upsertFound(
        {
          name: set.name,
          kind: set.kind,
          origin,
          createdAt: sqlTime(set.createdAt),
          check: checkFor(set.kind),
          verifiedAt: sqlTime(),
          problem: verified.problem,
          bytes: verified.files.reduce((a, f) => a + f.bytes, 0) || fileBytes(set.zip ?? ''),
          files: verified.files,
          fingerprint: fp,
          jobId: row?.jobId ?? null,
        },
        verified.problem ? 'failed' : 'verified',
      );
      changed = true;
      this.logger.info(
        { backup: set.name, problem: verified.problem },
        row ? 'backup changed on disk; verified again' : 'found a backup on disk',
      );
    }
    for (const row of known.values()) {
      this.catalogue.remove(row.id);
      changed = true;
      this.logger.warn({ backup: row.name }, 'a catalogued backup is no longer on disk; removed from the catalogue');
    }
    if (changed) this.events.publish('backups.changed', { reason: 'scan' });
  }

  /** Every backup set on disk, by the names this server and the guide's scripts write. */
  private discover(): DiskSet[] {
    const out: DiskSet[] = [];
    for (const [kind, dir] of [
      ['daily', this.layout.dailyBackupsDir],
      ['manual', this.layout.manualBackupsDir],
    ] as const) {
      const byStamp = new Map<string, DiskSet>();
      for (const entry of readdir(dir)) {
        const m = STAMPED.exec(entry);
        const at = m ? parseFileStamp(m[2]) : null;
        if (!m || !at || !this.stored(path.join(dir, entry))) continue;
        const set = byStamp.get(m[2]) ?? { name: `${kind}/${m[2]}`, kind, createdAt: at, files: {}, zip: null };
        set.files[m[1] === 'server' ? 'server' : 'numbers'] = path.join(dir, entry);
        byStamp.set(m[2], set);
      }
      out.push(...byStamp.values());
    }
    for (const [kind, dir] of [
      ['weekly', this.layout.weeklyBackupsDir],
      ['pre-restore', this.layout.preRestoreDir],
    ] as const) {
      for (const entry of readdir(dir)) {
        const full = path.join(dir, entry);
        const stamp = DATED_DIR.test(entry) ? parseFileStamp(entry) : null;
        if (!stamp || !isDir(full) || !this.stored(full)) continue;
        const files: DiskSet['files'] = {};
        for (const role of ['server', 'numbers'] as const) {
          const file = path.join(full, ROLE_FILES[role]);
          if (fs.existsSync(file) && this.stored(file)) files[role] = file;
        }
        if (!files.server && !files.numbers) continue;
        // A weekly folder named by date only: the time its server.db was written, if that is the same day.
        const mtime = mtimeOf(files.server ?? files.numbers!) ?? stamp;
        const createdAt = entry.length === 10 && localDate(mtime) === entry ? mtime : stamp;
        out.push({ name: `${kind}/${entry}`, kind, createdAt, files, zip: null });
      }
    }
    for (const entry of readdir(this.layout.archivesDir)) {
      const m = ARCHIVE.exec(entry);
      const full = path.join(this.layout.archivesDir, entry);
      if (!m || !this.stored(full)) continue;
      const mtime = mtimeOf(full);
      if (!mtime) continue;
      out.push({
        name: `monthly/${entry.replace(/\.zip$/, '')}`,
        kind: 'monthly',
        createdAt: mtime,
        files: {},
        zip: full,
      });
    }
    return out;
  }

  /** Verifies a set found on disk without changing it (a zip is extracted to the work directory). */
  private async verifySet(set: DiskSet): Promise<{ problem: string | null; files: BackupFileView[] }> {
    const check = checkFor(set.kind);
    if (set.zip) {
      const work = this.workDir(`verify-${process.pid}-${Date.now()}`);
      try {
        const zipCheck = await verifyZip(set.zip);
        if (zipCheck.problem) return { problem: `The archive is damaged: ${zipCheck.problem}.`, files: [] };
        const extracted = await extractEntries(set.zip, work, Object.values(ROLE_FILES));
        const files: BackupFileView[] = [];
        for (const role of ['server', 'numbers'] as const) {
          const file = extracted[ROLE_FILES[role]];
          if (!file) continue;
          const r = await runDbWorker({ file, check, describe: true });
          if (r.problem) return { problem: `${ROLE_FILES[role]} in the archive did not verify: ${r.problem}.`, files };
          files.push(fileView(role, ROLE_FILES[role], fileBytes(file), await sha256File(file), r));
        }
        if (!files.some((f) => f.role === 'server')) return { problem: 'The archive holds no server.db.', files };
        return { problem: null, files };
      } finally {
        this.removeWork(work);
      }
    }
    const files: BackupFileView[] = [];
    let problem: string | null = set.files.server ? null : 'The set has no server.db.';
    for (const role of ['server', 'numbers'] as const) {
      const file = set.files[role];
      if (!file) continue;
      const r = await runDbWorker({ file, check, describe: true });
      files.push(fileView(role, path.relative(this.layout.root, file), fileBytes(file), await sha256File(file), r));
      if (r.problem && !problem) problem = `${path.basename(file)} did not verify: ${r.problem}.`;
      if (!r.problem && role === 'server' && !r.tables.includes('quotes') && !problem) {
        problem = `${path.basename(file)} is an SQLite file but not a CACPQ server.db (it has no quotes table).`;
      }
    }
    return { problem, files };
  }

  // ------------------------------------------------------------------ taking backups

  request(kind: BackupKind, who: { trigger: JobView['trigger']; requestedBy: string }, now?: Date): JobView {
    return this.jobs.enqueue('backup', { kind }, who, (ctx) => this.take(kind, ctx, now ?? new Date()).then((b) => summary(b)));
  }

  /**
   * Takes one backup now (runs inside a job). `now` names it and anchors retention: the scheduler
   * passes the minute it fired for, and tests pass simulated dates.
   */
  async take(kind: BackupKind, ctx: JobContext, now: Date = new Date()): Promise<BackupView> {
    const masters: [Role, string][] = [
      ['server', this.layout.serverDb],
      ['numbers', this.layout.numbersDb],
    ];
    const need = masters.reduce((a, [, f]) => a + fileBytes(f) + fileBytes(`${f}-wal`), 0);
    const dest = this.destination(kind, now);
    const partials: string[] = [];
    try {
      const free = freeBytes(dest.dir);
      // The copy, plus room for the master to keep growing and (for a monthly archive) the zip beside it.
      const required = Math.ceil(need * (kind === 'monthly' ? 2.2 : 1.2)) + 16 * 1024 * 1024;
      if (free < required) {
        throw new JobRefusal(
          `Not enough free disk for a ${kind} backup: it needs about ${mb(required)} MB in ${path.dirname(dest.dir)} and ${mb(free)} MB are free. Free some space (old backups in ${this.layout.backupsDir}) and try again.`,
        );
      }
      fs.mkdirSync(dest.dir, { recursive: true });
      await faultPoint('backup.started');
      // 1. Online copies into .partial files, row counts of the master at the instant each copy completed.
      const copyStarted = Date.now();
      const counted: Partial<Record<Role, Record<string, number>>> = {};
      let copied = 0;
      for (const [role] of masters) {
        const partial = dest.partial(role);
        partials.push(partial);
        const db = role === 'server' ? this.store.serverDb : this.store.numbersDb;
        const share = role === 'server' ? 0.55 : 0.05;
        await onlineBackup(db, partial, {
          onProgress: (p) => ctx.progress(copied + (p.total ? (share * p.done) / p.total : 0), `copying ${ROLE_FILES[role]}`),
          atCompletion: () => {
            counted[role] = countRows(db);
          },
        });
        copied += share;
      }
      const capturedAt = new Date();
      await faultPoint('backup.copied');
      // 2. Verify each copy: made one self-contained file (rollback journal), then the check with
      //    row counts and the sha256 side by side (worker thread and stream: the event loop stays free).
      const copyMs = Date.now() - copyStarted;
      const verifyStarted = Date.now();
      ctx.progress(0.6, `verifying (${checkFor(kind)}, row counts, sha256)`);
      for (const [role] of masters) {
        const r = await runDbWorker({ file: dest.partial(role), journalMode: 'DELETE' });
        if (r.problem) throw new Error(`The copy of ${ROLE_FILES[role]} did not open: ${r.problem}.`);
        fsyncPath(dest.partial(role));
      }
      const files: BackupFileView[] = await Promise.all(
        masters.map(async ([role]) => {
          const partial = dest.partial(role);
          const [r, sha] = await Promise.all([runDbWorker({ file: partial, check: checkFor(kind), describe: true }), sha256File(partial)]);
          if (r.problem) throw new Error(`The copy of ${ROLE_FILES[role]} did not verify: ${r.problem}.`);
          const expected = counted[role]!;
          const mismatch = Object.keys({ ...expected, ...r.rowCounts }).filter((t) => expected[t] !== r.rowCounts[t]);
          if (mismatch.length) {
            throw new Error(
              `The copy of ${ROLE_FILES[role]} does not hold the master's rows (${mismatch
                .map((t) => `${t}: ${r.rowCounts[t] ?? 0} copied, ${expected[t] ?? 0} in the master`)
                .join('; ')}).`,
            );
          }
          return fileView(role, path.relative(this.layout.root, dest.final(role)), fileBytes(partial), sha, r);
        }),
      );
      fsyncDir(path.dirname(dest.partial('server')));
      const verifyMs = Date.now() - verifyStarted;
      // 3. Into place: rename (or zip) and list it.
      ctx.progress(0.95, 'finishing');
      let finalFiles = files;
      if (kind === 'monthly') {
        const zip = dest.zip!;
        const zipPartial = `${zip}.partial`;
        partials.push(zipPartial);
        await writeZip(
          zipPartial,
          masters.map(([role]) => ({ name: ROLE_FILES[role], file: dest.partial(role) })),
          { 'manifest.json': JSON.stringify({ createdAt: capturedAt.toISOString(), files }, null, 2) },
          (f) => ctx.progress(0.95 + 0.04 * f, 'compressing'),
        );
        const zipCheck = await verifyZip(zipPartial, Object.fromEntries(files.map((f) => [ROLE_FILES[f.role], f.sha256!])));
        if (zipCheck.problem) throw new Error(`The archive did not verify: ${zipCheck.problem}.`);
        fs.renameSync(zipPartial, zip);
        fsyncDir(path.dirname(zip));
        for (const [role] of masters) removeDatabaseFile(dest.partial(role));
        finalFiles = files.map((f) => ({ ...f, path: ROLE_FILES[f.role] }));
      } else if (dest.partialDir) {
        fs.renameSync(dest.partialDir, dest.finalDir!);
        fsyncDir(path.dirname(dest.finalDir!));
      } else {
        for (const [role] of masters) fs.renameSync(dest.partial(role), dest.final(role));
        fsyncDir(dest.dir);
      }
      const set: DiskSet = {
        name: dest.name,
        kind,
        createdAt: capturedAt,
        files: kind === 'monthly' ? {} : { server: dest.final('server'), numbers: dest.final('numbers') },
        zip: dest.zip,
      };
      const bytes = kind === 'monthly' ? fileBytes(dest.zip!) : finalFiles.reduce((a, f) => a + f.bytes, 0);
      const id = this.catalogue.add({
        name: dest.name,
        kind,
        createdAt: sqlTime(now),
        check: checkFor(kind),
        verifiedAt: sqlTime(),
        bytes,
        files: finalFiles,
        fingerprint: fingerprint(set),
        jobId: ctx.id,
      });
      const backup = this.get(id);
      ctx.note({ timings: { copyMs, verifyMs, totalMs: Date.now() - copyStarted }, bytesCopied: files.reduce((a, f) => a + f.bytes, 0) });
      this.logger.info({ backup: backup.name, bytes }, 'backup written and verified');
      const removed = this.applyRetention(kind, now);
      if (removed.length) ctx.note({ retentionRemoved: removed });
      this.events.publish('backups.changed', { reason: 'backup' });
      return backup;
    } catch (err) {
      for (const p of partials) removeDatabaseFile(p);
      if (dest.partialDir) fs.rmSync(dest.partialDir, { recursive: true, force: true });
      if (isDiskFull(err)) {
        throw new Error(
          `The disk ran full while the ${kind} backup was being written (${(err as Error).message}); the partial copy was removed and nothing entered the catalogue. Free some space (old backups in ${this.layout.backupsDir}) and try again.`,
        );
      }
      throw err;
    } finally {
      if (dest.work) this.removeWork(dest.work);
    }
  }

  /** Where a backup of this kind taken at `now` goes; the name is made unique if taken. */
  private destination(kind: BackupKind, now: Date) {
    const l = this.layout;
    const taken = (name: string) => this.catalogue.nameTaken(name);
    if (kind === 'monthly') {
      const month = localDate(now).slice(0, 7);
      let base = `CACPQ_${month}`;
      for (let i = 2; taken(`monthly/${base}`) || fs.existsSync(path.join(l.archivesDir, `${base}.zip`)); i++) base = `CACPQ_${month}_${i}`;
      const work = this.workDir(`monthly-${base}`);
      return {
        name: `monthly/${base}`,
        dir: l.archivesDir,
        zip: path.join(l.archivesDir, `${base}.zip`),
        work,
        partialDir: null,
        finalDir: null,
        partial: (role: Role) => path.join(work, ROLE_FILES[role]),
        final: (role: Role) => path.join(work, ROLE_FILES[role]),
      };
    }
    if (kind === 'weekly' || kind === 'pre-restore') {
      const dir = kind === 'weekly' ? l.weeklyBackupsDir : l.preRestoreDir;
      let entry = kind === 'weekly' ? localDate(now) : fileStamp(now);
      for (let t = now.getTime(); taken(`${kind}/${entry}`) || fs.existsSync(path.join(dir, entry));)
        entry = fileStamp(new Date((t += 1000)));
      const partialDir = path.join(dir, `${entry}.partial`);
      const finalDir = path.join(dir, entry);
      return {
        name: `${kind}/${entry}`,
        dir: partialDir,
        zip: null,
        work: null,
        partialDir,
        finalDir,
        partial: (role: Role) => path.join(partialDir, ROLE_FILES[role]),
        final: (role: Role) => path.join(finalDir, ROLE_FILES[role]),
      };
    }
    const dir = kind === 'daily' ? l.dailyBackupsDir : l.manualBackupsDir;
    let stamp = fileStamp(now);
    const exists = (s: string) => taken(`${kind}/${s}`) || fs.existsSync(path.join(dir, `server_${s}.db`));
    for (let t = now.getTime(); exists(stamp);) stamp = fileStamp(new Date((t += 1000)));
    return {
      name: `${kind}/${stamp}`,
      dir,
      zip: null,
      work: null,
      partialDir: null,
      finalDir: null,
      partial: (role: Role) => path.join(dir, `${ROLE_PREFIX[role]}_${stamp}.db.partial`),
      final: (role: Role) => path.join(dir, `${ROLE_PREFIX[role]}_${stamp}.db`),
    };
  }

  private workDir(name: string): string {
    const dir = path.join(this.layout.workDir, name);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Removes a job's work folder, and the work directory itself once nothing else is in it. */
  private removeWork(dir: string): void {
    fs.rmSync(dir, { recursive: true, force: true });
    try {
      fs.rmdirSync(this.layout.workDir);
    } catch {
      // Another job's folder is still there (or it is gone already).
    }
  }

  // ------------------------------------------------------------------ retention

  /**
   * The guide's retention, counted in calendar days of the server's local time: daily backups of
   * the last 30 days (today included), weekly of the last 12 weeks, pre-restore snapshots of the
   * last 90 days, monthly archives all (or the last N months when set). Manual backups stay.
   * Returns the names removed.
   */
  applyRetention(kind: BackupKind, now: Date = new Date()): string[] {
    const keepFrom = retentionKeepsFrom(kind, now, {
      dailyDays: this.settings.get('retention.daily.days'),
      weeklyWeeks: this.settings.get('retention.weekly.weeks'),
      monthlyMonths: this.settings.get('retention.monthly.months'),
      preRestoreDays: this.settings.get('retention.pre-restore.days'),
    });
    if (!keepFrom) return [];
    const rows = this.catalogue.ofKind(kind);
    const removed: string[] = [];
    for (const row of rows) {
      if (localDate(parseSqlTime(row.createdAt)) >= keepFrom) continue;
      this.removeFiles(row);
      this.catalogue.remove(row.id);
      removed.push(row.name);
    }
    if (removed.length) this.logger.info({ kind, removed }, 'backups past retention removed');
    return removed;
  }

  private removeFiles(row: BackupView): void {
    const [kind, entry] = [row.kind, row.name.slice(row.name.indexOf('/') + 1)];
    if (kind === 'monthly') fs.rmSync(path.join(this.layout.archivesDir, `${entry}.zip`), { force: true });
    else if (kind === 'weekly') fs.rmSync(path.join(this.layout.weeklyBackupsDir, entry), { recursive: true, force: true });
    else if (kind === 'pre-restore') fs.rmSync(path.join(this.layout.preRestoreDir, entry), { recursive: true, force: true });
    else {
      const dir = kind === 'daily' ? this.layout.dailyBackupsDir : this.layout.manualBackupsDir;
      for (const role of ['server', 'numbers'] as const) fs.rmSync(path.join(dir, `${ROLE_PREFIX[role]}_${entry}.db`), { force: true });
    }
  }

  // ------------------------------------------------------------------ reading backups back

  /** Absolute path of one plain file of a set, or of the archive; 404 when it is no longer on disk. */
  filePath(b: BackupView, role?: Role): string {
    let file: string;
    if (b.kind === 'monthly') file = path.join(this.layout.archivesDir, `${b.name.slice('monthly/'.length)}.zip`);
    else {
      const f = b.files.find((x) => x.role === (role ?? 'server'));
      if (!f) throw new ApiException('NOT_FOUND', `Backup ${b.name} has no ${ROLE_FILES[role ?? 'server']}.`);
      file = path.join(this.layout.root, f.path);
    }
    if (!fs.existsSync(file)) {
      void this.scan();
      throw new ApiException(
        'NOT_FOUND',
        `Backup ${b.name} is no longer on disk (${path.relative(this.layout.root, file)} is gone); the catalogue is being refreshed.`,
      );
    }
    // Replaced by a link to somewhere else since it was catalogued: never read through it.
    if (!this.stored(file)) {
      void this.scan();
      throw new ApiException(
        'NOT_FOUND',
        `Backup ${b.name} is not in the backup directories any more (${path.relative(this.layout.root, file)} leads elsewhere); it is not read.`,
      );
    }
    return file;
  }

  /**
   * A file or set folder really inside the backup or archive directories: a symbolic link placed
   * there that leads elsewhere (another folder, the server's own hub.db) is never catalogued, served
   * or restored. The directories themselves may be links (backups kept on another volume).
   */
  private stored(p: string): boolean {
    let real: string;
    try {
      real = fs.realpathSync(p);
    } catch {
      return false;
    }
    const inside = [this.layout.backupsDir, this.layout.archivesDir].some((dir) => {
      try {
        return real.startsWith(fs.realpathSync(dir) + path.sep);
      } catch {
        return false;
      }
    });
    if (!inside && !this.outsideLinks.has(p)) {
      this.outsideLinks.add(p);
      this.logger.warn({ path: p, leadsTo: real }, 'a link in the backup directories leads outside them; ignored');
    }
    return inside;
  }

  /** Every file of a set (or its archive) is on disk: checked before a restore is queued. */
  assertOnDisk(b: BackupView): void {
    if (b.kind === 'monthly') this.filePath(b);
    else for (const f of b.files) this.filePath(b, f.role);
  }

  /**
   * Copies (or extracts) a verified backup's files into the work directory and checks them against
   * the catalogue's sha256, so what is restored is exactly what was verified.
   */
  async material(b: BackupView, label: string): Promise<BackupMaterial> {
    if (b.status !== 'verified') {
      throw new ApiException(
        'BACKUP_NOT_RESTORABLE',
        `Backup ${b.name} did not verify (${b.problem ?? 'unknown problem'}); it cannot be restored.`,
      );
    }
    const work = this.workDir(label);
    const cleanup = () => this.removeWork(work);
    try {
      const out: Partial<Record<Role, string>> = {};
      if (b.kind === 'monthly') {
        const extracted = await extractEntries(this.filePath(b), work, Object.values(ROLE_FILES));
        for (const role of ['server', 'numbers'] as const) if (extracted[ROLE_FILES[role]]) out[role] = extracted[ROLE_FILES[role]];
      } else {
        for (const f of b.files) {
          const target = path.join(work, ROLE_FILES[f.role]);
          fs.copyFileSync(this.filePath(b, f.role), target);
          out[f.role] = target;
        }
      }
      for (const f of b.files) {
        const file = out[f.role];
        if (!file) throw new ApiException('BACKUP_NOT_RESTORABLE', `Backup ${b.name} lacks its ${ROLE_FILES[f.role]} on disk.`);
        const sha = await sha256File(file);
        if (f.sha256 && sha !== f.sha256) {
          throw new ApiException(
            'BACKUP_NOT_RESTORABLE',
            `Backup ${b.name}: ${ROLE_FILES[f.role]} changed on disk since it was verified (sha256 differs); it was not restored.`,
          );
        }
      }
      if (!out.server) throw new ApiException('BACKUP_NOT_RESTORABLE', `Backup ${b.name} has no server.db.`);
      return { backup: b, server: out.server, numbers: out.numbers ?? null, cleanup };
    } catch (err) {
      cleanup();
      throw err;
    }
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function mtimeOf(p: string): Date | null {
  try {
    return fs.statSync(p).mtime;
  } catch {
    return null;
  }
}

function readdir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function fingerprint(set: DiskSet): string {
  const files = set.zip ? [set.zip] : Object.values(set.files);
  return files
    .map((f) => {
      const st = fs.statSync(f);
      return `${path.basename(f)}:${st.size}:${Math.floor(st.mtimeMs)}`;
    })
    .sort()
    .join('|');
}

function fileView(role: Role, rel: string, bytes: number, sha256: string, r: DbWorkerResult): BackupFileView {
  return {
    role,
    path: rel,
    bytes,
    sha256,
    rowCounts: r.rowCounts,
    lastSeq: r.state.last_seq !== undefined ? Number(r.state.last_seq) : role === 'server' ? 0 : null,
  };
}

export function summary(b: BackupView): Record<string, unknown> {
  return { backupId: b.id, name: b.name, bytes: b.bytes, check: b.check };
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0);
}
