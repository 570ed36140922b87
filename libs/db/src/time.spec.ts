// Backup names are in the server's local time (the guide's PowerShell `Get-Date -Format`); this
// project's jest config runs in America/Toronto, so the clock changes are real here.

import { fileStamp, localDate, parseFileStamp, parseSqlTime, sqlTime } from './time';

describe('backup naming and stored times', () => {
  test.each<[string, Date, string]>([
    ['a plain afternoon', new Date(2026, 11, 3, 14, 5, 9), '2026-12-03_140509'],
    ['just after midnight', new Date(2026, 11, 3, 0, 0, 1), '2026-12-03_000001'],
    ['New Year', new Date(2027, 0, 1, 2, 0, 0), '2027-01-01_020000'],
    ['the skipped hour of the spring change comes out as 03:00', new Date(2027, 2, 14, 2, 30, 0), '2027-03-14_033000'],
  ])('fileStamp: %s', (_name, at, expected) => {
    expect(fileStamp(at)).toBe(expected);
  });

  it('names by the local date, not the UTC one (02:00 UTC is still yesterday in Toronto)', () => {
    expect(localDate(new Date('2026-12-04T02:00:00Z'))).toBe('2026-12-03');
    expect(fileStamp(new Date('2026-12-04T02:00:00Z'))).toBe('2026-12-03_210000');
  });

  test.each<[string, string | null]>([
    ['2026-12-03_140509', '2026-12-03_140509'],
    ['2026-12-03', '2026-12-03_000000'],
    ['2026-02-30_000000', null],
    ['2026-13-01', null],
    ['2026-12-03_1405', null],
    ['server_2026-12-03_140509', null],
  ])('parseFileStamp(%s) reads its own stamps back, and nothing else', (stamp, expected) => {
    const parsed = parseFileStamp(stamp);
    expect(parsed === null ? null : fileStamp(parsed)).toBe(expected);
  });

  test.each<[string, string]>([
    ['2026-12-03 14:05:09.123', '2026-12-03T14:05:09.123Z'],
    ['2026-12-03T14:05:09Z', '2026-12-03T14:05:09.000Z'],
    ['2026-12-03T09:05:09-05:00', '2026-12-03T14:05:09.000Z'],
  ])('parseSqlTime(%s) is UTC unless it says otherwise', (stored, iso) => {
    expect(parseSqlTime(stored).toISOString()).toBe(iso);
  });

  it('stores times as SQLite text that sorts as time does', () => {
    const a = new Date('2026-12-03T09:59:59.999Z');
    const b = new Date('2026-12-03T10:00:00.000Z');
    expect([sqlTime(a), sqlTime(b)]).toEqual(['2026-12-03 09:59:59.999', '2026-12-03 10:00:00.000']);
    expect(sqlTime(a) < sqlTime(b)).toBe(true);
    expect(parseSqlTime(sqlTime(a)).getTime()).toBe(a.getTime());
  });
});
