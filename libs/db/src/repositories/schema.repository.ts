import type Database from 'better-sqlite3';
import type { LearnedSchema, SchemaExclusion } from '../schema/learned-schema';
import { prepared } from '../statements';

export interface SchemaVersionRecord {
  version: number;
  recordedAt: string;
  recordedBy: string;
  /** What changed, one sentence per line. */
  change: string;
  schema: LearnedSchema;
}

export interface SchemaAheadRecord {
  clientId: string;
  user: string;
  table: string;
  column: string | null;
  firstSeen: string;
  lastSeen: string;
}

/** The learned schema's versions and the admins' exclusions (server.db). */
export interface SchemaRepository {
  latest(): SchemaVersionRecord | null;
  record(entry: Omit<SchemaVersionRecord, 'version'>): number;
  history(limit: number): Omit<SchemaVersionRecord, 'schema'>[];
  exclusions(): (SchemaExclusion & { excludedAt: string; excludedBy: string })[];
  exclude(e: SchemaExclusion, at: string, by: string): boolean;
  include(e: SchemaExclusion): boolean;
  /** Rows of one app table (for the schema page). */
  rowCount(table: string): number;
}

export class SqliteSchemaRepository implements SchemaRepository {
  constructor(private readonly db: () => Database.Database) {}

  latest(): SchemaVersionRecord | null {
    const row = prepared(
      this.db(),
      `SELECT version, recorded_at, recorded_by, change, schema_json FROM sync_schema_versions ORDER BY version DESC LIMIT 1`,
    ).get() as { version: number; recorded_at: string; recorded_by: string; change: string; schema_json: string } | undefined;
    if (!row) return null;
    return {
      version: row.version,
      recordedAt: row.recorded_at,
      recordedBy: row.recorded_by,
      change: row.change,
      schema: JSON.parse(row.schema_json) as LearnedSchema,
    };
  }

  record(entry: Omit<SchemaVersionRecord, 'version'>): number {
    const db = this.db();
    const { v } = prepared(db, `SELECT COALESCE(MAX(version), 0) + 1 AS v FROM sync_schema_versions`).get() as { v: number };
    prepared(db, `INSERT INTO sync_schema_versions (version, recorded_at, recorded_by, change, schema_json) VALUES (?, ?, ?, ?, ?)`).run(
      v,
      entry.recordedAt,
      entry.recordedBy,
      entry.change,
      JSON.stringify(entry.schema),
    );
    return v;
  }

  history(limit: number): Omit<SchemaVersionRecord, 'schema'>[] {
    return (
      prepared(this.db(), `SELECT version, recorded_at, recorded_by, change FROM sync_schema_versions ORDER BY version DESC LIMIT ?`).all(
        limit,
      ) as { version: number; recorded_at: string; recorded_by: string; change: string }[]
    ).map((r) => ({ version: r.version, recordedAt: r.recorded_at, recordedBy: r.recorded_by, change: r.change }));
  }

  exclusions(): (SchemaExclusion & { excludedAt: string; excludedBy: string })[] {
    return (
      prepared(
        this.db(),
        `SELECT table_name, column_name, excluded_at, excluded_by FROM sync_schema_exclusions ORDER BY table_name, column_name`,
      ).all() as { table_name: string; column_name: string; excluded_at: string; excluded_by: string }[]
    ).map((r) => ({
      table: r.table_name,
      column: r.column_name === '' ? null : r.column_name,
      excludedAt: r.excluded_at,
      excludedBy: r.excluded_by,
    }));
  }

  exclude(e: SchemaExclusion, at: string, by: string): boolean {
    const r = prepared(
      this.db(),
      `INSERT INTO sync_schema_exclusions (table_name, column_name, excluded_at, excluded_by) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ).run(e.table, e.column ?? '', at, by);
    return r.changes > 0;
  }

  include(e: SchemaExclusion): boolean {
    return (
      prepared(this.db(), `DELETE FROM sync_schema_exclusions WHERE table_name = ? AND column_name = ?`).run(e.table, e.column ?? '')
        .changes > 0
    );
  }

  rowCount(table: string): number {
    return (prepared(this.db(), `SELECT COUNT(*) AS n FROM "${table.replace(/"/g, '""')}"`).get() as { n: number }).n;
  }
}

/** What workstations pushed ahead of the master's schema (hub.db, beside the refused changes). */
export interface SchemaAheadRepository {
  /** A workstation pushed a table (column null) or a column the master lacks. */
  noteAhead(clientId: string, user: string, table: string, column: string | null, at: string): void;
  /** What workstations pushed ahead of the master since `since`. */
  aheadSince(since: string): SchemaAheadRecord[];
}

export class SqliteSchemaAheadRepository implements SchemaAheadRepository {
  constructor(private readonly db: () => Database.Database) {}

  noteAhead(clientId: string, user: string, table: string, column: string | null, at: string): void {
    prepared(
      this.db(),
      `INSERT INTO schema_ahead (client_id, table_name, column_name, user, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET last_seen = excluded.last_seen, user = excluded.user`,
    ).run(clientId, table, column ?? '', user, at, at);
  }

  aheadSince(since: string): SchemaAheadRecord[] {
    return (
      prepared(
        this.db(),
        `SELECT client_id, table_name, column_name, user, first_seen, last_seen FROM schema_ahead WHERE last_seen >= ? ORDER BY client_id, table_name, column_name`,
      ).all(since) as { client_id: string; table_name: string; column_name: string; user: string; first_seen: string; last_seen: string }[]
    ).map((r) => ({
      clientId: r.client_id,
      user: r.user,
      table: r.table_name,
      column: r.column_name === '' ? null : r.column_name,
      firstSeen: r.first_seen,
      lastSeen: r.last_seen,
    }));
  }
}
