import { LEGACY_WORKSTATION_LAST_SYNC, writeLegacyDataDir, writeLegacyWorkstation } from '@cacpq/db';
import type { AdoptReport } from '@cacpq/sync-client';
import type { ConflictView } from '@cacpq/sync-protocol';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, adminSession, startServer, tempDir, type ServerProcess } from './harness';
import { Workstation, cacpq, readTables } from './workstations';

// Taking over a workstation's existing file (issue 14, part 4): the old desktop app's local
// database on alice's PC (libs/db/fixtures/legacy/workstation.sql: offline work since its last SMB
// sync, two ids other PCs used meanwhile, one row deleted) adopted with `cacpq client adopt` against
// a real server that adopted the legacy master, while bob already works through the server.

const TABLES = ['customers', 'components', 'sub_assemblies', 'product_templates', 'projects', 'quotes', 'manual_quotes'];
const SYNC_COLUMNS = ['updated_at', 'updated_by', 'synced_at', 'server_seq', 'deleted'];
const CLI = path.join(ROOT, 'tools', 'bin', 'cacpq.js');

const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
type Rows = Record<string, Record<string, unknown>[]>;

/** Data columns only, keyed by table and id: what a record is, whoever synced it when. */
function records(tables: Rows, rename: Map<string, string> = new Map()): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [t, rows] of Object.entries(tables)) {
    for (const row of rows) {
      const data = Object.fromEntries(
        Object.entries(row)
          .filter(([k]) => !SYNC_COLUMNS.includes(k))
          .map(([k, v]) => [k, typeof v === 'string' && rename.has(v) ? rename.get(v) : v]),
      );
      const id = String(row.id);
      out[`${t}/${rename.get(id) ?? id}`] = data;
    }
  }
  return out;
}

/** An office on the day of the switch-over: the master adopted by the server, bob on it already, alice's PC not yet. */
interface Office {
  dir: string;
  server: ServerProcess;
  call: Awaited<ReturnType<typeof adminSession>>;
  bob: Workstation;
  aliceToken: string;
  aliceFile: string;
  /** The master as bob holds it just before alice's adoption. */
  before: Rows;
}

async function office(name: string): Promise<Office> {
  const dir = tempDir(`adopt-${name}`);
  const dataDir = path.join(dir, 'data');
  writeLegacyDataDir(dataDir);
  const server = await startServer({ dataDir });
  const call = await adminSession(server.url);
  const token = async (username: string) => {
    expect((await call('POST', '/api/v1/users', { username, role: 'user' })).status).toBe(201);
    return ((await (await call('POST', `/api/v1/users/${username}/tokens`, { device: `${username}-pc` })).json()) as { token: string })
      .token;
  };
  const bob = Workstation.init('bob', dir, server.url, await token('bob'));
  // After the switch-over bob changes three components alice's PC still has as they were.
  bob.sql(`UPDATE components SET listPrice = 901.5 WHERE id = '8';
    UPDATE components SET listPrice = 902.5 WHERE id = '9';
    UPDATE components SET unitCost = 10.25 WHERE id = '10';`);
  bob.sync();
  const aliceToken = await token('alice');
  fs.mkdirSync(path.join(dir, 'alice'));
  const aliceFile = path.join(dir, 'alice', 'server.db');
  writeLegacyWorkstation(aliceFile);
  return { dir, server, call, bob, aliceToken, aliceFile, before: bob.dump(TABLES) };
}

const adoptArgs = (o: Office) => [
  'client',
  'adopt',
  '--server',
  o.server.url,
  '--token',
  o.aliceToken,
  '--db',
  o.aliceFile,
  '--client-id',
  'alice-pc',
  '--json',
];

