import { sameValue, type StoredValue } from './row-values';

/** How a value a give-back already wrote relates to the history of the lost version now given back. */
export type GivenRelation =
  /** The value given earlier is part of this version's history: the higher version is the later one. */
  | 'in-my-history'
  /** This version is part of the earlier give-back's history: that one is later. */
  | 'after-me'
  /** Two branches of history (restores of one old backup, each with work of its own): neither saw the other. */
  | 'parallel'
  /** The lineage cannot tell (a generation from before lineages were kept): the higher version is taken as later. */
  | 'unknown';

/** One column of a row a workstation gives back after a restore, as the server sees it. */
export interface GiveBackColumn {
  /** The column as the workstation last synced it: a version the restore lost. */
  lost: StoredValue;
  /** The master's value now. */
  master: StoredValue;
  /** The value the shared history left (undefined when it had no such row, or the server cannot tell). */
  restored: StoredValue | undefined;
  /** Someone wrote the column after the histories parted (its version is above the shared point). */
  changedSinceRestore: boolean;
  /** When that write was itself a give-back: the lost version it came from and how it relates to this one. */
  given?: { version: number; relation: GivenRelation };
  /** When the lost value and the master's were written (server times), for two branches of history. */
  lostTime: string;
  masterTime: string;
}

export type GiveBackVerdict = 'skip' | 'apply' | 'conflict' | 'conflict-apply';

/**
 * Whether a lost version of one column goes back into the master. The restore took the master back
 * to an older state; every workstation that synced after it holds versions of rows the master lost,
 * and gives them back. Judged column by column, never by the row's time alone:
 * - the master already holds the value, or the lost version did not change it (it equals what the
 *   shared history left): nothing to give back;
 * - nobody wrote the column since the histories parted: the lost value goes back;
 * - only other give-backs wrote it: within one line of history the later version wins (both are
 *   copies of it); from two branches (one old backup restored twice, with work in between), neither
 *   saw the other: a conflict, the later edit kept and the other recorded;
 * - someone edited it since the restore: their edit is later in real time than anything the restore
 *   lost, so it stays, and the lost value is recorded as a conflict's losing version, never dropped.
 */
export function judgeGiveBack(c: GiveBackColumn, lostVersion: number): GiveBackVerdict {
  if (sameValue(c.lost, c.master)) return 'skip';
  if (c.restored !== undefined && sameValue(c.lost, c.restored)) return 'skip';
  if (!c.changedSinceRestore) return 'apply';
  if (c.given) {
    switch (c.given.relation) {
      case 'in-my-history':
      case 'unknown':
        return lostVersion > c.given.version ? 'apply' : 'skip';
      case 'after-me':
        return 'skip';
      case 'parallel':
        return c.lostTime > c.masterTime ? 'conflict-apply' : 'conflict';
    }
  }
  return 'conflict';
}
