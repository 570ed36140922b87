import type { ConflictView, GrowthReport, PullResponse } from '@cacpq/sync-protocol';
import { ADMIN_PASSWORD, makeUser, sessionCaller, startTestServer, type Caller, type TestServer } from '../../test/harness';

let server: TestServer;
let admin: Caller;

const get = async <T>(path: string, who: Caller = admin): Promise<T> =>
  (await who.auth(server.http.get(path), 'GET').expect(200)).body as T;

beforeAll(async () => {
  server = await startTestServer();
  admin = await sessionCaller(server, 'admin', ADMIN_PASSWORD);
  await admin.auth(server.http.post('/api/v1/demo/seed'), 'POST').send({ confirm: 'seed-demo', scale: 0.1, months: 1 }).expect(201);
}, 60_000);

afterAll(async () => {
  await server?.close();
});

describe('demo data for the conflicts page', () => {
  it('leaves a few open conflicts, recorded by the sync engine with both full versions, who and when', async () => {
    const open = await get<ConflictView[]>('/api/v1/conflicts');
    expect(open.map((c) => c.table).sort()).toEqual(['components', 'customers', 'projects', 'quotes']);
    for (const c of open) {
      expect(c).toMatchObject({ kind: 'update', resolvedAt: null });
      expect(c.columns.length).toBeGreaterThan(0);
      // Both versions are full rows of the same master row, and differ in every conflicting column.
      expect(c.serverVersion!.id).toBe(c.rowId);
      expect(c.clientVersion!.id).toBe(c.rowId);
      for (const col of c.columns) expect([col, c.serverVersion![col]]).not.toEqual([col, c.clientVersion![col]]);
      expect(c.serverUpdatedBy).not.toBe(c.clientUser);
      expect(c.clientId).toBe(`${c.clientUser}-laptop`);
    }
    // The later edit wins each column both changed: two scenarios each way.
    expect(open.map((c) => c.winner).sort()).toEqual(['client', 'client', 'server', 'server']);
    // What the master holds is the winner's value of each conflicting column.
    const quote = open.find((c) => c.table === 'quotes')!;
    expect(quote).toMatchObject({ winner: 'server', serverUpdatedBy: 'alice', clientUser: 'bob', columns: ['status', 'total'] });
    expect(quote.serverVersion!.status).toBe('won');
    expect(quote.clientVersion!.status).toBe('revised');
  });

  it('lets an admin resolve a demo conflict by taking the other version; the change syncs as a normal one', async () => {
    const [c] = (await get<ConflictView[]>('/api/v1/conflicts?table=customers')) as ConflictView[];
    expect(c.winner).toBe('client');
    const resolved = (
      await admin
        .auth(server.http.post(`/api/v1/conflicts/${c.id}/resolve`), 'POST')
        .send({ keep: 'loser' })
        .expect(200)
    ).body as ConflictView;
    expect(resolved.resolvedBy).toBe('admin');
    const { seq } = JSON.parse(resolved.resolution!) as { seq: number };
    const generation = (await get<{ generation: string }>('/api/v1/sync/info')).generation;
    const pull = await get<PullResponse>(`/api/v1/sync/pull?generation=${generation}&clientId=spec&cursor=${seq - 1}&limit=1`);
    expect(pull.changes[0]).toMatchObject({ table: 'customers', id: c.rowId });
    for (const col of c.columns) expect(pull.changes[0].values[col]).toBe(c.serverVersion![col]);
    expect((await get<ConflictView[]>('/api/v1/conflicts')).map((x) => x.id)).not.toContain(c.id);
  });
});

describe('demo data for the growth page', () => {
  it('holds 90 days of increasing size samples for every file, ending at the files as they are', async () => {
    const report = await get<GrowthReport>('/api/v1/monitoring/growth?days=120');
    expect(report.files.map((f) => f.file).sort()).toEqual(['generated_numbers.db', 'hub.db', 'server.db']);
    for (const f of report.files) {
      expect(f.samples).toHaveLength(91);
      const totals = f.samples.map((s) => s.bytes + s.walBytes);
      const span = Date.parse(`${f.samples.at(-1)!.at.replace(' ', 'T')}Z`) - Date.parse(`${f.samples[0].at.replace(' ', 'T')}Z`);
      expect(Math.round(span / 86_400_000)).toBe(90);
      // Increasing: never smaller than the sample before (the WAL is rounded to whole KB).
      for (let i = 1; i < f.samples.length - 1; i++) expect(f.samples[i].bytes).toBeGreaterThanOrEqual(f.samples[i - 1].bytes);
      expect(totals[0]).toBeLessThan(totals.at(-1)!);
      for (const s of f.samples) expect(s.bytes % s.pageSize).toBe(0);
      expect(f.projectedMbPerYear).toBeGreaterThan(0);
      // Smooth to the real sample: no day-over-day jump that would open the growth alert.
      expect(f.dayOverDayPct).not.toBeNull();
      expect(f.dayOverDayPct!).toBeLessThan(10);
    }
    const master = report.files.find((f) => f.file === 'server.db')!;
    const db = server.store.serverDb;
    expect(master.tables.find((t) => t.table === 'components')!.rows).toBe(db.prepare('SELECT COUNT(*) FROM components').pluck().get());
    expect(master.samples[0].pageCount).toBeLessThan(master.samples.at(-1)!.pageCount * 0.6);
    expect(report.assessment).toBe('normal');
  });

  it('refuses a second seed (the master holds data) and leaves the history as it was', async () => {
    const before = server.store.hubDb.prepare('SELECT COUNT(*) FROM size_samples').pluck().get();
    const res = await admin.auth(server.http.post('/api/v1/demo/seed'), 'POST').send({ confirm: 'seed-demo' }).expect(409);
    expect(res.body).toMatchObject({ code: 'NOT_EMPTY' });
    expect(res.body.message).toMatch(/demo data goes only into an empty one/);
    expect(server.store.hubDb.prepare('SELECT COUNT(*) FROM size_samples').pluck().get()).toBe(before);
  });

  it('is for admins only', async () => {
    const manager = (await makeUser(server, admin, 'mina', 'manager')).session;
    await manager.auth(server.http.post('/api/v1/demo/seed'), 'POST').send({ confirm: 'seed-demo' }).expect(403);
  });
});