function adopt(o: Office): AdoptReport {
  const r = cacpq(adoptArgs(o));
  if (r.status !== 0) throw new Error(`adopt failed (${r.status}): ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout) as AdoptReport;
}

/** `cacpq client adopt` paused at a phase (CACPQ_ADOPT_PAUSE_AT), then killed with SIGKILL there. */
async function adoptKilledAt(o: Office, phase: string): Promise<void> {
  const child = spawn(process.execPath, [CLI, ...adoptArgs(o)], {
    cwd: ROOT,
    env: { ...process.env, CACPQ_ADOPT_PAUSE_AT: phase },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`never paused at ${phase}:\n${output}`)), 60_000);
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes(`adopt: paused at ${phase}`)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => reject(new Error(`exited ${code} before pausing at ${phase}:\n${output}`)));
  });
  child.kill('SIGKILL');
  await exited;
}

const conflicts = async (o: Office) =>
  ((await (await o.call('GET', '/api/v1/conflicts?status=all&limit=1000')).json()) as ConflictView[]).sort((a, b) =>
    a.rowId.localeCompare(b.rowId),
  );

const state = (file: string) => {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return {
      status: db.prepare(`SELECT value FROM _sync_state WHERE key = 'adopt_status'`).pluck().get(),
      outbox: db.prepare('SELECT COUNT(*) FROM _sync_outbox').pluck().get(),
      pending: db.prepare('SELECT COUNT(*) FROM _sync_pending').pluck().get(),
    };
  } finally {
    db.close();
  }
};

describe('cacpq client adopt: a workstation file of the SMB era taken over (issue 14)', () => {
  let a: Office;
  let b: Office;
  let report: AdoptReport;
  let legacy: Rows;
  /** Right after alice's adoption: the master as bob then pulls it, and alice's file. */
  let masterAfter: Rows;
  let aliceAfter: Rows;

  beforeAll(async () => {
    a = await office('a');
    legacy = readTables(a.aliceFile, TABLES);
    report = adopt(a);
    a.bob.sync();
    masterAfter = a.bob.dump(TABLES);
    aliceAfter = readTables(a.aliceFile, TABLES);
  });

  afterAll(async () => {
    for (const o of [a, b]) {
      await o?.server.stop();
      if (o) fs.rmSync(o.dir, { recursive: true, force: true });
    }
  });

  const table = (r: AdoptReport, name: string) => r.tables.find((t) => t.table === name)!;

  it('reports per table what was adopted, pushed, re-keyed and conflicted', () => {
    expect(report).toMatchObject({ clientId: 'alice-pc', resumed: false, restarted: false });
    for (const t of TABLES) expect([t, table(report, t).adopted]).toEqual([t, legacy[t].length]);
    expect(table(report, 'customers')).toMatchObject({
      inserts: 1,
      updates: 1,
      updatesWithoutBase: 0,
      rekeyed: [],
      pushed: 2,
      conflicts: 0,
    });
    expect(table(report, 'projects')).toMatchObject({
      inserts: 0,
      rekeyed: [{ from: '21', to: expect.any(String) }],
      pushed: 1,
      conflicts: 0,
    });
    expect(table(report, 'quotes')).toMatchObject({ rekeyed: [{ from: '13', to: expect.any(String) }], pushed: 1, newFromMaster: 90 - 12 });
    // 5 edited here only; 8 and 9 edited here and by bob since; 10 by bob only; 7 deleted here; 101–250 made after the last sync.
    expect(table(report, 'components')).toMatchObject({
      updates: 3,
      updatesWithoutBase: 2,
      deletes: 1,
      tookMaster: 1,
      unchanged: 100 - 1 - 4,
      newFromMaster: 150,
      // The master learns imageUrl from its own legacy table and syncs it: not local-only any more.
      localOnlyColumns: [],
      pushed: 4,
      conflicts: 2,
      heldBack: 0,
    });
    expect(table(report, 'sub_assemblies')).toMatchObject({ adopted: 6, unchanged: 6, pushed: 0 });
    expect(report.sync.conflicts).toBe(2);
  });

  it('puts every local change on the master, keeps both colliding records, overwrites nothing of anyone else’s', async () => {
    const after = records(masterAfter);
    const before = records(a.before);
    const project = table(report, 'projects').rekeyed[0].to;
    const quote = table(report, 'quotes').rekeyed[0].to;

    // Alice's offline work, on the master.
    expect(after['customers/41']).toMatchObject({ name: 'Alice Offline Customer', createdAt: '2023-04-20 09:15:00.000' });
    expect(after['customers/3']).toMatchObject({ phone: '+1 713 555 0303' });
    expect(after['components/5']).toMatchObject({ listPrice: 1999.99 });
    expect(after['components/7']).toBeUndefined();
    expect(after[`projects/${project}`]).toMatchObject({ name: 'Alice offline project', customerId: '41' });
    expect(after[`quotes/${quote}`]).toMatchObject({ title: 'Alice offline quote', projectId: project, customerId: '41' });
    // The colliding ids: the other PCs' records as they were, alice's under new ids.
    expect(after['projects/21']).toEqual(before['projects/21']);
    expect(after['quotes/13']).toEqual(before['quotes/13']);
    expect(after['projects/21']).toMatchObject({ name: 'Project 21' });
    // Bob's later edits stand; alice's edit of another column of the same row too.
    expect(after['components/8']).toEqual(before['components/8']);
    expect(after['components/8']).toMatchObject({ listPrice: 901.5 });
    expect(after['components/9']).toEqual({ ...before['components/9'], notes: 'Checked with the vendor: in stock' });
    expect(after['components/10']).toMatchObject({ unitCost: 10.25 });

    // Nothing else moved: every other record exactly as it was.
    const changed = Object.keys({ ...before, ...after })
      .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
      .sort();
    expect(changed).toEqual(
      ['components/5', 'components/7', 'components/9', 'customers/3', 'customers/41', `projects/${project}`, `quotes/${quote}`].sort(),
    );

    // Alice's stale edit of 8 and the overlap on 9 are recorded conflicts with both versions.
    const recorded = await conflicts(a);
    expect(recorded.map((c) => [c.table, c.rowId, c.winner, [...c.columns].sort()])).toEqual([
      ['components', '8', 'server', ['listPrice']],
      ['components', '9', 'server', ['listPrice', 'notes']],
    ]);
    expect(recorded[0]).toMatchObject({ clientUser: 'alice', clientVersion: { listPrice: 888.88 }, serverVersion: { listPrice: 901.5 } });
  });

  it('leaves alice a workstation file: the master’s rows, her own columns and tables, nothing pending, a verified backup', () => {
    const mine = aliceAfter;
    const master = records(masterAfter);
    // Every column of hers the master syncs too (imageUrl included, learned from the master's legacy table) equals the master's.
    expect(records(mine)).toEqual(master);
    expect(mine.components.find((r) => r.id === '10')).toMatchObject({ unitCost: 10.25 });
    expect(state(a.aliceFile)).toEqual({ status: 'done', outbox: 0, pending: 0 });
    const db = new Database(a.aliceFile, { readonly: true });
    expect(db.prepare('SELECT COUNT(*) FROM sync_log').pluck().get()).toBe(12);
    expect(db.prepare(`SELECT typeof(id) FROM customers WHERE id = '41'`).pluck().get()).toBe('text');
    db.close();

    expect(path.dirname(report.backup)).toBe(path.dirname(a.aliceFile));
    expect(readTables(report.backup, TABLES)).toEqual(legacy);
    const backup = new Database(report.backup, { readonly: true });
    expect(backup.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(backup.prepare('SELECT MAX(synced_at) FROM customers').pluck().get()).toBe(LEGACY_WORKSTATION_LAST_SYNC);
    backup.close();

    // From now on the app's edits sync like any workstation's.
    new Workstation('alice', a.aliceFile).sql(`UPDATE customers SET city = 'Dallas' WHERE id = '41';`);
    expect(new Workstation('alice', a.aliceFile).sync()).toMatch(/pushed 1/);
    a.bob.sync();
    expect(a.bob.dump(['customers']).customers.find((r) => r.id === '41')).toMatchObject({ city: 'Dallas' });
  });

  it('refuses a file already adopted and one that is not SQLite with a sentence, changing nothing', () => {
    const adopted = sha(a.aliceFile);
    const again = cacpq(adoptArgs(a));
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/^adopt failed: ALREADY_ADOPTED: .*server\.db is a CACPQ workstation file already/);
    expect(sha(a.aliceFile)).toBe(adopted);

    const csv = path.join(a.dir, 'alice', 'customers-export.csv');
    fs.writeFileSync(csv, 'id,name\n1,Legacy Customer 1\n');
    const listing = fs.readdirSync(path.dirname(csv)).sort();
    const notSqlite = cacpq(['client', 'adopt', '--server', a.server.url, '--token', a.aliceToken, '--db', csv]);
    expect(notSqlite.status).toBe(1);
    expect(notSqlite.stderr).toMatch(/^adopt failed: NOT_SQLITE: .*customers-export\.csv is not an SQLite database/);
    expect(fs.readFileSync(csv, 'utf8')).toBe('id,name\n1,Legacy Customer 1\n');
    expect(fs.readdirSync(path.dirname(csv)).sort()).toEqual(listing);
  });

  it('killed before its swap and again mid-push, a re-run gives the same result', async () => {
    b = await office('b');
    const original = sha(b.aliceFile);

    await adoptKilledAt(b, 'converted');
    expect(sha(b.aliceFile)).toBe(original);

    await adoptKilledAt(b, 'pushed');
    // Swapped in, its push answered by the server but not yet written here: adopted, the batch pending.
    expect(state(b.aliceFile)).toEqual({ status: 'pushing', outbox: expect.any(Number), pending: 1 });
    expect(fs.readdirSync(path.dirname(b.aliceFile)).filter((f) => /adopting|partial/.test(f))).toEqual([]);

    const finished = adopt(b);
    expect(finished.resumed).toBe(true);
    expect(state(b.aliceFile)).toEqual({ status: 'done', outbox: 0, pending: 0 });

    // The same outcome as the uninterrupted adoption: the report, the master, alice's file, the conflicts.
    const ids = (r: AdoptReport) => new Map(r.tables.flatMap((t) => t.rekeyed.map((k) => [k.to, `new:${t.table}:${k.from}`] as const)));
    const plain = (r: AdoptReport) => r.tables.map((t) => ({ ...t, rekeyed: t.rekeyed.map((k) => k.from) }));
    expect(plain(finished)).toEqual(plain(report));
    b.bob.sync();
    expect(records(b.bob.dump(TABLES), ids(finished))).toEqual(records(masterAfter, ids(report)));
    expect(records(readTables(b.aliceFile, TABLES), ids(finished))).toEqual(records(aliceAfter, ids(report)));
    expect((await conflicts(b)).map((c) => [c.table, c.rowId, c.winner, c.kind])).toEqual(
      (await conflicts(a)).map((c) => [c.table, c.rowId, c.winner, c.kind]),
    );
  });
});
