import { sqlTime } from '@cacpq/db';
import { OPERATION_SETTING_DEFAULTS } from '@cacpq/sync-protocol';
import type { AlertEvaluation, AlertRule, AlertSettingsView, AlertView, AlertWebhookBody, ScheduleView } from '@cacpq/sync-protocol';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { SMTPServer } from 'smtp-server';
import { AlertsService } from '../src/alerts/alerts.service';
import { WorkstationClocks } from '../src/sync/workstation-clocks';
import { ADMIN_PASSWORD, makeUser, sessionCaller, startTestServer, type Caller, type TestServer } from './harness';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

let server: TestServer;
let admin: Caller;
let manager: Caller;
let user: Caller;
let alerts: AlertsService;

beforeAll(async () => {
  server = await startTestServer();
  admin = await sessionCaller(server, 'admin', ADMIN_PASSWORD);
  manager = (await makeUser(server, admin, 'mona', 'manager')).session;
  user = (await makeUser(server, admin, 'ulf', 'user')).token;
  alerts = server.app.get(AlertsService);
  // The tests evaluate at chosen instants; the every-five-minutes evaluation at the real time stays out of their way.
  await admin.auth(server.http.patch('/api/v1/settings'), 'PATCH').send({ 'schedule.evaluate-alerts': 'off' }).expect(200);
});
afterAll(() => server.close());

/** Every test starts from no alerts, no history and the default settings. */
beforeEach(() => {
  const hub = server.store.hubDb;
  for (const t of ['alerts', 'size_samples', 'backups', 'jobs', 'workstation_clocks']) hub.prepare(`DELETE FROM ${t}`).run();
  hub.prepare(`DELETE FROM settings WHERE key LIKE 'alerts.%'`).run();
  server.store.serverDb.prepare('DELETE FROM sync_log').run();
});

function syncRow(at: Date, o: { status?: 'success' | 'error'; conflicts?: number; user?: string; client?: string } = {}): void {
  server.store.serverDb
    .prepare(
      `INSERT INTO sync_log (timestamp, status, records_pulled, records_pushed, conflicts, duration_ms, user, client_id, error)
       VALUES (?, ?, 0, 1, ?, 50, ?, ?, ?)`,
    )
    .run(
      sqlTime(at),
      o.status ?? 'success',
      o.conflicts ?? 0,
      o.user ?? 'alice',
      o.client ?? 'alice-pc',
      o.status === 'error' ? 'network' : null,
    );
}

async function patchSettings(body: Record<string, unknown>): Promise<AlertSettingsView> {
  return (await admin.auth(server.http.patch('/api/v1/alerts/settings'), 'PATCH').send(body).expect(200)).body as AlertSettingsView;
}

/** Only this rule on: the others stay quiet (their alerts would muddle the notification counts). */
async function only(rule: AlertRule): Promise<void> {
  const rules: AlertRule[] = ['growth', 'no-sync', 'conflict-rate', 'failure-rate', 'backup-age', 'integrity', 'stale-user', 'clock-skew'];
  await patchSettings(Object.fromEntries(rules.map((r) => [`alerts.${r}.enabled`, r === rule])));
}

const of = (e: AlertEvaluation, rule: AlertRule) => ({
  opened: e.opened.filter((a) => a.rule === rule),
  resolved: e.resolved.filter((a) => a.rule === rule),
});
const history = (rule: AlertRule) => alerts.list({ status: 'all', rule, limit: 500 });

