import { retentionKeepsFrom, type RetentionSettings } from './retention';

// The API's specs run in America/Toronto (apps/api/jest.config.js): local dates and clock changes are real.
const GUIDE: RetentionSettings = { dailyDays: 30, weeklyWeeks: 12, monthlyMonths: 0, preRestoreDays: 90 };
const local = (y: number, m: number, d: number, h = 12, min = 0) => new Date(y, m - 1, d, h, min);

describe('retentionKeepsFrom: the guide\u2019s retention as a calendar', () => {
  test.each<[string, Parameters<typeof retentionKeepsFrom>[0], Date, Partial<RetentionSettings>, string | null]>([
    ['daily, 30 days: today and the 29 days before', 'daily', local(2026, 12, 3), {}, '2026-11-04'],
    ['daily, just after midnight: still today\u2019s calendar', 'daily', local(2026, 12, 3, 0, 1), {}, '2026-11-04'],
    ['daily, just before midnight', 'daily', local(2026, 12, 3, 23, 59), {}, '2026-11-04'],
    ['daily across the spring change (2027-03-14)', 'daily', local(2027, 3, 20), {}, '2027-02-19'],
    ['daily across the fall change (2026-11-01)', 'daily', local(2026, 11, 5), {}, '2026-10-07'],
    ['daily, 1 day keeps today only', 'daily', local(2026, 12, 3), { dailyDays: 1 }, '2026-12-03'],
    ['weekly, 12 weeks: 84 days with today', 'weekly', local(2026, 12, 3), {}, '2026-09-11'],
    ['pre-restore, 90 days', 'pre-restore', local(2026, 12, 3), {}, '2026-09-05'],
    ['monthly with 0 keeps every archive', 'monthly', local(2026, 12, 3), {}, null],
    ['monthly, 12 months: from the first of the month 11 months back', 'monthly', local(2026, 12, 3), { monthlyMonths: 12 }, '2026-01-01'],
    ['monthly, 1 month: this month only', 'monthly', local(2026, 12, 31, 23, 59), { monthlyMonths: 1 }, '2026-12-01'],
    ['monthly across a year', 'monthly', local(2027, 2, 1), { monthlyMonths: 3 }, '2026-12-01'],
    ['manual backups are kept until removed by hand', 'manual', local(2026, 12, 3), {}, null],
  ])('%s', (_name, kind, now, over, expected) => {
    expect(retentionKeepsFrom(kind, now, { ...GUIDE, ...over })).toBe(expected);
  });
});
