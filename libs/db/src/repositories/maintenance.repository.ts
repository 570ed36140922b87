import type Database from 'better-sqlite3';
import { prepared } from '../statements';

/** What the monthly VACUUM runs on each master file (on a worker, with the files closed to requests). */
export const VACUUM_STATEMENTS: readonly string[] = ['VACUUM', 'ANALYZE'];
/** What a REINDEX job runs on each master file. */
export const REINDEX_STATEMENTS: readonly string[] = ['REINDEX'];

/** The maintenance one open database file takes in place (the heavy work runs on a worker). */
export interface FileMaintenanceRepository {
  /** `PRAGMA optimize`. */
  optimize(): void;
  /** Moves the WAL into the file and truncates it; `busy` when a reader kept part of it. */
  checkpoint(): { busy: boolean };
  /** Rows that break a foreign key. */
  foreignKeyProblems(): number;
}

export class SqliteFileMaintenanceRepository implements FileMaintenanceRepository {
  constructor(private readonly db: () => Database.Database) {}

  optimize(): void {
    this.db().pragma('optimize');
  }

  checkpoint(): { busy: boolean } {
    const [r] = this.db().pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number; checkpointed: number }[];
    return { busy: r.busy === 1 };
  }

  foreignKeyProblems(): number {
    return (this.db().pragma('foreign_key_check') as unknown[]).length;
  }
}

/** The quotes an archive moves: the columns both `quotes` and `archived_quotes` have, and their values. */
export type ArchivableQuote = Record<string, unknown>;

/** server.db's housekeeping: the guide's sync_log pruning and the archiving of old quotes. */
export interface ServerMaintenanceRepository {
  /**
   * The guide's two statements in one transaction: rows older than `cutoff`, then all but the
   * newest `keep`. Returns what each removed and the rows left.
   */
  pruneSyncLog(cutoff: string, keep: number): { removedOld: number; removedExcess: number; rowsLeft: number };
  /** The columns `quotes` and `archived_quotes` share (an adopted legacy quotes table may hold extra ones), in quotes' order. */
  archivableColumns(): string[];
  /** Live quotes created before `cutoff`, oldest first, with the given columns. */
  quotesCreatedBefore(columns: readonly string[], cutoff: string): ArchivableQuote[];
  /** The `CREATE TABLE` statement of `archived_quotes`, for a dump. */
  archivedQuotesDdl(): string;
  /** Copies a quote into `archived_quotes` (replacing an earlier copy); run inside the caller's transaction. */
  archiveQuote(columns: readonly string[], quote: ArchivableQuote, archivedAt: string, jobId: number): void;
}

export class SqliteServerMaintenanceRepository implements ServerMaintenanceRepository {
  constructor(private readonly db: () => Database.Database) {}

  pruneSyncLog(cutoff: string, keep: number): { removedOld: number; removedExcess: number; rowsLeft: number } {
    const db = this.db();
    return db.transaction(() => {
      const removedOld = prepared(db, 'DELETE FROM sync_log WHERE timestamp < ?').run(cutoff).changes;
      const removedExcess = prepared(
        db,
        'DELETE FROM sync_log WHERE id NOT IN (SELECT id FROM sync_log ORDER BY timestamp DESC, id DESC LIMIT ?)',
      ).run(keep).changes;
      const rowsLeft = (prepared(db, 'SELECT COUNT(*) AS n FROM sync_log').get() as { n: number }).n;
      return { removedOld, removedExcess, rowsLeft };
    })();
  }

  archivableColumns(): string[] {
    const db = this.db();
    const archived = new Set((prepared(db, `PRAGMA table_info("archived_quotes")`).all() as { name: string }[]).map((c) => c.name));
    return (prepared(db, `PRAGMA table_info("quotes")`).all() as { name: string }[]).map((c) => c.name).filter((c) => archived.has(c));
  }

  quotesCreatedBefore(columns: readonly string[], cutoff: string): ArchivableQuote[] {
    return prepared(
      this.db(),
      `SELECT ${columns.map((c) => `"${c}"`).join(', ')} FROM quotes WHERE deleted = 0 AND createdAt IS NOT NULL AND createdAt < ? ORDER BY createdAt`,
    ).all(cutoff) as ArchivableQuote[];
  }

  archivedQuotesDdl(): string {
    return (prepared(this.db(), `SELECT sql FROM sqlite_master WHERE name = 'archived_quotes'`).get() as { sql: string }).sql;
  }

  archiveQuote(columns: readonly string[], quote: ArchivableQuote, archivedAt: string, jobId: number): void {
    const all = [...columns, 'archived_at', 'archive_job'];
    prepared(
      this.db(),
      `INSERT OR REPLACE INTO archived_quotes (${all.map((c) => `"${c}"`).join(', ')})
       VALUES (${all.map(() => '?').join(', ')})`,
    ).run(...columns.map((c) => quote[c] as never), archivedAt, jobId);
  }
}
