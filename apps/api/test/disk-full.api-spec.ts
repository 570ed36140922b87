import type Database from 'better-sqlite3';
import type { PushChange } from '@cacpq/sync-protocol';
import { isDiskFull } from '../src/common/disk-full';
import { JobsService } from '../src/jobs/jobs.service';
import { MaintenanceService } from '../src/maintenance/maintenance.service';
import { ADMIN_PASSWORD, makeUser, sessionCaller, startTestServer, type Caller, type TestServer } from './harness';

/**
 * SQLITE_FULL without filling a disk: `PRAGMA max_page_count` caps a database file at its size, so
 * the next write that needs a page fails exactly as on a full disk ("database or disk is full").
 * The end-to-end suite (e2e/src/reliability-disk.e2e-spec.ts) does the same on a real full tmpfs.
 */
let server: TestServer;
let admin: Caller;
let ws: Caller;
let generation: string;

const UNLIMITED = 1073741823;
function cap(db: Database.Database): void {
  db.pragma(`max_page_count = ${Number(db.pragma('page_count', { simple: true }))}`);
}
function uncap(db: Database.Database): void {
  db.pragma(`max_page_count = ${UNLIMITED}`);
}

function quotes(prefix: string, n: number): PushChange[] {
  return Array.from({ length: n }, (_, i) => ({
    table: 'quotes',
    op: 'upsert' as const,
    id: `${prefix}-${i}`,
    baseVersion: 0,
    updatedAt: new Date().toISOString(),
    values: { quoteNumber: `Q-${prefix}-${i}`, customer: 'Acme', notes: 'x'.repeat(2000) },
  }));
}

function push(changes: PushChange[], batchId: string) {
  return ws
    .auth(server.http.post('/api/v1/sync/push'), 'POST')
    .send({ protocolVersion: 1, clientId: 'ws-disk', batchId, generation, clientTime: new Date().toISOString(), changes });
}

const count = (sql: string) => (server.store.serverDb.prepare(sql).get() as { n: number }).n;

beforeAll(async () => {
  server = await startTestServer();
  admin = await sessionCaller(server, 'admin', ADMIN_PASSWORD);
  ws = (await makeUser(server, admin, 'disky', 'user')).token;
  generation = ((await ws.auth(server.http.get('/api/v1/sync/info'), 'GET').expect(200)).body as { generation: string }).generation;
});
afterAll(() => server.close());
afterEach(() => {
  uncap(server.store.serverDb);
  uncap(server.store.hubDb);
});

describe('a full disk', () => {
  it('recognises SQLite, TypeORM and filesystem disk-full errors, and nothing else', () => {
    expect(isDiskFull(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }))).toBe(true);
    expect(isDiskFull({ message: 'QueryFailedError', driverError: { code: 'SQLITE_FULL' } })).toBe(true);
    expect(isDiskFull(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }))).toBe(true);
    expect(isDiskFull('database or disk is full')).toBe(true);
    expect(isDiskFull(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }))).toBe(false);
    expect(isDiskFull(null)).toBe(false);
  });

  it('a push that finds the master full is 507 DISK_FULL with a sentence, applies nothing, and goes through once space returns', async () => {
    await push(quotes('before', 3), 'b-before').expect(200);
    const rows = count('SELECT COUNT(*) AS n FROM quotes');
    const seq = count(`SELECT CAST(value AS INTEGER) AS n FROM sync_state WHERE key = 'last_seq'`);
    const batches = count('SELECT COUNT(*) AS n FROM sync_batches');
    cap(server.store.serverDb);
    const res = await push(quotes('full', 400), 'b-full');
    expect(res.status).toBe(507);
    expect(res.headers['retry-after']).toBe('60');
    expect(res.body).toMatchObject({ statusCode: 507, code: 'DISK_FULL' });
    expect((res.body as { message: string }).message).toMatch(/disk is full, so nothing of this request was saved\./);
    // All or nothing: no row, no sequence number, no kept answer of the failed batch.
    expect(count('SELECT COUNT(*) AS n FROM quotes')).toBe(rows);
    expect(count(`SELECT CAST(value AS INTEGER) AS n FROM sync_state WHERE key = 'last_seq'`)).toBe(seq);
    expect(count('SELECT COUNT(*) AS n FROM sync_batches')).toBe(batches);
    uncap(server.store.serverDb);
    const again = await push(quotes('full', 400), 'b-full').expect(200);
    expect((again.body as { replayed: boolean }).replayed).toBe(false);
    expect(count('SELECT COUNT(*) AS n FROM quotes')).toBe(rows + 400);
    expect(count(`SELECT CAST(value AS INTEGER) AS n FROM sync_state WHERE key = 'last_seq'`)).toBe(seq + 400);
  });

  it('hub.db full: sign-ins are 507 DISK_FULL once a session row no longer fits, never 500, and work again afterwards', async () => {
    cap(server.store.hubDb);
    // Each sign-in writes a session row (and an audit entry); the pages free when capped fill up first.
    let res = await server.http.post('/api/v1/auth/login').send({ username: 'admin', password: ADMIN_PASSWORD });
    for (let i = 0; i < 500 && res.status === 200; i++) {
      res = await server.http.post('/api/v1/auth/login').send({ username: 'admin', password: ADMIN_PASSWORD });
    }
    expect(res.status).toBe(507);
    expect(res.body).toMatchObject({ statusCode: 507, code: 'DISK_FULL' });
    uncap(server.store.hubDb);
    await server.http.post('/api/v1/auth/login').send({ username: 'admin', password: ADMIN_PASSWORD }).expect(200);
    await admin.auth(server.http.post('/api/v1/users'), 'POST').send({ username: 'new-one', role: 'user' }).expect(201);
  });

  it('a job whose row hub.db cannot take still finishes (no crash), shows its outcome, and writes it once it can', async () => {
    const jobs = server.app.get(JobsService);
    const hub = server.store.hubDb;
    let full = true;
    const spy = jest.spyOn(server.store, 'hubDb', 'get').mockReturnValue(
      new Proxy(hub, {
        get(target, prop) {
          if (prop !== 'prepare') return Reflect.get(target, prop, target) as unknown;
          // The disk is full when a statement runs (repositories keep their statements per handle).
          return (sql: string) => {
            const st = target.prepare(sql);
            if (!/^\s*UPDATE jobs/.test(sql)) return st;
            return {
              run: (...args: unknown[]) => {
                if (full) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
                return st.run(...args);
              },
            };
          };
        },
      }),
    );
    try {
      const queued = server.app.get(MaintenanceService).request('optimize', { trigger: 'manual', requestedBy: 'test' });
      const done = await jobs.waitFor(queued.id);
      expect(done.status).toBe('succeeded');
      const row = () => hub.prepare('SELECT status FROM jobs WHERE id = ?').get(queued.id) as { status: string };
      expect(row().status).toBe('queued');
      full = false;
      const deadline = Date.now() + 10_000;
      while (row().status !== 'succeeded' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(row().status).toBe('succeeded');
    } finally {
      spy.mockRestore();
    }
  });
});
