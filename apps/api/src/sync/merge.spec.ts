import { clientTimeOnServer, merge, type MergeDecision, type MergeInput } from './merge';

const T0 = '2026-11-24 09:00:00.000';
const EARLIER = '2026-11-24 08:00:00.000';
const LATER = '2026-11-24 10:00:00.000';

/** The master's row at version 5, last changed at T0: phone and email as they stand. */
type Case = Partial<Omit<MergeInput, 'row'>> & { row?: Partial<MergeInput['row']> };

function input(over: Case): MergeInput {
  const { row, ...rest } = over;
  return {
    op: 'upsert',
    changed: ['phone'],
    values: { id: 'c1', phone: '222', email: 'a@x' },
    base: null,
    baseVersion: 5,
    time: LATER,
    ...rest,
    row: { values: { id: 'c1', phone: '111', email: 'a@x' }, seq: 5, deleted: false, updatedAt: T0, ...row },
  };
}

describe('merge: what one pushed change does to the master row', () => {
  test.each<[string, Case, MergeDecision]>([
    // Not concurrent: the workstation saw the latest version.
    ['an edit of the latest version is applied', {}, { kind: 'apply', columns: ['phone'], recreate: false }],
    ['a delete of the latest version deletes', { op: 'delete' }, { kind: 'delete' }],
    ['a delete of a row already deleted changes nothing', { op: 'delete', row: { deleted: true } }, { kind: 'unchanged' }],
    [
      'a row made again after a delete it saw writes every column sent',
      { row: { deleted: true } },
      { kind: 'apply', columns: ['id', 'phone', 'email'], recreate: true },
    ],
    [
      'an exact base still matching the master is applied',
      { base: { phone: '111' } },
      { kind: 'apply', columns: ['phone'], recreate: false },
    ],
    [
      'an exact base the master no longer holds is concurrent even at the same version: the later edit wins',
      { base: { phone: '000' } },
      { kind: 'fields', apply: ['phone'], clientWon: ['phone'], serverWon: [] },
    ],
    [
      'an exact base the master no longer holds, with an older edit: the master wins',
      { base: { phone: '000' }, time: EARLIER },
      { kind: 'fields', apply: [], clientWon: [], serverWon: ['phone'] },
    ],
    // Concurrent: the master moved on since version 3.
    [
      'a column only the workstation changed is taken',
      { baseVersion: 3, fieldSeqs: { phone: 2, email: 5 } },
      { kind: 'fields', apply: ['phone'], clientWon: [], serverWon: [] },
    ],
    [
      'a column both changed goes to the later edit (the workstation)',
      { baseVersion: 3, fieldSeqs: { phone: 5 }, fieldTimes: { phone: T0 } },
      { kind: 'fields', apply: ['phone'], clientWon: ['phone'], serverWon: [] },
    ],
    [
      'a column both changed goes to the later edit (the master)',
      { baseVersion: 3, time: EARLIER, fieldSeqs: { phone: 5 }, fieldTimes: { phone: T0 } },
      { kind: 'fields', apply: [], clientWon: [], serverWon: ['phone'] },
    ],
    [
      'equal times: the master keeps its value (a tie never overwrites)',
      { baseVersion: 3, time: T0, fieldSeqs: { phone: 5 }, fieldTimes: { phone: T0 } },
      { kind: 'fields', apply: [], clientWon: [], serverWon: ['phone'] },
    ],
    [
      'a value equal to the master is no change at all',
      { baseVersion: 3, values: { id: 'c1', phone: '111', email: 'a@x' } },
      { kind: 'fields', apply: [], clientWon: [], serverWon: [] },
    ],
    [
      'two columns: one taken, one lost to a later master edit',
      {
        baseVersion: 3,
        time: T0,
        changed: ['phone', 'email'],
        values: { id: 'c1', phone: '222', email: 'b@x' },
        fieldSeqs: { phone: 2, email: 5 },
        fieldTimes: { email: LATER },
      },
      { kind: 'fields', apply: ['phone'], clientWon: [], serverWon: ['email'] },
    ],
    [
      "an untracked column falls back to the tracking's start, not the row's version",
      { baseVersion: 3, trackedSince: { seq: 2, time: EARLIER } },
      { kind: 'fields', apply: ['phone'], clientWon: [], serverWon: [] },
    ],
    [
      'with an exact base, the value decides, not the column version',
      { baseVersion: 3, base: { phone: '111' }, fieldSeqs: { phone: 5 }, fieldTimes: { phone: LATER } },
      { kind: 'fields', apply: ['phone'], clientWon: [], serverWon: [] },
    ],
    // Deletes against edits.
    ['a stale edit of a row deleted meanwhile is a conflict', { baseVersion: 3, row: { deleted: true } }, { kind: 'edit-of-deleted' }],
    [
      'a stale delete of a row deleted meanwhile changes nothing',
      { baseVersion: 3, op: 'delete', row: { deleted: true } },
      { kind: 'unchanged' },
    ],
    ['a later delete of a row edited meanwhile wins', { baseVersion: 3, op: 'delete' }, { kind: 'delete-vs-update', clientWins: true }],
    [
      'an earlier delete of a row edited meanwhile loses',
      { baseVersion: 3, op: 'delete', time: EARLIER },
      { kind: 'delete-vs-update', clientWins: false },
    ],
  ])('%s', (_name, over, expected) => {
    expect(merge(input(over))).toEqual(expected);
  });
});

describe('clientTimeOnServer: clock correction and clamping', () => {
  const now = new Date('2026-11-24T10:00:00Z');
  test.each([
    ['a workstation 5 min behind: its time moves forward by 5 min', '2026-11-24T09:50:00Z', -300_000, '2026-11-24T09:55:00.000Z'],
    ['a workstation 5 min ahead: its time moves back by 5 min', '2026-11-24T09:58:00Z', 300_000, '2026-11-24T09:53:00.000Z'],
    ['a time in the future after correction is clamped to now', '2026-11-25T00:00:00Z', 0, '2026-11-24T10:00:00.000Z'],
    ['a correct clock is left alone', '2026-11-24T09:00:00Z', 0, '2026-11-24T09:00:00.000Z'],
  ])('%s', (_name, client, skew, expected) => {
    expect(clientTimeOnServer(new Date(client), skew, now).toISOString()).toBe(expected);
  });
});
