import type { PushChange } from '@cacpq/sync-protocol';
import { prepareChange, prepareChanges } from './prepare-change';
import { RuleError } from './row-values';
import { guideSchema } from '@cacpq/db';
import { loadTableSpecs } from '../schema/table-specs';

// The schema a new master learns: the guide's tables.
loadTableSpecs(guideSchema());

const now = new Date('2026-12-03T12:00:00.000Z');
const upsert = (id: string, values: Record<string, unknown>, extra: Partial<PushChange> = {}): PushChange =>
  ({ table: 'customers', op: 'upsert', id, baseVersion: 0, updatedAt: '2026-12-03T11:00:00.000Z', values, ...extra }) as PushChange;
const batch = (changes: PushChange[], invalid = new Map<number, string>()) =>
  ({ request: { changes }, invalid }) as unknown as Parameters<typeof prepareChanges>[0];

describe('prepareChanges: a batch checked before anything is written', () => {
  test('every refused change is listed with its index, and the others are still prepared', () => {
    const { prepared, refused } = prepareChanges(
      batch(
        [
          upsert('a', { name: 'Acme', type: 'oem' }),
          upsert('b', { name: 'Beta' }),
          upsert('b', { name: 'Beta again' }),
          upsert('c', { name: 'Gamma' }),
        ],
        new Map([[3, 'changes[3]: id is longer than 64 characters.']]),
      ),
      now,
      0,
    );
    expect(prepared.map(([i, p]) => [i, p.change.id])).toEqual([[1, 'b']]);
    expect(refused.map((r) => [r.index, r.error.code, r.error.column])).toEqual([
      [0, 'VALIDATION_FAILED', 'type'],
      [2, 'DUPLICATE_ROW', null],
      [3, 'VALIDATION_FAILED', null],
    ]);
  });

  test("a workstation time is moved by the measured skew and never lands after the server's now", () => {
    const ahead = prepareChanges(batch([upsert('a', { name: 'A' }, { updatedAt: '2026-12-03T12:30:00.000Z' })]), now, 60 * 60_000);
    expect(ahead.prepared[0][1].time).toBe('2026-12-03 11:30:00.000');
    const future = prepareChanges(batch([upsert('a', { name: 'A' }, { updatedAt: '2026-12-04T12:00:00.000Z' })]), now, 0);
    expect(future.prepared[0][1].time).toBe('2026-12-03 12:00:00.000');
  });

  test("a give-back keeps the master's own time (clamped to now), whatever the skew", () => {
    const { prepared } = prepareChanges(
      batch([upsert('a', { name: 'A' }, { restore: true, baseVersion: 7, updatedAt: '2026-12-01T08:00:00.000Z' })]),
      now,
      60 * 60_000,
    );
    expect(prepared[0][1].time).toBe('2026-12-01 08:00:00.000');
  });

  test('a time that is not a date-time is refused for that change only', () => {
    const { prepared, refused } = prepareChanges(
      batch([upsert('a', { name: 'A' }, { updatedAt: 'yesterday' }), upsert('b', { name: 'B' })]),
      now,
      0,
    );
    expect(refused.map((r) => r.index)).toEqual([0]);
    expect(refused[0].error.message).toMatch(/updatedAt must be a date-time/);
    expect(prepared.map(([i]) => i)).toEqual([1]);
  });
});

describe('prepareChange: one change', () => {
  const time = '2026-12-03 11:00:00.000';
  test('only the changed columns meet the rules; an old refused value elsewhere is carried unchecked', () => {
    const p = prepareChange(upsert('a', { name: 'Acme', type: 'oem' }, { changed: ['name'] }), 'changes[0]', time);
    expect(p.changed).toEqual(['name']);
    expect(p.values).toEqual({ name: 'Acme', type: 'oem' });
    expect(p.unchecked.map((e) => e.column)).toEqual(['type']);
  });

  test('an override lets an admin take a refused value after all', () => {
    const p = prepareChange(upsert('a', { name: 'Acme', type: 'oem' }), 'change', time, ['type']);
    expect(p.values.type).toBe('oem');
    expect(p.unchecked).toEqual([]);
  });

  test.each<[string, PushChange, RegExp]>([
    [
      'an upsert without values',
      { table: 'customers', op: 'upsert', id: 'a', baseVersion: 0, updatedAt: '' } as PushChange,
      /needs values/,
    ],
    [
      'a delete with values',
      { table: 'customers', op: 'delete', id: 'a', baseVersion: 1, updatedAt: '', values: { name: 'x' } } as PushChange,
      /carries no values/,
    ],
    ['changed naming a column not sent', upsert('a', { name: 'A' }, { changed: ['city'] }), /changed names "city"/],
    ['an unknown table', { ...upsert('a', { name: 'A' }), table: 'nope' } as PushChange, /nope/],
  ])('%s is refused', (_label, change, message) => {
    expect(() => prepareChange(change, 'changes[0]', time)).toThrow(RuleError);
    expect(() => prepareChange(change, 'changes[0]', time)).toThrow(message);
  });
});
