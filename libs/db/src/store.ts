import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
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
import { AddSyncEngineTables1764100000000 } from './migrations/server/1764100000000-add-sync-engine-tables';
import { AddNumberHighWater1764100000100 } from './migrations/hub/1764100000100-add-number-high-water';
import { applyPragmas, checkIntegrity } from './pragmas';
import { fileStamp } from './time';
import type { MigrationInterface } from 'typeorm';

type MigrationClass = new () => MigrationInterface;

export const SERVER_MIGRATIONS: MigrationClass[] = [CreateMasterSchema1764000000000, AddSyncEngineTables1764100000000];
export const NUMBERS_MIGRATIONS: MigrationClass[] = [CreateNumbersSchema1764000000200];
export const HUB_MIGRATIONS: MigrationClass[] = [CreateHubSchema1764000000100, AddNumberHighWater1764100000100];

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

const silentLogger: StoreLogger = { info: () => undefined, warn: () => undefined };

/**
 * The master store: the only owner of `server.db`, `generated_numbers.db` and `hub.db`.
 *
 * Opening it takes the data-directory lock, adopts legacy desktop-app files (after a verified
 * backup), opens each file with the store's pragmas and exclusive locking, and runs migrations.
 */
export class MasterStore {
  private closed = false;

  private constructor(
    readonly layout: DataDirLayout,
    readonly server: DataSource,
    readonly numbers: DataSource,
    readonly hub: DataSource,
    private readonly lock: DataDirLock,
    readonly adopted: AdoptedFile[],
    private readonly logger: StoreLogger,
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
      for (const file of [layout.serverDb, layout.numbersDb]) {
        const result = await backupIfLegacy(file, layout.preAdoptionDir);
        if (result) {
          logger.warn('Adopting a legacy database: verified backup written, migrating in place', { ...result });
          adopted.push(result);
        }
      }
      const hub = await openDataSource(layout.hubDb, HUB_ENTITIES, HUB_MIGRATIONS, busyTimeoutMs);
      opened.push(hub);
      const server = await openDataSource(layout.serverDb, [...MASTER_ENTITIES, SyncLogEntity], SERVER_MIGRATIONS, busyTimeoutMs);
      opened.push(server);
      const numbers = await openDataSource(layout.numbersDb, [GeneratedNumberEntity], NUMBERS_MIGRATIONS, busyTimeoutMs);
      opened.push(numbers);
      const db = rawHandle(server);
      db.prepare(`INSERT OR IGNORE INTO sync_state (key, value) VALUES ('generation', ?)`).run(randomUUID());
      for (const a of adopted) {
        const handle = a.file === layout.serverDb ? db : rawHandle(numbers);
        const check = checkIntegrity(handle);
        if (check !== 'ok') throw new Error(`Adopted ${a.file} failed its integrity check: ${check}`);
        for (const [table, before] of Object.entries(a.rowCounts)) {
          const { n } = handle.prepare(`SELECT COUNT(*) AS n FROM "${table}"`).get() as { n: number };
          if (n !== before) throw new Error(`Adopting ${a.file}: ${table} has ${n} rows, the legacy file had ${before}.`);
        }
        logger.info('Legacy database adopted with every row kept', { file: a.file, backup: a.backup });
      }
      return new MasterStore(layout, server, numbers, hub, lock, adopted, logger);
    } catch (err) {
      for (const ds of opened.reverse()) await ds.destroy().catch(() => undefined);
      lock.release();
      throw err;
    }
  }

  get serverDb(): Database.Database {
    return rawHandle(this.server);
  }

  get numbersDb(): Database.Database {
    return rawHandle(this.numbers);
  }

  get hubDb(): Database.Database {
    return rawHandle(this.hub);
  }

  get generation(): string {
    const row = this.serverDb.prepare(`SELECT value FROM sync_state WHERE key = 'generation'`).get() as { value: string } | undefined;
    return row?.value ?? '';
  }

  get sqliteVersion(): string {
    return (this.serverDb.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  files(): StoreFileStatus[] {
    const entries: [string, string, DataSource][] = [
      ['server.db', this.layout.serverDb, this.server],
      ['generated_numbers.db', this.layout.numbersDb, this.numbers],
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

  /** Checkpoints every WAL into its database file, closes the files and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const ds of [this.server, this.numbers, this.hub]) {
      try {
        if (ds.isInitialized) {
          rawHandle(ds).pragma('wal_checkpoint(TRUNCATE)');
          await ds.destroy();
        }
      } catch (err) {
        this.logger.warn('Closing a database file failed', { error: (err as Error).message });
      }
    }
    this.lock.release();
  }
}

export function rawHandle(ds: DataSource): Database.Database {
  return (ds.driver as unknown as { databaseConnection: Database.Database }).databaseConnection;
}

async function openDataSource(
  file: string,
  entities: DataSourceOptions['entities'],
  migrations: MigrationClass[],
  busyTimeoutMs: number,
): Promise<DataSource> {
  const ds = new DataSource({
    type: 'better-sqlite3',
    database: file,
    entities,
    migrations,
    migrationsTableName: 'migrations',
    synchronize: false,
    timeout: busyTimeoutMs,
    prepareDatabase: (db: Database.Database) => applyPragmas(db, { busyTimeoutMs, exclusive: true }),
  });
  await ds.initialize();
  const db = rawHandle(ds);
  // Legacy tables may carry foreign keys between tables that the migrations rebuild; checked below.
  db.pragma('foreign_keys = OFF');
  try {
    await ds.runMigrations({ transaction: 'all' });
    const problems = db.pragma('foreign_key_check') as unknown[];
    if (problems.length > 0) {
      throw new Error(`${path.basename(file)}: ${problems.length} foreign key violations after migrating.`);
    }
  } finally {
    db.pragma('foreign_keys = ON');
  }
  return ds;
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** True when a file holds tables but was never migrated by this server (the old desktop app's). */
export function isLegacyDatabase(file: string): boolean {
  if (!fs.existsSync(file) || fs.statSync(file).size === 0) return false;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const names = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map((r) => r.name);
    return names.length > 0 && !names.includes('migrations');
  } finally {
    db.close();
  }
}

/**
 * For a legacy file: writes a backup through SQLite's online backup API into
 * `backups/pre-adoption/<stamp>/`, fsyncs it and verifies it (integrity_check and row counts
 * equal to the source) before anything touches the original.
 */
async function backupIfLegacy(file: string, preAdoptionDir: string): Promise<AdoptedFile | null> {
  if (!isLegacyDatabase(file)) return null;
  const src = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const srcCheck = checkIntegrity(src);
    if (srcCheck !== 'ok') {
      throw new Error(`The legacy database ${file} is damaged (${srcCheck}); it was left untouched.`);
    }
    const rowCounts = countRows(src);
    const dir = path.join(preAdoptionDir, fileStamp());
    fs.mkdirSync(dir, { recursive: true });
    const target = path.join(dir, path.basename(file));
    const tmp = `${target}.partial`;
    await src.backup(tmp);
    const fd = fs.openSync(tmp, 'r+');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    const copy = new Database(tmp, { readonly: true, fileMustExist: true });
    try {
      const check = checkIntegrity(copy);
      const copied = countRows(copy);
      if (check !== 'ok' || JSON.stringify(copied) !== JSON.stringify(rowCounts)) {
        throw new Error(`The backup of ${file} did not verify (${check}); the legacy file was left untouched.`);
      }
    } finally {
      copy.close();
    }
    fs.renameSync(tmp, target);
    return { file, backup: target, rowCounts };
  } finally {
    src.close();
  }
}

function countRows(db: Database.Database): Record<string, number> {
  const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as {
    name: string;
  }[];
  return Object.fromEntries(tables.map(({ name }) => [name, (db.prepare(`SELECT COUNT(*) AS n FROM "${name}"`).get() as { n: number }).n]));
}
