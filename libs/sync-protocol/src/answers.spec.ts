import { PullAnswer, pulledChangeProblem } from './answers';

const ok = {
  table: 'components',
  id: 'c1',
  seq: 3,
  deleted: false,
  values: { id: 'c1', name: 'Pump', unitCost: 1.5, active: true, notes: null },
};

/** The page PullAnswer checks, around one change. */
const page = (change: unknown) => ({ generation: 'g', changes: [change], cursor: 0, until: 3, hasMore: false });

describe('pulledChangeProblem keeps step with PullAnswer', () => {
  test.each<[string, unknown]>([
    ['a plain change', ok],
    ['a deleted row', { ...ok, deleted: true }],
    ['tagged legacy values', { ...ok, values: { big: { $int: '9007199254740993' }, raw: { $blob: 'AAEC' } } }],
    ['no values at all', { ...ok, values: {} }],
    ['not an object', 'c1'],
    ['null', null],
    ['an array', [ok]],
    ['a table that is a number', { ...ok, table: 7 }],
    ['no id', { table: 'components', seq: 3, deleted: false, values: {} }],
    ['a seq as text', { ...ok, seq: '3' }],
    ['deleted as 0', { ...ok, deleted: 0 }],
    ['values as an array', { ...ok, values: ['x'] }],
    ['a nested object value', { ...ok, values: { name: { first: 'x' } } }],
    ['an array value', { ...ok, values: { name: ['x'] } }],
    ['a tag that is not text', { ...ok, values: { big: { $int: 5 } } }],
    ['an unknown tag', { ...ok, values: { big: { $date: '2026' } } }],
    ['two tags at once', { ...ok, values: { big: { $int: '1', $blob: 'AA' } } }],
  ])('%s: both agree', (_name, change) => {
    const byHand = pulledChangeProblem(change) === null;
    expect(byHand).toBe(PullAnswer.safeParse(page(change)).success);
  });

  it('names the column that is wrong', () => {
    expect(pulledChangeProblem({ ...ok, values: { name: { first: 'x' } } })).toMatch(/^values\.name: /);
  });
});
