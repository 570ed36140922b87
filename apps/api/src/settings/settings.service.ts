import { Injectable } from '@nestjs/common';
import { MasterStore, SettingEntity, sqlTime } from '@cacpq/db';
import { OPERATION_SETTING_DEFAULTS } from '@cacpq/sync-protocol';
import type { Repository } from 'typeorm';

/** Settings an admin can change at run time, stored as JSON in hub.db, with defaults. */
export const SETTING_DEFAULTS = {
  'sync.intervalMinutes': 120,
  'numbers.format.quote': 'Q{YYYY}-{SEQ:4}',
  'numbers.format.project': 'P{YYYY}-{SEQ:4}',
  ...OPERATION_SETTING_DEFAULTS,
} as const;

export type SettingKey = keyof typeof SETTING_DEFAULTS;
export type SettingValue<K extends SettingKey> = (typeof SETTING_DEFAULTS)[K] extends number ? number : string;

@Injectable()
export class SettingsService {
  private readonly repo: Repository<SettingEntity>;
  private readonly cache = new Map<string, unknown>();

  constructor(store: MasterStore) {
    this.repo = store.hub.getRepository(SettingEntity);
    const rows = store.hubDb.prepare('SELECT key, value FROM settings').all() as { key: string; value: string }[];
    for (const r of rows) this.cache.set(r.key, JSON.parse(r.value));
  }

  get<K extends SettingKey>(key: K): SettingValue<K> {
    return (this.cache.has(key) ? this.cache.get(key) : SETTING_DEFAULTS[key]) as SettingValue<K>;
  }

  /** Every setting with its current value. */
  all(): Record<SettingKey, number | string> {
    return Object.fromEntries(Object.keys(SETTING_DEFAULTS).map((k) => [k, this.get(k as SettingKey)])) as Record<
      SettingKey,
      number | string
    >;
  }

  async set<K extends SettingKey>(key: K, value: SettingValue<K>, by: string): Promise<void> {
    await this.repo.save({ key, value: JSON.stringify(value), updatedAt: sqlTime(), updatedBy: by });
    this.cache.set(key, value);
  }
}
