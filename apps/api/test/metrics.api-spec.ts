import { parseSqlTime } from '@cacpq/db';
import type { BackupView, JobView, PullResponse, PushChange } from '@cacpq/sync-protocol';
import * as fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { getMetricsFromIterator, type PromData, type PromHistogramData, type PromMetrics } from 'prom2javascript';
import { JobsService } from '../src/jobs/jobs.service';
import { anonymous, ADMIN_PASSWORD, makeUser, sessionCaller, startTestServer, tokenCaller, type Caller, type TestServer } from './harness';

let server: TestServer;
let admin: Caller;
let manager: Caller;
let managerSession: Caller;
let alice: Caller;
let bob: Caller;
let generation: string;

beforeAll(async () => {
  server = await startTestServer();
  admin = await sessionCaller(server, 'admin', ADMIN_PASSWORD);
  const mona = await makeUser(server, admin, 'mona', 'manager');
  manager = mona.token;
  managerSession = mona.session;
  alice = (await makeUser(server, admin, 'alice', 'user')).token;
  bob = (await makeUser(server, admin, 'bob', 'user')).token;
  generation = ((await alice.auth(server.http.get('/api/v1/sync/info'), 'GET').expect(200)).body as { generation: string }).generation;
});
afterAll(() => server.close());

const iso = (offsetMs = 0) => new Date(Date.now() + offsetMs).toISOString();

function push(caller: Caller, changes: PushChange[], opts: { clientId?: string; syncId?: string; generation?: string } = {}) {
  return caller.auth(server.http.post('/api/v1/sync/push'), 'POST').send({
    protocolVersion: 1,
    clientId: opts.clientId ?? 'ws-1',
    batchId: randomUUID(),
    generation: opts.generation ?? generation,
    clientTime: iso(),
    ...(opts.syncId ? { syncId: opts.syncId } : {}),
    changes,
  });
}

/** Pulls every page of one sync, as a workstation does after its pushes. */
async function pullAll(caller: Caller, syncId: string, clientId = 'ws-1'): Promise<void> {
  let cursor = 0;
  let until: number | undefined;
  for (;;) {
    const res = await caller
      .auth(server.http.get('/api/v1/sync/pull'), 'GET')
      .query({ generation, clientId, syncId, cursor, limit: 2, ...(until !== undefined ? { until } : {}) })
      .expect(200);
    const page = res.body as PullResponse;
    cursor = page.cursor;
    until = page.until;
    if (!page.hasMore) return;
  }
}

const component = (id: string, extra: Partial<PushChange> = {}): PushChange => ({
  table: 'components',
  op: 'upsert',
  id,
  baseVersion: 0,
  updatedAt: iso(),
  values: { sku: `SKU-${id}`, name: `Component ${id}`, category: 'Pumps', listPrice: 100 } as PushChange['values'],
  ...extra,
});

let lastScrape = 0;

async function scrape(caller: Caller): Promise<{ text: string; metrics: PromMetrics }> {
  // prom-client resets its event-loop lag figures at every scrape; with no sample since the last
  // one (they come every 10 ms) it writes NaN, valid Prometheus text that this parser refuses.
  const wait = lastScrape + 30 - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const res = await caller.auth(server.http.get('/metrics'), 'GET').buffer(true).expect(200);
  lastScrape = Date.now();
  expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  const text = res.text;
  // A real text-format parser: every line must be a comment, HELP/TYPE or a valid sample, and
  // every histogram's +Inf bucket must equal its count.
  const metrics = await getMetricsFromIterator(text.split('\n')[Symbol.iterator]());
  return { text, metrics };
}

const samples = (m: PromMetrics, name: string) => (m[name]?.data ?? []) as PromData[];
const value = (m: PromMetrics, name: string, labels: Record<string, string> = {}) =>
  samples(m, name).find((d) => Object.entries(labels).every(([k, v]) => d.labels[k] === v))?.value;

