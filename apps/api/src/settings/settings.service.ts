import { Injectable } from '@nestjs/common';
import { MasterStore, SqliteSettings, sqlTime, type SettingsRepository } from '@cacpq/db';
import { OPERATION_SETTING_DEFAULTS } from '@cacpq/sync-protocol';
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
    this.repo = new SqliteSettings(() => store.hubDb, store.hub);
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

const SETTING_RULES: Record<string, { min: number; max: number; what: string }> = {
  'retention.daily.days': { min: 1, max: 3650, what: 'days' },
  'retention.weekly.weeks': { min: 1, max: 520, what: 'weeks' },
  'retention.monthly.months': { min: 0, max: 1200, what: 'months (0 keeps all)' },
  'retention.pre-restore.days': { min: 1, max: 3650, what: 'days' },
  'maintenance.syncLog.days': { min: 1, max: 3650, what: 'days' },
  'maintenance.syncLog.maxRows': { min: 100, max: 10_000_000, what: 'rows' },
  'maintenance.archiveQuotes.years': { min: 1, max: 100, what: 'years' },
};

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
  // Own keys only: "constructor" or "toString" must not find Object.prototype's members.
  const rule = Object.hasOwn(SETTING_RULES, key) ? SETTING_RULES[key] : undefined;
  if (!rule) {
    throw new ApiException(
      'VALIDATION_FAILED',
      `${key} cannot be changed here: give schedule.* or one of ${Object.keys(SETTING_RULES).join(', ')} (the sync interval and number formats have their own endpoints).`,
    );
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < rule.min || value > rule.max) {
    throw new ApiException('VALIDATION_FAILED', `${key} must be a whole number of ${rule.what} from ${rule.min} to ${rule.max}.`);
  }
  return value;
}
