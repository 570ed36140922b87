import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { dataDirLayout, type DataDirLayout } from './data-dir';
import { GeneratedNumberEntity, MASTER_ENTITIES, SyncLogEntity } from './entities/master.entities';
import { HUB_ENTITIES } from './entities/hub.entities';
import { DataDirLock } from './lock';
import { CreateMasterSchema1764000000000 } from './migrations/server/1764000000000-create-master-schema';
import { CreateHubSchema1764000000100 } from './migrations/hub/1764000000100-create-hub-schema';
import { CreateNumbersSchema1764000000200 } from './migrations/numbers/1764000000200-create-numbers-schema';
import { AddNumberRequestIds1764400000200 } from './migrations/numbers/1764400000200-add-number-request-ids';
import { AddSyncEngineTables1764100000000 } from './migrations/server/1764100000000-add-sync-engine-tables';
import { AddNumberHighWater1764100000100 } from './migrations/hub/1764100000100-add-number-high-water';
import { AddOperationsTables1764200000100 } from './migrations/hub/1764200000100-add-operations-tables';
import { AddSizeSamples1764300000100 } from './migrations/hub/1764300000100-add-size-samples';
import { AddAlerts1764300000200 } from './migrations/hub/1764300000200-add-alerts';
import { AddArchivedQuotes1764200000000 } from './migrations/server/1764200000000-add-archived-quotes';
import { AddMonitoringIndexes1764300000000 } from './migrations/server/1764300000000-add-monitoring-indexes';
import { AddMonitoringRollups1764300000300 } from './migrations/server/1764300000300-add-monitoring-rollups';
import { AddGiveBackState1764500000000 } from './migrations/server/1764500000000-add-give-back-state';
import { AddSyncSchema1764600000000 } from './migrations/server/1764600000000-add-sync-schema';
import { convertLearnedTables } from './schema/learned-schema';
import { AddSyncIntegrity1764500000100 } from './migrations/hub/1764500000100-add-sync-integrity';
import { AddDirectoryAccounts1764600000100 } from './migrations/hub/1764600000100-add-directory-accounts';
import { AddSchemaAhead1764700000100 } from './migrations/hub/1764700000100-add-schema-ahead';
import { applyPragmas, checkIntegrity } from './pragmas';
import { commonHistory, generationOf, historyIncludes, recordGeneration } from './generations';
import { syncState } from './repositories/sync-state.repository';
import { countRows, fsyncDir, fsyncPath, sha256File } from './backup/files';
import { fileStamp } from './time';
import type { MigrationInterface } from 'typeorm';

type MigrationClass = new () => MigrationInterface;

export const SERVER_MIGRATIONS: MigrationClass[] = [
  CreateMasterSchema1764000000000,
  AddSyncEngineTables1764100000000,
  AddArchivedQuotes1764200000000,
  AddMonitoringIndexes1764300000000,
  AddMonitoringRollups1764300000300,
  AddGiveBackState1764500000000,
  AddSyncSchema1764600000000,
];
export const NUMBERS_MIGRATIONS: MigrationClass[] = [CreateNumbersSchema1764000000200, AddNumberRequestIds1764400000200];
export const HUB_MIGRATIONS: MigrationClass[] = [
  CreateHubSchema1764000000100,
  AddNumberHighWater1764100000100,
  AddOperationsTables1764200000100,
  AddSizeSamples1764300000100,
  AddAlerts1764300000200,
  AddSyncIntegrity1764500000100,
  AddDirectoryAccounts1764600000100,
  AddSchemaAhead1764700000100,
];

export interface StoreLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface OpenStoreOptions {
  dataDir: string;
  busyTimeoutMs?: number;
  /** Written into the lock's owner record (what a refused second process is told). */
  purpose?: string;
  logger?: StoreLogger;
}

export interface AdoptedFile {
  file: string;
  backup: string;
  rowCounts: Record<string, number>;
}

export interface StoreFileStatus {
  name: string;
  path: string;
  open: boolean;
  bytes: number;
  walBytes: number;
}

export interface RestoreCandidate {
  /** The backup's last change: workstations give back every version above it. */
  restoredSeq: number;
  lastSeq: number;
  /** Numbers issued since the backup, carried into the restored generated_numbers.db. */
  carriedNumbers: number;
}

