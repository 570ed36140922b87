import type Database from 'better-sqlite3';
import { prepared } from '../statements';

/** What the server knows of one workstation file (`workstation_files`): its identity, counter and last visit. */
export interface WorkstationFileRecord {
  fileId: string;
  counter: number;
  syncId: string | null;
  host: string | null;
  user: string | null;
  retired: string[];
  lastSeenAt: string;
}

export interface WorkstationCopyRecord {
  clientId: string;
  newClientId: string;
  reason: string;
  user: string;
  originalHost: string | null;
  copyHost: string | null;
  detectedAt: string;
}

/** A copy noticed, as stored (every column; for the alert). */
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

export interface WorkstationClock {
  clientId: string;
  user: string | null;
  skewMs: number;
  measuredAt: string;
}

/**
 * The workstations as hub.db records them: each file's identity (so copies and rolled-back files
 * are noticed), the copies found, and each workstation's clock offset.
 */
export interface WorkstationsRepository {
  file(clientId: string): WorkstationFileRecord | null;
  saveFile(clientId: string, rec: WorkstationFileRecord): void;
  recordCopy(c: WorkstationCopyRecord): void;
  /** The copies noticed at or after `since`, oldest first. */
  copiesSince(since: string): WorkstationCopy[];
  saveClock(clientId: string, user: string | null, skewMs: number, measuredAt: string): void;
  clocks(): WorkstationClock[];
}

export class SqliteWorkstationsRepository implements WorkstationsRepository {
  constructor(private readonly db: () => Database.Database) {}

  file(clientId: string): WorkstationFileRecord | null {
    const r = prepared(this.db(), 'SELECT * FROM workstation_files WHERE client_id = ?').get(clientId) as
      | {
          file_id: string;
          counter: number;
          sync_id: string | null;
          host: string | null;
          user: string | null;
          retired_file_ids: string;
          last_seen_at: string;
        }
      | undefined;
    if (!r) return null;
    return {
      fileId: r.file_id,
      counter: r.counter,
      syncId: r.sync_id,
      host: r.host,
      user: r.user,
      retired: JSON.parse(r.retired_file_ids) as string[],
      lastSeenAt: r.last_seen_at,
    };
  }

  saveFile(clientId: string, rec: WorkstationFileRecord): void {
    prepared(
      this.db(),
      `INSERT INTO workstation_files (client_id, file_id, counter, sync_id, host, user, retired_file_ids, first_seen_at, last_seen_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(client_id) DO UPDATE SET file_id = excluded.file_id, counter = excluded.counter, sync_id = excluded.sync_id,
         host = excluded.host, user = excluded.user, retired_file_ids = excluded.retired_file_ids, last_seen_at = excluded.last_seen_at`,
    ).run(clientId, rec.fileId, rec.counter, rec.syncId, rec.host, rec.user, JSON.stringify(rec.retired), rec.lastSeenAt, rec.lastSeenAt);
  }

  recordCopy(c: WorkstationCopyRecord): void {
    prepared(
      this.db(),
      `INSERT INTO workstation_copies (client_id, new_client_id, reason, user, original_host, copy_host, detected_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(c.clientId, c.newClientId, c.reason, c.user, c.originalHost, c.copyHost, c.detectedAt);
  }

  copiesSince(since: string): WorkstationCopy[] {
    return prepared(this.db(), 'SELECT * FROM workstation_copies WHERE detected_at >= ? ORDER BY id').all(since) as WorkstationCopy[];
  }

  saveClock(clientId: string, user: string | null, skewMs: number, measuredAt: string): void {
    prepared(
      this.db(),
      `INSERT INTO workstation_clocks (client_id, user, skew_ms, measured_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(client_id) DO UPDATE SET user = coalesce(excluded.user, user), skew_ms = excluded.skew_ms, measured_at = excluded.measured_at`,
    ).run(clientId, user, skewMs, measuredAt);
  }

  clocks(): WorkstationClock[] {
    return (
      prepared(this.db(), 'SELECT client_id, user, skew_ms, measured_at FROM workstation_clocks ORDER BY client_id').all() as {
        client_id: string;
        user: string | null;
        skew_ms: number;
        measured_at: string;
      }[]
    ).map((r) => ({ clientId: r.client_id, user: r.user, skewMs: r.skew_ms, measuredAt: r.measured_at }));
  }
}
