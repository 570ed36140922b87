import type { Logger } from 'pino';
import type { AlertsService } from '../alerts/alerts.service';
import type { BackupsService } from '../backups/backups.service';
import { CronSchedule, wallMinute } from '../common/cron-schedule';
import type { JobsService } from '../jobs/jobs.service';
import type { GrowthService } from '../monitoring/growth.service';
import type { MaintenanceService } from '../maintenance/maintenance.service';
import { OperationsScheduler } from './scheduler.service';
import type { SettingsService } from '../settings/settings.service';
import { SETTING_DEFAULTS } from '../settings/settings.service';

describe('CronSchedule', () => {
  it('reads the guide schedules and says why a bad one is refused', () => {
    expect(CronSchedule.parse('off')).toBeNull();
    expect(() => CronSchedule.parse('0 25 * * *')).toThrow(/hour/);
    expect(() => CronSchedule.parse('0 2 * *')).toThrow(/five fields/);
    expect(() => CronSchedule.parse('*/0 * * * *')).toThrow(/minute/);
    const firstSunday = CronSchedule.parse('0 2 1-7 * 0')!;
    // Day of month AND day of week: 2027-03-07 is the first Sunday of March 2027.
    expect(firstSunday.next(new Date(2027, 2, 1, 12, 0))).toEqual(new Date(2027, 2, 7, 2, 0));
    expect(firstSunday.matches(new Date(2027, 2, 14, 2, 0))).toBe(false);
    expect(CronSchedule.parse('0 1 * * 7')!.matches(new Date(2027, 2, 7, 1, 0))).toBe(true);
  });
});

describe('OperationsScheduler across daylight-saving changes', () => {
  // apps/api/jest.config.js runs these tests in America/Toronto.
  it('runs in a zone with daylight saving', () => {
    expect(new Date(2027, 0, 1).getTimezoneOffset()).toBe(300);
    expect(new Date(2027, 6, 1).getTimezoneOffset()).toBe(240);
  });

  function scheduler(): { s: OperationsScheduler; started: string[] } {
    const started: string[] = [];
    const values: Record<string, unknown> = { ...SETTING_DEFAULTS };
    for (const k of Object.keys(values)) if (k.startsWith('schedule.') && !k.startsWith('schedule.backup.')) values[k] = 'off';
    const settings = { get: (k: string) => values[k] } as unknown as SettingsService;
    const backups = { request: (kind: string) => started.push(`backup:${kind}`) } as unknown as BackupsService;
    const maintenance = { request: (job: string) => started.push(job), precheck: () => null } as unknown as MaintenanceService;
    const growth = { sample: () => started.push('sample-growth') } as unknown as GrowthService;
    const logger = { warn: () => undefined, error: () => undefined } as unknown as Logger;
    return {
      s: new OperationsScheduler(
        settings,
        {} as JobsService,
        backups,
        maintenance,
        growth,
        { runScheduled: () => undefined } as unknown as AlertsService,
        logger,
      ),
      started,
    };
  }

  /** Ticks once a real minute from `start` for `minutes`. */
  function run(s: OperationsScheduler, start: Date, minutes: number): void {
    for (let i = 0; i <= minutes; i++) s.tick(new Date(start.getTime() + i * 60_000));
  }

  it('still takes the 02:00 daily backup on the night the clocks skip from 02:00 to 03:00', () => {
    const { s, started } = scheduler();
    // 2027-03-14: at 02:00 EST the clocks go to 03:00 EDT.
    run(s, new Date(2027, 2, 14, 1, 30), 90);
    expect(wallMinute(new Date(2027, 2, 14, 1, 59)) + 2 * 60_000).toBe(Date.UTC(2027, 2, 14, 2, 1));
    expect(started.filter((j) => j === 'backup:daily')).toHaveLength(1);
  });

  it('takes the Sunday 01:00 weekly backup once on the night 01:00-02:00 happens twice', () => {
    const { s, started } = scheduler();
    // 2027-11-07 (a Sunday): at 02:00 EDT the clocks go back to 01:00 EST.
    run(s, new Date(Date.UTC(2027, 10, 7, 4, 30)), 180);
    expect(started.filter((j) => j === 'backup:weekly')).toHaveLength(1);
    expect(started.filter((j) => j === 'backup:daily')).toHaveLength(1);
  });
});