describe('each rule opens when its threshold is crossed and resolves when it no longer is', () => {
  it('growth: a file over 50 % day over day, per file', async () => {
    const t0 = new Date('2030-01-15T12:00:00Z');
    const sample = server.store.hubDb.prepare(
      `INSERT INTO size_samples (taken_at, file, bytes, wal_bytes, page_size, page_count, freelist_count, tables) VALUES (?, ?, ?, 0, 4096, 1, 0, '[]')`,
    );
    sample.run(sqlTime(new Date(t0.getTime() - 25 * HOUR)), 'server.db', 1_000_000);
    sample.run(sqlTime(new Date(t0.getTime() - 25 * HOUR)), 'hub.db', 1_000_000);
    sample.run(sqlTime(t0), 'server.db', 1_600_000);
    sample.run(sqlTime(t0), 'hub.db', 1_400_000);
    const first = of(await alerts.evaluate(t0), 'growth');
    expect(first.opened).toHaveLength(1);
    expect(first.opened[0]).toMatchObject({
      subject: 'file:server.db',
      status: 'open',
      severity: 'warning',
      openedAt: sqlTime(t0),
      resolvedAt: null,
      message: 'server.db grew 60 % in a day, over the 50 % threshold.',
    });
    // Still over: the same alert stays open (one per rule and subject), its figure kept up to date.
    const t1 = new Date(t0.getTime() + 10 * MIN);
    sample.run(sqlTime(t1), 'server.db', 1_700_000);
    expect(of(await alerts.evaluate(t1), 'growth')).toEqual({ opened: [], resolved: [] });
    expect((await history('growth'))[0]).toMatchObject({
      openedAt: sqlTime(t0),
      lastEvaluatedAt: sqlTime(t1),
      message: expect.stringContaining('70 %'),
    });

    const t2 = new Date(t0.getTime() + HOUR);
    sample.run(sqlTime(t2), 'server.db', 1_200_000);
    const second = of(await alerts.evaluate(t2), 'growth');
    expect(second.resolved).toHaveLength(1);
    expect(second.resolved[0]).toMatchObject({
      id: first.opened[0].id,
      status: 'resolved',
      openedAt: sqlTime(t0),
      resolvedAt: sqlTime(t2),
      resolution: 'server.db grew 20 % in a day, within the 50 % threshold.',
    });
  });

  describe('no-sync: counts business time only, in the configured zone', () => {
    // Toronto: Friday 2026-10-30 is EDT (UTC-4); the clocks go back on Sunday 2026-11-01; Monday is EST (UTC-5).
    it('a silent weekend (across a clock change) is not silence: Monday 09:00 does not alert, 11:01 does', async () => {
      syncRow(new Date('2026-10-30T21:00:00Z')); // Friday 17:00 EDT
      for (const at of ['2026-10-31T16:00:00Z', '2026-11-01T16:00:00Z', '2026-11-02T14:00:00Z', '2026-11-02T16:00:00Z']) {
        // Saturday noon, Sunday 11:00, Monday 09:00 (2 h: Friday 17-18 and Monday 08-09), Monday 11:00 (exactly 4 h)
        expect(of(await alerts.evaluate(new Date(at)), 'no-sync').opened).toEqual([]);
      }
      const opened = of(await alerts.evaluate(new Date('2026-11-02T16:01:00Z')), 'no-sync').opened;
      expect(opened).toHaveLength(1);
      expect(opened[0]).toMatchObject({
        subject: '',
        openedAt: '2026-11-02 16:01:00.000',
        message:
          'No workstation has synced for 4 h 01 min of business hours (since 2026-10-30 17:00 America/Toronto time), over the 4-hour threshold.',
      });
      syncRow(new Date('2026-11-02T16:30:00Z'));
      const resolved = of(await alerts.evaluate(new Date('2026-11-02T16:31:00Z')), 'no-sync').resolved;
      expect(resolved).toMatchObject([
        {
          id: opened[0].id,
          resolvedAt: '2026-11-02 16:31:00.000',
          resolution: expect.stringMatching(/^The last sync was at 2026-11-02 11:30/),
        },
      ]);
    });

    it('the count stops at the end of the day: 17:59 and 18:01 are under 4 h, the next morning at 08:01 is over', async () => {
      syncRow(new Date('2026-11-03T19:00:00Z')); // Tuesday 14:00 EST
      expect(of(await alerts.evaluate(new Date('2026-11-03T22:59:00Z')), 'no-sync').opened).toEqual([]); // 17:59: 3 h 59
      expect(of(await alerts.evaluate(new Date('2026-11-03T23:01:00Z')), 'no-sync').opened).toEqual([]); // 18:01: 4 h 00
      expect(of(await alerts.evaluate(new Date('2026-11-04T04:00:00Z')), 'no-sync').opened).toEqual([]); // 23:00: still 4 h 00
      const opened = of(await alerts.evaluate(new Date('2026-11-04T13:01:00Z')), 'no-sync').opened; // Wednesday 08:01
      expect(opened).toHaveLength(1);
      expect(opened[0].message).toContain('4 h 01 min of business hours');
      expect(opened[0].details).toMatchObject({ businessHoursSilent: 4.02, thresholdHours: 4, timeZone: 'America/Toronto' });
    });

    it('business hours in a zone other than the server’s (Europe/Paris while the server runs in Toronto)', async () => {
      await patchSettings({ 'alerts.businessHours.timeZone': 'Europe/Paris' });
      // Friday 17:00 Paris (16:00Z) is 11:00 in Toronto: counted in Toronto's hours, Friday alone would be 7 h.
      syncRow(new Date('2026-11-06T16:00:00Z'));
      // Monday 10:00 Paris (09:00Z, 04:00 in Toronto): 1 h on Friday + 2 h on Monday.
      expect(of(await alerts.evaluate(new Date('2026-11-09T09:00:00Z')), 'no-sync').opened).toEqual([]);
      // Monday 11:30 Paris (06:30 in Toronto, outside Toronto's hours): 4 h 30.
      const opened = of(await alerts.evaluate(new Date('2026-11-09T10:30:00Z')), 'no-sync').opened;
      expect(opened).toHaveLength(1);
      expect(opened[0].message).toBe(
        'No workstation has synced for 4 h 30 min of business hours (since 2026-11-06 17:00 Europe/Paris time), over the 4-hour threshold.',
      );
      // Other days and hours: with Saturday a business day, Monday 10:00 is already over.
      await patchSettings({
        'alerts.businessHours.days': '1-6',
        'alerts.businessHours.start': '09:00',
        'alerts.businessHours.end': '17:00',
      });
      server.store.hubDb.prepare('DELETE FROM alerts').run();
      const saturday = of(await alerts.evaluate(new Date('2026-11-07T13:00:00Z')), 'no-sync').opened; // Saturday 14:00 Paris: 5 h
      expect(saturday).toHaveLength(1);
      expect(saturday[0].message).toContain('5 h 00 min of business hours');
    });

    it('no sync ever recorded is not an alert (a new server before its first workstation)', async () => {
      expect(of(await alerts.evaluate(new Date('2026-11-04T16:00:00Z')), 'no-sync').opened).toEqual([]);
    });
  });

  it('conflict-rate: over 5 % of the syncs of the last 24 h, once there are at least 20', async () => {
    const t0 = new Date('2030-02-01T12:00:00Z');
    for (let i = 0; i < 19; i++) syncRow(new Date(t0.getTime() - (i + 1) * 30 * MIN), { conflicts: i < 5 ? 1 : 0 });
    // 5 of 19 had conflicts (26 %), but 19 syncs are too few to judge.
    const few = of(await alerts.evaluate(t0), 'conflict-rate');
    expect(few.opened).toEqual([]);
    for (let i = 0; i < 21; i++) syncRow(new Date(t0.getTime() - (i + 1) * 20 * MIN - 5000));
    // 40 syncs, 5 with conflicts: 12.5 %. A sync older than the window does not count.
    syncRow(new Date(t0.getTime() - 25 * HOUR), { conflicts: 3 });
    const opened = of(await alerts.evaluate(t0), 'conflict-rate').opened;
    expect(opened).toMatchObject([
      {
        subject: '',
        openedAt: sqlTime(t0),
        message: '12.5 % of the 40 syncs in the last 24 hours had conflicts (5), over the 5 % threshold.',
      },
    ]);
    const t1 = new Date(t0.getTime() + 10 * MIN);
    for (let i = 0; i < 70; i++) syncRow(new Date(t0.getTime() + i * 5000));
    const resolved = of(await alerts.evaluate(t1), 'conflict-rate').resolved;
    expect(resolved).toMatchObject([
      {
        id: opened[0].id,
        resolvedAt: sqlTime(t1),
        resolution: '4.5 % of the 110 syncs in the last 24 hours had conflicts (5), within the 5 % threshold.',
      },
    ]);
  });

  it('failure-rate: over 10 % failed, with a configurable minimum of syncs', async () => {
    const t0 = new Date('2030-02-01T12:00:00Z');
    await patchSettings({ 'alerts.rates.minSyncs': 10 });
    for (let i = 0; i < 10; i++) syncRow(new Date(t0.getTime() - (i + 1) * HOUR), { status: i < 2 ? 'error' : 'success' });
    const opened = of(await alerts.evaluate(t0), 'failure-rate').opened;
    expect(opened).toMatchObject([{ message: '20 % of the 10 syncs in the last 24 hours failed (2), over the 10 % threshold.' }]);
    // Exactly 10 % is not over.
    for (let i = 0; i < 10; i++) syncRow(new Date(t0.getTime() - 30 * MIN - i * 1000));
    const t1 = new Date(t0.getTime() + MIN);
    expect(of(await alerts.evaluate(t1), 'failure-rate').resolved).toMatchObject([
      {
        id: opened[0].id,
        resolvedAt: sqlTime(t1),
        resolution: '10 % of the 20 syncs in the last 24 hours failed (2), within the 10 % threshold.',
      },
    ]);
  });

  it('backup-age: no verified backup in 24 h (pre-restore snapshots and failed ones do not count)', async () => {
    const t0 = new Date('2030-03-01T12:00:00Z');
    const backup = (name: string, kind: string, status: string, at: Date) =>
      server.store.hubDb
        .prepare(
          `INSERT INTO backups (name, kind, origin, created_at, status, check_kind, verified_at, bytes, files, fingerprint) VALUES (?, ?, 'server', ?, ?, 'quick_check', ?, 1, '[]', ?)`,
        )
        .run(name, kind, sqlTime(at), status, sqlTime(at), name);
    const none = of(await alerts.evaluate(t0), 'backup-age').opened;
    expect(none).toMatchObject([{ message: 'No verified backup has been taken yet (the threshold is 24 hours).' }]);
    backup('daily/old', 'daily', 'verified', new Date(t0.getTime() - 30 * HOUR));
    backup('pre-restore/x', 'pre-restore', 'verified', new Date(t0.getTime() - HOUR));
    backup('daily/broken', 'daily', 'failed', new Date(t0.getTime() - HOUR));
    const t1 = new Date(t0.getTime() + MIN);
    expect(of(await alerts.evaluate(t1), 'backup-age')).toEqual({ opened: [], resolved: [] });
    expect((await history('backup-age'))[0].message).toBe(
      'The last verified backup (daily/old) is 30 hours old, over the 24-hour threshold.',
    );
    backup('daily/new', 'daily', 'verified', new Date(t0.getTime() - HOUR));
    const resolved = of(await alerts.evaluate(t1), 'backup-age').resolved;
    expect(resolved).toMatchObject([
      {
        id: none[0].id,
        openedAt: sqlTime(t0),
        resolvedAt: sqlTime(t1),
        resolution: expect.stringContaining('(daily/new) is 1 hours old, within'),
      },
    ]);
  });

  it('integrity: the latest integrity job failed (critical); a later passing one resolves it', async () => {
    const t0 = new Date();
    const job = (status: string, error: string | null) =>
      server.store.hubDb
        .prepare(
          `INSERT INTO jobs (type, trigger, requested_by, status, queued_at, started_at, finished_at, error) VALUES ('integrity', 'schedule', 'scheduler', ?, ?, ?, ?, ?)`,
        )
        .run(status, sqlTime(t0), sqlTime(t0), sqlTime(t0), error);
    job('succeeded', null);
    expect(of(await alerts.evaluate(t0), 'integrity').opened).toEqual([]);
    const failed = Number(job('failed', 'row 12 missing from index idx_quotes_number').lastInsertRowid);
    const opened = of(await alerts.evaluate(t0), 'integrity').opened;
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ severity: 'critical', openedAt: sqlTime(t0) });
    expect(opened[0].message).toContain(`Integrity is not ok: Integrity job ${failed} failed at`);
    expect(opened[0].message).toContain('row 12 missing from index idx_quotes_number.');
    job('succeeded', null);
    const t1 = new Date(t0.getTime() + MIN);
    expect(of(await alerts.evaluate(t1), 'integrity').resolved).toMatchObject([{ id: opened[0].id, resolvedAt: sqlTime(t1) }]);
  });

  it('stale-user: each user and each workstation not synced for 7 days', async () => {
    const t0 = new Date('2030-04-10T12:00:00Z');
    syncRow(new Date(t0.getTime() - 8 * DAY), { user: 'alice', client: 'alice-pc' });
    syncRow(new Date(t0.getTime() - 8 * DAY), { user: 'bob', client: 'bob-laptop' });
    syncRow(new Date(t0.getTime() - DAY), { user: 'bob', client: 'bob-pc' });
    const opened = of(await alerts.evaluate(t0), 'stale-user').opened;
    expect(opened.map((a) => a.subject).sort()).toEqual(['user:alice', 'workstation:alice-pc', 'workstation:bob-laptop']);
    expect(opened.find((a) => a.subject === 'user:alice')!.message).toBe(
      `User alice last synced 8 days ago (${sqlTime(new Date(t0.getTime() - 8 * DAY)).slice(0, 16)} UTC), over the 7-day threshold.`,
    );
    syncRow(new Date(t0.getTime() + HOUR), { user: 'alice', client: 'alice-pc' });
    const t1 = new Date(t0.getTime() + 2 * HOUR);
    const resolved = of(await alerts.evaluate(t1), 'stale-user').resolved;
    expect(resolved.map((a) => [a.subject, a.resolvedAt]).sort()).toEqual([
      ['user:alice', sqlTime(t1)],
      ['workstation:alice-pc', sqlTime(t1)],
    ]);
    expect((await alerts.list({ status: 'open', rule: 'stale-user', limit: 50 })).map((a) => a.subject)).toEqual([
      'workstation:bob-laptop',
    ]);
  });

  it('clock-skew: a workstation whose last push came from a clock more than 5 minutes off', async () => {
    const generation = ((await user.auth(server.http.get('/api/v1/sync/info'), 'GET').expect(200)).body as { generation: string })
      .generation;
    const push = (clientTime: Date) =>
      user
        .auth(server.http.post('/api/v1/sync/push'), 'POST')
        .send({
          protocolVersion: 1,
          clientId: 'ws-clock',
          batchId: randomUUID(),
          generation,
          clientTime: clientTime.toISOString(),
          changes: [],
        })
        .expect(200);
    await push(new Date(Date.now() - 7 * MIN));
    const [clock] = server.app.get(WorkstationClocks).all();
    expect(clock).toMatchObject({ clientId: 'ws-clock', user: 'ulf' });
    expect(clock.skewMs).toBeLessThan(-6.9 * MIN);
    const opened = of(await alerts.evaluate(), 'clock-skew').opened;
    expect(opened).toHaveLength(1);
    expect(opened[0].subject).toBe('workstation:ws-clock');
    expect(opened[0].message).toMatch(
      /^Workstation ws-clock's clock was 7 minutes behind the server's at its last push \(.* UTC\), over the 5-minute tolerance\.$/,
    );
    await push(new Date(Date.now() + 2 * MIN));
    const resolved = of(await alerts.evaluate(), 'clock-skew').resolved;
    expect(resolved).toMatchObject([
      { id: opened[0].id, status: 'resolved', resolution: expect.stringContaining('2 minutes ahead of the server') },
    ]);
  });

  it('a disabled rule resolves its open alerts and opens none', async () => {
    const t0 = new Date('2030-03-01T12:00:00Z');
    expect(of(await alerts.evaluate(t0), 'backup-age').opened).toHaveLength(1);
    await patchSettings({ 'alerts.backup-age.enabled': false });
    expect(of(await alerts.evaluate(t0), 'backup-age').resolved).toMatchObject([{ resolution: 'The backup-age rule was disabled.' }]);
    expect(of(await alerts.evaluate(t0), 'backup-age')).toEqual({ opened: [], resolved: [] });
  });
});

