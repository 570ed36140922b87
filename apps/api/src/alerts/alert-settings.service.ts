import { Injectable } from '@nestjs/common';
import { MasterStore, SqliteAlertSettingsRepository, sqlTime, type AlertSettingsRepository } from '@cacpq/db';
import { ALERT_SETTING_DEFAULTS, type AlertSettings, type AlertSettingsPatch, type AlertSettingsView } from '@cacpq/sync-protocol';
import { ApiException } from '../common/api-exception';
import { parseClock, parseDays, type BusinessHours } from './business-hours';

/**
 * The alert thresholds, business hours and notification settings: kept in hub.db's `settings`
 * table under `alerts.*` (JSON values, like the other settings), changed through
 * `PATCH /api/v1/alerts/settings` only.
 */
@Injectable()
export class AlertSettingsService {
  private readonly repo: AlertSettingsRepository;

  constructor(store: MasterStore) {
    this.repo = new SqliteAlertSettingsRepository(() => store.hubDb);
  }

  all(): AlertSettings {
    const out: Record<string, unknown> = { ...ALERT_SETTING_DEFAULTS };
    for (const [key, value] of Object.entries(this.repo.stored()))
      if (key in ALERT_SETTING_DEFAULTS) out[key] = JSON.parse(value) as unknown;
    return out as AlertSettings;
  }

  /** Every setting without the SMTP password (and whether one is stored). */
  view(): AlertSettingsView {
    const { 'alerts.smtp.password': password, ...rest } = this.all();
    return { ...rest, 'alerts.smtp.passwordSet': password !== '' };
  }

  businessHours(s: AlertSettings = this.all()): BusinessHours {
    return {
      days: parseDays(s['alerts.businessHours.days']),
      start: parseClock(s['alerts.businessHours.start']),
      end: parseClock(s['alerts.businessHours.end']),
      timeZone: s['alerts.businessHours.timeZone'],
    };
  }

  /** Applies a validated patch; checks what spans keys (business hours) against the result first. */
  update(patch: AlertSettingsPatch, by: string): AlertSettingsView {
    const next = { ...this.all(), ...patch } as AlertSettings;
    const start = parseClock(next['alerts.businessHours.start']);
    const end = parseClock(next['alerts.businessHours.end']);
    if (start >= end) {
      throw new ApiException(
        'VALIDATION_FAILED',
        `Business hours must start before they end (start ${next['alerts.businessHours.start']}, end ${next['alerts.businessHours.end']}); hours across midnight are not supported.`,
      );
    }
    try {
      parseDays(next['alerts.businessHours.days']);
    } catch (err) {
      throw new ApiException('VALIDATION_FAILED', `alerts.businessHours.days: ${(err as Error).message}`);
    }
    this.repo.save(patch, sqlTime(), by);
    return this.view();
  }
}
