import { PushChange } from '@cacpq/sync-protocol';
import { parsePush } from './push-validation';

const base = { protocolVersion: 1, clientId: 'ws', batchId: 'b', generation: 'g', clientTime: '2026-11-24T10:00:00Z' };
const good = {
  table: 'components',
  op: 'upsert',
  id: 'c1',
  baseVersion: 0,
  updatedAt: '2026-11-24T10:00:00Z',
  values: { name: 'x', listPrice: 1.5, active: true, notes: null },
  changed: ['name'],
};

describe('parsePush (fast path agrees with the contract)', () => {
  test.each([
    ['a good change', good],
    ['a delete', { table: 'components', op: 'delete', id: 'c1', baseVersion: 3, updatedAt: '2026-11-24T10:00:00Z' }],
    ['an unknown key', { ...good, colour: 'red' }],
    ['a negative base version', { ...good, baseVersion: -1 }],
    ['a fractional base version', { ...good, baseVersion: 1.5 }],
    ['a missing id', { ...good, id: undefined }],
    ['an empty id', { ...good, id: '' }],
    ['an id that is too long', { ...good, id: 'x'.repeat(65) }],
    ['a bad op', { ...good, op: 'merge' }],
    ['an object value', { ...good, values: { name: { a: 1 } } }],
    ['an array as values', { ...good, values: [] }],
    ['a non-finite number', { ...good, values: { listPrice: Number.NaN } }],
    ['changed not a list', { ...good, changed: 'name' }],
    ['a short updatedAt', { ...good, updatedAt: '2026' }],
    ['restore not boolean', { ...good, restore: 'yes' }],
    ['base values', { ...good, base: { name: 'before', listPrice: 1 } }],
    ['an object in base', { ...good, base: { name: { a: 1 } } }],
    ['null', null],
    ['a string', 'components'],
  ])('%s: accepted exactly when the contract accepts it', (_label, change) => {
    const contract = PushChange.safeParse(change).success;
    const run = () => parsePush({ ...base, changes: [change] });
    if (contract) expect(run()).toMatchObject({ changes: [change] });
    else expect(run).toThrow(/^Invalid request body: .*/);
  });

  it('names the failing change in the sentence', () => {
    expect(() => parsePush({ ...base, changes: [good, { ...good, id: undefined }] })).toThrow(
      'Invalid request body: changes.1.id is required.',
    );
  });
});