describe('listing and acknowledging', () => {
  let openId: number;
  beforeEach(async () => {
    syncRow(new Date('2030-04-01T12:00:00Z'), { user: 'zed', client: 'zed-pc' });
    await alerts.evaluate(new Date('2030-04-20T12:00:00Z'));
    const resolvedLater = (await alerts.list({ status: 'open', rule: 'stale-user', limit: 50 })).find((a) => a.subject === 'user:zed')!;
    syncRow(new Date('2030-04-20T13:00:00Z'), { user: 'zed', client: 'zed-pc' });
    await alerts.evaluate(new Date('2030-04-20T14:00:00Z'));
    expect(alerts.get(resolvedLater.id).status).toBe('resolved');
    openId = (await alerts.list({ status: 'open', rule: 'backup-age', limit: 50 }))[0].id;
  });

  it('managers and admins list by status and rule, newest first, paged with before', async () => {
    const all = (await manager.auth(server.http.get('/api/v1/alerts'), 'GET').expect(200)).body as AlertView[];
    expect(all.map((a) => a.id)).toEqual([...all.map((a) => a.id)].sort((a, b) => b - a));
    const open = (await admin.auth(server.http.get('/api/v1/alerts?status=open'), 'GET').expect(200)).body as AlertView[];
    expect(open.every((a) => a.status === 'open' && a.resolvedAt === null)).toBe(true);
    const resolved = (await manager.auth(server.http.get('/api/v1/alerts?status=resolved&rule=stale-user'), 'GET').expect(200))
      .body as AlertView[];
    expect(resolved.map((a) => a.subject).sort()).toEqual(['user:zed', 'workstation:zed-pc']);
    expect(resolved.every((a) => a.resolvedAt !== null && a.resolution)).toBe(true);
    const page1 = (await manager.auth(server.http.get('/api/v1/alerts?limit=2'), 'GET').expect(200)).body as AlertView[];
    const page2 = (await manager.auth(server.http.get(`/api/v1/alerts?limit=2&before=${page1[1].id}`), 'GET').expect(200))
      .body as AlertView[];
    expect([...page1, ...page2].map((a) => a.id)).toEqual(all.slice(0, 4).map((a) => a.id));
    await user.auth(server.http.get('/api/v1/alerts'), 'GET').expect(403);
  });

  it('an admin acknowledges once (audited); again is 409, unknown is 404, managers are refused', async () => {
    await manager.auth(server.http.post(`/api/v1/alerts/${openId}/acknowledge`), 'POST').expect(403);
    const acked = (await admin.auth(server.http.post(`/api/v1/alerts/${openId}/acknowledge`), 'POST').expect(200)).body as AlertView;
    expect(acked).toMatchObject({ id: openId, status: 'open', acknowledgedBy: 'admin', acknowledgedAt: expect.stringMatching(/^\d{4}-/) });
    const again = await admin.auth(server.http.post(`/api/v1/alerts/${openId}/acknowledge`), 'POST').expect(409);
    expect(again.body).toMatchObject({
      code: 'ALREADY_EXISTS',
      message: expect.stringMatching(/^Alert \d+ was already acknowledged by admin at .* UTC\.$/),
    });
    const missing = await admin.auth(server.http.post('/api/v1/alerts/99999/acknowledge'), 'POST').expect(404);
    expect(missing.body).toMatchObject({ code: 'NOT_FOUND', message: 'There is no alert 99999.' });
    const bad = await admin.auth(server.http.post('/api/v1/alerts/abc/acknowledge'), 'POST').expect(400);
    expect(bad.body).toMatchObject({ code: 'VALIDATION_FAILED', message: 'Invalid path: the value must be a number (got NaN).' });
    // Acknowledging does not resolve: the alert stays open until its figure is back within the threshold.
    await alerts.evaluate(new Date('2030-04-20T14:05:00Z'));
    expect(alerts.get(openId)).toMatchObject({ status: 'open', acknowledgedBy: 'admin' });
    const audit = (await admin.auth(server.http.get('/api/v1/audit?action=alert.acknowledge'), 'GET').expect(200)).body as {
      outcome: string;
      details: { alertId: number };
    }[];
    expect(audit.map((a) => [a.outcome, a.details.alertId])).toEqual([
      ['denied', 99999],
      ['denied', openId],
      ['ok', openId],
    ]);
  });

  it.each([
    ['status=closed', /status must be one of "open", "resolved", "all"/],
    ['limit=0', /limit must be at least 1/],
    ['limit=501', /limit must be at most 500/],
    ['limit=ten', /limit/],
    ['before=-4', /before must be at least 1/],
    ['rule=weather', /rule must be one of/],
    ['colour=red', /unknown field "colour"/],
  ])('GET /api/v1/alerts?%s is a 400 with a sentence', async (qs, pattern) => {
    const res = await manager.auth(server.http.get(`/api/v1/alerts?${qs}`), 'GET').expect(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/\.$/) });
    expect(res.body.message).toMatch(pattern);
  });
});

