import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { MasterStore, fileBytes, parseSqlTime, sqlTime } from '@cacpq/db';
import type { GrowthFile, GrowthQuery, GrowthReport } from '@cacpq/sync-protocol';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { LOGGER } from '../common/tokens';

const YEAR_MS = 365.25 * 86_400_000;
/** The guide: "Small team (5 users): ~50-100 MB per year; if growing >500 MB/year: investigate". */
const GUIDE = { normalMbPerYear: [50, 100] as [number, number], investigateAboveMbPerYear: 500 };

interface SampleRow {
  taken_at: string;
  file: string;
  bytes: number;
  wal_bytes: number;
  page_size: number;
  page_count: number;
  freelist_count: number;
  tables: string;
}

/**
 * Growth trends: samples of each database file (size, WAL, pages, free pages, rows and bytes per
 * table from `dbstat`) kept in hub.db, hourly by default (`schedule.sample-growth`), and the report:
 * history, day-over-day change and the projected MB per year against the guide's expectations.
 */
@Injectable()
export class GrowthService implements OnApplicationBootstrap {
  constructor(
    private readonly store: MasterStore,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** A first sample at start when the last one is over an hour old, so the history has no hole from a stop. */
  onApplicationBootstrap(): void {
    const last = this.store.hubDb.prepare('SELECT MAX(taken_at) FROM size_samples').pluck().get() as string | null;
    if (!last || Date.now() - parseSqlTime(last).getTime() > 3_600_000) this.sample();
  }

  /** Records one sample of every file; skipped (and said) while a restore or VACUUM holds the master. */
  sample(now: Date = new Date()): number {
    if (this.store.suspended) {
      this.logger.info({ reason: this.store.suspended }, 'growth sample skipped while the master is held');
      return 0;
    }
    const insert = this.store.hubDb.prepare(
      `INSERT INTO size_samples (taken_at, file, bytes, wal_bytes, page_size, page_count, freelist_count, tables) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const at = sqlTime(now);
    const l = this.store.layout;
    let n = 0;
    for (const [file, path, db] of [
      ['server.db', l.serverDb, this.store.serverDb],
      ['generated_numbers.db', l.numbersDb, this.store.numbersDb],
      ['hub.db', l.hubDb, this.store.hubDb],
    ] as const) {
      insert.run(
        at,
        file,
        fileBytes(path),
        fileBytes(`${path}-wal`),
        db.pragma('page_size', { simple: true }) as number,
        db.pragma('page_count', { simple: true }) as number,
        db.pragma('freelist_count', { simple: true }) as number,
        JSON.stringify(tableStats(db)),
      );
      n++;
    }
    return n;
  }

  report(q: GrowthQuery, now: Date = new Date()): GrowthReport {
    const since = sqlTime(new Date(now.getTime() - q.days * 86_400_000));
    const rows = this.store.hubDb
      .prepare('SELECT * FROM size_samples WHERE taken_at >= ? ORDER BY file, taken_at')
      .all(since) as SampleRow[];
    const byFile = new Map<string, SampleRow[]>();
    for (const r of rows) byFile.set(r.file, [...(byFile.get(r.file) ?? []), r]);
    const files: GrowthFile[] = [...byFile.entries()].map(([file, samples]) => {
      const last = samples[samples.length - 1];
      const total = (s: SampleRow) => s.bytes + s.wal_bytes;
      const lastAt = parseSqlTime(last.taken_at).getTime();
      const dayBefore = [...samples].reverse().find((s) => lastAt - parseSqlTime(s.taken_at).getTime() >= 86_400_000);
      const first = samples[0];
      const span = lastAt - parseSqlTime(first.taken_at).getTime();
      return {
        file,
        samples: samples.map((s) => ({
          at: s.taken_at,
          bytes: s.bytes,
          walBytes: s.wal_bytes,
          pageSize: s.page_size,
          pageCount: s.page_count,
          freelistCount: s.freelist_count,
        })),
        tables: JSON.parse(last.tables) as GrowthFile['tables'],
        dayOverDayPct: dayBefore && total(dayBefore) > 0 ? round(((total(last) - total(dayBefore)) / total(dayBefore)) * 100) : null,
        projectedMbPerYear: span >= 86_400_000 ? round(((total(last) - total(first)) / 1024 / 1024) * (YEAR_MS / span)) : null,
      };
    });
    const projected = files.some((f) => f.projectedMbPerYear !== null)
      ? round(files.reduce((a, f) => a + (f.projectedMbPerYear ?? 0), 0))
      : null;
    return {
      files,
      projectedMbPerYear: projected,
      assessment:
        projected === null
          ? 'not enough history'
          : projected > GUIDE.investigateAboveMbPerYear
            ? 'investigate'
            : projected > GUIDE.normalMbPerYear[1]
              ? 'above normal'
              : 'normal',
      guide: GUIDE,
    };
  }
}

/** Rows and bytes (pages of the table, `dbstat` aggregated) per table. */
function tableStats(db: Database.Database): { table: string; rows: number; bytes: number }[] {
  const tables = db
    .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
    .pluck()
    .all() as string[];
  const bytes = new Map(
    (db.prepare('SELECT name, pgsize FROM dbstat WHERE aggregate = TRUE').all() as { name: string; pgsize: number }[]).map((r) => [
      r.name,
      r.pgsize,
    ]),
  );
  return tables.map((t) => ({
    table: t,
    rows: db
      .prepare(`SELECT COUNT(*) FROM "${t.replace(/"/g, '""')}"`)
      .pluck()
      .get() as number,
    bytes: bytes.get(t) ?? 0,
  }));
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
