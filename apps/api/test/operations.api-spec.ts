import Database from 'better-sqlite3';
import type request from 'supertest';
import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BackupView, JobView, PushChange, RestorePreview } from '@cacpq/sync-protocol';
import { fileStamp, writeLegacyDataDir } from '@cacpq/db';
import { JobsService } from '../src/jobs/jobs.service';
import { DomainEvents } from '../src/events/domain-events';
import { OperationsScheduler } from '../src/scheduler/scheduler.service';
import { ADMIN_PASSWORD, makeUser, sessionCaller, startTestServer, type Caller, type TestServer } from './harness';

let server: TestServer;
let admin: Caller;
let alice: Caller;
let manager: Caller;

beforeAll(async () => {
  server = await startTestServer();
  admin = await sessionCaller(server, 'admin', ADMIN_PASSWORD);
  alice = (await makeUser(server, admin, 'alice', 'user')).token;
  manager = (await makeUser(server, admin, 'mona', 'manager')).session;
});
afterAll(() => server.close());

const generation = () => server.store.generation;

function push(changes: PushChange[], opts: { generation?: string } = {}) {
  return alice.auth(server.http.post('/api/v1/sync/push'), 'POST').send({
    protocolVersion: 1,
    clientId: 'ws-ops',
    batchId: randomUUID(),
    generation: opts.generation ?? generation(),
    clientTime: new Date().toISOString(),
    changes,
  });
}

const customer = (id: string, name: string): PushChange => ({
  table: 'customers',
  op: 'upsert',
  id,
  baseVersion: 0,
  updatedAt: new Date().toISOString(),
  values: { name, type: 'OEM' },
});

async function waitJob(job: JobView): Promise<JobView> {
  return server.app.get(JobsService).waitFor(job.id);
}

async function backup(kind = 'manual'): Promise<BackupView> {
  const res = await admin.auth(server.http.post('/api/v1/backups'), 'POST').send({ kind }).expect(202);
  const done = await waitJob(res.body as JobView);
  expect(done).toMatchObject({ status: 'succeeded', error: null });
  return (await admin.auth(server.http.get(`/api/v1/backups/${(done.result as { backupId: number }).backupId}`), 'GET').expect(200))
    .body as BackupView;
}