describe('GET /metrics', () => {
  let backup: BackupView;

  beforeAll(async () => {
    // A push on its own (no sync id): a sync of its own.
    await push(alice, [component('m-1'), component('m-2')]).expect(200);
    // A sync of two push batches and the pull pages after them: a sync_log row per batch.
    const s1 = randomUUID();
    await push(alice, [component('m-3')], { syncId: s1 }).expect(200);
    await push(alice, [component('m-4')], { syncId: s1 }).expect(200);
    await pullAll(alice, s1);
    // Two users change one field from the same base: a conflict.
    const base = (await push(alice, [component('m-5')]).expect(200)).body.results[0].version as number;
    const edit = (price: number, at: number) =>
      component('m-5', {
        baseVersion: base,
        updatedAt: iso(at),
        values: { listPrice: price } as PushChange['values'],
        changed: ['listPrice'],
      });
    await push(alice, [edit(111, -60_000)]).expect(200);
    const later = await push(bob, [edit(222, 0)], { clientId: 'ws-2' }).expect(200);
    expect(later.body.conflicts).toBe(1);
    // A refused push (stale generation) and a pull-only sync.
    await push(bob, [component('m-6')], { clientId: 'ws-2', generation: randomUUID() }).expect(409);
    await pullAll(bob, randomUUID(), 'ws-2');
    // A first sync from the snapshot.
    await alice.auth(server.http.get('/api/v1/sync/snapshot?clientId=ws-3'), 'GET').buffer(true).expect(200);

    const job = (await admin.auth(server.http.post('/api/v1/backups'), 'POST').send({ kind: 'manual' }).expect(202)).body as JobView;
    const done = await server.app.get(JobsService).waitFor(job.id);
    expect(done).toMatchObject({ status: 'succeeded' });
    backup = (await admin.auth(server.http.get(`/api/v1/backups/${(done.result as { backupId: number }).backupId}`), 'GET').expect(200))
      .body as BackupView;
  });

  it('parses as the Prometheus text format, with base units and counters ending in _total', async () => {
    const { metrics } = await scrape(manager);
    for (const [name, m] of Object.entries(metrics)) {
      if (m.type === 'counter') expect(name).toMatch(/_total$/);
      expect(['counter', 'gauge', 'histogram', 'summary']).toContain(m.type);
    }
    expect(metrics.cacpq_sync_duration_seconds.type).toBe('histogram');
    expect(metrics.cacpq_syncs_total.type).toBe('counter');
    expect(metrics.cacpq_sync_records_total.type).toBe('counter');
    expect(metrics.cacpq_sync_conflicts_total.type).toBe('counter');
    expect(metrics.cacpq_last_verified_backup_timestamp_seconds.type).toBe('gauge');
    // prom-client's process metrics come along.
    expect(metrics.process_cpu_user_seconds_total.type).toBe('counter');
    expect(metrics.nodejs_heap_size_used_bytes.type).toBe('gauge');
  });

  it('counts every sync in sync_log, by status, in the duration histogram and the syncs counter', async () => {
    const { metrics } = await scrape(manager);
    const db = server.store.serverDb;
    const byStatus = db.prepare('SELECT status, COUNT(*) AS n, SUM(duration_ms) AS ms FROM sync_log GROUP BY status').all() as {
      status: string;
      n: number;
      ms: number;
    }[];
    expect(byStatus.map((r) => r.status).sort()).toEqual(['error', 'success']);
    const histograms = metrics.cacpq_sync_duration_seconds.data as PromHistogramData[];
    for (const row of byStatus) {
      const h = histograms.find((d) => d.labels.status === row.status)!;
      expect([row.status, h.count]).toEqual([row.status, row.n]);
      expect([row.status, value(metrics, 'cacpq_syncs_total', { status: row.status })]).toEqual([row.status, row.n]);
      // The observed durations are the ones written to sync_log (read from the clock just after the row is written).
      expect(Math.abs(h.sum! - row.ms / 1000)).toBeLessThanOrEqual(0.025 * row.n);
    }
    const totals = db
      .prepare('SELECT SUM(records_pushed) AS pushed, SUM(records_pulled) AS pulled, SUM(conflicts) AS conflicts FROM sync_log')
      .get() as { pushed: number; pulled: number; conflicts: number };
    expect(value(metrics, 'cacpq_sync_records_total', { direction: 'pushed' })).toBe(totals.pushed);
    expect(value(metrics, 'cacpq_sync_records_total', { direction: 'pulled' })).toBe(totals.pulled);
    expect(value(metrics, 'cacpq_sync_conflicts_total')).toBe(totals.conflicts);
    expect(totals.conflicts).toBe(1);
    const open = db.prepare('SELECT COUNT(*) AS n FROM sync_conflicts WHERE resolved_at IS NULL').get() as { n: number };
    expect(value(metrics, 'cacpq_open_conflicts')).toBe(open.n);
  });

  it('gives the last verified backup time, the file sizes and the operations state', async () => {
    const { metrics } = await scrape(manager);
    const taken = parseSqlTime(backup.createdAt).getTime() / 1000;
    expect(Math.abs(value(metrics, 'cacpq_last_verified_backup_timestamp_seconds')! - taken)).toBeLessThanOrEqual(1);
    const server_db = server.store.files().find((f) => f.name === 'server.db')!;
    expect(value(metrics, 'cacpq_database_size_bytes', { file: 'server.db' })).toBe(fs.statSync(server_db.path).size);
    expect(value(metrics, 'cacpq_database_wal_size_bytes', { file: 'server.db' })).toBe(fs.statSync(`${server_db.path}-wal`).size);
    expect(samples(metrics, 'cacpq_database_size_bytes').map((d) => d.labels.file)).toEqual([
      'server.db',
      'generated_numbers.db',
      'hub.db',
    ]);
    expect(value(metrics, 'cacpq_maintenance_mode')).toBe(0);
    expect(value(metrics, 'cacpq_jobs_running')).toBe(0);
    // No socket is connected in these tests (supertest, no listening port).
    expect(value(metrics, 'cacpq_workstations_connected')).toBe(0);
  });

  it('leaves out the conflict count while server.db is closed for a restore, and keeps the rest', async () => {
    await server.store.suspend('a test');
    try {
      const { metrics } = await scrape(manager);
      expect(metrics.cacpq_open_conflicts).toBeUndefined();
      expect(value(metrics, 'cacpq_database_size_bytes', { file: 'server.db' })).toBeGreaterThan(0);
      expect(value(metrics, 'cacpq_last_verified_backup_timestamp_seconds')).toBeGreaterThan(0);
    } finally {
      await server.store.resume();
    }
  });

  it('is for managers and admins: anonymous 401, a user 403, a manager session or admin token 200', async () => {
    const anon = await anonymous.auth(server.http.get('/metrics'), 'GET').expect(401);
    expect(anon.body).toEqual({
      statusCode: 401,
      code: 'UNAUTHENTICATED',
      message: expect.stringMatching(/\.$/),
      requestId: expect.any(String),
    });
    const user = await alice.auth(server.http.get('/metrics'), 'GET').expect(403);
    expect(user.body).toMatchObject({ statusCode: 403, code: 'FORBIDDEN' });
    const bad = await tokenCaller('nobody', 'cacpq_not-a-real-token').auth(server.http.get('/metrics'), 'GET').expect(401);
    expect(bad.body).toMatchObject({ statusCode: 401, code: 'INVALID_TOKEN' });
    await managerSession.auth(server.http.get('/metrics'), 'GET').expect(200);
    await admin.auth(server.http.get('/metrics'), 'GET').expect(200);
  });
});
