import { sameValue, type StoredValue } from './row-values';

/** One column of a row a workstation gives back after a restore, as the server sees it. */
export interface GiveBackColumn {
  /** The column as the workstation last synced it: a version the restore lost. */
  lost: StoredValue;
  /** The master's value now. */
  master: StoredValue;
  /** The value the restore left (undefined when the restored master had no such row). */
  restored: StoredValue | undefined;
  /** Someone wrote the column after the restore (its version is above the restore's floor). */
  changedSinceRestore: boolean;
  /** When that write was itself a give-back: the lost version it came from. */
  givenFrom: number | undefined;
}

export type GiveBackVerdict = 'skip' | 'apply' | 'conflict';

/**
 * Whether a lost version of one column goes back into the master. The restore took the master back
 * to an older state; every workstation that synced after it holds versions of rows the master lost,
 * and gives them back. Judged column by column, never by the row's time alone:
 * - the master already holds the value, or the lost version did not change it (it equals what the
 *   restore left): nothing to give back;
 * - nobody wrote the column since the restore: the lost value goes back;
 * - only other give-backs wrote it: the newer lost version wins (both are copies of one lost history);
 * - someone edited it since the restore: their edit is later in real time than anything the restore
 *   lost, so it stays, and the lost value is recorded as a conflict's losing version, never dropped.
 */
export function judgeGiveBack(c: GiveBackColumn, lostVersion: number): GiveBackVerdict {
  if (sameValue(c.lost, c.master)) return 'skip';
  if (c.restored !== undefined && sameValue(c.lost, c.restored)) return 'skip';
  if (!c.changedSinceRestore) return 'apply';
  if (c.givenFrom !== undefined) return lostVersion > c.givenFrom ? 'apply' : 'skip';
  return 'conflict';
}
