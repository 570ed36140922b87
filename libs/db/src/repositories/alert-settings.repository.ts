import type Database from 'better-sqlite3';
import { prepared } from '../statements';

/**
 * The `alerts.*` keys of hub.db's `settings` table (JSON values), read and written by the alert
 * settings only. A narrow view of the settings table; it may fold into the settings repository.
 */
export interface AlertSettingsRepository {
  /** Every stored `alerts.*` key with its JSON text, unparsed (unknown keys are the caller's to skip). */
  stored(): Record<string, string>;
  /** Writes each value (as JSON) in one transaction, stamped with when and by whom. */
  save(values: Record<string, unknown>, at: string, by: string): void;
}

export class SqliteAlertSettingsRepository implements AlertSettingsRepository {
  constructor(private readonly db: () => Database.Database) {}

  stored(): Record<string, string> {
    const rows = prepared(this.db(), `SELECT key, value FROM settings WHERE key LIKE 'alerts.%'`).all() as { key: string; value: string }[];
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  save(values: Record<string, unknown>, at: string, by: string): void {
    const db = this.db();
    const save = prepared(
      db,
      `INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?)
       ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
    );
    db.transaction(() => {
      for (const [key, value] of Object.entries(values)) save.run(key, JSON.stringify(value), at, by);
    })();
  }
}
