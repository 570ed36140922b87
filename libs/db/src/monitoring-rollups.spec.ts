import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GUIDE_SQL, MONITORING_SQL, daysAgo, refreshActivityRollup, type SqlRun } from './monitoring-queries';
import { MasterStore } from './store';
import { sqlTime } from './time';

/**
 * The rollups of migration 1764300000300 must answer exactly what the guide's queries answer on
 * the raw history, whatever was written, rewritten or deleted, and at every edge of a range.
 */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.parse('2026-11-20T15:27:41.250Z');

let dir: string;
let store: MasterStore;
let db: Database.Database;

/** A small deterministic generator, so a failure can be replayed. */
function lcg(seed: number) {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cacpq-rollups-'));
  store = await MasterStore.open({ dataDir: dir, busyTimeoutMs: 200 });
  db = store.serverDb;
});

afterEach(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const all = (r: SqlRun) => db.prepare(r.sql).all(...(r.args as unknown[]));
const one = (r: SqlRun) => db.prepare(r.sql).get(...(r.args as unknown[]));

/** The guide's statements with SQLite's "now" replaced by a fixed instant, so both sides see the same one. */
const guideConflicts = (days: number, now: number) =>
  all({ sql: GUIDE_SQL.conflictSummary(days).sql.replace("datetime('now', ?)", '?'), args: [daysAgo(days, now)] });
const guideActive = (days: number, now: number) =>
  all({ sql: GUIDE_SQL.activeUsers(days).sql.replaceAll("datetime('now', @span)", '@since'), args: [{ since: daysAgo(days, now) }] });
const byUser = (rows: unknown[]) =>
  [...(rows as { updated_by: string | null }[])].sort((a, b) => String(a.updated_by).localeCompare(String(b.updated_by)));
/** The guide's "last sync per workstation" written without SQLite's bare-column rule, ties broken by id. */
const guideWorkstations = () =>
  db
    .prepare(
      `SELECT user, client_id, timestamp AS last_sync, status AS last_status, syncs FROM (
         SELECT *, ROW_NUMBER() OVER (PARTITION BY user, client_id ORDER BY timestamp DESC, id DESC) AS rn,
                COUNT(*) OVER (PARTITION BY user, client_id) AS syncs FROM sync_log)
       WHERE rn = 1 ORDER BY last_sync DESC, user, client_id`,
    )
    .all();
const rollupWorkstations = () =>
  (all(MONITORING_SQL.workstations()) as { last_sync: string; user: string | null; client_id: string | null }[]).sort(
    (a, b) =>
      b.last_sync.localeCompare(a.last_sync) ||
      String(a.user).localeCompare(String(b.user)) ||
      String(a.client_id).localeCompare(String(b.client_id)),
  );

function writeHistory(rnd: () => number, n: number) {
  const insert = db.prepare(
    `INSERT INTO sync_log (timestamp, status, records_pulled, records_pushed, conflicts, duration_ms, user, client_id, error)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const users = ['alice', 'bob', 'carol', null];
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      // Some rows exactly on an hour, or a millisecond either side of one: the rollup's edges.
      let t = NOW - rnd() * 60 * DAY + rnd() * 2 * DAY;
      const edge = rnd();
      if (edge < 0.1) t = Math.floor(t / HOUR) * HOUR;
      else if (edge < 0.15) t = Math.floor(t / HOUR) * HOUR - 1;
      else if (edge < 0.2) t = Math.floor(t / HOUR) * HOUR + 1;
      const failed = rnd() < 0.1;
      const user = users[Math.floor(rnd() * users.length)];
      insert.run(
        sqlTime(new Date(t)),
        failed ? 'error' : 'success',
        failed ? 0 : Math.floor(rnd() * 50),
        failed ? 0 : Math.floor(rnd() * 20),
        failed ? 0 : rnd() < 0.2 ? 1 + Math.floor(rnd() * 4) : 0,
        Math.floor(rnd() * 900),
        user,
        rnd() < 0.1 ? null : `${user ?? 'anon'}-pc${Math.floor(rnd() * 2)}`,
        failed ? 'network' : null,
      );
    }
  })();
}

function expectSyncLogRollupsEqual(rnd: () => number) {
  // Ranges: random, on whole hours, a millisecond off them, inside one hour, and the whole history.
  const ranges: [number, number][] = [
    [NOW - 70 * DAY, NOW + 10 * DAY],
    [NOW - 1000, NOW],
    [Math.floor(NOW / HOUR) * HOUR - HOUR, Math.floor(NOW / HOUR) * HOUR],
  ];
  for (let i = 0; i < 60; i++) {
    let a = NOW - rnd() * 62 * DAY;
    let b = a + rnd() * (i % 3 === 0 ? 2 * HOUR : 20 * DAY);
    if (i % 4 === 1) [a, b] = [Math.floor(a / HOUR) * HOUR, Math.floor(b / HOUR) * HOUR + HOUR];
    if (i % 4 === 2) [a, b] = [Math.floor(a / HOUR) * HOUR - 1, Math.floor(b / HOUR) * HOUR + 1];
    ranges.push([a, b]);
  }
  for (const [a, b] of ranges) {
    const from = sqlTime(new Date(a));
    const to = sqlTime(new Date(b));
    const guide = one(GUIDE_SQL.syncStats(from, to)) as Record<string, number | null>;
    const rollup = one(MONITORING_SQL.syncStats(from, to)) as Record<string, number | null>;
    const { avg_duration: ga, ...gRest } = guide;
    const { avg_duration: ra, ...rRest } = rollup;
    expect([from, to, rRest]).toEqual([from, to, gRest]);
    if (ga === null) expect(ra).toBeNull();
    else expect(ra).toBeCloseTo(ga, 9);
  }
  for (const days of [1, 7, 30, 365]) {
    for (const now of [NOW, Math.floor(NOW / HOUR) * HOUR, Math.floor(NOW / HOUR) * HOUR + 999]) {
      expect([days, now, all(MONITORING_SQL.conflictSummary(days, now))]).toEqual([days, now, guideConflicts(days, now)]);
    }
  }
  expect(rollupWorkstations()).toEqual(guideWorkstations());
}

describe('the sync_log rollups (kept by triggers)', () => {
  it("answer the guide's conflict summary, statistics and workstations exactly, at every edge of a range", () => {
    const rnd = lcg(7);
    writeHistory(rnd, 3000);
    expect((db.prepare('SELECT COUNT(*) AS n FROM sync_log_hourly').get() as { n: number }).n).toBeGreaterThan(500);
    expectSyncLogRollupsEqual(rnd);
  });

  it('stay exact through updates (a sync ending, failing, moving) and deletes (the guide pruning)', () => {
    const rnd = lcg(11);
    writeHistory(rnd, 2000);
    const ids = (db.prepare('SELECT id FROM sync_log').all() as { id: number }[]).map((r) => r.id);
    db.transaction(() => {
      for (let i = 0; i < 400; i++) {
        const id = ids[Math.floor(rnd() * ids.length)];
        const kind = i % 4;
        if (kind === 0) db.prepare('UPDATE sync_log SET records_pulled = records_pulled + 7, duration_ms = ? WHERE id = ?').run(i, id);
        if (kind === 1) db.prepare(`UPDATE sync_log SET status = 'error', error = 'x', conflicts = 0 WHERE id = ?`).run(id);
        if (kind === 2) db.prepare('UPDATE sync_log SET timestamp = ? WHERE id = ?').run(sqlTime(new Date(NOW - rnd() * 5 * DAY)), id);
        if (kind === 3) db.prepare(`UPDATE sync_log SET user = 'dave', client_id = 'dave-pc' WHERE id = ?`).run(id);
      }
    })();
    // The latest row of a workstation deleted: the next latest takes its place.
    const latest = db.prepare('SELECT last_id FROM sync_log_workstations ORDER BY last_sync DESC LIMIT 1').get() as { last_id: number };
    db.prepare('DELETE FROM sync_log WHERE id = ?').run(latest.last_id);
    // The guide's pruning: older than 30 days, then all but the newest 1,000.
    db.prepare('DELETE FROM sync_log WHERE timestamp < ?').run(sqlTime(new Date(NOW - 30 * DAY)));
    db.prepare('DELETE FROM sync_log WHERE id NOT IN (SELECT id FROM sync_log ORDER BY timestamp DESC, id DESC LIMIT 1000)').run();
    expect((db.prepare('SELECT COUNT(*) AS n FROM sync_log').get() as { n: number }).n).toBe(1000);
    expectSyncLogRollupsEqual(rnd);
    db.prepare('DELETE FROM sync_log').run();
    expect(db.prepare('SELECT COUNT(*) AS n FROM sync_log_hourly').get()).toEqual({ n: 0 });
    expect(db.prepare('SELECT COUNT(*) AS n FROM sync_log_workstations').get()).toEqual({ n: 0 });
  });

  it('are built from the history already there when the migration runs (an existing master)', async () => {
    writeHistory(lcg(3), 1500);
    await store.close();
    const raw = new Database(path.join(dir, 'database', 'server.db'));
    const migrationsTable = (
      raw.prepare(`SELECT name FROM sqlite_master WHERE name LIKE '%migrations%' AND type = 'table'`).get() as { name: string }
    ).name;
    raw.exec(`DROP TRIGGER sync_log_rollup_insert; DROP TRIGGER sync_log_rollup_update; DROP TRIGGER sync_log_rollup_delete;
              DROP TABLE sync_log_hourly; DROP TABLE sync_log_workstations;`);
    raw.prepare(`DELETE FROM "${migrationsTable}" WHERE name = 'AddMonitoringRollups1764300000300'`).run();
    raw.close();
    store = await MasterStore.open({ dataDir: dir, busyTimeoutMs: 200 });
    db = store.serverDb;
    expectSyncLogRollupsEqual(lcg(5));
  });
});

describe('the activity rollup (brought up to date from server_seq)', () => {
  const people = ['alice', 'bob', 'carol', 'dave', null];
  let seq = 0;
  const write = (table: string, id: string, at: number, by: string | null) => {
    const cols = table === 'components' ? 'sku, name' : table === 'quotes' ? 'quoteNumber' : 'name';
    const values = table === 'components' ? `'S-${id}', 'C'` : `'${id}'`;
    db.prepare(
      `INSERT INTO ${table} (id, ${cols}, updated_at, updated_by, server_seq) VALUES (@id, ${values}, @at, @by, @seq)
       ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at, updated_by = excluded.updated_by, server_seq = excluded.server_seq`,
    ).run({ id, at: sqlTime(new Date(at)), by, seq: ++seq });
  };
  const expectActiveUsersEqual = () => {
    for (const days of [1, 7, 30, 90, 400]) {
      for (const now of [NOW, Math.floor(NOW / DAY) * DAY, Math.floor(NOW / DAY) * DAY - 1]) {
        expect([days, now, byUser(all(MONITORING_SQL.activeUsers(days, now)))]).toEqual([days, now, byUser(guideActive(days, now))]);
      }
    }
  };

  it("answers the guide's most active users after new rows, rows moved to another day or person, and purged tombstones", () => {
    const rnd = lcg(13);
    const tables = ['components', 'quotes', 'projects'];
    const at = () => {
      const t = NOW - rnd() * 120 * DAY + rnd() * DAY;
      return rnd() < 0.1 ? Math.floor(t / DAY) * DAY : t;
    };
    db.transaction(() => {
      for (let i = 0; i < 900; i++) write(tables[i % 3], `r${i}`, at(), people[Math.floor(rnd() * people.length)]);
    })();
    expect(refreshActivityRollup(db)).toBe(900);
    expectActiveUsersEqual();

    // Edits: the same rows again, on other days and by other people; and new rows.
    db.transaction(() => {
      for (let i = 0; i < 400; i++) {
        const n = Math.floor(rnd() * 900);
        write(tables[n % 3], `r${n}`, at(), people[Math.floor(rnd() * people.length)]);
      }
      for (let i = 900; i < 1000; i++) write(tables[i % 3], `r${i}`, at(), people[i % people.length]);
    })();
    refreshActivityRollup(db);
    expectActiveUsersEqual();
    expect(refreshActivityRollup(db)).toBe(0);

    // The tombstone purge deletes rows physically: the trigger takes them out at once.
    db.prepare(`DELETE FROM components WHERE id IN ('r0', 'r3', 'r6', 'r9')`).run();
    db.prepare(`DELETE FROM quotes WHERE rowid % 5 = 0`).run();
    expectActiveUsersEqual();
    refreshActivityRollup(db);
    expectActiveUsersEqual();
  });
});