const silentLogger: StoreLogger = { info: () => undefined, warn: () => undefined };

/**
 * The master store: the only owner of `server.db`, `generated_numbers.db` and `hub.db`.
 *
 * Opening it takes the data-directory lock, adopts legacy desktop-app files (after a verified
 * backup), opens each file with the store's pragmas and exclusive locking, and runs migrations.
 */
export class MasterStore {
  private closed = false;
  private suspendedFor: string | null = null;

  private constructor(
    readonly layout: DataDirLayout,
    private serverDs: DataSource,
    private numbersDs: DataSource,
    readonly hub: DataSource,
    private readonly lock: DataDirLock,
    readonly adopted: AdoptedFile[],
    /** What opening did that an admin should read (leftovers of an interrupted adoption removed or reused), as sentences. */
    readonly startupNotes: string[],
    private readonly logger: StoreLogger,
    private readonly busyTimeoutMs: number,
  ) {}

  static async open(opts: OpenStoreOptions): Promise<MasterStore> {
    const logger = opts.logger ?? silentLogger;
    const layout = dataDirLayout(opts.dataDir);
    const busyTimeoutMs = opts.busyTimeoutMs ?? 5000;
    const lock = DataDirLock.acquire({
      dataDir: layout.root,
      lockFile: layout.lockFile,
      ownerFile: layout.ownerFile,
      purpose: opts.purpose ?? 'a CACPQ Sync Server',
    });
    if (lock.tookOverFrom) {
      logger.warn('Took over the data directory from a process that ended without releasing it', {
        previousOwner: lock.tookOverFrom,
      });
    }
    const opened: DataSource[] = [];
    try {
      for (const dir of [layout.databaseDir, layout.hubDir]) fs.mkdirSync(dir, { recursive: true });
      const adopted: AdoptedFile[] = [];
      const notes = cleanUpInterruptedAdoptions(layout.databaseDir, layout.preAdoptionDir);
      for (const line of notes) logger.warn(line);
      for (const [file, first, entities, migrations, after] of [
        [layout.serverDb, SERVER_MIGRATIONS[0], [...MASTER_ENTITIES, SyncLogEntity], SERVER_MIGRATIONS, convertAppTables],
        [layout.numbersDb, NUMBERS_MIGRATIONS[0], [GeneratedNumberEntity], NUMBERS_MIGRATIONS, undefined],
      ] as const) {
        if (!needsAdoption(file, first.name)) continue;
        const result = await adoptLegacy(file, layout.preAdoptionDir, [...entities], [...migrations], busyTimeoutMs, after);
        logger.warn('Adopted a legacy database: verified backup written, migrated copy swapped in', { ...result });
        adopted.push(result);
      }
      const hub = await openDataSource(layout.hubDb, HUB_ENTITIES, HUB_MIGRATIONS, busyTimeoutMs);
      opened.push(hub);
      const server = await openDataSource(
        layout.serverDb,
        [...MASTER_ENTITIES, SyncLogEntity],
        SERVER_MIGRATIONS,
        busyTimeoutMs,
        convertAppTables,
      );
      opened.push(server);
      const numbers = await openDataSource(layout.numbersDb, [GeneratedNumberEntity], NUMBERS_MIGRATIONS, busyTimeoutMs);
      opened.push(numbers);
      const db = sqliteHandle(server);
      const state = syncState(db);
      const generation = state.ensureGeneration();
      // A generation first seen here (a new master, or one restored by hand) starts at its last version.
      recordGeneration(sqliteHandle(hub), generation, null, null, state.lastSeq());
      return new MasterStore(layout, server, numbers, hub, lock, adopted, notes, logger, busyTimeoutMs);
    } catch (err) {
      for (const ds of opened.reverse()) await ds.destroy().catch(() => undefined);
      lock.release();
      throw err;
    }
  }

  /** `server.db`; throws {@link StoreSuspendedError} while a restore or VACUUM holds the file. */
  get server(): DataSource {
    if (this.suspendedFor) throw new StoreSuspendedError(this.suspendedFor);
    return this.serverDs;
  }

  get numbers(): DataSource {
    if (this.suspendedFor) throw new StoreSuspendedError(this.suspendedFor);
    return this.numbersDs;
  }

  get serverDb(): Database.Database {
    return sqliteHandle(this.server);
  }

