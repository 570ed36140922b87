import { bytes, duration, table } from './format';

describe('table', () => {
  it('pads columns to the widest cell', () => {
    expect(
      table([
        { name: 'alice', n: 3 },
        { name: 'bo', n: 1200 },
      ]),
    ).toBe('name   n\n-----  ----\nalice  3\nbo     1200');
  });
  it('says (none) for no rows', () => {
    expect(table([])).toBe('(none)');
  });
});

describe('bytes and duration', () => {
  it('reads like a person would write them', () => {
    expect([bytes(512), bytes(4096), bytes(12.34 * 1024 * 1024), bytes(1.2 * 1024 ** 3)]).toEqual([
      '512 B',
      '4.0 KB',
      '12.3 MB',
      '1.20 GB',
    ]);
    expect([duration(850), duration(12_440), duration(185_000)]).toEqual(['850 ms', '12.4 s', '3 min 05 s']);
  });
});
