import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import {
  MasterStore,
  SqliteDatabaseSizeRepository,
  SqliteGrowthRepository,
  fileBytes,
  parseSqlTime,
  sqlTime,
  type DatabaseSizeRepository,
  type GrowthRepository,
  type StoredSizeSample,
} from '@cacpq/db';
import type { GrowthFile, GrowthQuery, GrowthReport } from '@cacpq/sync-protocol';
import type { Logger } from 'pino';
import { LOGGER } from '../common/tokens';

const YEAR_MS = 365.25 * 86_400_000;
/** The guide: "Small team (5 users): ~50-100 MB per year; if growing >500 MB/year: investigate". */
const GUIDE = { normalMbPerYear: [50, 100] as [number, number], investigateAboveMbPerYear: 500 };

/**
 * Growth trends: samples of each database file (size, WAL, pages, free pages, rows and bytes per
 * table from `dbstat`) kept in hub.db, hourly by default (`schedule.sample-growth`), and the report:
 * history, day-over-day change and the projected MB per year against the guide's expectations.
 */
@Injectable()
export class GrowthService implements OnApplicationBootstrap {
  private readonly samples: GrowthRepository;
  private readonly sizes: Record<'server' | 'numbers' | 'hub', DatabaseSizeRepository>;

  constructor(
    private readonly store: MasterStore,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.samples = new SqliteGrowthRepository(() => store.hubDb);
    this.sizes = {
      server: new SqliteDatabaseSizeRepository(() => store.serverDb),
      numbers: new SqliteDatabaseSizeRepository(() => store.numbersDb),
      hub: new SqliteDatabaseSizeRepository(() => store.hubDb),
    };
  }

  /** A first sample at start when the last one is over an hour old, so the history has no hole from a stop. */
  onApplicationBootstrap(): void {
    const last = this.samples.lastSampleAt();
    if (!last || Date.now() - parseSqlTime(last).getTime() > 3_600_000) this.sample();
  }

  /** Records one sample of every file; skipped (and said) while a restore or VACUUM holds the master. */
  sample(now: Date = new Date()): number {
    if (this.store.suspended) {
      this.logger.info({ reason: this.store.suspended }, 'growth sample skipped while the master is held');
      return 0;
    }
    const at = sqlTime(now);
    const l = this.store.layout;
    let n = 0;
    for (const [file, path, sizes] of [
      ['server.db', l.serverDb, this.sizes.server],
      ['generated_numbers.db', l.numbersDb, this.sizes.numbers],
      ['hub.db', l.hubDb, this.sizes.hub],
    ] as const) {
      this.samples.record({ takenAt: at, file, bytes: fileBytes(path), walBytes: fileBytes(`${path}-wal`), ...sizes.measure() });
      n++;
    }
    return n;
  }

  report(q: GrowthQuery, now: Date = new Date()): GrowthReport {
    const since = sqlTime(new Date(now.getTime() - q.days * 86_400_000));
    const rows = this.samples.samplesSince(since);
    const byFile = new Map<string, StoredSizeSample[]>();
    for (const r of rows) byFile.set(r.file, [...(byFile.get(r.file) ?? []), r]);
    const files: GrowthFile[] = [...byFile.entries()].map(([file, samples]) => {
      const last = samples[samples.length - 1];
      const total = (s: StoredSizeSample) => s.bytes + s.walBytes;
      const lastAt = parseSqlTime(last.takenAt).getTime();
      const dayBefore = [...samples].reverse().find((s) => lastAt - parseSqlTime(s.takenAt).getTime() >= 86_400_000);
      const first = samples[0];
      const span = lastAt - parseSqlTime(first.takenAt).getTime();
      return {
        file,
        samples: samples.map((s) => ({
          at: s.takenAt,
          bytes: s.bytes,
          walBytes: s.walBytes,
          pageSize: s.pageSize,
          pageCount: s.pageCount,
          freelistCount: s.freelistCount,
        })),
        tables: last.tables() as GrowthFile['tables'],
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

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
