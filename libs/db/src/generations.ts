import type Database from 'better-sqlite3';
import { sqlTime } from './time';

/**
 * The lineage of the master's generations (hub.db `generations`): each restore starts a generation
 * whose history is its parent's up to `restored_seq` (the restored backup's last change), then its
 * own changes. Sequence numbers only grow across generations, so a version number belongs to one
 * generation's own changes.
 */
export function recordGeneration(
  hub: Database.Database,
  generation: string,
  parent: string | null,
  restoredSeq: number | null,
  /** Its own changes get versions above this (the master's last version when it was restored). */
  floorSeq = 0,
): void {
  hub
    .prepare(`INSERT OR IGNORE INTO generations (generation, parent, restored_seq, floor_seq, created_at) VALUES (?, ?, ?, ?, ?)`)
    .run(generation, parent, restoredSeq, floorSeq, sqlTime());
}

/**
 * The generation whose own change a version is: versions only grow, so each generation owns those
 * from its floor up to the next generation's. Null when the lineage does not reach that far back.
 */
export function generationOf(hub: Database.Database, seq: number): string | null {
  return (
    (hub.prepare('SELECT generation FROM generations WHERE floor_seq < ? ORDER BY floor_seq DESC, rowid DESC LIMIT 1').pluck().get(seq) as
      string | undefined) ?? null
  );
}

/**
 * Whether version `seq` is part of the history of generation `generation` (its own changes, or an
 * ancestor's it kept). Null when the lineage cannot tell.
 */
export function historyIncludes(hub: Database.Database, generation: string, seq: number): boolean | null {
  const owner = generationOf(hub, seq);
  if (owner === null) return null;
  const { limits, complete } = ancestry(hub, generation);
  const limit = limits.get(owner);
  if (limit === undefined) return complete ? false : null;
  return seq <= limit;
}

/**
 * A generation and its ancestors, each with how far the generation's history agrees with it
 * (Infinity for itself); `complete` when the chain reaches the first generation recorded (a master
 * restored by hand, outside the server, starts a chain of its own that does not).
 */
function ancestry(hub: Database.Database, generation: string): { limits: Map<string, number>; complete: boolean } {
  const get = hub.prepare('SELECT parent, restored_seq, rowid AS n FROM generations WHERE generation = ?');
  const first = hub.prepare('SELECT MIN(rowid) FROM generations').pluck().get() as number | null;
  const limits = new Map<string, number>();
  let limit = Number.POSITIVE_INFINITY;
  let g: string | null = generation;
  while (g !== null && !limits.has(g)) {
    limits.set(g, limit);
    const row = get.get(g) as { parent: string | null; restored_seq: number | null; n: number } | undefined;
    if (!row) return { limits, complete: false };
    if (row.parent === null) return { limits, complete: row.n === first };
    limit = Math.min(limit, row.restored_seq ?? 0);
    g = row.parent;
  }
  return { limits, complete: false };
}

/**
 * The last change that the history of generation `from` (a workstation's) shares with that of
 * `current` (the master's): through their nearest common ancestor, the least of the cut points on
 * either way. Everything the workstation holds above it, the master may lack. Null when the
 * lineage does not join them (a generation from before lineages were kept).
 */
export function commonHistory(hub: Database.Database, from: string, current: string): number | null {
  if (from === current) return Number.POSITIVE_INFINITY;
  const mine = ancestry(hub, from).limits;
  for (const [g, limit] of ancestry(hub, current).limits) {
    const other = mine.get(g);
    if (other !== undefined) return Math.min(other, limit);
  }
  return null;
}
