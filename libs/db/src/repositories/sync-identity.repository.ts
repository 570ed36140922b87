import type Database from 'better-sqlite3';
import { prepared } from '../statements';

// ============================================================================================
// Reads for monitoring and alerts. The sync path (workstation identity) writes these tables.
// ============================================================================================

/** A copy of a workstation's file noticed syncing from another PC (hub.db's `workstation_copies`; every column). */
export interface WorkstationCopy {
  client_id: string;
  new_client_id: string;
  reason: string;
  user: string | null;
  original_host: string | null;
  copy_host: string | null;
  detected_at: string;
  [column: string]: unknown;
}

export interface SyncIdentityRepository {
  /** The copies noticed at or after `since`, oldest first, with every column as stored. */
  copiesSince(since: string): WorkstationCopy[];
}

export class SqliteSyncIdentityRepository implements SyncIdentityRepository {
  constructor(private readonly db: () => Database.Database) {}

  copiesSince(since: string): WorkstationCopy[] {
    return prepared(this.db(), 'SELECT * FROM workstation_copies WHERE detected_at >= ? ORDER BY id').all(since) as WorkstationCopy[];
  }
}
