import {
  formatBytes,
  formatDateTime,
  formatDuration,
  formatPercent,
  formatTime,
  parseServerTime,
  percent,
  plural,
  shortId,
} from './format';

// jest.config.js runs the web tests in America/Toronto (UTC-5 in winter, UTC-4 in summer).

describe('formatDuration', () => {
  it.each([
    [0, '0 s'],
    [45, '45 s'],
    [59.9, '59 s'],
    [60, '1 min'],
    [3599, '59 min'],
    [3600, '1 h 0 min'],
    [3 * 3600 + 12 * 60, '3 h 12 min'],
    [86_400, '1 d 0 h'],
    [2 * 86_400 + 4 * 3600 + 59, '2 d 4 h'],
    [-1, '—'],
    [Number.NaN, '—'],
    [Number.POSITIVE_INFINITY, '—'],
  ])('%p seconds reads "%s"', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [812, '812 B'],
    [1023, '1023 B'],
    [1024, '1.0 KB'],
    [4096, '4.0 KB'],
    [150 * 1024, '150 KB'],
    [12.5 * 1024 * 1024, '12.5 MB'],
    [3 * 1024 ** 3, '3.0 GB'],
    [2048 * 1024 ** 4, '2048 TB'],
    [-5, '—'],
    [Number.NaN, '—'],
  ])('%p bytes reads "%s"', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe('shortId', () => {
  it.each([
    ['3f2a9c1e-77b0-4c1d-9e2f-0a1b2c3d4e5f', undefined, '3f2a9c1e…'],
    ['abcdefgh', undefined, 'abcdefgh'],
    ['abc', undefined, 'abc'],
    ['abcdefgh', 4, 'abcd…'],
  ])('%s (%p) → %s', (id, length, text) => {
    expect(shortId(id, length)).toBe(text);
  });
});

describe('parseServerTime', () => {
  it.each([
    ['2025-11-24 21:57:00.000', '2025-11-24T21:57:00.000Z'],
    ['2025-11-24 21:57:00', '2025-11-24T21:57:00.000Z'],
    ['2025-11-24 21:57', '2025-11-24T21:57:00.000Z'],
    ['2025-11-24T21:57:00Z', '2025-11-24T21:57:00.000Z'],
    ['2025-11-24T16:57:00-05:00', '2025-11-24T21:57:00.000Z'],
  ])('%s is the instant %s (SQLite times are UTC)', (value, iso) => {
    expect(parseServerTime(value).toISOString()).toBe(iso);
  });
});

describe('formatTime', () => {
  it.each([
    ['2025-11-24 21:57:00.000', '16:57'],
    ['2025-07-01 12:05:00', '08:05'],
    ['2025-11-25T04:30:00Z', '23:30'],
    ['not a time', 'not a time'],
  ])('%s shows as %s on the local 24-hour clock', (value, text) => {
    expect(formatTime(value)).toBe(text);
  });
});

describe('formatDateTime', () => {
  it('reads a SQLite UTC time like the same instant in ISO 8601', () => {
    expect(formatDateTime('2025-11-24 21:57:00.000')).toBe(formatDateTime('2025-11-24T21:57:00.000Z'));
    expect(formatDateTime('2025-11-24 21:57:00.000')).not.toBe(formatDateTime('2025-11-24T21:57:00.000-12:00'));
  });

  it('shows the local date and time of day', () => {
    const text = formatDateTime('2025-11-24 21:57:00');
    expect(text).toMatch(/2025/);
    expect(text).toMatch(/4:57|16:57/);
  });

  it('gives back what it cannot read', () => {
    expect(formatDateTime('yesterday')).toBe('yesterday');
  });
});

describe('percent and formatPercent', () => {
  it.each([
    [0, 0, '0%'],
    [0.5, 50, '50%'],
    [0.123, 12, '12%'],
    [0.125, 13, '13%'],
    [1, 100, '100%'],
    [1.5, 100, '100%'],
    [-0.2, 0, '0%'],
    [Number.NaN, 0, '0%'],
  ])('%p → %p, "%s"', (fraction, whole, text) => {
    expect(percent(fraction)).toBe(whole);
    expect(formatPercent(fraction)).toBe(text);
  });
});

describe('plural', () => {
  it.each([
    [1, 'change', undefined, '1 change'],
    [0, 'change', undefined, '0 changes'],
    [1234, 'change', undefined, '1,234 changes'],
    [2, 'entry', 'entries', '2 entries'],
    [1, 'entry', 'entries', '1 entry'],
  ])('plural(%p, %s, %s) is "%s"', (n, one, many, text) => {
    expect(plural(n, one, many)).toBe(text);
  });
});
