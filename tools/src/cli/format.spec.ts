import { table } from './format';

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
