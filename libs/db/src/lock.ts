import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';

export interface LockOwner {
  pid: number;
  host: string;
  since: string;
  purpose: string;
}

/** Thrown when another live process owns the data directory. */
export class DataDirInUseError extends Error {
  readonly code = 'DATA_DIR_IN_USE';
  constructor(
    readonly dataDir: string,
    readonly owner: LockOwner | null,
  ) {
    super(
      owner
        ? `The data directory ${dataDir} is already in use by ${owner.purpose} (pid ${owner.pid} on host ${owner.host}, since ${owner.since}). ` +
            `Stop that process first, or start this one with another DATA_DIR.`
        : `The data directory ${dataDir} is already in use by another process (it holds ${dataDir}/cacpq.lock). ` +
            `Stop that process first, or start this one with another DATA_DIR.`,
    );
  }
}

/**
 * Exclusive ownership of a data directory.
 *
 * The lock is an exclusive SQLite transaction held open on `cacpq.lock` for the life of the
 * process. SQLite takes it with POSIX advisory locks, which the kernel releases when a process
 * dies in any way, kill -9 included, so a dead owner's lock is never left behind and never has
 * to be "broken" by guessing from a pid. Who holds it is written beside it in
 * `cacpq.lock.json` (pid, host, since) for the refusal message.
 */
export class DataDirLock {
  private released = false;

  private constructor(
    private readonly db: Database.Database,
    private readonly ownerFile: string,
    readonly owner: LockOwner,
    /** The owner record a previous holder left behind (it died without releasing). */
    readonly tookOverFrom: LockOwner | null,
  ) {}

  static acquire(opts: { dataDir: string; lockFile: string; ownerFile: string; purpose: string }): DataDirLock {
    fs.mkdirSync(opts.dataDir, { recursive: true });
    // Two processes starting at the same instant can each hold a shared lock that blocks the
    // other's upgrade; both let go and retry after a random pause, so exactly one wins.
    let db: Database.Database | null = null;
    for (let attempt = 0; db === null; attempt++) {
      const candidate = new Database(opts.lockFile, { timeout: 0 });
      try {
        candidate.pragma('locking_mode = EXCLUSIVE');
        // BEGIN EXCLUSIVE before anything reads the file; in EXCLUSIVE locking mode the lock is
        // then held until the connection closes, even after the transaction ends.
        candidate.exec('BEGIN EXCLUSIVE');
        candidate.exec('CREATE TABLE IF NOT EXISTS lock_holder (id INTEGER PRIMARY KEY, pid INTEGER, host TEXT, since TEXT)');
        candidate.exec('COMMIT');
        candidate.pragma('journal_mode = MEMORY');
        db = candidate;
      } catch (err) {
        candidate.close();
        if (!isBusy(err)) throw err;
        if (attempt >= 8) throw new DataDirInUseError(opts.dataDir, readOwner(opts.ownerFile));
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20 + Math.floor(Math.random() * 80));
      }
    }
    const previous = readOwner(opts.ownerFile);
    const owner: LockOwner = {
      pid: process.pid,
      host: os.hostname(),
      since: new Date().toISOString(),
      purpose: opts.purpose,
    };
    db.prepare('INSERT INTO lock_holder (pid, host, since) VALUES (?, ?, ?)').run(owner.pid, owner.host, owner.since);
    writeFileAtomic(opts.ownerFile, JSON.stringify(owner, null, 2) + '\n');
    return new DataDirLock(db, opts.ownerFile, owner, previous);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    try {
      const current = readOwner(this.ownerFile);
      if (current && current.pid === this.owner.pid && current.since === this.owner.since) fs.rmSync(this.ownerFile);
    } finally {
      this.db.close();
    }
  }
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

export function readOwner(ownerFile: string): LockOwner | null {
  try {
    const parsed = JSON.parse(fs.readFileSync(ownerFile, 'utf8')) as Partial<LockOwner>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string' || typeof parsed.since !== 'string') return null;
    return { pid: parsed.pid, host: parsed.host, since: parsed.since, purpose: parsed.purpose ?? 'a CACPQ process' };
  } catch {
    return null;
  }
}

/** Writes via a temp file, fsync and rename, so a reader never sees half a file. */
export function writeFileAtomic(file: string, content: string | Buffer, mode = 0o644): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeFileSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}
