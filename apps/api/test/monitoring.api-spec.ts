import { sqlTime } from '@cacpq/db';
import type {
  ActiveUserRow,
  ConflictSummaryRow,
  GrowthReport,
  JobView,
  MonitoringHealth,
  SyncActivityPage,
  SyncStats,
  SyncTimeline,
  UserDayRow,
  WorkstationRow,
} from '@cacpq/sync-protocol';
import { JobsService } from '../src/jobs/jobs.service';
import { GrowthService } from '../src/monitoring/growth.service';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ADMIN_PASSWORD, makeUser, sessionCaller, startTestServer, type Caller, type TestServer } from './harness';

/** The guide's SQL, verbatim (e2e/fixtures/guide-sql is checked against the guide by the e2e suite). */
const GUIDE_SQL = path.resolve(__dirname, '..', '..', '..', 'e2e', 'fixtures', 'guide-sql');
function guideStatements(file: string): string[] {
  return fs
    .readFileSync(path.join(GUIDE_SQL, file), 'utf8')
    .split(';')
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter(Boolean);
}

let server: TestServer;
let manager: Caller;
let user: Caller;

const ago = (ms: number) => sqlTime(new Date(Date.now() - ms));
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

beforeAll(async () => {
  server = await startTestServer();
  const admin = await sessionCaller(server, 'admin', ADMIN_PASSWORD);
  manager = (await makeUser(server, admin, 'mona', 'manager')).session;
  user = (await makeUser(server, admin, 'ulf', 'user')).token;
  // A fixture history: 40 days of syncs by four users on five workstations, some failed, some with
  // conflicts, and changes to components, quotes and projects by several people.
  const db = server.store.serverDb;
  const log = db.prepare(
    `INSERT INTO sync_log (timestamp, status, records_pulled, records_pushed, conflicts, duration_ms, user, client_id, error)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const people = ['alice', 'bob', 'carol', 'dave'];
  let n = 0;
  let seq = 0;
  db.transaction(() => {
    for (let minutes = 5; minutes < 40 * 24 * 60; minutes += 37) {
      n++;
      const who = people[n % 4];
      const failed = n % 11 === 0;
      log.run(
        ago(minutes * 60_000),
        failed ? 'error' : 'success',
        failed ? 0 : (n * 7) % 50,
        failed ? 0 : (n * 3) % 20,
        failed ? 0 : n % 9 === 0 ? 1 + (n % 3) : 0,
        20 + ((n * 13) % 400),
        who,
        `${who}-pc${n % 5 === 0 ? '-2' : ''}`,
        failed ? 'network' : null,
      );
    }
    for (const [table, cols] of [
      ['components', 'sku, name'],
      ['quotes', 'quoteNumber'],
      ['projects', 'name'],
    ] as const) {
      for (let i = 0; i < 60; i++) {
        const values = cols === 'quoteNumber' ? `'Q-${i}'` : cols === 'name' ? `'P ${i}'` : `'S-${i}', 'C ${i}'`;
        // Every row of the master carries a server_seq, as the sync engine writes them.
        db.prepare(`INSERT INTO ${table} (id, ${cols}, updated_at, updated_by, server_seq) VALUES (?, ${values}, ?, ?, ?)`).run(
          `${table}-${i}`,
          ago((i % 45) * DAY + i * HOUR),
          people[(i * 3) % 4],
          ++seq,
        );
      }
    }
  })();
});
afterAll(() => server.close());

async function get<T>(url: string, caller: Caller = manager): Promise<T> {
  return (await caller.auth(server.http.get(url), 'GET').expect(200)).body as T;
}

describe("the guide's monitoring queries as endpoints", () => {
  it("sync activity: the guide's 24-hour listing, row for row", async () => {
    const [guide] = guideStatements('monitoring-queries.sql');
    const expected = server.store.serverDb.prepare(guide).all();
    expect(expected.length).toBeGreaterThan(30);
    const page = await get<SyncActivityPage>('/api/v1/monitoring/sync-activity?limit=1000');
    expect(page.nextBefore).toBeNull();
    expect(
      page.rows.map((r) => ({
        sync_time: r.syncTime,
        status: r.status,
        records_pulled: r.recordsPulled,
        records_pushed: r.recordsPushed,
        conflicts: r.conflicts,
        duration_ms: r.durationMs,
      })),
    ).toEqual(expected);
  });

  it('sync activity pages through any range and filters by user, workstation and status', async () => {
    const from = new Date(Date.now() - 10 * DAY).toISOString();
    const all = await get<SyncActivityPage>(`/api/v1/monitoring/sync-activity?from=${from}&limit=1000`);
    const paged: SyncActivityPage['rows'] = [];
    let before: number | null = null;
    do {
      const page: SyncActivityPage = await get<SyncActivityPage>(
        `/api/v1/monitoring/sync-activity?from=${from}&limit=37${before ? `&before=${before}` : ''}`,
      );
      paged.push(...page.rows);
      before = page.nextBefore;
    } while (before);
    expect(paged).toEqual(all.rows);
    const bobErrors = await get<SyncActivityPage>(`/api/v1/monitoring/sync-activity?from=${from}&user=bob&status=error&limit=1000`);
    expect(bobErrors.rows.length).toBeGreaterThan(0);
    expect(bobErrors.rows).toEqual(all.rows.filter((r) => r.user === 'bob' && r.status === 'error'));
    const pc2 = await get<SyncActivityPage>(`/api/v1/monitoring/sync-activity?from=${from}&clientId=carol-pc-2&limit=1000`);
    expect(pc2.rows).toEqual(all.rows.filter((r) => r.clientId === 'carol-pc-2'));
  });

  it("conflict summary: the guide's 7-day query, day for day", async () => {
    const [, guide] = guideStatements('monitoring-queries.sql');
    const expected = server.store.serverDb.prepare(guide).all();
    const rows = await get<ConflictSummaryRow[]>('/api/v1/monitoring/conflict-summary');
    expect(
      rows.map((r) => ({
        date: r.date,
        total_syncs: r.totalSyncs,
        total_conflicts: r.totalConflicts,
        avg_conflicts: r.avgConflicts,
        failed_syncs: r.failedSyncs,
      })),
    ).toEqual(expected);
    expect(rows.length).toBeGreaterThanOrEqual(7);
    expect((await get<ConflictSummaryRow[]>('/api/v1/monitoring/conflict-summary?days=30')).length).toBeGreaterThan(rows.length);
  });

  it("active users: the guide's 30-day query", async () => {
    const [, , guide] = guideStatements('monitoring-queries.sql');
    const expected = server.store.serverDb.prepare(guide).all();
    const rows = await get<ActiveUserRow[]>('/api/v1/monitoring/active-users');
    expect(rows.map((r) => ({ updated_by: r.updatedBy, active_days: r.activeDays, total_changes: r.totalChanges }))).toEqual(expected);
    expect(rows.length).toBe(4);
  });

  it("sync statistics over the whole history equal the guide's statistics queries", async () => {
    const [count, avg, rate, transfer] = guideStatements('sync-statistics.sql').map((sql) => server.store.serverDb.prepare(sql).get()) as [
      Record<string, number>,
      Record<string, number>,
      Record<string, number>,
      Record<string, number>,
    ];
    const stats = await get<SyncStats>('/api/v1/monitoring/sync-stats?from=2000-01-01T00:00:00Z');
    expect(stats.syncs).toBe(Object.values(count)[0]);
    expect(stats.avgDurationMs! / 1000).toBeCloseTo(avg.avg_seconds, 4);
    expect(Math.round(stats.successRate! * 10000) / 100).toBe(rate.success_rate_pct);
    expect({ total_pulled: stats.recordsPulled, total_pushed: stats.recordsPushed, total_conflicts: stats.conflicts }).toEqual(transfer);
    expect(stats.failed).toBe(stats.syncs - stats.succeeded);
    const day = await get<SyncStats>('/api/v1/monitoring/sync-stats');
    expect(day.syncs).toBe((await get<SyncActivityPage>('/api/v1/monitoring/sync-activity?limit=1000')).rows.length);
  });

  it('sync statistics and the timeline narrow to a user, a workstation and a status, equal to the raw rows', async () => {
    const from = new Date(Date.now() - 20 * DAY);
    const to = new Date(Date.now() - HOUR);
    const range = `from=${from.toISOString()}&to=${to.toISOString()}`;
    const all = await get<SyncStats>(`/api/v1/monitoring/sync-stats?${range}`);
    for (const [query, where, args] of [
      ['user=alice', 'user = ?', ['alice']],
      ['clientId=bob-pc-2', 'client_id = ?', ['bob-pc-2']],
      ['status=error', 'status = ?', ['error']],
      ['user=carol&status=success', 'user = ? AND status = ?', ['carol', 'success']],
      ['user=alice&clientId=bob-pc', 'user = ? AND client_id = ?', ['alice', 'bob-pc']],
    ] as const) {
      const expected = server.store.serverDb
        .prepare(
          `SELECT COUNT(*) AS syncs, ifnull(SUM(status = 'error'), 0) AS failed, ifnull(SUM(conflicts > 0), 0) AS withConflicts,
                  ifnull(SUM(conflicts), 0) AS conflicts, ifnull(SUM(records_pulled), 0) AS pulled, ifnull(SUM(records_pushed), 0) AS pushed
             FROM sync_log WHERE timestamp > ? AND timestamp <= ? AND ${where}`,
        )
        .get(sqlTime(from), sqlTime(to), ...args) as Record<string, number>;
      const stats = await get<SyncStats>(`/api/v1/monitoring/sync-stats?${range}&${query}`);
      expect({
        query,
        syncs: stats.syncs,
        failed: stats.failed,
        conflicts: stats.conflicts,
        pulled: stats.recordsPulled,
        pushed: stats.recordsPushed,
      }).toEqual({
        query,
        syncs: expected.syncs,
        failed: expected.failed,
        conflicts: expected.conflicts,
        pulled: expected.pulled,
        pushed: expected.pushed,
      });
      expect(stats.conflictRate).toBe(expected.syncs ? expected.withConflicts / expected.syncs : null);
      const timeline = await get<SyncTimeline>(`/api/v1/monitoring/sync-timeline?${range}&${query}`);
      const sum = (k: 'syncs' | 'conflicts' | 'recordsPulled') => timeline.hours.reduce((a, h) => a + h[k], 0);
      expect({ query, syncs: sum('syncs'), conflicts: sum('conflicts'), pulled: sum('recordsPulled') }).toEqual({
        query,
        syncs: expected.syncs,
        conflicts: expected.conflicts,
        pulled: expected.pulled,
      });
      expect(timeline.hours.reduce((a, h) => a + (h.byStatus.error ?? 0), 0)).toBe(expected.failed);
    }
    // The filters narrow: alice's share is part of the whole, and nobody's is empty.
    const alice = await get<SyncStats>(`/api/v1/monitoring/sync-stats?${range}&user=alice`);
    expect(alice.syncs).toBeGreaterThan(0);
    expect(alice.syncs).toBeLessThan(all.syncs);
    const nobody = await get<SyncStats>(`/api/v1/monitoring/sync-stats?${range}&user=nobody`);
    expect(nobody).toMatchObject({ syncs: 0, successRate: null, conflictRate: null, avgDurationMs: null });
  });

  it('workstations: last sync, its status and the count per user and workstation', async () => {
    const rows = await get<WorkstationRow[]>('/api/v1/monitoring/workstations');
    const expected = server.store.serverDb
      .prepare(
        `SELECT user, client_id AS clientId, timestamp AS lastSync, status AS lastStatus, syncs FROM (
           SELECT *, ROW_NUMBER() OVER (PARTITION BY user, client_id ORDER BY timestamp DESC) AS rn,
                  COUNT(*) OVER (PARTITION BY user, client_id) AS syncs FROM sync_log)
         WHERE rn = 1 ORDER BY lastSync DESC`,
      )
      .all();
    // The guide's columns equal the guide's query; the clock of a workstation never measured is unknown.
    expect(rows.map(({ clockOffsetMs: _o, clockMeasuredAt: _m, ...r }) => r)).toEqual(expected);
    expect(rows.every((r) => r.clockOffsetMs === null && r.clockMeasuredAt === null)).toBe(true);
    expect(rows.map((r) => r.clientId).sort()).toEqual([
      'alice-pc',
      'alice-pc-2',
      'bob-pc',
      'bob-pc-2',
      'carol-pc',
      'carol-pc-2',
      'dave-pc',
      'dave-pc-2',
    ]);
  });
});

describe('growth', () => {
  it('samples every file with rows and bytes per table (dbstat), and reports the history', async () => {
    expect(server.app.get(GrowthService).sample()).toBe(3);
    const report = await get<GrowthReport>('/api/v1/monitoring/growth');
    expect(report.files.map((f) => f.file).sort()).toEqual(['generated_numbers.db', 'hub.db', 'server.db']);
    const master = report.files.find((f) => f.file === 'server.db')!;
    const db = server.store.serverDb;
    const components = master.tables.find((t) => t.table === 'components')!;
    expect(components.rows).toBe(db.prepare('SELECT COUNT(*) FROM components').pluck().get());
    expect(components.bytes).toBe(db.prepare(`SELECT SUM(pgsize) FROM dbstat WHERE name = 'components'`).pluck().get());
    const last = master.samples.at(-1)!;
    expect(last.pageCount * last.pageSize).toBe(
      (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number),
    );
  });

  it.each([
    [0.2, 'normal'],
    [0.5, 'above normal'],
    [2, 'investigate'],
  ])('projects %s MB a day of growth to a year and judges it against the guide (%s)', async (mbPerDay, assessment) => {
    const hub = server.store.hubDb;
    hub.prepare('DELETE FROM size_samples').run();
    const insert = hub.prepare(
      `INSERT INTO size_samples (taken_at, file, bytes, wal_bytes, page_size, page_count, freelist_count, tables) VALUES (?, 'server.db', ?, ?, 4096, ?, 0, '[]')`,
    );
    const base = 40 * 1024 * 1024;
    for (let day = 10; day >= 0; day--) {
      const bytes = Math.round(base + (10 - day) * mbPerDay * 1024 * 1024);
      insert.run(ago(day * DAY), bytes - 4096, 4096, Math.round(bytes / 4096));
    }
    const report = await get<GrowthReport>('/api/v1/monitoring/growth?days=30');
    const f = report.files[0];
    expect(f.samples).toHaveLength(11);
    const yearly = (mbPerDay * 10 * 365.25 * DAY) / (10 * DAY);
    expect(f.projectedMbPerYear).toBeCloseTo(yearly, 0);
    expect(report.projectedMbPerYear).toBeCloseTo(yearly, 0);
    const lastTwo = [base + 9 * mbPerDay * 1024 * 1024, base + 10 * mbPerDay * 1024 * 1024];
    expect(f.dayOverDayPct).toBeCloseTo(((lastTwo[1] - lastTwo[0]) / lastTwo[0]) * 100, 1);
    expect(report.assessment).toBe(assessment);
  });

  it('says when there is not enough history, and refuses bad ranges', async () => {
    server.store.hubDb.prepare('DELETE FROM size_samples').run();
    server.app.get(GrowthService).sample();
    const report = await get<GrowthReport>('/api/v1/monitoring/growth');
    expect(report.assessment).toBe('not enough history');
    expect(report.files.every((f) => f.dayOverDayPct === null && f.projectedMbPerYear === null)).toBe(true);
    expect((await manager.auth(server.http.get('/api/v1/monitoring/growth?days=0'), 'GET').expect(400)).body.message).toMatch(/days/);
  });
});

describe('health', () => {
  it('reports files, the latest integrity evidence, the last verified backup and the guide judgements', async () => {
    const first = await get<MonitoringHealth>('/api/v1/monitoring/health');
    expect(first.problems).toContain('No verified backup has been taken yet.');
    expect(first.status).toBe('warning');
    expect(first.lastVerifiedBackup).toBeNull();
    for (const f of first.files) {
      const file = path.join(server.dataDir, f.name === 'hub.db' ? 'hub' : 'database', f.name);
      expect({ name: f.name, present: f.present, bytes: f.bytes }).toEqual({ name: f.name, present: true, bytes: fs.statSync(file).size });
    }
    expect(first.sqliteVersion).toBe(server.store.serverDb.prepare('SELECT sqlite_version()').pluck().get());
    expect(first.generation).toBe(server.store.generation);
    expect(first.maintenance.active).toBe(false);
    expect(first.connectedWorkstations).toBe(0);
    expect(first.freeDiskBytes).toBeGreaterThan(0);

    const admin = await sessionCaller(server, 'admin', ADMIN_PASSWORD);
    const job = (await admin.auth(server.http.post('/api/v1/backups'), 'POST').send({ kind: 'daily' }).expect(202)).body as JobView;
    const done = await server.app.get(JobsService).waitFor(job.id);
    const ok = await get<MonitoringHealth>('/api/v1/monitoring/health');
    expect(ok.status).toBe('ok');
    expect(ok.problems).toEqual([]);
    expect(ok.lastVerifiedBackup).toMatchObject({ name: (done.result as { name: string }).name });
    expect(ok.lastVerifiedBackup!.ageHours).toBeLessThan(0.1);
    expect(ok.quickCheck).toMatchObject({ result: 'ok', source: `quick_check of backup ${(done.result as { name: string }).name}` });

    // The guide's "no backup in 24 hours", on a backup made to look 30 hours old.
    server.store.hubDb.prepare('UPDATE backups SET created_at = ?').run(ago(30 * HOUR));
    const stale = await get<MonitoringHealth>('/api/v1/monitoring/health');
    expect(stale.status).toBe('warning');
    expect(stale.problems).toEqual([`The last verified backup (${ok.lastVerifiedBackup!.name}) is 30 hours old.`]);

    // A failed integrity check is critical and names the problem.
    server.store.hubDb
      .prepare(
        `INSERT INTO jobs (type, params, trigger, requested_by, status, queued_at, started_at, finished_at, error)
         VALUES ('integrity', '{}', 'schedule', 'scheduler', 'failed', ?, ?, ?, 'Integrity problems: server.db: Page 7 is never used.')`,
      )
      .run(ago(0), ago(0), ago(0));
    const bad = await get<MonitoringHealth>('/api/v1/monitoring/health');
    expect(bad.status).toBe('critical');
    expect(bad.quickCheck).toMatchObject({ result: 'Integrity problems: server.db: Page 7 is never used.' });
    expect(bad.problems[0]).toMatch(/did not pass: Integrity problems/);
  });
});

describe('monitoring refuses bad queries with a sentence, and users', () => {
  it.each([
    ['/api/v1/monitoring/sync-activity?from=2026-11-24T10:00:00Z&to=2026-11-23T10:00:00Z', /inverted/],
    ['/api/v1/monitoring/sync-activity?limit=0', /limit/],
    ['/api/v1/monitoring/sync-activity?limit=100000', /limit/],
    ['/api/v1/monitoring/sync-activity?from=yesterday', /from/],
    ['/api/v1/monitoring/sync-activity?status=maybe', /status/],
    ['/api/v1/monitoring/sync-activity?colour=red', /colour/],
    ['/api/v1/monitoring/sync-activity?before=99999999', /first page/],
    ['/api/v1/monitoring/conflict-summary?days=0', /days/],
    ['/api/v1/monitoring/active-users?days=abc', /days/],
    ['/api/v1/monitoring/sync-stats?to=2001-01-01T00:00:00Z&from=2002-01-01T00:00:00Z', /inverted/],
  ])('%s', async (url, why) => {
    const res = await manager.auth(server.http.get(url), 'GET').expect(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.message).toMatch(why);
    expect(res.body.message).toMatch(/\.$/);
  });

  it('is for managers and admins', async () => {
    await user.auth(server.http.get('/api/v1/monitoring/sync-stats'), 'GET').expect(403);
    await server.http.get('/api/v1/monitoring/sync-stats').expect(401);
  });
});

describe('sync timeline and changes per person per day (dashboard charts)', () => {
  const HOUR_OF = `strftime('%Y-%m-%d %H:00:00', timestamp)`;

  it('sync timeline: per UTC hour, counts by status, conflicts, records and p50/p95 duration equal plain SQL', async () => {
    // A busy stretch, so that the percentiles of an hour are more than its one or two rows.
    const db = server.store.serverDb;
    const insert = db.prepare(
      `INSERT INTO sync_log (timestamp, status, records_pulled, records_pushed, conflicts, duration_ms, user, client_id, error)
       VALUES (?, ?, ?, ?, ?, ?, 'alice', 'alice-pc', ?)`,
    );
    // 45 syncs a minute apart from 5 past an hour ten days ago: all in that one hour.
    const busyHour = Math.floor((Date.now() - 10 * DAY) / HOUR) * HOUR;
    db.transaction(() => {
      for (let i = 0; i < 45; i++) {
        const failed = i % 7 === 3;
        insert.run(
          sqlTime(new Date(busyHour + 5 * 60_000 + i * 61_000)),
          failed ? 'error' : 'success',
          i % 13,
          i % 5,
          i % 6 === 0 ? 2 : 0,
          (i * 37) % 500,
          failed ? 'x' : null,
        );
      }
    })();
    const from = new Date(Date.now() - 11 * DAY - 17 * 60_000);
    const to = new Date(Date.now() - 9 * DAY + 23 * 60_000);
    const timeline = await get<SyncTimeline>(`/api/v1/monitoring/sync-timeline?from=${from.toISOString()}&to=${to.toISOString()}`);
    expect(timeline.from).toBe(sqlTime(from));
    expect(timeline.to).toBe(sqlTime(to));

    const range = [sqlTime(from), sqlTime(to)];
    const sums = db
      .prepare(
        `SELECT ${HOUR_OF} AS hour, COUNT(*) AS syncs, SUM(status = 'success') AS success, SUM(status = 'error') AS error,
                SUM(conflicts > 0) AS withConflicts, SUM(conflicts) AS conflicts,
                SUM(records_pulled) AS recordsPulled, SUM(records_pushed) AS recordsPushed
           FROM sync_log WHERE timestamp > ? AND timestamp <= ? GROUP BY hour ORDER BY hour`,
      )
      .all(...range) as Record<string, number | string>[];
    const percentiles = db
      .prepare(
        `SELECT hour, MIN(CASE WHEN rn = (n * 50 + 99) / 100 THEN duration_ms END) AS p50,
                MIN(CASE WHEN rn = (n * 95 + 99) / 100 THEN duration_ms END) AS p95
           FROM (SELECT ${HOUR_OF} AS hour, duration_ms,
                        ROW_NUMBER() OVER (PARTITION BY ${HOUR_OF} ORDER BY duration_ms) AS rn,
                        COUNT(*) OVER (PARTITION BY ${HOUR_OF}) AS n
                   FROM sync_log WHERE timestamp > ? AND timestamp <= ?)
          GROUP BY hour ORDER BY hour`,
      )
      .all(...range) as { hour: string; p50: number; p95: number }[];
    expect(sums.some((r) => (r.syncs as number) >= 40)).toBe(true);

    // Every hour from the one holding `from` to the one holding `to`, the empty ones with zeros.
    expect(timeline.hours).toHaveLength(Math.floor(to.getTime() / HOUR) - Math.floor(from.getTime() / HOUR) + 1);
    expect(timeline.hours[0].hour).toBe(`${sqlTime(from).slice(0, 13)}:00:00`);
    const busy = timeline.hours.filter((h) => h.syncs > 0);
    expect(
      busy.map((h) => ({
        hour: h.hour,
        syncs: h.syncs,
        success: h.byStatus.success ?? 0,
        error: h.byStatus.error ?? 0,
        withConflicts: h.withConflicts,
        conflicts: h.conflicts,
        recordsPulled: h.recordsPulled,
        recordsPushed: h.recordsPushed,
      })),
    ).toEqual(sums);
    expect(busy.map((h) => ({ hour: h.hour, p50: h.p50DurationMs, p95: h.p95DurationMs }))).toEqual(percentiles);
    const dense = busy.find((h) => h.syncs >= 40)!;
    expect(dense.p95DurationMs!).toBeGreaterThan(dense.p50DurationMs!);
    for (const h of timeline.hours.filter((x) => x.syncs === 0)) {
      expect(h).toMatchObject({ byStatus: {}, conflicts: 0, recordsPulled: 0, p50DurationMs: null, p95DurationMs: null });
    }
    expect(timeline.statuses).toEqual(['error', 'success']);
  });

  it('sync timeline: the default 24 hours add up to the sync statistics of the same range', async () => {
    const timeline = await get<SyncTimeline>('/api/v1/monitoring/sync-timeline');
    const stats = await get<SyncStats>(
      `/api/v1/monitoring/sync-stats?from=${new Date(`${timeline.from.replace(' ', 'T')}Z`).toISOString()}&to=${new Date(`${timeline.to.replace(' ', 'T')}Z`).toISOString()}`,
    );
    const total = (k: 'syncs' | 'conflicts' | 'recordsPulled' | 'recordsPushed') => timeline.hours.reduce((a, h) => a + h[k], 0);
    expect(stats.syncs).toBeGreaterThan(20);
    expect({
      syncs: total('syncs'),
      conflicts: total('conflicts'),
      pulled: total('recordsPulled'),
      pushed: total('recordsPushed'),
    }).toEqual({
      syncs: stats.syncs,
      conflicts: stats.conflicts,
      pulled: stats.recordsPulled,
      pushed: stats.recordsPushed,
    });
    expect(timeline.hours.reduce((a, h) => a + (h.byStatus.error ?? 0), 0)).toBe(stats.failed);
    expect(timeline.hours.length).toBeGreaterThanOrEqual(24);
    expect(timeline.hours.length).toBeLessThanOrEqual(25);
  });

  const perDay = (days: number) =>
    server.store.serverDb
      .prepare(
        `SELECT DATE(updated_at) AS day, updated_by AS updatedBy, COUNT(*) AS changes FROM (
           SELECT updated_by, updated_at FROM components WHERE updated_at > datetime('now', @span)
           UNION ALL SELECT updated_by, updated_at FROM quotes WHERE updated_at > datetime('now', @span)
           UNION ALL SELECT updated_by, updated_at FROM projects WHERE updated_at > datetime('now', @span))
         GROUP BY day, updated_by ORDER BY day, updated_by`,
      )
      .all({ span: `-${days} days` }) as UserDayRow[];

  it('user days: changes per person per day equal plain SQL over components, quotes and projects', async () => {
    const rows = await get<UserDayRow[]>('/api/v1/monitoring/user-days');
    const expected = perDay(30);
    expect(expected.length).toBeGreaterThan(20);
    expect(rows).toEqual(expected);
    const week = await get<UserDayRow[]>('/api/v1/monitoring/user-days?days=7');
    expect(week).toEqual(perDay(7));
    expect(week.length).toBeLessThan(rows.length);
    // The per-person totals are the guide's "most active users".
    const users = await get<ActiveUserRow[]>('/api/v1/monitoring/active-users');
    for (const u of users) {
      expect(rows.filter((r) => r.updatedBy === u.updatedBy).reduce((a, r) => a + r.changes, 0)).toBe(u.totalChanges);
      expect(rows.filter((r) => r.updatedBy === u.updatedBy).length).toBe(u.activeDays);
    }
  });

  it('user days: follows a change of a row (moves to its new day and person) and a row without updated_by', async () => {
    const db = server.store.serverDb;
    const seq = (db.prepare('SELECT MAX(server_seq) FROM components').pluck().get() as number) + 100;
    db.prepare('UPDATE components SET updated_at = ?, updated_by = ?, server_seq = ? WHERE id = ?').run(
      ago(HOUR),
      'erin',
      seq,
      'components-5',
    );
    db.prepare('UPDATE quotes SET updated_at = ?, updated_by = NULL, server_seq = ? WHERE id = ?').run(ago(2 * DAY), seq + 1, 'quotes-7');
    const rows = await get<UserDayRow[]>('/api/v1/monitoring/user-days?days=30');
    expect(rows).toEqual(perDay(30));
    expect(rows.find((r) => r.updatedBy === 'erin')).toMatchObject({ day: sqlTime(new Date(Date.now() - HOUR)).slice(0, 10), changes: 1 });
    expect(rows.some((r) => r.updatedBy === null)).toBe(true);
  });

  it.each([
    ['/api/v1/monitoring/sync-timeline?from=2026-11-24T10:00:00Z&to=2026-11-23T10:00:00Z', /inverted/],
    ['/api/v1/monitoring/sync-timeline?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z', /spans 59 days.*at most 31 days/],
    ['/api/v1/monitoring/sync-timeline?from=2000-01-01T00:00:00Z', /at most 31 days/],
    ['/api/v1/monitoring/sync-timeline?from=last-week', /from/],
    ['/api/v1/monitoring/sync-timeline?hours=3', /hours/],
    ['/api/v1/monitoring/sync-timeline?status=broken', /status/],
    ['/api/v1/monitoring/sync-stats?user=', /user/],
    ['/api/v1/monitoring/user-days?days=0', /days/],
    ['/api/v1/monitoring/user-days?days=367', /days.*366/],
  ])('refuses %s with a sentence', async (url, why) => {
    const res = await manager.auth(server.http.get(url), 'GET').expect(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.message).toMatch(why);
    expect(res.body.message).toMatch(/\.$/);
  });

  it('is for managers and admins', async () => {
    await user.auth(server.http.get('/api/v1/monitoring/sync-timeline'), 'GET').expect(403);
    await user.auth(server.http.get('/api/v1/monitoring/user-days'), 'GET').expect(403);
    await server.http.get('/api/v1/monitoring/sync-timeline').expect(401);
  });
});
