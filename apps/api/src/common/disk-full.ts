/**
 * A write that failed because the disk (or a database's size limit) is full: SQLite's
 * `SQLITE_FULL` ("database or disk is full"), directly from better-sqlite3, wrapped by TypeORM
 * (`driverError`), or as text from a database worker; or the filesystem's `ENOSPC`.
 */
export function isDiskFull(err: unknown): boolean {
  for (
    let e = err as { code?: unknown; driverError?: unknown; cause?: unknown; message?: unknown } | null, depth = 0;
    e && depth < 4;
    depth++
  ) {
    if (e.code === 'SQLITE_FULL' || e.code === 'ENOSPC') return true;
    if (typeof e.message === 'string' && DISK_FULL_TEXT.test(e.message)) return true;
    e = (e.driverError ?? e.cause ?? null) as typeof e;
  }
  return typeof err === 'string' && DISK_FULL_TEXT.test(err);
}

const DISK_FULL_TEXT = /database or disk is full|ENOSPC|no space left on device/i;

/** The sentence for a person when a request could not be saved for lack of disk. */
export const DISK_FULL_MESSAGE =
  "The server's disk is full, so nothing of this request was saved. An administrator must free space on the server (old backups, other files); it then works again without a restart.";
