import type Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface CopyProgress {
  /** Pages copied so far and pages in the source at this step. */
  done: number;
  total: number;
}

export interface OnlineBackupOptions {
  /** How long one copy step may hold the connection; the event loop runs between steps. */
  targetStepMs?: number;
  onProgress?: (p: CopyProgress) => void;
  /**
   * Called synchronously the moment the last page is copied, before any other request can write:
   * what it reads from the source is exactly the state the copy holds (used for row counts).
   */
  atCompletion?: () => void;
}

/**
 * Copies a live database through SQLite's online backup API on the connection that owns it, in
 * steps of about `targetStepMs`, so requests keep being served between steps. Writes made through
 * the same connection while the copy runs are carried into the copy by SQLite itself, so the
 * result is the state at the moment the last step finished. The destination is fsynced.
 */
export async function onlineBackup(db: Database.Database, dest: string, opts: OnlineBackupOptions = {}): Promise<{ pages: number }> {
  removeDatabaseFile(dest);
  const target = opts.targetStepMs ?? 15;
  let pagesPerStep = 256;
  let last = process.hrtime.bigint();
  let total = 0;
  await db.backup(dest, {
    progress: ({ totalPages, remainingPages }) => {
      const now = process.hrtime.bigint();
      const ms = Number(now - last) / 1e6;
      last = now;
      total = totalPages;
      // Aim each step at the target time, growing or shrinking by at most 4x at a time.
      if (ms > 0) pagesPerStep = Math.round(Math.min(pagesPerStep * 4, Math.max(pagesPerStep / 4, (pagesPerStep * target) / ms)));
      pagesPerStep = Math.max(64, Math.min(pagesPerStep, 65_536));
      opts.onProgress?.({ done: totalPages - remainingPages, total: totalPages });
      return pagesPerStep;
    },
  });
  opts.atCompletion?.();
  fsyncPath(dest);
  opts.onProgress?.({ done: total, total });
  return { pages: total };
}

export function fsyncPath(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Makes a rename or removal in `dir` durable. */
export function fsyncDir(dir: string): void {
  try {
    fsyncPath(dir);
  } catch {
    // Some filesystems (SMB mounts) refuse fsync on a directory; the rename is still atomic.
  }
}

/** Removes a database file with its journal, WAL and shared-memory files. */
export function removeDatabaseFile(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) fs.rmSync(f, { force: true });
}

export async function sha256File(file: string, onBytes?: (n: number) => void): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    onBytes?.((chunk as Buffer).length);
  }
  return hash.digest('hex');
}

export function fileBytes(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** Bytes free for this process on the filesystem holding `dir` (or its nearest existing parent). */
export function freeBytes(dir: string): number {
  let d = path.resolve(dir);
  while (!fs.existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
  const s = fs.statfsSync(d);
  return s.bavail * s.bsize;
}

/** Rows per table of an open database (the same tables the verification worker counts). */
export function countRows(db: Database.Database): Record<string, number> {
  const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as {
    name: string;
  }[];
  return Object.fromEntries(
    tables.map(({ name }) => [name, (db.prepare(`SELECT COUNT(*) AS n FROM "${name.replace(/"/g, '""')}"`).get() as { n: number }).n]),
  );
}
