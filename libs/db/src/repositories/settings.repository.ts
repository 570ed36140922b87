import type Database from 'better-sqlite3';
import type { DataSource, Repository } from 'typeorm';
import { SettingEntity } from '../entities/hub.entities';
import { prepared } from '../statements';

/** hub.db's `settings`: run-time settings as JSON text, with who changed each and when. */
export interface SettingsRepository {
  /** Every stored setting, parsed (read once at start: the service keeps them in memory). */
  all(): Map<string, unknown>;
  save(key: string, value: unknown, at: string, by: string): Promise<void>;
}

export class SqliteSettingsRepository implements SettingsRepository {
  private readonly entities: Repository<SettingEntity>;

  constructor(
    private readonly db: () => Database.Database,
    hub: DataSource,
  ) {
    this.entities = hub.getRepository(SettingEntity);
  }

  all(): Map<string, unknown> {
    const rows = prepared(this.db(), 'SELECT key, value FROM settings').all() as { key: string; value: string }[];
    return new Map(rows.map((r) => [r.key, JSON.parse(r.value) as unknown]));
  }

  async save(key: string, value: unknown, at: string, by: string): Promise<void> {
    await this.entities.save({ key, value: JSON.stringify(value), updatedAt: at, updatedBy: by });
  }
}
