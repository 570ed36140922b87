import type Database from 'better-sqlite3';
import { prepared } from '../statements';

/** Rows and bytes (pages of the table, `dbstat` aggregated) of one table. */
export interface TableSize {
  table: string;
  rows: number;
  bytes: number;
}

/** One sample of one database file (hub.db's `size_samples`). */
export interface SizeSample {
  takenAt: string;
  file: string;
  bytes: number;
  walBytes: number;
  pageSize: number;
  pageCount: number;
  freelistCount: number;
  tables: TableSize[];
}

/** A sample as stored: its table sizes are decoded only when asked for (a report needs the last one's). */
export type StoredSizeSample = Omit<SizeSample, 'tables'> & { tables(): TableSize[] };

/** The growth history: samples of each database file, kept in hub.db. */
export interface GrowthRepository {
  /** When the newest sample was taken, or null before any. */
  lastSampleAt(): string | null;
  record(sample: SizeSample): void;
  /** Samples taken at or after `since`, by file, then oldest first (each one's tables read on demand). */
  samplesSince(since: string): StoredSizeSample[];
}

/** What one open database file measures: pages and the size of each table. */
export interface DatabaseSizeRepository {
  measure(): Pick<SizeSample, 'pageSize' | 'pageCount' | 'freelistCount' | 'tables'>;
}

/** A `size_samples` row as stored (hub.db). */
export interface SizeSampleRow {
  id?: number;
  taken_at: string;
  file: string;
  bytes: number;
  wal_bytes: number;
  page_size: number;
  page_count: number;
  freelist_count: number;
  tables: string;
}

export class SqliteGrowthRepository implements GrowthRepository {
  constructor(private readonly db: () => Database.Database) {}

  lastSampleAt(): string | null {
    return (prepared(this.db(), 'SELECT MAX(taken_at) AS last FROM size_samples').get() as { last: string | null }).last;
  }

  record(s: SizeSample): void {
    prepared(
      this.db(),
      `INSERT INTO size_samples (taken_at, file, bytes, wal_bytes, page_size, page_count, freelist_count, tables) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(s.takenAt, s.file, s.bytes, s.walBytes, s.pageSize, s.pageCount, s.freelistCount, JSON.stringify(s.tables));
  }

  samplesSince(since: string): StoredSizeSample[] {
    const rows = prepared(this.db(), 'SELECT * FROM size_samples WHERE taken_at >= ? ORDER BY file, taken_at').all(
      since,
    ) as SizeSampleRow[];
    return rows.map((r) => ({
      takenAt: r.taken_at,
      file: r.file,
      bytes: r.bytes,
      walBytes: r.wal_bytes,
      pageSize: r.page_size,
      pageCount: r.page_count,
      freelistCount: r.freelist_count,
      tables: () => JSON.parse(r.tables) as TableSize[],
    }));
  }
}

export class SqliteDatabaseSizeRepository implements DatabaseSizeRepository {
  constructor(private readonly db: () => Database.Database) {}

  measure(): Pick<SizeSample, 'pageSize' | 'pageCount' | 'freelistCount' | 'tables'> {
    const db = this.db();
    return {
      pageSize: db.pragma('page_size', { simple: true }) as number,
      pageCount: db.pragma('page_count', { simple: true }) as number,
      freelistCount: db.pragma('freelist_count', { simple: true }) as number,
      tables: tableSizes(db),
    };
  }
}

function tableSizes(db: Database.Database): TableSize[] {
  const tables = (
    prepared(db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as {
      name: string;
    }[]
  ).map((r) => r.name);
  const bytes = new Map(
    (prepared(db, 'SELECT name, pgsize FROM dbstat WHERE aggregate = TRUE').all() as { name: string; pgsize: number }[]).map((r) => [
      r.name,
      r.pgsize,
    ]),
  );
  return tables.map((t) => ({
    table: t,
    rows: (prepared(db, `SELECT COUNT(*) AS n FROM "${t.replace(/"/g, '""')}"`).get() as { n: number }).n,
    bytes: bytes.get(t) ?? 0,
  }));
}
