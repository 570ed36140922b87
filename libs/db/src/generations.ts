import type Database from 'better-sqlite3';
import { sqlTime } from './time';

/**
 * The lineage of the master's generations (hub.db `generations`): each restore starts a generation
 * whose history is its parent's up to `restored_seq` (the restored backup's last change), then its
 * own changes. Sequence numbers only grow across generations, so a version number belongs to one
 * generation's own changes.
 */
export function recordGeneration(hub: Database.Database, generation: string, parent: string | null, restoredSeq: number | null): void {
  hub
    .prepare(`INSERT OR IGNORE INTO generations (generation, parent, restored_seq, created_at) VALUES (?, ?, ?, ?)`)
    .run(generation, parent, restoredSeq, sqlTime());
}

/** A generation and its ancestors, each with how far the generation's history agrees with it (Infinity for itself). */
function ancestry(hub: Database.Database, generation: string): Map<string, number> {
  const get = hub.prepare('SELECT parent, restored_seq FROM generations WHERE generation = ?');
  const out = new Map<string, number>();
  let limit = Number.POSITIVE_INFINITY;
  for (let g: string | null = generation; g !== null && !out.has(g);) {
    out.set(g, limit);
    const row = get.get(g) as { parent: string | null; restored_seq: number | null } | undefined;
    if (!row || row.parent === null) break;
    limit = Math.min(limit, row.restored_seq ?? 0);
    g = row.parent;
  }
  return out;
}

/**
 * The last change that the history of generation `from` (a workstation's) shares with that of
 * `current` (the master's): through their nearest common ancestor, the least of the cut points on
 * either way. Everything the workstation holds above it, the master may lack. Null when the
 * lineage does not join them (a generation from before lineages were kept).
 */
export function commonHistory(hub: Database.Database, from: string, current: string): number | null {
  if (from === current) return Number.POSITIVE_INFINITY;
  const mine = ancestry(hub, from);
  for (const [g, limit] of ancestry(hub, current)) {
    const other = mine.get(g);
    if (other !== undefined) return Math.min(other, limit);
  }
  return null;
}
