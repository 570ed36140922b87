import Database from 'better-sqlite3';
import { commonHistory, generationOf, historyIncludes, recordGeneration } from './generations';

describe('the lineage of generations', () => {
  let hub: Database.Database;
  beforeEach(() => {
    hub = new Database(':memory:');
    hub.exec(
      `CREATE TABLE generations (generation TEXT PRIMARY KEY NOT NULL, parent TEXT, restored_seq INTEGER, floor_seq INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL)`,
    );
    // g0 from version 0; a backup at 10; g0 went on to 20; restored to the backup (g1, own changes from 20 to 30);
    // the same backup restored again (g2, from 30 to 40); then a backup of g2 at 35 restored (g3, from 40).
    recordGeneration(hub, 'g0', null, null, 0);
    recordGeneration(hub, 'g1', 'g0', 10, 20);
    recordGeneration(hub, 'g2', 'g0', 10, 30);
    recordGeneration(hub, 'g3', 'g2', 35, 40);
  });
  afterEach(() => hub.close());

  test.each([
    ['g0', 'g0', Number.POSITIVE_INFINITY],
    ['g0', 'g1', 10],
    ['g1', 'g2', 10],
    ['g2', 'g3', 35],
    ['g1', 'g3', 10],
    ['g3', 'g2', 35],
  ])('a workstation of %s shares with a master of %s its history up to %s', (from, current, shared) => {
    expect(commonHistory(hub, from, current)).toBe(shared);
  });

  test.each<[number, string]>([
    [5, 'g0'],
    [20, 'g0'],
    [25, 'g1'],
    [31, 'g2'],
    [41, 'g3'],
  ])('version %s is a change of %s', (seq, gen) => {
    expect(generationOf(hub, seq)).toBe(gen);
  });

  test.each<[string, number, boolean]>([
    ['g1', 5, true],
    ['g1', 15, false],
    ['g1', 25, true],
    ['g2', 25, false],
    ['g3', 33, true],
    ['g3', 37, false],
    ['g3', 45, true],
  ])('the history of %s holds version %s: %s', (gen, seq, held) => {
    expect(historyIncludes(hub, gen, seq)).toBe(held);
  });

  it('cannot tell for a master restored by hand, outside the lineage', () => {
    recordGeneration(hub, 'by-hand', null, null, 50);
    expect(commonHistory(hub, 'g1', 'by-hand')).toBeNull();
    expect(historyIncludes(hub, 'by-hand', 25)).toBeNull();
    expect(historyIncludes(hub, 'g1', 55)).toBe(false);
  });
});
