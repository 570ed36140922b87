import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SyncClient } from '@cacpq/sync-client';
import { fileStamp, writeLegacyDataDir } from '@cacpq/db';
import { freePort } from './browser';
import { adminSession, sqlite3, startServer, tempDir, type ServerProcess } from './harness';
import { Workstation, cacpqAsync } from './workstations';

// The damaged-backup fixture, built from text (e2e/fixtures/backups/README.md).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { writeDamagedBackup } = require('../fixtures/backups/damaged-backup') as { writeDamagedBackup(target: string): void };

interface Job {
  id: number;
  status: string;
  progress: number;
  phase: string | null;
  result: Record<string, unknown> | null;
  error: string | null;
}
interface Backup {
  id: number;
  name: string;
  kind: string;
  origin: string;
  status: string;
  problem: string | null;
  files: { role: string; path: string; lastSeq: number | null; rowCounts: Record<string, number> }[];
}

type Call = Awaited<ReturnType<typeof adminSession>>;

async function json<T>(res: Promise<Response> | Response): Promise<T> {
  return (await (await res).json()) as T;
}

async function waitJob(call: Call, id: number, timeoutMs = 120_000): Promise<Job> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const job = await json<Job>(call('GET', `/api/v1/jobs/${id}`));
    if (!['queued', 'running'].includes(job.status)) return job;
    if (Date.now() > until) throw new Error(`job ${id} still ${job.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function backup(call: Call, kind = 'manual'): Promise<Backup> {
  const started = await json<Job>(call('POST', '/api/v1/backups', { kind }));
  const done = await waitJob(call, started.id);
  expect({ status: done.status, error: done.error }).toEqual({ status: 'succeeded', error: null });
  return json<Backup>(call('GET', `/api/v1/backups/${(done.result as { backupId: number }).backupId}`));
}

async function restore(call: Call, b: Backup, extra: Record<string, unknown> = {}): Promise<Job> {
  const res = await call('POST', `/api/v1/backups/${b.id}/restore`, { confirm: `restore ${b.name}`, ...extra });
  expect(res.status).toBe(202);
  return (await res.json()) as Job;
}

/** Rows of the customers, components and quotes tables of a file (closed server or workstation). */
function rows(file: string, table: string): Map<string, Record<string, unknown>> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return new Map((db.prepare(`SELECT * FROM "${table}"`).all() as Record<string, unknown>[]).map((r) => [String(r.id), r]));
  } finally {
    db.close();
  }
}

const TABLES = ['customers', 'components', 'sub_assemblies', 'product_templates', 'projects', 'quotes', 'manual_quotes'];

const DATA_COLS: Record<string, string[]> = {
  customers: ['name', 'type', 'notes'],
  components: ['sku', 'name', 'listPrice'],
};

const yesterday = new Date(Date.now() - 86_400_000);
const scriptStamp = `${fileStamp(yesterday).slice(0, 10)}_020000`;

describe('backups and restores with a real server process and workstations', () => {
  let dir: string;
  let dataDir: string;
  let server: ServerProcess;
  let call: Call;
  let env: Record<string, string>;

  const start = async (extra: Record<string, string> = {}) => {
    server = await startServer({ dataDir, env: { ...env, ...extra } });
    call = await adminSession(server.url);
  };

  async function token(username: string, device: string): Promise<string> {
    const users = await json<{ username: string }[]>(call('GET', '/api/v1/users'));
    if (!users.some((u) => u.username === username))
      expect((await call('POST', '/api/v1/users', { username, role: 'user' })).status).toBe(201);
    return (await json<{ token: string }>(call('POST', `/api/v1/users/${username}/tokens`, { device }))).token;
  }

  const master = () => path.join(dataDir, 'database', 'server.db');

  beforeAll(async () => {
    dir = tempDir('ops');
    dataDir = path.join(dir, 'data');
    env = { PORT: String(await freePort()) };
    // A script-named backup and a damaged one, as the old PowerShell scripts leave them in backups/daily.
    const legacy = path.join(dir, 'legacy');
    writeLegacyDataDir(legacy);
    const daily = path.join(dataDir, 'backups', 'daily');
    fs.mkdirSync(daily, { recursive: true });
    // Yesterday's, so that the daily retention (30 days) keeps it while this suite runs.
    fs.copyFileSync(path.join(legacy, 'database', 'server.db'), path.join(daily, `server_${scriptStamp}.db`));
    fs.copyFileSync(path.join(legacy, 'database', 'generated_numbers.db'), path.join(daily, `generated_numbers_${scriptStamp}.db`));
    writeDamagedBackup(path.join(daily, 'server_2025-11-10_020000.db'));
    await start();
    expect((await call('POST', '/api/v1/demo/seed', { confirm: 'seed-demo', scale: 0.1, months: 1 })).status).toBe(201);
  });

  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function killAt(point: string, trigger: () => Promise<Response>): Promise<void> {
    await server.stop();
    await start({ CACPQ_FAULT_PAUSE: point, CACPQ_FAULT_PAUSE_MS: '60000' });
    expect((await trigger()).status).toBe(202);
    await waitFor(() => server.output().includes(`fault point reached: ${point}`), point);
    await server.kill9();
    await start();
  }

  function partials(): string[] {
    const out: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
        if (e.name.includes('.partial') || e.name === '.work') out.push(path.join(d, e.name));
        if (e.isDirectory()) walk(path.join(d, e.name));
      }
    };
    walk(path.join(dataDir, 'backups'));
    walk(path.join(dataDir, 'archives'));
    return out;
  }

  async function healthy(): Promise<{ generation: string; customers: number }> {
    const check = await waitJob(call, (await json<Job>(call('POST', '/api/v1/maintenance/integrity'))).id);
    expect(check).toMatchObject({ status: 'succeeded' });
    const catalogue = await json<Backup[]>(call('GET', '/api/v1/backups'));
    expect(catalogue.filter((b) => b.origin === 'server' && b.status !== 'verified')).toEqual([]);
    expect(partials()).toEqual([]);
    const info = await json<{ generation: string }>(call('GET', '/api/v1/sync/info'));
    const snap = await call('GET', '/api/v1/sync/snapshot');
    return { generation: info.generation, customers: Number(snap.headers.get('x-snapshot-rows')) };
  }

  it('lists backups written by the old scripts: the good one verified, the damaged fixture refused with the master untouched', async () => {
    const list = await json<Backup[]>(call('GET', '/api/v1/backups?kind=daily'));
    const good = list.find((b) => b.name === `daily/${scriptStamp}`)!;
    const bad = list.find((b) => b.name === 'daily/2025-11-10_020000')!;
    expect(good).toMatchObject({ origin: 'found', status: 'verified', problem: null });
    expect(bad).toMatchObject({ origin: 'found', status: 'failed' });
    expect(bad.problem).toMatch(/^server_2025-11-10_020000\.db did not verify: .*(malformed|Page 2)/);
    const before = await json<{ generation: string }>(call('GET', '/api/v1/sync/info'));
    const res = await call('POST', `/api/v1/backups/${bad.id}/restore`, { confirm: `restore ${bad.name}` });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: 'BACKUP_NOT_RESTORABLE' });
    const after = await json<{ generation: string; lastSeq: number }>(call('GET', '/api/v1/sync/info'));
    expect(after.generation).toBe(before.generation);
    const jobs = await json<Job[]>(call('GET', '/api/v1/jobs?type=restore'));
    expect(jobs).toEqual([]);
  });

  it('takes a backup while three workstations push continuously: no push fails, the copy is intact and consistent', async () => {
    const clients = await Promise.all(
      ['ws-bk-1', 'ws-bk-2', 'ws-bk-3'].map(async (name, i) => {
        const w = Workstation.init(name, dir, server.url, await token(`bk${i}`, name));
        return { name, client: SyncClient.open(w.file, { maxAttempts: 1 }), file: w.file };
      }),
    );
    // A master big enough for the copy to take a while: 150,000 extra components written by the shell
    // (server_seq 0: the workstations already hold their snapshot and pull by sequence).
    expect(await server.stop()).toBe(0);
    const filler = sqlite3(
      master(),
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 150000)
       INSERT INTO components (id, sku, name, description, listPrice, server_seq)
       SELECT 'fill-' || i, 'FILL-' || i, 'Filler component ' || i, hex(randomblob(150)), i, 0 FROM n;`,
    );
    expect(filler.code).toBe(0);
    await start();

    let stop = false;
    let failures = 0;
    const pushed: Record<string, number> = {};
    const pushTimes: number[] = [];
    const loops = clients.map(async ({ name, client, file }) => {
      const db = new Database(file);
      let n = 0;
      while (!stop) {
        n++;
        db.prepare(`INSERT INTO customers (id, name, type) VALUES (?, ?, 'OEM')`).run(`${name}-${n}`, `${name} customer ${n}`);
        try {
          await client.syncNow();
          pushed[name] = n;
          pushTimes.push(Date.now());
        } catch (err) {
          failures++;
          throw err;
        }
      }
      db.close();
    });
    await new Promise((r) => setTimeout(r, 500));
    const jobStart = Date.now();
    const b = await backup(call, 'manual');
    const jobEnd = Date.now();
    stop = true;
    await Promise.all(loops);
    await Promise.all(clients.map((c) => c.client.close()));

    expect(failures).toBe(0);
    expect(pushTimes.filter((t) => t > jobStart && t < jobEnd).length).toBeGreaterThan(3);
    const file = path.join(dataDir, b.files.find((f) => f.role === 'server')!.path);
    expect(sqlite3(file, 'PRAGMA integrity_check;').stdout.trim()).toBe('ok');
    // Consistent: every push is all there or not at all, in order, and last_seq names the newest version.
    const copy = rows(file, 'customers');
    for (const { name } of clients) {
      const held = [...copy.keys()].filter((id) => id.startsWith(`${name}-`)).map((id) => Number(id.slice(name.length + 1)));
      held.sort((x, y) => x - y);
      expect(held).toEqual(held.map((_, i) => i + 1));
    }
    const seq = sqlite3(
      file,
      `SELECT (SELECT value FROM sync_state WHERE key = 'last_seq') = (SELECT MAX(m) FROM (${TABLES.map((t) => `SELECT MAX(server_seq) AS m FROM ${t}`).join(' UNION ALL ')}));`,
    );
    expect(seq.stdout.trim()).toBe('1');
  });

  it('kill -9 during VACUUM leaves the master intact', async () => {
    const before = await healthy();
    await server.stop();
    await start();
    const wal = `${master()}-wal`;
    const started = await json<Job>(call('POST', '/api/v1/maintenance/vacuum'));
    // Killed while SQLite is rewriting the file (the WAL is growing).
    await waitFor(() => fs.existsSync(wal) && fs.statSync(wal).size > 4 * 1024 * 1024, 'VACUUM to be under way', 60_000);
    await server.kill9();
    await start();
    expect(await healthy()).toEqual(before);
    expect(await json<Job>(call('GET', `/api/v1/jobs/${started.id}`))).toMatchObject({ status: 'interrupted' });
    // The filler has served its purpose: the rest of the suite works on the demo data.
    expect(await server.stop()).toBe(0);
    expect(sqlite3(master(), `DELETE FROM components WHERE id LIKE 'fill-%';`).code).toBe(0);
    await start();
    const done = await waitJob(call, (await json<Job>(call('POST', '/api/v1/maintenance/vacuum'))).id);
    expect(done).toMatchObject({ status: 'succeeded' });
    expect((done.result as { reclaimedBytes: number }).reclaimedBytes).toBeGreaterThan(20 * 1024 * 1024);
  });

  it('restore drill: nothing any workstation holds is lost and no quote number is issued twice', async () => {
    const a = Workstation.init('ws-drill-a', dir, server.url, await token('drill-a', 'ws-drill-a'));
    const b = Workstation.init('ws-drill-b', dir, server.url, await token('drill-b', 'ws-drill-b'));
    const c = Workstation.init('ws-drill-c', dir, server.url, await token('drill-c', 'ws-drill-c'));
    const issued = new Set<string>();
    const number = async (w: Workstation) => {
      const r = await cacpqAsync(['client', 'number', 'quote', '--db', w.file]);
      expect(r.status).toBe(0);
      const n = r.stdout.trim().split(/\s+/)[0];
      expect(issued.has(n)).toBe(false);
      issued.add(n);
      return n;
    };
    await number(a);
    const snap = await backup(call, 'daily');

    // After the backup: synced edits, a delete, new rows and numbers on every workstation...
    a.sql(`INSERT INTO customers (id, name, type) VALUES ('drill-a-new', 'Made by A after the backup', 'OEM');
      UPDATE components SET listPrice = 777 WHERE id = (SELECT id FROM components WHERE id NOT LIKE 'fill-%' ORDER BY id LIMIT 1);`);
    a.sync();
    b.sync();
    b.sql(`UPDATE customers SET notes = 'B edited after the backup' WHERE id = 'drill-a-new';
      DELETE FROM customers WHERE id = (SELECT id FROM customers WHERE id NOT LIKE 'drill-%' AND id NOT LIKE 'ws-bk-%' ORDER BY id LIMIT 1);`);
    b.sync();
    await number(b);
    await number(c);
    c.sync();
    // ...and work not yet synced when the restore starts.
    c.sql(`INSERT INTO customers (id, name, type) VALUES ('drill-c-pending', 'C not yet synced', 'End User');`);
    b.sql(`INSERT INTO components (id, sku, name) VALUES ('drill-b-pending', 'DB-1', 'B not yet synced');`);
    const deleted = b.sql(`SELECT row_id FROM _sync_tombstones ORDER BY seq DESC LIMIT 1;`);
    const before = await json<{ generation: string }>(call('GET', '/api/v1/sync/info'));

    const job = await waitJob(call, (await restore(call, snap)).id);
    expect(job).toMatchObject({ status: 'succeeded', error: null });
    expect(job.result).toMatchObject({ integrity: 'ok' });
    const after = await json<{ generation: string }>(call('GET', '/api/v1/sync/info'));
    expect(after.generation).not.toBe(before.generation);
    // The master is back at the backup: the later rows are gone until the workstations give them back.
    const lost = await json<{ changes: unknown[] }>(
      call('GET', `/api/v1/sync/pull?generation=${after.generation}&clientId=probe&cursor=${snap.files[0].lastSeq ?? 0}`),
    );
    expect(lost.changes).toEqual([]);

    for (const w of [c, b, a]) expect(w.sync()).toMatch(/re-initialised/);
    for (const w of [a, b, c]) w.sync();
    expect(await number(a)).toBeTruthy();
    expect(await number(c)).toBeTruthy();

    expect(await server.stop()).toBe(0);
    try {
      expect(sqlite3(master(), 'PRAGMA integrity_check;').stdout.trim()).toBe('ok');
      const m = { customers: rows(master(), 'customers'), components: rows(master(), 'components') };
      expect(m.customers.get('drill-a-new')).toMatchObject({
        name: 'Made by A after the backup',
        notes: 'B edited after the backup',
        deleted: 0,
      });
      expect(m.customers.get('drill-c-pending')).toMatchObject({ name: 'C not yet synced', deleted: 0 });
      expect(m.components.get('drill-b-pending')).toMatchObject({ name: 'B not yet synced', deleted: 0 });
      expect(m.customers.get(deleted)).toMatchObject({ deleted: 1 });
      expect([...m.components.values()].some((r) => r.listPrice === 777)).toBe(true);
      // Every workstation's view of every row equals the master's, data columns and deletes.
      for (const w of [a, b, c]) {
        for (const table of ['customers', 'components'] as const) {
          const local = rows(w.file, table);
          for (const [id, r] of local) {
            const mr = m[table].get(id);
            expect({ table, id, ...pick(mr, [...DATA_COLS[table], 'deleted']) }).toEqual({
              table,
              id,
              ...pick(r, [...DATA_COLS[table], 'deleted']),
            });
          }
        }
      }
      const numbersDb = path.join(dataDir, 'database', 'generated_numbers.db');
      const numbers = sqlite3(numbersDb, `SELECT number FROM generated_numbers WHERE duplicate_of IS NULL;`).stdout.trim().split('\n');
      for (const n of issued) expect(numbers).toContain(n);
      expect(new Set(numbers).size).toBe(numbers.length);
    } finally {
      await start();
    }
  });

  it('restores a backup written by the old scripts (legacy schema, adopted on the way in)', async () => {
    const list = await json<Backup[]>(call('GET', '/api/v1/backups?kind=daily'));
    const legacy = list.find((b) => b.name === `daily/${scriptStamp}`)!;
    const preview = await json<{ tables: { table: string; backup: number; now: number }[]; confirmPhrase: string }>(
      call('GET', `/api/v1/backups/${legacy.id}/preview`),
    );
    expect(preview.tables.find((t) => t.table === 'customers')!.backup).toBeGreaterThan(0);
    const job = await waitJob(call, (await restore(call, legacy)).id);
    expect(job).toMatchObject({ status: 'succeeded', error: null });
    const info = await json<{ generation: string }>(call('GET', '/api/v1/sync/info'));
    const w = Workstation.init('ws-after-legacy', dir, server.url, await token('legacy-check', 'ws-after-legacy'));
    const customers = rows(w.file, 'customers');
    expect(customers.size).toBe(preview.tables.find((t) => t.table === 'customers')!.backup);
    expect(info.generation).toBeTruthy();
  });

  describe('kill -9 leaves the master intact and no partial backup in the catalogue', () => {
    it('during a backup', async () => {
      const before = await healthy();
      const count = (await json<Backup[]>(call('GET', '/api/v1/backups'))).length;
      await killAt('backup.copied', () => call('POST', '/api/v1/backups', { kind: 'weekly' }));
      expect(await healthy()).toEqual(before);
      expect((await json<Backup[]>(call('GET', '/api/v1/backups'))).length).toBe(count);
      const jobs = await json<Job[]>(call('GET', '/api/v1/jobs?type=backup&limit=1'));
      expect(jobs[0]).toMatchObject({ status: 'interrupted' });
    });

    it.each([
      ['restore.before-swap', false],
      ['restore.between-swaps', false],
      ['restore.after-swap', true],
    ])('during the restore swap (%s)', async (point, swapped) => {
      const b = await backup(call, 'manual');
      const before = await healthy();
      await killAt(point, () => call('POST', `/api/v1/backups/${b.id}/restore`, { confirm: `restore ${b.name}` }));
      const after = await healthy();
      expect(after.customers).toBe(before.customers);
      if (swapped) expect(after.generation).not.toBe(before.generation);
      else expect(after.generation).toBe(before.generation);
      const job = (await json<Job[]>(call('GET', '/api/v1/jobs?type=restore&limit=1')))[0];
      expect(job.status).toBe('interrupted');
      expect(job.error).toMatch(swapped ? /after the swap: the restore took effect/ : /before the swap: the master was left as it was/);
    });
  });
});

function pick(r: Record<string, unknown> | undefined, cols: string[]): Record<string, unknown> {
  return Object.fromEntries(cols.map((c) => [c, r?.[c] ?? null]));
}