describe('POST /api/v1/alerts/evaluate', () => {
  it('evaluates now for an admin (what opened, what is open), audited; managers and users are refused', async () => {
    await only('backup-age');
    const first = (await admin.auth(server.http.post('/api/v1/alerts/evaluate'), 'POST').expect(200)).body as AlertEvaluation;
    expect(first.opened).toMatchObject([
      { rule: 'backup-age', status: 'open', message: 'No verified backup has been taken yet (the threshold is 24 hours).' },
    ]);
    expect(first.open).toBe(1);
    const open = (await manager.auth(server.http.get('/api/v1/alerts?status=open'), 'GET').expect(200)).body as AlertView[];
    expect(open.map((a) => a.id)).toEqual([first.opened[0].id]);
    // Still firing: nothing new opens; turned off: it resolves.
    const again = (await admin.auth(server.http.post('/api/v1/alerts/evaluate'), 'POST').expect(200)).body as AlertEvaluation;
    expect([again.opened, again.resolved, again.open]).toEqual([[], [], 1]);
    await patchSettings({ 'alerts.backup-age.enabled': false });
    const off = (await admin.auth(server.http.post('/api/v1/alerts/evaluate'), 'POST').expect(200)).body as AlertEvaluation;
    expect(off.resolved).toMatchObject([{ id: first.opened[0].id, resolution: 'The backup-age rule was disabled.' }]);
    const audit = (await admin.auth(server.http.get('/api/v1/audit?action=alerts.evaluate'), 'GET').expect(200)).body as {
      details: { opened: number[] };
    }[];
    expect(audit.some((e) => e.details.opened.includes(first.opened[0].id))).toBe(true);
    await manager.auth(server.http.post('/api/v1/alerts/evaluate'), 'POST').expect(403);
    await user.auth(server.http.post('/api/v1/alerts/evaluate'), 'POST').expect(403);
  });
});

