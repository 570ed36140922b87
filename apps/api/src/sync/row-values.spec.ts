import { RuleError, TABLE_SPECS, sameValue, toStored, toStoredAsIs } from './row-values';
import { guideSchema } from '@cacpq/db';
import { loadTableSpecs } from '../schema/table-specs';

// The schema a new master learns: the guide's tables.
loadTableSpecs(guideSchema());

const customers = TABLE_SPECS.get('customers')!;
const projects = TABLE_SPECS.get('projects')!;
const components = TABLE_SPECS.get('components')!;

function refusal(run: () => unknown): RuleError {
  try {
    run();
  } catch (err) {
    if (err instanceof RuleError) return err;
    throw err;
  }
  throw new Error('not refused');
}

describe('column rules', () => {
  test.each<[string, () => unknown, string, boolean]>([
    ['a value outside the allowed list', () => toStored(customers, 'type', 'oem', 'w'), 'type', true],
    ['text over its length', () => toStored(customers, 'notes', 'n'.repeat(4001), 'w'), 'notes', true],
    ['a date without a time', () => toStored(projects, 'dueDate', '2026-12-15', 'w'), 'dueDate', true],
    ['a number column given text', () => toStored(components, 'leadTimeDays', '2-3 weeks', 'w'), 'leadTimeDays', false],
    ['binary data', () => toStored(components, 'notes', { $blob: 'AAH/' }, 'w'), 'notes', false],
    ['an integer beyond 2^53', () => toStored(components, 'leadTimeDays', { $int: '9007199254740993' }, 'w'), 'leadTimeDays', false],
  ])('%s is refused with the column named; an admin may take it: %s', (_label, run, column, overridable) => {
    const err = refusal(run);
    expect({ code: err.code, column: err.column, overridable: err.overridable }).toEqual({
      code: 'VALIDATION_FAILED',
      column,
      overridable,
    });
  });

  it('with an override, a rule of the column gives way and the value is stored as sent', () => {
    expect(toStored(customers, 'type', 'oem', 'w', true)).toBe('oem');
    expect(toStored(projects, 'dueDate', '2026-12-15', 'w', true)).toBe('2026-12-15');
    expect(refusal(() => toStored(components, 'leadTimeDays', '2-3 weeks', 'w', true)).overridable).toBe(false);
  });

  it('a value not judged by the rules is stored as it is, exactly, but never a sync column or an unknown one', () => {
    expect(toStoredAsIs(customers, 'type', 'oem', 'w')).toBe('oem');
    expect(toStoredAsIs(components, 'leadTimeDays', { $int: '9223372036854775807' }, 'w')).toBe(9223372036854775807n);
    expect(toStoredAsIs(components, 'notes', { $blob: 'AAH/' }, 'w')).toEqual(Buffer.from([0, 1, 255]));
    expect(refusal(() => toStoredAsIs(customers, 'updated_by', 'x', 'w')).code).toBe('FORBIDDEN_FIELD');
    expect(refusal(() => toStoredAsIs(customers, 'colour', 'x', 'w')).code).toBe('SCHEMA_AHEAD');
  });

  test.each<[unknown, unknown, boolean]>([
    [0.1 + 0.2, 0.3, false],
    [0.1 + 0.2, 0.30000000000000004, true],
    ['a\u0000b', 'a\u0000c', false],
    [9007199254740993n, 9007199254740992, false],
    [9007199254740992n, 9007199254740992, true],
    [Buffer.from('ab'), Buffer.from('ab'), true],
    [Buffer.from('ab'), 'ab', false],
    [null, 0, false],
  ])('sameValue(%p, %p) is %p', (a, b, same) => {
    expect(sameValue(a as never, b as never)).toBe(same);
  });
});
