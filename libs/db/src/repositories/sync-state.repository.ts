import type Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { prepared } from '../statements';

/** Keys of server.db's `sync_state`. */
export type SyncStateKey = 'last_seq' | 'generation' | 'purged_seq' | 'restored_seq' | 'restore_floor' | (string & {});

/**
 * The master's sequence and generation, and the other counters of `sync_state`: the one place
 * that reads and writes that table. `last_seq` is the version of the last change (pull cursors
 * count up to it); `generation` names the master's history (a restore starts a new one).
 */
export interface SyncStateRepository {
  get(key: SyncStateKey): string | null;
  set(key: SyncStateKey, value: string): void;
  lastSeq(): number;
  setLastSeq(seq: number): void;
  /** The generation, or null in a file that has none yet. */
  generation(): string | null;
  /** The generation, made (random) when the file has none: a new master, or one restored by hand. */
  ensureGeneration(): string;
  /** Every key, for a backup's summary. */
  all(): Record<string, string>;
}

/** `sync_state` of one open server.db handle (statements prepared once per handle). */
export function syncState(db: Database.Database): SyncStateRepository {
  const get = (key: string) =>
    (prepared(db, 'SELECT value FROM sync_state WHERE key = ?').get(key) as { value: string } | undefined)?.value ?? null;
  const set = (key: string, value: string) =>
    void prepared(db, 'INSERT INTO sync_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(
      key,
      value,
    );
  return {
    get,
    set,
    lastSeq: () => Number(get('last_seq') ?? 0),
    setLastSeq: (seq) => set('last_seq', String(seq)),
    generation: () => get('generation'),
    ensureGeneration: () => {
      prepared(db, `INSERT OR IGNORE INTO sync_state (key, value) VALUES ('generation', ?)`).run(randomUUID());
      return get('generation')!;
    },
    all: () =>
      Object.fromEntries(
        (prepared(db, 'SELECT key, value FROM sync_state').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]),
      ),
  };
}
