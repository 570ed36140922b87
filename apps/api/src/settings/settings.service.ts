import { Injectable } from '@nestjs/common';
import { MasterStore, SqliteSettingsRepository, sqlTime, type SettingsRepository } from '@cacpq/db';
import { OPERATION_SETTING_DEFAULTS, RETENTION_SETTINGS, SETTING_DESCRIPTORS } from '@cacpq/sync-protocol';
import { ApiException } from '../common/api-exception';
import { CronSchedule } from '../common/cron-schedule';

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
  private readonly repo: SettingsRepository;
  private readonly cache: Map<string, unknown>;

  constructor(store: MasterStore) {
    this.repo = new SqliteSettingsRepository(() => store.hubDb, store.hub);
    this.cache = this.repo.all();
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

  /** A value an admin sent, checked against the setting's rule: 400 with the reason, nothing saved. */
  validate(key: string, value: string | number): string | number {
    return validateSetting(key, value);
  }

  async set<K extends SettingKey>(key: K, value: SettingValue<K>, by: string): Promise<void> {
    await this.repo.save(key, value, sqlTime(), by);
    this.cache.set(key, value);
  }
}

/** One setting's value checked (bad ones answer 400 with the reason; nothing is saved then). */
export function validateSetting(key: string, value: string | number): string | number {
  if (key.startsWith('schedule.')) {
    if (!Object.hasOwn(SETTING_DEFAULTS, key)) throw new ApiException('VALIDATION_FAILED', `There is no setting ${key}.`);
    if (typeof value !== 'string') throw new ApiException('VALIDATION_FAILED', `${key} must be a cron expression or "off".`);
    try {
      CronSchedule.parse(value);
    } catch (err) {
      throw new ApiException('VALIDATION_FAILED', `${key}: ${(err as Error).message}`);
    }
    return value.trim();
  }
  // The descriptors are the one place ranges are written (the dashboard's forms use them too). A
  // Map lookup: "constructor" or "toString" find nothing.
  const rule = SETTING_DESCRIPTORS.get(key);
  if (!rule || rule.kind !== 'number') {
    throw new ApiException(
      'VALIDATION_FAILED',
      `${key} cannot be changed here: give schedule.* or one of ${RETENTION_SETTINGS.map((d) => d.key).join(', ')} (the sync interval and number formats have their own endpoints).`,
    );
  }
  const { min = 0, max = Number.MAX_SAFE_INTEGER } = rule;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const what = `${rule.unit}${min === 0 ? ' (0 keeps all)' : ''}`;
    throw new ApiException('VALIDATION_FAILED', `${key} must be a whole number of ${what} from ${min} to ${max}.`);
  }
  return value;
}
