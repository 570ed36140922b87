import type Database from 'better-sqlite3';
import { prepared } from '../statements';

// ============================================================================================
// Reads for monitoring and alerts. The numbers feature writes `number_uses`.
// ============================================================================================

/**
 * Who uses a number, as SQL over `number_uses`: a record (table and id) when the use names one,
 * else the workstation. Used by the alert here and by the numbers repository when uses are registered.
 */
export const NUMBER_USE_HOLDER = `CASE WHEN record_id <> '' THEN 'record' || char(0) || record_table || char(0) || record_id ELSE 'client' || char(0) || client_id END`;

/** One use of a number by a record on a workstation. */
export interface NumberUse {
  client_id: string;
  user: string;
  record_table: string;
  record_id: string;
  used_at: string;
}

export interface NumberUsesRepository {
  /** Numbers used by more than one record (or workstation), one of whose uses was registered at or after `since`. */
  usedMoreThanOnceSince(since: string): string[];
  /** Every use of a number, in the order registered. */
  usesOf(number: string): NumberUse[];
}

export class SqliteNumberUsesRepository implements NumberUsesRepository {
  constructor(private readonly db: () => Database.Database) {}

  usedMoreThanOnceSince(since: string): string[] {
    const rows = prepared(
      this.db(),
      `SELECT number FROM number_uses GROUP BY number HAVING COUNT(DISTINCT ${NUMBER_USE_HOLDER}) > 1 AND MAX(registered_at) >= ?`,
    ).all(since) as { number: string }[];
    return rows.map((r) => r.number);
  }

  usesOf(number: string): NumberUse[] {
    return prepared(
      this.db(),
      'SELECT client_id, user, record_table, record_id, used_at FROM number_uses WHERE number = ? ORDER BY id',
    ).all(number) as NumberUse[];
  }
}
