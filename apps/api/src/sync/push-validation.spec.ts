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
    ['a BLOB, tagged', { ...good, values: { name: 'x', notes: { $blob: 'AAH/' } } }],
    ['an integer beyond 2^53, tagged', { ...good, base: { leadTimeDays: { $int: '9223372036854775807' } } }],
    ['a tag that is not one', { ...good, values: { name: { $int: 'twelve' } } }],
  ])('%s: accepted exactly when the contract accepts it', (_label, change) => {
    const contract = PushChange.safeParse(change).success;
    const parsed = parsePush({ ...base, changes: [change] });
    expect(parsed.request.changes).toEqual([change]);
    if (contract) expect(parsed.invalid.size).toBe(0);
    else expect(parsed.invalid.get(0)).toMatch(/^Invalid request body: .*changes\.0.*\.$/);
  });

  it('lists each change of the wrong shape with its sentence, and leaves the others to be judged', () => {
    const parsed = parsePush({ ...base, changes: [good, { ...good, id: undefined }, good, { ...good, op: 'merge' }] });
    expect([...parsed.invalid.keys()]).toEqual([1, 3]);
    expect(parsed.invalid.get(1)).toBe('Invalid request body: changes.1.id is required.');
  });

  it('refuses a bad envelope as a whole', () => {
    expect(() => parsePush({ ...base, protocolVersion: 2, changes: [good] })).toThrow(/^Invalid request body: protocolVersion/);
    expect(() => parsePush({ ...base, changes: 'all of them' })).toThrow(/^Invalid request body: changes/);
  });
});