describe('settings', () => {
  it('answers every setting with the guide’s defaults, never the SMTP password', async () => {
    await patchSettings({ 'alerts.smtp.password': 's3cret' });
    const s = (await admin.auth(server.http.get('/api/v1/alerts/settings'), 'GET').expect(200)).body as Record<string, unknown>;
    expect(s).toMatchObject({
      'alerts.growth.pct': 50,
      'alerts.no-sync.hours': 4,
      'alerts.businessHours.days': '1-5',
      'alerts.businessHours.start': '08:00',
      'alerts.businessHours.end': '18:00',
      'alerts.businessHours.timeZone': 'America/Toronto',
      'alerts.conflict-rate.pct': 5,
      'alerts.failure-rate.pct': 10,
      'alerts.rates.minSyncs': 20,
      'alerts.backup-age.hours': 24,
      'alerts.stale-user.days': 7,
      'alerts.clock-skew.toleranceMinutes': 5,
      'alerts.smtp.passwordSet': true,
    });
    expect(s).not.toHaveProperty('alerts.smtp.password');
    expect(JSON.stringify(s)).not.toContain('s3cret');
    const audit = (await admin.auth(server.http.get('/api/v1/audit?action=alerts.settings.change'), 'GET').expect(200)).body as {
      details: Record<string, unknown>;
    }[];
    expect(JSON.stringify(audit)).not.toContain('s3cret');
    await manager.auth(server.http.get('/api/v1/alerts/settings'), 'GET').expect(403);
    // The scheduled evaluation is one of the schedules.
    const schedules = (await manager.auth(server.http.get('/api/v1/maintenance/schedules'), 'GET').expect(200)).body as ScheduleView[];
    expect(schedules.find((e) => e.job === 'evaluate-alerts')).toMatchObject({ setting: 'schedule.evaluate-alerts', cron: 'off' });
    expect(OPERATION_SETTING_DEFAULTS['schedule.evaluate-alerts']).toBe('*/5 * * * *');
  });

  it.each([
    [{}, /give at least one setting/],
    [{ 'alerts.growth.pct': 'fifty' }, /alerts\.growth\.pct must be a number/],
    [{ 'alerts.growth.pct': -1 }, /alerts\.growth\.pct must be a percentage from 0 to 10000/],
    [{ 'alerts.growth.enabled': 'yes' }, /alerts\.growth\.enabled must be a boolean/],
    [{ 'alerts.no-sync.hours': 0 }, /alerts\.no-sync\.hours must be a whole number of hours from 1 to 168/],
    [{ 'alerts.businessHours.timeZone': 'Mars/Olympus_Mons' }, /must be an IANA time zone name/],
    [{ 'alerts.businessHours.days': '0-5' }, /ISO weekdays/],
    [{ 'alerts.businessHours.days': '5-1' }, /inverted range/],
    [{ 'alerts.businessHours.start': '8am' }, /HH:MM/],
    [{ 'alerts.businessHours.start': '18:00', 'alerts.businessHours.end': '08:00' }, /must start before they end/],
    [{ 'alerts.webhook.url': 'ftp://example.test/hook' }, /http:\/\/ or https:\/\/ URL/],
    [{ 'alerts.smtp.to': 'ops@example.test, nobody' }, /e-mail addresses separated by commas/],
    [{ 'alerts.smtp.port': 70000 }, /alerts\.smtp\.port must be a port number from 1 to 65535/],
    [{ 'alerts.weather.enabled': true }, /unknown field "alerts\.weather\.enabled"/],
  ])('PATCH %j is a 400 with a sentence and saves nothing', async (body, pattern) => {
    const before = (await admin.auth(server.http.get('/api/v1/alerts/settings'), 'GET').expect(200)).body as unknown;
    const res = await admin.auth(server.http.patch('/api/v1/alerts/settings'), 'PATCH').send(body).expect(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/\.$/) });
    expect(res.body.message).toMatch(pattern);
    expect((await admin.auth(server.http.get('/api/v1/alerts/settings'), 'GET').expect(200)).body).toEqual(before);
  });
});