  get numbersDb(): Database.Database {
    return sqliteHandle(this.numbers);
  }

  /** Why `server.db` and `generated_numbers.db` are closed right now, or null when they are open. */
  get suspended(): string | null {
    return this.suspendedFor;
  }

  /**
   * Checkpoints and closes `server.db` and `generated_numbers.db` (the lock on the data directory
   * stays held) so that a worker can VACUUM them or a restore can put other files in their place.
   */
  async suspend(reason: string): Promise<void> {
    if (this.closed) throw new Error('The store is closed.');
    if (this.suspendedFor) throw new Error(`The master files are already closed for ${this.suspendedFor}.`);
    this.suspendedFor = reason;
    try {
      for (const ds of [this.serverDs, this.numbersDs]) {
        if (!ds.isInitialized) continue;
        sqliteHandle(ds).pragma('wal_checkpoint(TRUNCATE)');
        await ds.destroy();
      }
    } catch (err) {
      // Whatever could not be closed stays in use; what was closed opens again.
      await this.resume();
      throw err;
    }
  }

  /**
   * While suspended: puts a prepared, verified, checkpointed file in place of a master file.
   * Stale `-wal`, `-shm` and `-journal` files of the old file are removed first (SQLite would
   * otherwise replay the old file's log into the new one); the rename is the one atomic step.
   */
  replaceFile(role: 'server' | 'numbers', prepared: string): void {
    if (!this.suspendedFor) throw new Error('Master files can only be replaced while the store is suspended.');
    const target = role === 'server' ? this.layout.serverDb : this.layout.numbersDb;
    for (const f of [`${target}-wal`, `${target}-shm`, `${target}-journal`, `${prepared}-wal`, `${prepared}-shm`, `${prepared}-journal`]) {
      fs.rmSync(f, { force: true });
    }
    fsyncPath(prepared);
    fs.renameSync(prepared, target);
    fsyncDir(path.dirname(target));
  }

  /** Reopens the master files (running any migrations a replaced file needs) and ends the suspension. */
  async resume(): Promise<void> {
    if (!this.suspendedFor) return;
    if (!this.serverDs.isInitialized) {
      this.serverDs = await openDataSource(
        this.layout.serverDb,
        [...MASTER_ENTITIES, SyncLogEntity],
        SERVER_MIGRATIONS,
        this.busyTimeoutMs,
      );
      syncState(sqliteHandle(this.serverDs)).ensureGeneration();
    }
    if (!this.numbersDs.isInitialized) {
      this.numbersDs = await openDataSource(this.layout.numbersDb, [GeneratedNumberEntity], NUMBERS_MIGRATIONS, this.busyTimeoutMs);
    }
    this.suspendedFor = null;
  }

  get hubDb(): Database.Database {
    return sqliteHandle(this.hub);
  }

  get generation(): string {
    if (this.suspendedFor) return '';
    return syncState(this.serverDb).generation() ?? '';
  }

  /**
   * How far the history of a workstation's generation agrees with the master's: the last change both
   * hold (everything the workstation has above it, the master may lack). Null when unknown.
   */
  commonHistory(from: string): number | null {
    return commonHistory(this.hubDb, from, this.generation);
  }

  /** Whether version `seq` belongs to the history of `generation` (null when the lineage cannot tell). */
  historyIncludes(generation: string, seq: number): boolean | null {
    return historyIncludes(this.hubDb, generation, seq);
  }

  /** The generation whose own change version `seq` is (null when unknown). */
  generationOf(seq: number): string | null {
    return generationOf(this.hubDb, seq);
  }

