import { businessMsBetween, insideBusinessHours, parseClock, parseDays, type BusinessHours } from './business-hours';

const OFFICE: BusinessHours = { days: parseDays('1-5'), start: parseClock('08:00'), end: parseClock('18:00'), timeZone: 'America/Toronto' };
const H = 3_600_000;

describe('business hours: the alert rules\u2019 clock', () => {
  test.each<[string, string, number[] | RegExp]>([
    ['a range', '1-5', [1, 2, 3, 4, 5]],
    ['single days and a range', '1,3,6-7', [1, 3, 6, 7]],
    ['spaces around parts', ' 2 , 4 ', [2, 4]],
    ['Sunday alone', '7', [7]],
    ['a day beyond Sunday', '8', /not an ISO weekday/],
    ['day 0', '0-5', /not an ISO weekday/],
    ['an inverted range', '5-1', /inverted range/],
    ['names instead of numbers', 'Mon-Fri', /not an ISO weekday/],
  ])('parseDays: %s', (_name, spec, expected) => {
    if (expected instanceof RegExp) expect(() => parseDays(spec)).toThrow(expected);
    else expect([...parseDays(spec)].sort()).toEqual(expected);
  });

  test.each<[string, number | RegExp]>([
    ['08:00', 480],
    ['00:00', 0],
    ['24:00', 1440],
    ['8:00', /HH:MM/],
    ['0800', /HH:MM/],
  ])('parseClock(%s)', (hhmm, expected) => {
    if (expected instanceof RegExp) expect(() => parseClock(hhmm)).toThrow(expected);
    else expect(parseClock(hhmm)).toBe(expected);
  });

  test.each<[string, string, boolean]>([
    ['Thursday 09:00 in Toronto (14:00 UTC)', '2026-12-03T14:00:00Z', true],
    ['Thursday 07:59 in Toronto', '2026-12-03T12:59:00Z', false],
    ['Thursday 18:00 in Toronto: closed (the end is not inside)', '2026-12-03T23:00:00Z', false],
    ['Saturday noon', '2026-12-05T17:00:00Z', false],
    ['Friday 17:59 in Toronto, Saturday in UTC', '2026-12-04T22:59:00Z', true],
    ['Monday 08:30 after the spring change (EDT, UTC-4)', '2027-03-15T12:30:00Z', true],
  ])('insideBusinessHours: %s', (_name, at, expected) => {
    expect(insideBusinessHours(new Date(at), OFFICE)).toBe(expected);
  });

  test.each<[string, string, string, number]>([
    ['within one day', '2026-12-03T14:00:00Z', '2026-12-03T16:30:00Z', 2.5 * H],
    ['overnight counts nothing', '2026-12-03T23:00:00Z', '2026-12-04T13:00:00Z', 0],
    ['Friday 17:00 to Monday 09:00: two hours', '2026-12-04T22:00:00Z', '2026-12-07T14:00:00Z', 2 * H],
    ['a whole working week', '2026-11-30T05:00:00Z', '2026-12-07T05:00:00Z', 50 * H],
    ['across the fall change, Friday to Monday', '2026-10-30T21:00:00Z', '2026-11-02T14:00:00Z', 2 * H],
    ['to before from: nothing', '2026-12-03T16:00:00Z', '2026-12-03T14:00:00Z', 0],
  ])('businessMsBetween: %s', (_name, from, to, expected) => {
    expect(businessMsBetween(new Date(from), new Date(to), OFFICE)).toBe(expected);
  });

  it('stops counting past the cap (a long silence is judged early)', () => {
    const ms = businessMsBetween(new Date('2026-11-02T13:00:00Z'), new Date('2026-12-03T13:00:00Z'), OFFICE, 3 * H);
    expect(ms).toBeGreaterThan(3 * H);
    expect(ms).toBeLessThanOrEqual(4 * H);
  });
});
