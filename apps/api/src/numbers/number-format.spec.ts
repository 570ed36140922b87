import { parseNumberFormat, type NumberFormat } from './number-format';

describe('parseNumberFormat', () => {
  test.each([
    ['Q{YYYY}-{SEQ:4}', 2026, 42, 'Q2026-0042', true],
    ['P{YY}{SEQ:5}', 2026, 7, 'P2600007', true],
    ['MQ-{SEQ}', 2026, 1234, 'MQ-1234', false],
    ['Q{YYYY}-{SEQ:3}', 2026, 12345, 'Q2026-12345', true],
  ])('%s renders year %i sequence %i as %s', (source, year, seq, expected, yearly) => {
    const f = parseNumberFormat(source) as NumberFormat;
    expect(f.render(year, seq)).toBe(expected);
    expect(f.yearly).toBe(yearly);
  });

  test.each([
    ['Q{YYYY}', 'must contain {SEQ} or {SEQ:n} exactly once'],
    ['{SEQ}{SEQ:2}', 'must contain {SEQ} or {SEQ:n} exactly once'],
    ['Q{MM}-{SEQ:4}', 'may only use the placeholders {YYYY}, {YY} and {SEQ:n}'],
    ['Q {SEQ:4}', 'may only contain letters, digits and . _ / - around the placeholders'],
    ['Q'.repeat(36) + '{SEQ}', 'must be 5 to 40 characters long'],
  ])('refuses %s', (source, reason) => {
    expect(parseNumberFormat(source)).toBe(reason);
  });
});
