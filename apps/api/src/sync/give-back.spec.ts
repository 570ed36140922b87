import { judgeGiveBack, type GiveBackColumn } from './give-back';

const col = (over: Partial<GiveBackColumn>): GiveBackColumn => ({
  lost: 'lost',
  master: 'restored',
  restored: 'restored',
  changedSinceRestore: false,
  lostTime: '2026-12-01 10:00:00.000',
  masterTime: '2026-12-01 09:00:00.000',
  ...over,
});

const since = { changedSinceRestore: true, master: 'other' };

describe('judgeGiveBack: a lost version of one column after a restore', () => {
  test.each<[string, Partial<GiveBackColumn>, number, ReturnType<typeof judgeGiveBack>]>([
    ['the master holds it already', { master: 'lost' }, 7, 'skip'],
    [
      'the lost history did not change it, the master did since',
      { lost: 'restored', master: 'later edit', changedSinceRestore: true },
      7,
      'skip',
    ],
    ['only the lost history changed it', {}, 7, 'apply'],
    ['a row the shared history did not have, untouched since', { restored: undefined, master: 'x' }, 7, 'apply'],
    ['an older give-back of the same history wrote it', { ...since, given: { version: 5, relation: 'in-my-history' } }, 7, 'apply'],
    ['a newer give-back of the same history wrote it', { ...since, given: { version: 9, relation: 'in-my-history' } }, 7, 'skip'],
    ['the same lost version was given back', { ...since, given: { version: 7, relation: 'in-my-history' } }, 7, 'skip'],
    ['a give-back whose history holds this version (it is later)', { ...since, given: { version: 5, relation: 'after-me' } }, 7, 'skip'],
    ['a give-back of a parallel branch, older', { ...since, given: { version: 9, relation: 'parallel' } }, 7, 'conflict-apply'],
    [
      'a give-back of a parallel branch, newer',
      { ...since, given: { version: 5, relation: 'parallel' }, masterTime: '2026-12-01 11:00:00.000' },
      7,
      'conflict',
    ],
    ['a give-back of an unknown lineage: the higher version', { ...since, given: { version: 5, relation: 'unknown' } }, 7, 'apply'],
    ['someone edited it since the restore', { master: 'later edit', changedSinceRestore: true }, 7, 'conflict'],
    [
      'a row the shared history did not have, edited since',
      { restored: undefined, master: 'later edit', changedSinceRestore: true },
      7,
      'conflict',
    ],
    ['exact REALs: 0.1 + 0.2 is not 0.3', { lost: 0.1 + 0.2, master: 0.3, restored: 0.3 }, 7, 'apply'],
    ['exact REALs: the same double', { lost: 0.1 + 0.2, master: 0.30000000000000004, restored: 0.3 }, 7, 'skip'],
    [
      'integers beyond 2^53 by their digits',
      { lost: 9007199254740993n, master: 9007199254740992n, restored: 9007199254740992n },
      7,
      'apply',
    ],
    ['BLOBs by their bytes', { lost: Buffer.from([1, 2]), master: Buffer.from([1, 2]), restored: null }, 7, 'skip'],
    ['null is a value like any other', { lost: null, master: 'x', restored: 'x' }, 7, 'apply'],
  ])('%s → %s', (_label, over, lostVersion, verdict) => {
    expect(judgeGiveBack(col(over), lostVersion)).toBe(verdict);
  });
});
