import { sameValue, type StoredValue } from './row-values';

/**
 * The heart of the sync: what one pushed change does to the master's row, decided without
 * touching the database. Field-level last-write-wins: a column only the workstation changed is
 * taken; a column both changed goes to the later edit (times already clock-corrected and clamped,
 * see {@link clientTimeOnServer}); a column only the master changed stays. Deletes and edits of
 * deleted rows are never silent: they become conflicts the admin sees.
 */
export interface MergeInput {
  op: 'upsert' | 'delete';
  /** The columns the workstation's edit changed, and every value it sent (as SQLite stores them). */
  changed: string[];
  values: Record<string, StoredValue>;
  /** Each changed column's value before the edit, when the workstation sent them (exact bases). */
  base: Record<string, StoredValue> | null;
  /** The master's version the workstation's row was based on. */
  baseVersion: number;
  /** The edit's time on the server's clock (SQLite text, comparable as strings). */
  time: string;
  /** The master's row as it stands. */
  row: { values: Record<string, StoredValue>; seq: number; deleted: boolean; updatedAt: string };
  /** When each column last changed on the master (version and time), where the master tracks it. */
  fieldSeqs?: Record<string, number | undefined>;
  fieldTimes?: Record<string, string | undefined>;
  /** For a column not tracked there: the version and time the tracking started from; absent: the row's. */
  trackedSince?: { seq: number; time: string };
}

export type MergeDecision =
  /** Nothing to do: the master already has it (a repeated delete, an unchanged value). */
  | { kind: 'unchanged' }
  /** Not concurrent: the row is deleted. */
  | { kind: 'delete' }
  /** Not concurrent: these columns are written (every sent column when a deleted row is made again). */
  | { kind: 'apply'; columns: string[]; recreate: boolean }
  /** A stale edit of a row deleted meanwhile: kept as a conflict the master wins. */
  | { kind: 'edit-of-deleted' }
  /** A delete of a row edited meanwhile: the later of the two wins; a conflict either way. */
  | { kind: 'delete-vs-update'; clientWins: boolean }
  /** Concurrent edits, column by column. */
  | { kind: 'fields'; apply: string[]; clientWon: string[]; serverWon: string[] };

export function merge(m: MergeInput): MergeDecision {
  const { row } = m;
  const concurrent = m.baseVersion < row.seq;
  const colSeq = (c: string) => m.fieldSeqs?.[c] ?? m.trackedSince?.seq ?? row.seq;
  const colTime = (c: string) => m.fieldTimes?.[c] ?? m.trackedSince?.time ?? row.updatedAt;
  /** The master's column is no longer what the workstation's edit started from (exactly). */
  const movedFromBase = (c: string) => m.base !== null && m.base[c] !== undefined && !sameValue(m.base[c], row.values[c]);

  if (!concurrent) {
    if (m.op === 'delete') return row.deleted ? { kind: 'unchanged' } : { kind: 'delete' };
    // The workstation saw the latest version (a re-creation after a delete included) and, when it
    // says what each column held before its edit, the master still holds just that.
    const moved = !row.deleted && m.changed.some((c) => movedFromBase(c) && !sameValue(m.values[c], row.values[c]));
    if (!moved) return { kind: 'apply', columns: row.deleted ? Object.keys(m.values) : m.changed, recreate: row.deleted };
  }

  // The master moved on since the version the workstation saw.
  if (row.deleted && concurrent) return m.op === 'delete' ? { kind: 'unchanged' } : { kind: 'edit-of-deleted' };
  if (m.op === 'delete') return { kind: 'delete-vs-update', clientWins: m.time > row.updatedAt };

  const apply: string[] = [];
  const clientWon: string[] = [];
  const serverWon: string[] = [];
  for (const c of m.changed) {
    if (sameValue(m.values[c], row.values[c])) continue;
    // Someone else changed this column since the workstation's edit was based: by its value when
    // the workstation sent the value it started from, else by the column's version.
    const serverChanged = m.base?.[c] !== undefined ? movedFromBase(c) : colSeq(c) > m.baseVersion;
    if (!serverChanged) {
      apply.push(c);
    } else if (m.time > colTime(c)) {
      apply.push(c);
      clientWon.push(c);
    } else {
      serverWon.push(c);
    }
  }
  return { kind: 'fields', apply, clientWon, serverWon };
}

/**
 * A workstation's edit time on the server's clock: corrected by the offset measured on this
 * request, then clamped to the server's now, so a clock running ahead can never beat a later
 * real edit.
 */
export function clientTimeOnServer(clientTime: Date, skewMs: number, now: Date): Date {
  return new Date(Math.min(clientTime.getTime() - skewMs, now.getTime()));
}
