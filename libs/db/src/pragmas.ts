import type { Database } from 'better-sqlite3';

export interface PragmaOptions {
  busyTimeoutMs: number;
  /**
   * Hold the file for this connection only (`locking_mode=EXCLUSIVE`). Used for the master
   * files: no other process, not a second server and not the sqlite3 shell, can open them
   * while the server runs. In WAL mode this also keeps the WAL index in process memory, so
   * no `-shm` file is created.
   */
  exclusive: boolean;
}

/** Pragmas set where a connection opens (TypeORM `prepareDatabase`), each with its reason. */
export function applyPragmas(db: Database, opts: PragmaOptions): void {
  // Wait for a lock instead of failing at once with SQLITE_BUSY (set first: it governs the rest).
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs))}`);
  // Must come before the first read so the exclusive lock and in-memory WAL index take effect.
  if (opts.exclusive) db.pragma('locking_mode = EXCLUSIVE');
  // WAL: readers do not block the writer; safe here because the file is on the server's disk.
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (String(mode).toLowerCase() !== 'wal') {
    throw new Error(`Could not switch ${db.name} to WAL mode (journal_mode is ${String(mode)}).`);
  }
  // FULL: an acknowledged push is on disk before the answer leaves, even across power loss.
  db.pragma('synchronous = FULL');
  // Enforce the foreign keys the schema declares (hub.db users, tokens, sessions).
  db.pragma('foreign_keys = ON');
}

/** One-row helper for `PRAGMA integrity_check` / `quick_check`: 'ok' or the problems found. */
export function checkIntegrity(db: Database, kind: 'integrity_check' | 'quick_check' = 'integrity_check'): string {
  const rows = db.pragma(kind) as Record<string, string>[];
  return rows.map((r) => Object.values(r)[0]).join('; ');
}