describe('notifications', () => {
  it('one webhook POST and one e-mail per open and per resolve, over loopback', async () => {
    const hooks: AlertWebhookBody[] = [];
    const hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        hooks.push(JSON.parse(body) as AlertWebhookBody);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const mails: { from: string; to: string[]; user: string | undefined; data: string }[] = [];
    const smtp = new SMTPServer({
      authOptional: false,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth(auth, _session, cb) {
        if (auth.username === 'alerts' && auth.password === 'mail-pass') cb(null, { user: auth.username });
        else cb(new Error('Invalid username or password'));
      },
      onData(stream, session, cb) {
        let data = '';
        stream.on('data', (c: Buffer) => (data += c.toString()));
        stream.on('end', () => {
          mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            user: session.user as string | undefined,
            data,
          });
          cb();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    try {
      await only('backup-age');
      await patchSettings({
        'alerts.webhook.url': `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hooks/alerts`,
        'alerts.smtp.host': '127.0.0.1',
        'alerts.smtp.port': (smtp.server.address() as AddressInfo).port,
        'alerts.smtp.secure': false,
        'alerts.smtp.user': 'alerts',
        'alerts.smtp.password': 'mail-pass',
        'alerts.smtp.from': 'cacpq@example.test',
        'alerts.smtp.to': 'ops@example.test, boss@example.test',
      });
      const t0 = new Date('2030-05-01T12:00:00Z');
      const opened = await alerts.evaluate(t0);
      expect(opened.opened).toHaveLength(1);
      expect(hooks).toEqual([
        { event: 'alert.opened', alert: expect.objectContaining({ id: opened.opened[0].id, rule: 'backup-age', status: 'open' }) },
      ]);
      expect(mails).toHaveLength(1);
      expect(mails[0]).toMatchObject({ from: 'cacpq@example.test', to: ['ops@example.test', 'boss@example.test'], user: 'alerts' });
      expect(mails[0].data).toContain('Subject: [CACPQ warning] Opened: backup-age');
      expect(mails[0].data).toContain('No verified backup has been taken yet');
      expect(alerts.get(opened.opened[0].id).notifiedAt).not.toBeNull();

      // Nothing new: nothing sent.
      await alerts.evaluate(new Date(t0.getTime() + 5 * MIN));
      expect([hooks.length, mails.length]).toEqual([1, 1]);

      server.store.hubDb
        .prepare(
          `INSERT INTO backups (name, kind, origin, created_at, status, check_kind, verified_at, bytes, files, fingerprint) VALUES ('manual/n', 'manual', 'server', ?, 'verified', 'quick_check', ?, 1, '[]', 'f')`,
        )
        .run(sqlTime(t0), sqlTime(t0));
      const resolved = await alerts.evaluate(new Date(t0.getTime() + 10 * MIN));
      expect(resolved.resolved).toHaveLength(1);
      expect(hooks.map((h) => [h.event, h.alert.id, h.alert.status])).toEqual([
        ['alert.opened', opened.opened[0].id, 'open'],
        ['alert.resolved', opened.opened[0].id, 'resolved'],
      ]);
      expect(mails).toHaveLength(2);
      expect(mails[1].data).toContain('Subject: [CACPQ warning] Resolved: backup-age');
    } finally {
      await new Promise<void>((resolve) => hook.close(() => resolve()));
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    }
  });

  it('a webhook or SMTP server that is down is logged and does not stop the evaluation', async () => {
    // A port that was just free: nothing listens there.
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await only('backup-age');
    await patchSettings({
      'alerts.webhook.url': `http://127.0.0.1:${port}/`,
      'alerts.smtp.host': '127.0.0.1',
      'alerts.smtp.port': port,
      'alerts.smtp.to': 'ops@example.test',
    });
    const e = await alerts.evaluate(new Date('2030-05-01T12:00:00Z'));
    expect(e.opened).toHaveLength(1);
    expect(alerts.get(e.opened[0].id).notifiedAt).toBeNull();
  });
});
