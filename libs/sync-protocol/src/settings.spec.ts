import { OPERATION_SETTING_DEFAULTS } from './operations';
import { RETENTION_SETTINGS, SCHEDULE_SETTINGS, SETTING_DESCRIPTORS } from './settings';

describe('setting descriptors', () => {
  it('describe every operation setting exactly once', () => {
    const described = [...SCHEDULE_SETTINGS, ...RETENTION_SETTINGS].map((d) => d.key);
    expect(new Set(described).size).toBe(described.length);
    expect([...described].sort()).toEqual(Object.keys(OPERATION_SETTING_DEFAULTS).sort());
    expect(SETTING_DESCRIPTORS.size).toBe(described.length);
  });

  it.each(RETENTION_SETTINGS.map((d) => [d.key, d] as const))(
    '%s: a whole-number range that holds its default, said in its hint',
    (_key, d) => {
      expect(d.kind).toBe('number');
      expect(Number.isInteger(d.min) && Number.isInteger(d.max) && d.min! < d.max!).toBe(true);
      expect(d.default).toBeGreaterThanOrEqual(d.min!);
      expect(d.default).toBeLessThanOrEqual(d.max!);
      expect(d.hint).toMatch(d.min === 0 ? /^0 keeps/ : new RegExp(`^${d.min} to `));
    },
  );

  it('give schedules their cron default', () => {
    for (const d of SCHEDULE_SETTINGS) expect([d.kind, d.default]).toEqual(['cron', OPERATION_SETTING_DEFAULTS[d.key]]);
  });
});