  get sqliteVersion(): string {
    return (this.hubDb.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  files(): StoreFileStatus[] {
    const entries: [string, string, DataSource][] = [
      ['server.db', this.layout.serverDb, this.serverDs],
      ['generated_numbers.db', this.layout.numbersDb, this.numbersDs],
      ['hub.db', this.layout.hubDb, this.hub],
    ];
    return entries.map(([name, file, ds]) => ({
      name,
      path: file,
      open: !this.closed && ds.isInitialized,
      bytes: fileSize(file),
      walBytes: fileSize(`${file}-wal`),
    }));
  }

  /**
   * Readies a restore candidate (copies of a backup's files in the work directory) to take the
   * masters' place: migrates it to the current schema, checks integrity and foreign keys, gives it
   * a new generation with `restored_seq` = the backup's last change (what workstations give back
   * is everything above it) and a `last_seq` that never goes below the current one, and carries
   * every number the current `generated_numbers.db` issued that the backup lacks (a restore never
   * forgets an issued number). Leaves both files checkpointed and closed; the caller checks them
   * (integrity, foreign keys) on a worker thread.
   */
  async prepareRestoreCandidate(c: {
    server: string;
    numbers: string | null;
    generation: string;
    /** Only brought to the current schema, to be read (a selective restore): nothing else is written. */
    readOnly?: boolean;
  }): Promise<RestoreCandidate> {
    const currentLastSeq = syncState(this.serverDb).lastSeq();
    const server = await openDataSource(c.server, [...MASTER_ENTITIES, SyncLogEntity], SERVER_MIGRATIONS, this.busyTimeoutMs);
    let restoredSeq: number;
    let lastSeq: number;
    try {
      const db = sqliteHandle(server);
      const state = syncState(db);
      restoredSeq = state.lastSeq();
      const backupGeneration = state.generation();
      lastSeq = Math.max(restoredSeq, currentLastSeq);
      if (c.readOnly) {
        db.pragma('wal_checkpoint(TRUNCATE)');
        return { restoredSeq, lastSeq, carriedNumbers: 0 };
      }
      // Conflicts are a record of what happened, not master data: every one recorded up to now (open
      // ones with their losing versions) is carried into the restored file, in place of the backup's.
      const conflicts = this.serverDb.prepare('SELECT * FROM sync_conflicts ORDER BY id').all() as Record<string, unknown>[];
      const conflictSeq = this.serverDb.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'sync_conflicts'`).pluck().get() as
        number | undefined;
      // Written before the swap: a restore that fails leaves an entry no master carries, which is harmless.
      recordGeneration(this.hubDb, c.generation, backupGeneration, restoredSeq, lastSeq);
      db.transaction(() => {
        state.set('generation', c.generation);
        state.set('restored_seq', String(restoredSeq));
        state.set('last_seq', String(lastSeq));
        // Changes after the restore get versions above this: a column whose version is higher was changed since.
        state.set('restore_floor_seq', String(lastSeq));
        db.exec('DELETE FROM sync_restore_base; DELETE FROM sync_gone; DELETE FROM sync_conflicts');
        if (conflicts.length > 0) {
          const cols = Object.keys(conflicts[0]);
          const insert = db.prepare(
            `INSERT INTO sync_conflicts (${cols.map((k) => `"${k}"`).join(', ')}) VALUES (${cols.map((k) => `@${k}`).join(', ')})`,
          );
          for (const row of conflicts) insert.run(row);
        }
        if (conflictSeq !== undefined) {
          db.prepare(`UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'sync_conflicts'`).run(conflictSeq);
          db.prepare(
            `INSERT INTO sqlite_sequence (name, seq) SELECT 'sync_conflicts', ? WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'sync_conflicts')`,
          ).run(conflictSeq);
        }
      })();
      db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      await server.destroy();
    }
    let carriedNumbers = 0;
    if (c.numbers) {
      const numbers = await openDataSource(c.numbers, [GeneratedNumberEntity], NUMBERS_MIGRATIONS, this.busyTimeoutMs);
      try {
        const db = sqliteHandle(numbers);
        const has = db.prepare('SELECT 1 FROM generated_numbers WHERE number = ? AND type = ?');
        const insert = db.prepare(
          `INSERT INTO generated_numbers (type, number, year, sequence, created_at, created_by, client_id, status)
           VALUES (@type, @number, @year, @sequence, @created_at, @created_by, @client_id, @status)`,
        );
        const current = this.numbersDb
          .prepare(
            'SELECT type, number, year, sequence, created_at, created_by, client_id, status FROM generated_numbers WHERE duplicate_of IS NULL ORDER BY id',
          )
          .all() as Record<string, unknown>[];
        db.transaction(() => {
          for (const row of current) {
            if (has.get(row.number, row.type)) continue;
            insert.run(row);
            carriedNumbers++;
          }
        })();
        db.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        await numbers.destroy();
      }
    }
    return { restoredSeq, lastSeq, carriedNumbers };
  }

  /** Checkpoints every WAL into its database file, closes the files and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const ds of [this.serverDs, this.numbersDs, this.hub]) {
      try {
        if (ds.isInitialized) {
          sqliteHandle(ds).pragma('wal_checkpoint(TRUNCATE)');
          await ds.destroy();
        }
      } catch (err) {
        this.logger.warn('Closing a database file failed', { error: (err as Error).message });
      }
    }
    this.lock.release();
  }
}

/** Thrown by the store's accessors while the master files are closed for a restore or VACUUM. */
export class StoreSuspendedError extends Error {
  constructor(readonly reason: string) {
    super(`The master database is closed for ${reason}; try again in a moment.`);
    this.name = 'StoreSuspendedError';
  }
}

/** The better-sqlite3 handle of each open data source, as TypeORM's `prepareDatabase` hands it over. */
const handles = new WeakMap<DataSource, Database.Database>();

/** The open SQLite handle behind a data source this store opened (never TypeORM's private driver fields). */
function sqliteHandle(ds: DataSource): Database.Database {
  const db = handles.get(ds);
  if (!db) throw new Error('This data source was not opened by the master store.');
  return db;
}

async function openDataSource(
  file: string,
  entities: DataSourceOptions['entities'],
  migrations: MigrationClass[],
  busyTimeoutMs: number,
  /** Runs in the migrations' transaction, after them: the app tables' conversion for server.db. */
  afterMigrations?: (db: Database.Database) => void,
): Promise<DataSource> {
  const ds = new DataSource({
    type: 'better-sqlite3',
    database: file,
    entities,
    migrations,
    migrationsTableName: MIGRATIONS_TABLE,
    synchronize: false,
    timeout: busyTimeoutMs,
    prepareDatabase: (db: Database.Database) => {
      handles.set(ds, db);
      applyPragmas(db, { busyTimeoutMs, exclusive: true });
    },
  });
  await ds.initialize();
  const db = sqliteHandle(ds);
  try {
    // Legacy tables may carry foreign keys between tables that the migrations rebuild; checked below.
    db.pragma('foreign_keys = OFF');
    // Views and triggers of a legacy file are rewritten by table renames only in legacy mode.
    db.pragma('legacy_alter_table = ON');
    await ds.runMigrations({ transaction: 'all' });
    if (afterMigrations) db.transaction(() => afterMigrations(db)).immediate();
    db.pragma('legacy_alter_table = OFF');
    const problems = db.pragma('foreign_key_check') as unknown[];
    if (problems.length > 0) {
      throw new Error(`${path.basename(file)}: ${problems.length} foreign key violations after migrating.`);
    }
    db.pragma('foreign_keys = ON');
  } catch (err) {
    await ds.destroy().catch(() => undefined);
    throw err;
  }
  return ds;
}

/** server.db after its migrations: app tables with a usable key but no sync columns yet get them (see {@link convertLearnedTables}). */
function convertAppTables(db: Database.Database): void {
  convertLearnedTables(db);
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** Name of the migrations table: distinct, so a legacy table called `migrations` is just data. */
export const MIGRATIONS_TABLE = '_cacpq_migrations';

/**
 * True when a file holds tables but not this server's first migration: the old desktop app's
 * file (whatever else it holds, a table of its own called `migrations` included).
 */
export function needsAdoption(file: string, firstMigration: string): boolean {
  if (!fs.existsSync(file) || fs.statSync(file).size === 0) return false;
  const db = new Database(file, { fileMustExist: true });
  try {
    // Exclusive: no -shm file appears beside a WAL file just for this look.
    db.pragma('locking_mode = EXCLUSIVE');
    const names = (
      db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).all() as { name: string }[]
    ).map((r) => r.name);
    if (names.length === 0) return false;
    if (!names.includes(MIGRATIONS_TABLE)) return true;
    return !db.prepare(`SELECT 1 FROM "${MIGRATIONS_TABLE}" WHERE name = ?`).get(firstMigration);
  } finally {
    db.close();
  }
}

/** Beside each pre-adoption backup: what it is a copy of, so an adoption cut off by a kill can reuse it. */
interface AdoptionManifest {
  source: string;
  sourceSha256: string;
  sourceBytes: number;
  backup: string;
  backupSha256: string;
  rowCounts: Record<string, number>;
  startedAt: string;
  completed: boolean;
}

const MANIFEST = 'adoption.json';

function readManifest(dir: string): AdoptionManifest | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8')) as AdoptionManifest;
  } catch {
    return null;
  }
}

function writeManifest(dir: string, m: AdoptionManifest): void {
  const tmp = path.join(dir, `${MANIFEST}.partial`);
  fs.writeFileSync(tmp, JSON.stringify(m, null, 2));
  fsyncPath(tmp);
  fs.renameSync(tmp, path.join(dir, MANIFEST));
  fsyncDir(dir);
}

function bytesOf(files: string[]): number {
  return files.reduce((sum, f) => sum + fileSize(f), 0);
}

/**
 * Before adopting anything: what adoptions cut off by a kill left behind. Half-written backups
 * (`*.partial` and their journals) and migrated copies (`*.adopting`) are removed; a verified
 * backup of an adoption that never completed is kept for that adoption to reuse (see
 * {@link adoptLegacy}), unless another such backup of the same file is kept already. Returns what it
 * did, as sentences for the start-up log.
 */
export function cleanUpInterruptedAdoptions(databaseDir: string, preAdoptionDir: string): string[] {
  const said: string[] = [];
  const removed: string[] = [];
  if (fs.existsSync(databaseDir)) {
    for (const name of fs.readdirSync(databaseDir)) {
      if (/\.adopting(-wal|-shm|-journal)?$/.test(name)) removed.push(path.join(databaseDir, name));
    }
  }
  const kept = new Set<string>();
  if (fs.existsSync(preAdoptionDir)) {
    for (const stamp of fs.readdirSync(preAdoptionDir).sort()) {
      const dir = path.join(preAdoptionDir, stamp);
      if (!fs.statSync(dir).isDirectory()) continue;
      for (const name of fs.readdirSync(dir)) {
        if (/\.partial(-wal|-shm|-journal)?$/.test(name)) removed.push(path.join(dir, name));
      }
      const m = readManifest(dir);
      if (!m || m.completed) continue;
      // One verified copy of each file is enough; the others are copies of the same bytes.
      const key = `${m.source}\u0000${m.sourceSha256}`;
      if (kept.has(key) || !fs.existsSync(path.join(dir, m.backup))) {
        removed.push(...fs.readdirSync(dir).map((n) => path.join(dir, n)));
        continue;
      }
      kept.add(key);
      said.push(
        `Found the verified backup of an interrupted adoption of ${path.basename(m.source)} (${path.join(dir, m.backup)}); it will be reused rather than written again.`,
      );
    }
  }
  if (removed.length > 0) {
    const bytes = bytesOf(removed);
    for (const f of removed) fs.rmSync(f, { force: true });
    said.unshift(
      `Cleaned up after an interrupted adoption: removed ${removed.length} leftover file${removed.length === 1 ? '' : 's'} (${(bytes / 1048576).toFixed(1)} MB): ${removed.map((f) => path.basename(f)).join(', ')}.`,
    );
  }
  if (fs.existsSync(preAdoptionDir)) {
    for (const stamp of fs.readdirSync(preAdoptionDir)) {
      const dir = path.join(preAdoptionDir, stamp);
      if (fs.statSync(dir).isDirectory() && fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
    }
  }
  return said;
}

/** A verified backup of `file` left by an adoption that never completed, when `file` is still exactly what it copied. */
async function reusableBackup(file: string, preAdoptionDir: string): Promise<{ dir: string; manifest: AdoptionManifest } | null> {
  if (!fs.existsSync(preAdoptionDir)) return null;
  const candidates = fs
    .readdirSync(preAdoptionDir)
    .map((stamp) => path.join(preAdoptionDir, stamp))
    .map((dir) => ({ dir, manifest: readManifest(dir) }))
    .filter((c): c is { dir: string; manifest: AdoptionManifest } => !!c.manifest && !c.manifest.completed && c.manifest.source === file);
  if (candidates.length === 0) return null;
  const sourceSha256 = await sha256File(file);
  for (const c of candidates) {
    if (c.manifest.sourceSha256 !== sourceSha256 || c.manifest.sourceBytes !== fileSize(file)) continue;
    const backup = path.join(c.dir, c.manifest.backup);
    if (fs.existsSync(backup) && (await sha256File(backup)) === c.manifest.backupSha256) return c;
  }
  return null;
}

/**
 * Adopts a legacy file without ever writing to it:
 * 1. a backup through SQLite's online backup API into `backups/pre-adoption/<stamp>/`, fsynced and
 *    verified (integrity_check, row counts equal to the source), with a manifest beside it; an
 *    adoption cut off by a kill left one of the same file: that one is reused;
 * 2. the migrations run on a copy of that backup, which is verified again (integrity, every
 *    table's rows still there) and checkpointed;
 * 3. the copy is renamed over the original in one step, and the manifest marked complete.
 * Any failure before step 3 removes the copy and leaves the legacy file exactly as it was.
 */
async function adoptLegacy(
  file: string,
  preAdoptionDir: string,
  entities: DataSourceOptions['entities'],
  migrations: MigrationClass[],
  busyTimeoutMs: number,
  afterMigrations?: (db: Database.Database) => void,
): Promise<AdoptedFile> {
  const reuse = await reusableBackup(file, preAdoptionDir);
  let rowCounts: Record<string, number>;
  let backup: string;
  let manifestDir: string;
  let manifest: AdoptionManifest;
  if (reuse) {
    manifestDir = reuse.dir;
    manifest = reuse.manifest;
    backup = path.join(reuse.dir, reuse.manifest.backup);
    rowCounts = reuse.manifest.rowCounts;
  } else {
    const src = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const srcCheck = checkIntegrity(src);
      if (srcCheck !== 'ok') {
        throw new Error(`The legacy database ${file} is damaged (${srcCheck}); it was left untouched.`);
      }
      rowCounts = countRows(src);
      manifestDir = path.join(preAdoptionDir, fileStamp());
      fs.mkdirSync(manifestDir, { recursive: true });
      backup = path.join(manifestDir, path.basename(file));
      const partial = `${backup}.partial`;
      await src.backup(partial);
      fsyncPath(partial);
      const copy = new Database(partial, { readonly: true, fileMustExist: true });
      try {
        const check = checkIntegrity(copy);
        if (check !== 'ok' || JSON.stringify(countRows(copy)) !== JSON.stringify(rowCounts)) {
          throw new Error(`The backup of ${file} did not verify (${check}); the legacy file was left untouched.`);
        }
      } finally {
        copy.close();
      }
      fs.renameSync(partial, backup);
    } finally {
      src.close();
    }
    manifest = {
      source: file,
      sourceSha256: await sha256File(file),
      sourceBytes: fileSize(file),
      backup: path.basename(backup),
      backupSha256: await sha256File(backup),
      rowCounts,
      startedAt: new Date().toISOString(),
      completed: false,
    };
    writeManifest(manifestDir, manifest);
  }

  const work = `${file}.adopting`;
  const removeWork = () => {
    for (const f of [work, `${work}-wal`, `${work}-shm`, `${work}-journal`]) fs.rmSync(f, { force: true });
  };
  removeWork();
  fs.copyFileSync(backup, work);
  try {
    const ds = await openDataSource(work, entities, migrations, busyTimeoutMs, afterMigrations);
    try {
      const db = sqliteHandle(ds);
      const check = checkIntegrity(db);
      if (check !== 'ok') throw new Error(`the migrated copy failed its integrity check: ${check}`);
      for (const [table, before] of Object.entries(rowCounts)) {
        if (table === MIGRATIONS_TABLE) continue;
        const { n } = db.prepare(`SELECT COUNT(*) AS n FROM "${table}"`).get() as { n: number };
        if (n !== before) throw new Error(`${table} has ${n} rows after migrating, the legacy file ${before}`);
      }
      db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      await ds.destroy();
    }
    fsyncPath(work);
  } catch (err) {
    removeWork();
    throw new Error(
      `Adopting the legacy database ${file} failed: ${(err as Error).message}. The legacy file was left exactly as it was; its verified backup is ${backup}.`,
    );
  }
  fs.renameSync(work, file);
  removeWork();
  for (const f of [`${file}-wal`, `${file}-shm`, `${file}-journal`]) fs.rmSync(f, { force: true });
  fsyncDir(path.dirname(file));
  writeManifest(manifestDir, { ...manifest, completed: true });
  return { file, backup, rowCounts };
}