function binary(res: request.Response, done: (err: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  (res as unknown as NodeJS.ReadableStream).on('data', (c: Buffer) => chunks.push(c));
  (res as unknown as NodeJS.ReadableStream).on('end', () => done(null, Buffer.concat(chunks)));
}

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function names(): string[] {
  return server.store.serverDb.prepare('SELECT name FROM customers WHERE deleted = 0 ORDER BY name').pluck().all() as string[];
}

describe('backups', () => {
  it('writes a verified manual backup with the guide names, row counts and sha256, while progress streams', async () => {
    await push([customer('c-1', 'Acme'), customer('c-2', 'Globex')]).expect(200);
    const seen: JobView[] = [];
    const events = server.app.get(DomainEvents);
    const listen = (j: JobView) => seen.push(j);
    events.on('job.updated', listen);
    const b = await backup('manual');
    events.off('job.updated', listen);

    expect(b).toMatchObject({ kind: 'manual', origin: 'server', status: 'verified', check: 'quick_check', problem: null });
    const serverFile = b.files.find((f) => f.role === 'server')!;
    expect(serverFile.path).toMatch(/^backups\/manual\/server_\d{4}-\d{2}-\d{2}_\d{6}\.db$/);
    expect(b.files.find((f) => f.role === 'numbers')!.path).toMatch(/^backups\/manual\/generated_numbers_\d{4}-\d{2}-\d{2}_\d{6}\.db$/);
    const file = path.join(server.dataDir, serverFile.path);
    expect(sha256(file)).toBe(serverFile.sha256);
    expect(serverFile.rowCounts.customers).toBe(2);
    // One self-contained file: rollback journal, nothing beside it, and it passes integrity_check.
    const db = new Database(file, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
    expect(fs.readdirSync(path.dirname(file)).filter((f) => f.includes('.partial'))).toEqual([]);

    const progress = seen.filter((j) => j.status === 'running').map((j) => j.progress);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.every((p) => p >= 0 && p <= 1)).toBe(true);
    expect(seen.some((j) => j.phase?.startsWith('verifying'))).toBe(true);
    expect(seen.at(-1)).toMatchObject({ status: 'succeeded', progress: 1 });
  });

  it('writes weekly backups as folders (integrity_check) and monthly ones as a verified zip archive', async () => {
    const weekly = await backup('weekly');
    expect(weekly.check).toBe('integrity_check');
    expect(weekly.files.map((f) => f.path).sort()).toEqual([
      expect.stringMatching(/^backups\/weekly\/\d{4}-\d{2}-\d{2}(_\d{6})?\/generated_numbers\.db$/),
      expect.stringMatching(/^backups\/weekly\/\d{4}-\d{2}-\d{2}(_\d{6})?\/server\.db$/),
    ]);
    const monthly = await backup('monthly');
    expect(monthly.name).toMatch(/^monthly\/CACPQ_\d{4}-\d{2}(_\d+)?$/);
    const zip = path.join(server.dataDir, 'archives', `${monthly.name.slice(8)}.zip`);
    expect(fs.statSync(zip).size).toBe(monthly.bytes);
    const res = await admin
      .auth(server.http.get(`/api/v1/backups/${monthly.id}/download?file=server`), 'GET')
      .buffer(true)
      .parse(binary)
      .expect(200);
    expect(res.headers['content-type']).toBe('application/vnd.sqlite3');
    expect(
      createHash('sha256')
        .update(res.body as Buffer)
        .digest('hex'),
    ).toBe(monthly.files.find((f) => f.role === 'server')!.sha256);
  });

  it('runs one job at a time: a second job waits for the first', async () => {
    const a = (await admin.auth(server.http.post('/api/v1/backups'), 'POST').send({}).expect(202)).body as JobView;
    const b = (await admin.auth(server.http.post('/api/v1/maintenance/checkpoint'), 'POST').expect(202)).body as JobView;
    expect(b.status).toBe('queued');
    const [da, db] = [await waitJob(a), await waitJob(b)];
    expect(da.status).toBe('succeeded');
    expect(db.status).toBe('succeeded');
    expect(db.startedAt! >= da.finishedAt!).toBe(true);
  });

  it('finds backups written by the old scripts, verifies and lists them; a damaged one is listed as failed and refused', async () => {
    const daily = path.join(server.dataDir, 'backups', 'daily');
    fs.mkdirSync(daily, { recursive: true });
    // What Copy-Item of the master would have produced: a plain copy of a checkpointed file.
    server.store.serverDb.pragma('wal_checkpoint(TRUNCATE)');
    server.store.numbersDb.pragma('wal_checkpoint(TRUNCATE)');
    await server.store.serverDb.backup(path.join(daily, 'server_2025-11-12_020000.db'));
    await server.store.numbersDb.backup(path.join(daily, 'generated_numbers_2025-11-12_020000.db'));
    const bytes = fs.readFileSync(path.join(daily, 'server_2025-11-12_020000.db'));
    bytes.fill(0x5a, 4096 * 2, 4096 * 4); // pages 3-4 overwritten: a damaged copy
    fs.writeFileSync(path.join(daily, 'server_2025-11-13_020000.db'), bytes);
    fs.writeFileSync(path.join(daily, 'notes.txt'), 'not a backup');

    const list = (await manager.auth(server.http.get('/api/v1/backups?kind=daily'), 'GET').expect(200)).body as BackupView[];
    const good = list.find((b) => b.name === 'daily/2025-11-12_020000')!;
    const bad = list.find((b) => b.name === 'daily/2025-11-13_020000')!;
    expect(good).toMatchObject({ origin: 'found', status: 'verified', problem: null });
    expect(good.files.map((f) => f.role).sort()).toEqual(['numbers', 'server']);
    expect(bad).toMatchObject({ origin: 'found', status: 'failed' });
    expect(bad.problem).toMatch(/did not verify/);
    expect(list).toHaveLength(2);

    const before = names();
    const preview = (await admin.auth(server.http.get(`/api/v1/backups/${bad.id}/preview`), 'GET').expect(200)).body as RestorePreview;
    const refused = await admin
      .auth(server.http.post(`/api/v1/backups/${bad.id}/restore`), 'POST')
      .send({ confirm: preview.confirmPhrase })
      .expect(409);
    expect(refused.body).toMatchObject({ code: 'BACKUP_NOT_RESTORABLE' });
    expect(names()).toEqual(before);
    fs.rmSync(path.join(daily, 'server_2025-11-13_020000.db'));
  });
});

describe('restore', () => {
  it('restores the whole master: maintenance mode, pre-restore snapshot, new generation, numbers never reissued', async () => {
    await push([customer('r-1', 'Before backup')]).expect(200);
    const issuedBefore = (await alice.auth(server.http.post('/api/v1/numbers/quote'), 'POST').send({}).expect(201)).body as {
      number: string;
    };
    const b = await backup('manual');
    await push([customer('r-2', 'After backup')]).expect(200);
    const issuedAfter = (await alice.auth(server.http.post('/api/v1/numbers/quote'), 'POST').send({}).expect(201)).body as {
      number: string;
    };
    const oldGeneration = generation();

    const preview = (await admin.auth(server.http.get(`/api/v1/backups/${b.id}/preview`), 'GET').expect(200)).body as RestorePreview;
    expect(preview.confirmPhrase).toBe(`restore ${b.name}`);
    const customers = preview.tables.find((t) => t.table === 'customers')!;
    expect(customers.now).toBe(customers.backup + 1);
    expect(preview.changesSince).toBe(1);

    const wrong = await admin
      .auth(server.http.post(`/api/v1/backups/${b.id}/restore`), 'POST')
      .send({ confirm: 'yes' })
      .expect(400);
    expect(wrong.body).toMatchObject({ code: 'CONFIRMATION_REQUIRED' });
    expect(wrong.body.message).toContain(preview.confirmPhrase);

    process.env.CACPQ_FAULT_PAUSE = 'restore.before-swap';
    process.env.CACPQ_FAULT_PAUSE_MS = '1500';
    const states: boolean[] = [];
    const onState = (s: { active: boolean }) => states.push(s.active);
    server.app.get(DomainEvents).on('maintenance.changed', onState);
    try {
      const job = (
        await admin
          .auth(server.http.post(`/api/v1/backups/${b.id}/restore`), 'POST')
          .send({ confirm: preview.confirmPhrase })
          .expect(202)
      ).body as JobView;
      // While it runs, workstations are asked to come back later; nothing they send is taken.
      let refused: { status: number; headers: Record<string, string>; body: { code: string } } | null = null;
      for (let i = 0; i < 100 && !refused; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const res = await push([customer('r-3', 'During restore')]);
        if (res.status === 503) refused = res as never;
      }
      expect(refused).not.toBeNull();
      expect(refused!.headers['retry-after']).toBe('15');
      expect(refused!.body.code).toBe('MAINTENANCE');
      const state = await manager.auth(server.http.get('/api/v1/maintenance/state'), 'GET').expect(200);
      expect(state.body).toMatchObject({ active: true, jobId: job.id });
      const done = await waitJob(job);
      expect(done).toMatchObject({ status: 'succeeded', error: null });
      expect(done.result).toMatchObject({ integrity: 'ok', restored: b.name });
    } finally {
      delete process.env.CACPQ_FAULT_PAUSE;
      server.app.get(DomainEvents).off('maintenance.changed', onState);
    }
    expect(states).toEqual([true, false]);
    expect(generation()).not.toBe(oldGeneration);
    expect(names()).toContain('Before backup');
    expect(names()).not.toContain('After backup');
    expect(names()).not.toContain('During restore');
    const state = server.store.serverDb.prepare('SELECT key, value FROM sync_state').all() as { key: string; value: string }[];
    const restoredSeq = Number(state.find((s) => s.key === 'restored_seq')!.value);
    expect(restoredSeq).toBe(b.files.find((f) => f.role === 'server')!.lastSeq);
    // A pre-restore snapshot holds what the master had, the last change included.
    const snapshots = (await admin.auth(server.http.get('/api/v1/backups?kind=pre-restore'), 'GET').expect(200)).body as BackupView[];
    expect(snapshots[0].files.find((f) => f.role === 'server')!.rowCounts.customers).toBe(customers.now);
    // The number issued after the backup was carried over, and the next one is above both.
    const next = (await alice.auth(server.http.post('/api/v1/numbers/quote'), 'POST').send({}).expect(201)).body as { number: string };
    expect([issuedBefore.number, issuedAfter.number]).not.toContain(next.number);
    expect(next.number > issuedAfter.number).toBe(true);
    expect(server.store.numbersDb.prepare('SELECT 1 FROM generated_numbers WHERE number = ?').get(issuedAfter.number)).toBeTruthy();
    // The old generation is told to re-initialise.
    const stale = await push([customer('r-4', 'Old generation')], { generation: oldGeneration }).expect(409);
    expect(stale.body.code).toBe('REINITIALIZE');
  });

  it('restores one table, or one record, as ordinary changes that sync to everyone', async () => {
    await push([customer('s-1', 'Original one'), customer('s-2', 'Original two')]).expect(200);
    const b = await backup('manual');
    await push([
      { ...customer('s-1', 'Edited one'), baseVersion: 1e9 },
      { ...customer('s-2', 'Edited two'), baseVersion: 1e9 },
      customer('s-3', 'Created later'),
    ]).expect(200);
    const preview = (await admin.auth(server.http.get(`/api/v1/backups/${b.id}/preview`), 'GET').expect(200)).body as RestorePreview;
    const before = Number(server.store.serverDb.prepare(`SELECT value FROM sync_state WHERE key = 'last_seq'`).pluck().get());

    const one = await admin
      .auth(server.http.post(`/api/v1/backups/${b.id}/restore`), 'POST')
      .send({ confirm: preview.confirmPhrase, tables: ['customers'], ids: ['s-1'] })
      .expect(202);
    expect(await waitJob(one.body as JobView)).toMatchObject({ status: 'succeeded', error: null });
    expect(names()).toEqual(expect.arrayContaining(['Original one', 'Edited two', 'Created later']));
    const restored = server.store.serverDb.prepare('SELECT server_seq, updated_by FROM customers WHERE id = ?').get('s-1') as {
      server_seq: number;
      updated_by: string;
    };
    expect(restored.server_seq).toBeGreaterThan(before);
    expect(restored.updated_by).toBe('admin');

    const table = await admin
      .auth(server.http.post(`/api/v1/backups/${b.id}/restore`), 'POST')
      .send({ confirm: preview.confirmPhrase, tables: ['customers'] })
      .expect(202);
    const done = await waitJob(table.body as JobView);
    expect(done.status).toBe('succeeded');
    expect(names()).toEqual(expect.arrayContaining(['Original one', 'Original two']));
    expect(names()).not.toContain('Created later');
    expect(names()).not.toContain('Edited two');
  });

  it('refuses bad restore requests with a code and a sentence, and changes nothing', async () => {
    const b = await backup('manual');
    const phrase = `restore ${b.name}`;
    const before = names();
    const cases: [string, unknown, number, string][] = [
      [`/api/v1/backups/${b.id}/restore`, {}, 400, 'VALIDATION_FAILED'],
      [`/api/v1/backups/${b.id}/restore`, { confirm: phrase, tables: ['users'] }, 400, 'UNKNOWN_TABLE'],
      [`/api/v1/backups/${b.id}/restore`, { confirm: phrase, ids: ['no-such-row'] }, 404, 'NOT_IN_BACKUP'],
      [`/api/v1/backups/${b.id}/restore`, { confirm: phrase, tables: [] }, 400, 'VALIDATION_FAILED'],
      [`/api/v1/backups/${b.id}/restore`, { confirm: phrase, extra: 1 }, 400, 'VALIDATION_FAILED'],
      ['/api/v1/backups/999999/restore', { confirm: phrase }, 404, 'NOT_FOUND'],
      ['/api/v1/backups/abc/restore', { confirm: phrase }, 400, 'VALIDATION_FAILED'],
      ['/api/v1/backups', { kind: 'hourly' }, 400, 'VALIDATION_FAILED'],
      ['/api/v1/backups', { kind: 'pre-restore' }, 400, 'VALIDATION_FAILED'],
      ['/api/v1/maintenance/defragment', {}, 400, 'VALIDATION_FAILED'],
    ];
    for (const [url, body, status, code] of cases) {
      const res = await admin.auth(server.http.post(url), 'POST').send(body as object);
      expect({ url, body, status: res.status, code: res.body.code }).toEqual({ url, body, status, code });
      expect(res.body.message).toMatch(/\.$/);
    }
    expect((await admin.auth(server.http.get('/api/v1/jobs/999999'), 'GET').expect(404)).body.code).toBe('NOT_FOUND');
    expect((await admin.auth(server.http.get('/api/v1/backups/1/download?file=wal'), 'GET').expect(400)).body.code).toBe(
      'VALIDATION_FAILED',
    );
    expect(names()).toEqual(before);
    const audit = (await admin.auth(server.http.get('/api/v1/audit?action=backup.restore'), 'GET').expect(200)).body as {
      outcome: string;
    }[];
    expect(audit.some((a) => a.outcome === 'denied')).toBe(true);
  });
});

describe('backups that changed on disk', () => {
  it('answers a download or restore of a backup whose files are gone with a 404, and keeps serving', async () => {
    const b = await backup('manual');
    fs.rmSync(path.join(server.dataDir, b.files.find((f) => f.role === 'numbers')!.path));
    for (const url of [`/api/v1/backups/${b.id}/download`, `/api/v1/backups/${b.id}/download?file=numbers`]) {
      const res = await admin.auth(server.http.get(url), 'GET').expect(404);
      expect(res.body).toMatchObject({ code: 'NOT_FOUND' });
      expect(res.body.message).toMatch(/no longer on disk/);
    }
    const restore = await admin
      .auth(server.http.post(`/api/v1/backups/${b.id}/restore`), 'POST')
      .send({ confirm: `restore ${b.name}` })
      .expect(404);
    expect(restore.body.code).toBe('NOT_FOUND');
    expect((await admin.auth(server.http.get('/api/v1/jobs?type=restore&status=queued'), 'GET').expect(200)).body).toEqual([]);
    // The next listing shows what is left (its server.db, verified again); with that gone too, the set is dropped.
    const list = async () => (await admin.auth(server.http.get('/api/v1/backups?kind=manual'), 'GET').expect(200)).body as BackupView[];
    expect((await list()).find((x) => x.id === b.id)!.files.map((f) => f.role)).toEqual(['server']);
    fs.rmSync(path.join(server.dataDir, b.files.find((f) => f.role === 'server')!.path));
    expect((await list()).find((x) => x.id === b.id)).toBeUndefined();
  });

  it('streams a damaged monthly archive as far as it can and never takes the server down', async () => {
    const m = await backup('monthly');
    const zip = path.join(server.dataDir, 'archives', `${m.name.slice('monthly/'.length)}.zip`);
    const bytes = fs.readFileSync(zip);
    bytes.fill(0x33, 200, Math.min(bytes.length - 200, 4000));
    fs.writeFileSync(zip, bytes);
    const fstat = fs.statSync(zip);
    fs.utimesSync(zip, fstat.atime, new Date(fstat.mtimeMs + 5000));
    const res = await admin
      .auth(server.http.get(`/api/v1/backups/${m.id}/download?file=server`), 'GET')
      .buffer(true)
      .parse(binary)
      .catch((err: Error) => ({ status: 0, error: err.message }));
    expect([0, 200, 409]).toContain(res.status);
    await admin.auth(server.http.get('/api/health'), 'GET').expect(200);
    // Once listed again it is known to be damaged and cannot be restored.
    const again = ((await admin.auth(server.http.get('/api/v1/backups?kind=monthly'), 'GET').expect(200)).body as BackupView[]).find(
      (x) => x.name === m.name,
    )!;
    expect(again.status).toBe('failed');
  });

  it('keeps cataloguing when an odd folder or a dangling link sits among the backups', async () => {
    const weekly = path.join(server.dataDir, 'backups', 'weekly');
    fs.mkdirSync(path.join(weekly, '2026-02-31'), { recursive: true });
    fs.writeFileSync(path.join(weekly, '2026-02-31', 'server.db'), 'not a date, not a database');
    fs.symlinkSync(path.join(server.dataDir, 'nowhere'), path.join(weekly, '2026-03-01'));
    const b = await backup('weekly');
    const list = (await admin.auth(server.http.get('/api/v1/backups?kind=weekly'), 'GET').expect(200)).body as BackupView[];
    expect(list.map((x) => x.name)).toContain(b.name);
    expect(list.map((x) => x.name)).not.toContain('weekly/2026-02-31');
  });

  it('asks which table when a record id names rows in more than one table', async () => {
    await push([customer('shared-id', 'A customer')]).expect(200);
    await push([
      {
        table: 'components',
        op: 'upsert',
        id: 'shared-id',
        baseVersion: 0,
        updatedAt: new Date().toISOString(),
        values: { sku: 'S-1', name: 'A component' },
      },
    ]).expect(200);
    const b = await backup('manual');
    const res = await admin
      .auth(server.http.post(`/api/v1/backups/${b.id}/restore`), 'POST')
      .send({ confirm: `restore ${b.name}`, ids: ['shared-id'] })
      .expect(400);
    expect(res.body.message).toMatch(/customers and components/);
    const ok = await admin
      .auth(server.http.post(`/api/v1/backups/${b.id}/restore`), 'POST')
      .send({ confirm: `restore ${b.name}`, ids: ['shared-id'], tables: ['components'] })
      .expect(202);
    expect(await waitJob(ok.body as JobView)).toMatchObject({ status: 'succeeded' });
    expect((await admin.auth(server.http.get('/api/v1/maintenance/runs?type=backup'), 'GET').expect(400)).body.code).toBe(
      'VALIDATION_FAILED',
    );
  });
});

describe('maintenance', () => {
  it('runs every job, records start, end and result, and lists the runs', async () => {
    for (const job of ['integrity', 'vacuum', 'reindex', 'optimize', 'checkpoint']) {
      const res = await admin.auth(server.http.post(`/api/v1/maintenance/${job}`), 'POST').expect(202);
      const done = await waitJob(res.body as JobView);
      expect({ job, status: done.status, error: done.error }).toEqual({ job, status: 'succeeded', error: null });
      expect(done.startedAt && done.finishedAt && done.durationMs! >= 0).toBeTruthy();
    }
    const runs = (await manager.auth(server.http.get('/api/v1/maintenance/runs'), 'GET').expect(200)).body as JobView[];
    expect(runs.slice(0, 5).map((r) => r.type)).toEqual(['checkpoint', 'optimize', 'reindex', 'vacuum', 'integrity']);
    expect(runs.find((r) => r.type === 'integrity')!.result).toMatchObject({
      files: { 'server.db': { integrity: 'ok', foreignKeyProblems: 0 }, 'hub.db': { integrity: 'ok' } },
    });
    // After VACUUM and REINDEX the server reopened the files: sync works.
    await push([customer('m-1', 'After maintenance')]).expect(200);
  });

  it("prunes sync_log by the guide's rules: older than 90 days, then beyond the newest 10,000", async () => {
    const db = server.store.serverDb;
    const insert =
      db.prepare(`INSERT INTO sync_log (timestamp, user, client_id, status, records_pulled, records_pushed, conflicts, duration_ms)
      VALUES (?, 'alice', 'ws', 'success', 0, 0, 0, 1)`);
    db.transaction(() => {
      for (let i = 0; i < 50; i++) insert.run(`2020-01-01 00:00:${String(i % 60).padStart(2, '0')}`);
      for (let i = 0; i < 10_100; i++) insert.run(new Date(Date.now() - i * 1000).toISOString().replace('T', ' ').slice(0, 23));
    })();
    const res = await admin.auth(server.http.post('/api/v1/maintenance/prune-sync-log'), 'POST').expect(202);
    const done = await waitJob(res.body as JobView);
    expect(done.result).toMatchObject({ removedOld: 50, rowsLeft: 10_000 });
    expect(db.prepare(`SELECT COUNT(*) FROM sync_log WHERE timestamp < datetime('now', '-90 days')`).pluck().get()).toBe(0);
  });

  it('archives quotes older than two years into archived_quotes and an SQL dump, and syncs the removal', async () => {
    const old = new Date(Date.now() - 3 * 365 * 86_400_000).toISOString();
    await push([
      {
        table: 'quotes',
        op: 'upsert',
        id: 'q-old',
        baseVersion: 0,
        updatedAt: new Date().toISOString(),
        values: { quoteNumber: 'Q2023-0001', createdAt: old },
      },
      {
        table: 'quotes',
        op: 'upsert',
        id: 'q-new',
        baseVersion: 0,
        updatedAt: new Date().toISOString(),
        values: { quoteNumber: 'Q2026-0001', createdAt: new Date().toISOString() },
      },
    ]).expect(200);
    const res = await admin.auth(server.http.post('/api/v1/maintenance/archive-quotes'), 'POST').expect(202);
    const done = await waitJob(res.body as JobView);
    expect(done.result).toMatchObject({ archived: 1 });
    const db = server.store.serverDb;
    expect(db.prepare(`SELECT quoteNumber FROM archived_quotes WHERE id = 'q-old'`).pluck().get()).toBe('Q2023-0001');
    expect(db.prepare(`SELECT deleted FROM quotes WHERE id = 'q-old'`).pluck().get()).toBe(1);
    expect(db.prepare(`SELECT deleted FROM quotes WHERE id = 'q-new'`).pluck().get()).toBe(0);
    const dump = fs.readFileSync(path.join(server.dataDir, (done.result as { dump: string }).dump), 'utf8');
    expect(dump).toContain('CREATE TABLE IF NOT EXISTS "archived_quotes"');
    expect(dump).toContain("'Q2023-0001'");
    // The dump loads on its own into an empty database.
    const check = new Database(':memory:');
    check.exec(dump);
    expect(check.prepare('SELECT COUNT(*) FROM archived_quotes').pluck().get()).toBe(1);
    check.close();
  });

  it('validates schedules and retention; lists each schedule with its next run', async () => {
    const bad = await admin
      .auth(server.http.patch('/api/v1/settings'), 'PATCH')
      .send({ 'schedule.backup.daily': '0 25 * * *' })
      .expect(400);
    expect(bad.body.message).toMatch(/hour/);
    await admin.auth(server.http.patch('/api/v1/settings'), 'PATCH').send({ 'retention.daily.days': 0 }).expect(400);
    await admin.auth(server.http.patch('/api/v1/settings'), 'PATCH').send({ 'users.admin': 1 }).expect(400);
    await manager.auth(server.http.patch('/api/v1/settings'), 'PATCH').send({ 'retention.daily.days': 5 }).expect(403);
    // Managers read the settings (the dashboard shows them read-only); nothing in them is secret.
    const read = (await manager.auth(server.http.get('/api/v1/settings'), 'GET').expect(200)).body as Record<string, unknown>;
    expect(read).toMatchObject({ 'retention.daily.days': expect.any(Number), 'schedule.backup.daily': expect.any(String) });
    const schedules = (await manager.auth(server.http.get('/api/v1/maintenance/schedules'), 'GET').expect(200)).body as {
      job: string;
      cron: string;
      nextRun: string;
    }[];
    const daily = schedules.find((s) => s.job === 'backup:daily')!;
    expect(daily.cron).toBe('0 2 * * *');
    expect(new Date(daily.nextRun).getHours()).toBe(2);
    const vacuum = schedules.find((s) => s.job === 'vacuum')!;
    const next = new Date(vacuum.nextRun);
    expect([next.getDay(), next.getDate() <= 7, next.getHours()]).toEqual([0, true, 2]);
  });
});

describe('retention over simulated dates', () => {
  it("keeps exactly the guide's counts: 30 daily, 12 weekly, every monthly", async () => {
    const off = Object.fromEntries(
      ['integrity', 'vacuum', 'optimize', 'prune-sync-log', 'archive-quotes', 'reindex', 'checkpoint'].map((j) => [`schedule.${j}`, 'off']),
    );
    await admin.auth(server.http.patch('/api/v1/settings'), 'PATCH').send(off).expect(200);
    for (const dir of ['backups/daily', 'backups/weekly', 'archives']) {
      fs.rmSync(path.join(server.dataDir, dir), { recursive: true, force: true });
    }
    const scheduler = server.app.get(OperationsScheduler);
    const jobs = server.app.get(JobsService);
    // 100 simulated days from 2027-01-01, every minute the schedules could fire.
    const fired: string[] = [];
    for (let day = 0; day < 100; day++) {
      for (const [h, m] of [
        [1, 0],
        [2, 0],
        [2, 30],
      ]) {
        fired.push(...scheduler.tick(new Date(2027, 0, 1 + day, h, m)));
      }
      await jobs.whenIdle();
    }
    expect(fired.filter((f) => f === 'backup:daily')).toHaveLength(100);
    const list = async (kind: string) =>
      (await admin.auth(server.http.get(`/api/v1/backups?kind=${kind}`), 'GET').expect(200)).body as BackupView[];
    const daily = await list('daily');
    expect(daily).toHaveLength(30);
    expect(daily[0].name).toBe('daily/2027-04-10_020000');
    expect(daily[29].name).toBe('daily/2027-03-12_020000');
    expect(fs.readdirSync(path.join(server.dataDir, 'backups', 'daily')).filter((f) => f.startsWith('server_'))).toHaveLength(30);
    const weekly = await list('weekly');
    expect(weekly).toHaveLength(12);
    expect(fs.readdirSync(path.join(server.dataDir, 'backups', 'weekly'))).toHaveLength(12);
    const monthly = await list('monthly');
    expect(monthly.map((b) => b.name).sort()).toEqual([
      'monthly/CACPQ_2027-01',
      'monthly/CACPQ_2027-02',
      'monthly/CACPQ_2027-03',
      'monthly/CACPQ_2027-04',
    ]);
  }, 180_000);
});

describe('restoring a backup written by the old scripts', () => {
  it('adopts the legacy schema on the way in; the snapshot and sync work on the restored master', async () => {
    const legacy = fs.mkdtempSync(path.join(server.dataDir, 'legacy-'));
    writeLegacyDataDir(legacy);
    const stamp = `${fileStamp(new Date(Date.now() - 86_400_000)).slice(0, 10)}_020000`;
    const daily = path.join(server.dataDir, 'backups', 'daily');
    fs.mkdirSync(daily, { recursive: true });
    fs.copyFileSync(path.join(legacy, 'database', 'server.db'), path.join(daily, `server_${stamp}.db`));
    fs.copyFileSync(path.join(legacy, 'database', 'generated_numbers.db'), path.join(daily, `generated_numbers_${stamp}.db`));
    const list = (await admin.auth(server.http.get('/api/v1/backups?kind=daily'), 'GET').expect(200)).body as BackupView[];
    const found = list.find((b) => b.name === `daily/${stamp}`)!;
    expect(found).toMatchObject({ origin: 'found', status: 'verified' });
    const job = (
      await admin
        .auth(server.http.post(`/api/v1/backups/${found.id}/restore`), 'POST')
        .send({ confirm: `restore ${found.name}` })
        .expect(202)
    ).body as JobView;
    expect(await waitJob(job)).toMatchObject({ status: 'succeeded', error: null });
    const legacyCustomers = found.files.find((f) => f.role === 'server')!.rowCounts.customers;
    expect(server.store.serverDb.prepare('SELECT COUNT(*) FROM customers').pluck().get()).toBe(legacyCustomers);
    const snap = await alice.auth(server.http.get('/api/v1/sync/snapshot'), 'GET');
    expect({ status: snap.status, body: snap.status === 200 ? null : snap.body }).toEqual({ status: 200, body: null });
    await push([customer('after-legacy', 'After the legacy restore')]).expect(200);
    // Quote archiving works on an adopted master whose quotes table holds the old app's extra columns.
    const archive = (await admin.auth(server.http.post('/api/v1/maintenance/archive-quotes'), 'POST').expect(202)).body as JobView;
    expect(await waitJob(archive)).toMatchObject({ status: 'succeeded', error: null });
    fs.rmSync(legacy, { recursive: true, force: true });
  });
});
