import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { SERVER_FEATURES, type PushChange, type PushRequest, type PushResponse, type TableInfo } from '@cacpq/sync-protocol';
import { convertLegacyTable, decideRow, deletedHere, type RowFacts } from './adopt-rows';
import { json } from './scripted-workstation.spec-helper';
import { SyncClient } from './sync-client';

// SyncClient.adopt against a scripted server: a legacy workstation file of the old desktop app
// (integer ids, updated_at/synced_at, a soft-delete flag, a column of its own, a table of its own)
// taken over in place and reconciled with the master's snapshot.

const SYNC = `updated_at DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')), updated_by TEXT, synced_at DATETIME,
  server_seq INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))`;

function table(name: string, data: [string, 'text' | 'datetime'][], ddlData: string): TableInfo {
  const col = (n: string, type: 'text' | 'datetime' | 'integer' | 'boolean', nullable = true) => ({ name: n, type, nullable });
  return {
    name,
    label: name,
    columns: [
      col('id', 'text', false),
      ...data.map(([n, t]) => col(n, t)),
      col('updated_at', 'datetime', false),
      col('updated_by', 'text'),
      col('synced_at', 'datetime'),
      col('server_seq', 'integer', false),
      col('deleted', 'boolean', false),
    ],
    ddl: `CREATE TABLE "${name}" (\n  id TEXT PRIMARY KEY NOT NULL,\n  ${ddlData},\n  ${SYNC})`,
    indexes: [`CREATE INDEX IF NOT EXISTS idx_${name}_server_seq ON ${name}(server_seq)`],
  };
}

const CUSTOMERS = table(
  'customers',
  [
    ['name', 'text'],
    ['phone', 'text'],
    ['createdAt', 'datetime'],
  ],
  'name TEXT NOT NULL, phone TEXT, createdAt DATETIME',
);
const QUOTES = table(
  'quotes',
  [
    ['title', 'text'],
    ['customerId', 'text'],
    ['createdAt', 'datetime'],
  ],
  'title TEXT, customerId TEXT, createdAt DATETIME',
);
const TABLES = [CUSTOMERS, QUOTES];

/** The file's last SMB sync. */
const S = '2023-02-01 12:00:00';

/** The master as the server holds it: [id, name, phone, createdAt, updated_at, synced_at, seq]. */
const MASTER_CUSTOMERS: [string, string, string, string, string, string | null, number][] = [
  ['1', 'Acme', '111', '2023-01-01 00:00:00', '2023-01-01 00:00:00', null, 1],
  ['2', 'Bolt', '222', '2023-01-02 00:00:00', '2023-01-02 00:00:00', null, 2],
  ['3', 'Cog', '333-master', '2023-01-03 00:00:00', '2023-06-01 00:00:00', '2023-06-01 00:00:00', 10],
  ['4', 'Dyn', '444-master', '2023-01-04 00:00:00', '2023-06-02 00:00:00', '2023-06-02 00:00:00', 11],
  ['5', 'Eel', '555', '2023-01-05 00:00:00', '2023-01-05 00:00:00', null, 5],
  ['6', 'Fox', '666', '2023-03-01 00:00:00', '2023-03-01 00:00:00', '2023-03-01 00:00:00', 12],
  ['7', 'Gnu (made on PC-B)', '777', '2023-01-20 00:00:00', '2023-01-20 00:00:00', '2023-02-25 00:00:00', 13],
  ['8', 'Hex', '888', '2023-01-08 00:00:00', '2023-01-08 00:00:00', null, 8],
];

/** The old desktop app's local database on one PC, as it left it (see the fixture in libs/db for the full one). */
function legacyFile(dir: string): string {
  const file = path.join(dir, 'server.db');
  const db = new Database(file);
  db.exec(`PRAGMA journal_mode = DELETE;
    CREATE TABLE customers (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, phone TEXT, createdAt DATETIME, favourite INTEGER,
      updated_at DATETIME, updated_by TEXT, synced_at DATETIME, deleted INTEGER DEFAULT 0);
    CREATE TABLE quotes (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT, customerId INTEGER REFERENCES customers(id), createdAt DATETIME,
      updated_at DATETIME, updated_by TEXT, synced_at DATETIME);
    CREATE TABLE app_settings (key TEXT PRIMARY KEY, value TEXT);
    INSERT INTO app_settings VALUES ('theme', 'dark'), ('lastUser', 'alice');
    CREATE TRIGGER customers_phone_log AFTER UPDATE OF phone ON customers BEGIN INSERT OR REPLACE INTO app_settings VALUES ('lastPhoneEdit', NEW.id); END;`);
  const ins = db.prepare(
    'INSERT INTO customers (id, name, phone, createdAt, favourite, updated_at, synced_at, deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  ins.run(1, 'Acme', '111', '2023-01-01 00:00:00', 1, '2023-01-01 00:00:00', S, 0); // equal
  ins.run(2, 'Bolt', '222-local', '2023-01-02 00:00:00', 0, '2023-03-01 09:00:00', S, 0); // edited here only
  ins.run(3, 'Cog', '333-local', '2023-01-03 00:00:00', 0, '2023-03-02 09:00:00', S, 0); // edited here and on the master
  ins.run(4, 'Dyn', '444', '2023-01-04 00:00:00', 0, '2023-01-04 00:00:00', S, 0); // edited on the master only
  ins.run(5, 'Eel', '555', '2023-01-05 00:00:00', 0, '2023-01-05 00:00:00', S, 0); // deleted below
  ins.run(7, 'Local Seven', '7-local', '2023-02-10 00:00:00', 1, '2023-02-10 00:00:00', null, 0); // the master's 7 is another record
  ins.run(8, 'Hex', '888', '2023-01-08 00:00:00', 0, '2023-03-03 09:00:00', S, 1); // soft-deleted here
  ins.run(9, 'Ivy', '999', '2023-01-09 00:00:00', 0, '2023-01-09 00:00:00', S, 0); // deleted on the master
  ins.run(10, 'Jay', '1010-local', '2023-01-10 00:00:00', 0, '2023-03-04 09:00:00', S, 0); // edited here, deleted on the master
  ins.run(11, 'Kit', '1111', '2023-03-05 00:00:00', 0, '2023-03-05 00:00:00', null, 0); // new here
  ins.run(12, 'Lux', '1212', '2023-03-06 00:00:00', 0, '2023-03-07 00:00:00', null, 1); // new here, deleted here
  db.exec('DELETE FROM customers WHERE id = 5');
  const quote = db.prepare('INSERT INTO quotes (id, title, customerId, createdAt, updated_at, synced_at) VALUES (?, ?, ?, ?, ?, ?)');
  quote.run(1, 'For Local Seven', 7, '2023-02-11 00:00:00', '2023-02-11 00:00:00', null); // new here, for the local 7
  quote.run(2, 'For Gnu', 7, '2023-01-21 00:00:00', '2023-01-21 00:00:00', S); // the master's, for its 7
  db.close();
  return file;
}

/** The master's snapshot: its tables as the server writes them, gzipped. */
function snapshot(dir: string): Buffer {
  const file = path.join(dir, `snapshot-${Math.random()}.db`);
  const db = new Database(file);
  for (const t of TABLES) db.exec(t.ddl);
  const c = db.prepare(
    'INSERT INTO customers (id, name, phone, createdAt, updated_at, updated_by, synced_at, server_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  for (const [id, name, phone, createdAt, updatedAt, syncedAt, seq] of MASTER_CUSTOMERS)
    c.run(id, name, phone, createdAt, updatedAt, 'legacy-import', syncedAt, seq);
  db.prepare(`INSERT INTO quotes (id, title, customerId, createdAt, updated_at, server_seq) VALUES ('2', 'For Gnu', '7', ?, ?, 9)`).run(
    '2023-01-21 00:00:00',
    '2023-01-21 00:00:00',
  );
  db.exec(
    `CREATE TABLE snapshot_info (key TEXT PRIMARY KEY, value TEXT); INSERT INTO snapshot_info VALUES ('generation', 'g1'), ('last_seq', '13');`,
  );
  db.close();
  const bytes = gzipSync(fs.readFileSync(file));
  fs.rmSync(file);
  return bytes;
}

/** A scripted server: info, the snapshot, pushes recorded and answered `applied`, empty pulls. */
function server(dir: string, onPush: (body: PushRequest) => Response | null = () => null) {
  const pushes: PushRequest[] = [];
  const requests: string[] = [];
  const impl = async (url: string, init: RequestInit) => {
    const u = new URL(url);
    requests.push(u.pathname);
    if (u.pathname === '/api/v1/sync/info')
      return json(200, {
        protocolVersion: 1,
        generation: 'g1',
        serverTime: new Date().toISOString(),
        lastSeq: 13,
        syncIntervalMinutes: 120,
        tombstoneRetentionDays: 90,
        maxPushRows: 5000,
        maxPullPage: 5000,
        maxBodyBytes: 1_000_000,
        features: [...SERVER_FEATURES],
        tables: TABLES,
      });
    if (u.pathname === '/api/v1/sync/snapshot')
      return new Response(snapshot(dir), {
        status: 200,
        headers: { 'Content-Type': 'application/gzip', 'X-Generation': 'g1', 'X-Snapshot-Seq': '13' },
      });
    if (u.pathname === '/api/v1/sync/push') {
      const body = JSON.parse(String(init.body)) as PushRequest;
      pushes.push(body);
      const scripted = onPush(body);
      if (scripted) return scripted;
      const answer: PushResponse = {
        generation: 'g1',
        batchId: body.batchId,
        results: body.changes.map((ch, i) => ({
          table: ch.table,
          id: ch.id,
          outcome: ch.table === 'customers' && ch.id === '3' ? 'conflict_lost' : 'applied',
          version: 100 + i,
          deleted: ch.op === 'delete',
          ...(ch.table === 'customers' && ch.id === '3' ? { conflictId: 1 } : {}),
        })),
        lastSeq: 100 + body.changes.length,
        conflicts: body.changes.some((ch) => ch.table === 'customers' && ch.id === '3') ? 1 : 0,
        clockSkewMs: 0,
        clockCorrected: false,
        replayed: false,
      };
      return json(200, answer);
    }
    if (u.pathname === '/api/v1/sync/pull') return json(200, { generation: 'g1', changes: [], cursor: 13, until: 13, hasMore: false });
    if (u.pathname === '/api/v1/sync/refusals') return json(200, []);
    if (u.pathname === '/api/v1/numbers/uses') return json(200, { registered: 0, duplicates: [] });
    return json(404, { statusCode: 404, code: 'NOT_FOUND', message: `No ${u.pathname}.` });
  };
  return { fetch: impl as unknown as typeof fetch, pushes, requests };
}

const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const byId = (changes: PushChange[]) => new Map(changes.map((c) => [`${c.table}/${c.id}`, c]));

describe('SyncClient.adopt', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cacpq-adopt-'));
    file = legacyFile(dir);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const adopt = (srv: ReturnType<typeof server>, extra: Partial<Parameters<typeof SyncClient.adopt>[0]> = {}) =>
    SyncClient.adopt({
      file,
      server: 'http://server.test',
      token: 't',
      clientId: 'ws-alice',
      fetch: srv.fetch,
      backoffBaseMs: 1,
      ...extra,
    });

  it('takes the file over in place: a verified backup, the master’s DDL with local columns kept, triggers, the SDK’s state', async () => {
    const original = new Database(file, { readonly: true });
    const before = original.prepare('SELECT * FROM customers ORDER BY id').all();
    original.close();
    const report = await adopt(server(dir));

    expect(fs.existsSync(report.backup)).toBe(true);
    expect(path.dirname(report.backup)).toBe(dir);
    const backup = new Database(report.backup, { readonly: true });
    expect(backup.prepare('SELECT * FROM customers ORDER BY id').all()).toEqual(before);
    expect(backup.pragma('integrity_check', { simple: true })).toBe('ok');
    backup.close();
    expect(fs.readdirSync(dir).filter((f) => /adopting|partial|snapshot/.test(f))).toEqual([]);

    const db = new Database(file, { readonly: true });
    // The master's DDL, column for column (names, types, constraints, order), then the old app's own column.
    const reference = new Database(':memory:');
    reference.exec(CUSTOMERS.ddl);
    const shape = (d: Database.Database) => d.prepare('PRAGMA table_info(customers)').all();
    expect(shape(db)).toEqual([
      ...shape(reference),
      { cid: CUSTOMERS.columns.length, name: 'favourite', type: 'INTEGER', notnull: 0, dflt_value: null, pk: 0 },
    ]);
    reference.close();
    const triggers = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name`).pluck().all();
    expect(triggers).toEqual(
      expect.arrayContaining([
        '_sync_customers_insert',
        '_sync_customers_update',
        '_sync_customers_delete',
        '_sync_quotes_insert',
        'customers_phone_log',
      ]),
    );
    expect(db.prepare('SELECT * FROM app_settings ORDER BY key').all()).toEqual([
      { key: 'lastUser', value: 'alice' },
      { key: 'theme', value: 'dark' },
    ]);
    expect(db.prepare(`SELECT id, typeof(id) AS t, favourite FROM customers WHERE id = '1'`).get()).toEqual({
      id: '1',
      t: 'text',
      favourite: 1,
    });
    const state = Object.fromEntries(
      (db.prepare('SELECT key, value FROM _sync_state').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]),
    );
    expect(state).toMatchObject({
      server: 'http://server.test',
      client_id: 'ws-alice',
      generation: 'g1',
      cursor: '13',
      adopt_status: 'done',
    });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();

    // Now an ordinary workstation file: an edit made by the app is captured.
    const app = new Database(file);
    app.prepare(`UPDATE customers SET phone = '1-new' WHERE id = '1'`).run();
    expect(app.prepare(`SELECT op, changed, base_version FROM _sync_outbox`).all()).toEqual([
      { op: 'update', changed: 'phone', base_version: 1 },
    ]);
    app.close();
  });

  it('reconciles every row by the rules and reports them per table', async () => {
    const srv = server(dir);
    const report = await adopt(srv);
    const customers = report.tables.find((t) => t.table === 'customers')!;
    const quotes = report.tables.find((t) => t.table === 'quotes')!;
    expect(customers).toEqual({
      table: 'customers',
      adopted: 10,
      unchanged: 1,
      tookMaster: 1,
      inserts: 1,
      updates: 2,
      updatesWithoutBase: 1,
      deletes: 2,
      rekeyed: [{ from: '7', to: expect.stringMatching(/^[0-9a-f-]{36}$/) }],
      editedGone: 1,
      removedDeletedOnMaster: 1,
      dropped: 1,
      newFromMaster: 2,
      localOnlyColumns: ['favourite'],
      pushed: 7,
      conflicts: 1,
      heldBack: 0,
    });
    expect(quotes).toMatchObject({ adopted: 2, unchanged: 1, inserts: 1, rekeyed: [], pushed: 1, conflicts: 0 });
    const newSeven = customers.rekeyed[0].to;

    const sent = byId(srv.pushes.flatMap((p) => p.changes));
    expect([...sent.keys()].sort()).toEqual(
      [
        'customers/10',
        'customers/11',
        'customers/2',
        'customers/3',
        'customers/5',
        'customers/8',
        `customers/${newSeven}`,
        'quotes/1',
      ].sort(),
    );
    // Edited here only: the master's value is the exact base, the edit's own time goes with it.
    expect(sent.get('customers/2')).toMatchObject({
      op: 'upsert',
      baseVersion: 2,
      changed: ['phone'],
      base: { phone: '222' },
      values: { phone: '222-local' },
      updatedAt: '2023-03-01T09:00:00.000Z',
    });
    // Edited on both sides: no base, so the server's per-column last-write-wins decides (and records the overlap).
    const both = sent.get('customers/3')!;
    expect(both).toMatchObject({ op: 'upsert', baseVersion: 0, changed: ['phone'], updatedAt: '2023-03-02T09:00:00.000Z' });
    expect(both.base).toBeUndefined();
    expect(sent.get('customers/8')).toMatchObject({ op: 'delete', baseVersion: 8 });
    expect(sent.get('customers/5')).toMatchObject({ op: 'delete', baseVersion: 5 });
    expect(sent.get('customers/10')).toMatchObject({ op: 'upsert', baseVersion: 1, values: { name: 'Jay', phone: '1010-local' } });
    expect(sent.get('customers/11')).toMatchObject({ op: 'upsert', baseVersion: 0, values: { name: 'Kit' } });
    expect(sent.get(`customers/${newSeven}`)).toMatchObject({
      op: 'upsert',
      baseVersion: 0,
      values: { name: 'Local Seven', phone: '7-local' },
    });
    // The new quote followed its customer to the new id; the master's quote still names the master's 7.
    expect(sent.get('quotes/1')).toMatchObject({
      op: 'upsert',
      baseVersion: 0,
      values: { title: 'For Local Seven', customerId: newSeven },
    });

    const db = new Database(file, { readonly: true });
    const rows = db.prepare('SELECT id, name, phone, server_seq, favourite FROM customers ORDER BY name').all();
    expect(rows).toEqual([
      { id: '1', name: 'Acme', phone: '111', server_seq: 1, favourite: 1 },
      { id: '2', name: 'Bolt', phone: '222-local', server_seq: 100, favourite: 0 },
      { id: '3', name: 'Cog', phone: '333-local', server_seq: 101, favourite: 0 },
      { id: '4', name: 'Dyn', phone: '444-master', server_seq: 11, favourite: 0 },
      { id: '6', name: 'Fox', phone: '666', server_seq: 12, favourite: null },
      { id: '7', name: 'Gnu (made on PC-B)', phone: '777', server_seq: 13, favourite: null },
      { id: '10', name: 'Jay', phone: '1010-local', server_seq: 104, favourite: 0 },
      { id: '11', name: 'Kit', phone: '1111', server_seq: 105, favourite: 0 },
      { id: newSeven, name: 'Local Seven', phone: '7-local', server_seq: 102, favourite: 1 },
    ]);
    expect(db.prepare(`SELECT id, customerId FROM quotes ORDER BY id`).all()).toEqual([
      { id: '1', customerId: newSeven },
      { id: '2', customerId: '7' },
    ]);
    expect(db.prepare('SELECT COUNT(*) FROM _sync_outbox').pluck().get()).toBe(0);
    db.close();
  });

  it('refuses a file that is not SQLite, and one already adopted, with a code and a sentence, changing nothing', async () => {
    const text = path.join(dir, 'notes.txt');
    fs.writeFileSync(text, 'customers: Acme, Bolt, Cog\n'.repeat(20));
    const srv = server(dir);
    await expect(SyncClient.adopt({ file: text, server: 'http://server.test', token: 't', fetch: srv.fetch })).rejects.toMatchObject({
      code: 'NOT_SQLITE',
      message: expect.stringContaining('is not an SQLite database'),
    });
    expect(fs.readFileSync(text, 'utf8')).toBe('customers: Acme, Bolt, Cog\n'.repeat(20));
    expect(srv.requests).toEqual([]);

    await adopt(srv);
    const adopted = sha(file);
    const listing = fs.readdirSync(dir).sort();
    const requests = srv.requests.length;
    await expect(adopt(srv)).rejects.toMatchObject({
      code: 'ALREADY_ADOPTED',
      message: expect.stringContaining('is a CACPQ workstation file already'),
    });
    expect(sha(file)).toBe(adopted);
    expect(fs.readdirSync(dir).sort()).toEqual(listing);
    expect(srv.requests.length).toBe(requests);

    // A workstation file made by init is one too.
    fs.rmSync(path.join(dir, 'missing.db'), { force: true });
    await expect(SyncClient.adopt({ file: path.join(dir, 'missing.db'), server: 'http://server.test', token: 't' })).rejects.toMatchObject({
      code: 'LOCAL_FILE_MISSING',
    });
  });

  it('refuses an SQLite file that has none of the master’s tables', async () => {
    const other = path.join(dir, 'other.db');
    const db = new Database(other);
    db.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 2.5);');
    db.close();
    const before = sha(other);
    await expect(
      SyncClient.adopt({ file: other, server: 'http://server.test', token: 't', fetch: server(dir).fetch }),
    ).rejects.toMatchObject({
      code: 'NOT_A_WORKSTATION_FILE',
    });
    expect(sha(other)).toBe(before);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('other.db.adopting'))).toEqual([]);
  });

  it('leaves the file exactly as it was when it fails before the swap, and a second run does it all', async () => {
    const before = sha(file);
    await expect(
      adopt(server(dir), {
        onPhase: (phase) => {
          if (phase === 'converted') throw new Error('cut off before the swap');
        },
      }),
    ).rejects.toThrow('cut off before the swap');
    expect(sha(file)).toBe(before);
    expect(fs.readdirSync(dir).filter((f) => /adopting|partial|snapshot/.test(f))).toEqual([]);

    // What a kill leaves (the half-built copy stays): removed by the next run, which does it all.
    fs.writeFileSync(`${file}.adopting`, 'half-built');
    fs.writeFileSync(`${file}.adopting-journal`, 'half-built');
    const srv = server(dir);
    const report = await adopt(srv);
    expect(report).toMatchObject({ restarted: true, resumed: false });
    expect(srv.pushes.flatMap((p) => p.changes)).toHaveLength(8);
    expect(fs.readdirSync(dir).filter((f) => /adopting/.test(f))).toEqual([]);
  });

  it('does not swap away a file the desktop app wrote while it was being adopted', async () => {
    await expect(
      adopt(server(dir), {
        onPhase: (phase) => {
          if (phase !== 'converted') return;
          const app = new Database(file);
          app.prepare(`UPDATE customers SET phone = 'typed meanwhile', updated_at = '2023-05-01 10:00:00' WHERE id = 1`).run();
          app.close();
        },
      }),
    ).rejects.toMatchObject({ code: 'LOCAL_FILE_CHANGED', message: expect.stringContaining('is the desktop app open?') });
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT phone FROM customers WHERE id = 1').pluck().get()).toBe('typed meanwhile');
    expect(db.prepare(`SELECT COUNT(*) FROM sqlite_master WHERE name = '_sync_state'`).pluck().get()).toBe(0);
    db.close();
    expect(fs.readdirSync(dir).filter((f) => /adopting/.test(f))).toEqual([]);
  });

  it('after the swap, a failed first sync leaves the file adopted with its outbox; the next run sends it', async () => {
    const down = server(dir, () => json(503, { statusCode: 503, code: 'MAINTENANCE', message: 'In maintenance.' }));
    await expect(adopt(down, { maxAttempts: 1 })).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      message: expect.stringContaining('is adopted, but its first sync failed'),
    });
    const db = new Database(file, { readonly: true });
    expect(db.prepare(`SELECT value FROM _sync_state WHERE key = 'adopt_status'`).pluck().get()).toBe('pushing');
    expect(db.prepare('SELECT COUNT(*) FROM _sync_outbox').pluck().get()).toBe(8);
    db.close();

    const up = server(dir);
    const report = await adopt(up);
    expect(report.resumed).toBe(true);
    expect(up.requests).not.toContain('/api/v1/sync/snapshot');
    expect(up.pushes.flatMap((p) => p.changes)).toHaveLength(8);
    expect(report.tables.find((t) => t.table === 'customers')).toMatchObject({ updates: 2, pushed: 7, conflicts: 1 });
    await expect(adopt(up)).rejects.toMatchObject({ code: 'ALREADY_ADOPTED' });
  });
});

describe('the id conversion (as the server adopted the master)', () => {
  it('converts ids to text, keeps unknown columns, fills required and sync columns, keeps the old triggers', () => {
    const db = new Database(':memory:');
    db.exec(`CREATE TABLE customers (ID INTEGER, Name TEXT, phone TEXT, createdAt DATETIME, deleted TEXT, legacy_flag INTEGER);
      CREATE TABLE log (x);
      CREATE TRIGGER keep_me AFTER INSERT ON customers BEGIN INSERT INTO log VALUES (NEW.id); END;
      INSERT INTO customers VALUES (42, 'A', '1', '2022-05-01 10:00:00', NULL, 7), (42, NULL, '2', NULL, 1, NULL), (NULL, 'C', '3', NULL, '0', NULL);`);
    const r = convertLegacyTable(db, 'customers', CUSTOMERS.ddl);
    expect(r).toEqual({ rows: 3, localOnly: ['legacy_flag'], triggers: [expect.stringContaining('CREATE TRIGGER keep_me')] });
    for (const sql of r.triggers) db.exec(sql);
    const rows = db
      .prepare('SELECT id, name, updated_at, updated_by, server_seq, deleted, legacy_flag FROM customers ORDER BY rowid')
      .all() as Record<string, unknown>[];
    expect(rows[0]).toEqual({
      id: '42',
      name: 'A',
      updated_at: '2022-05-01 10:00:00',
      updated_by: 'legacy-import',
      server_seq: 0,
      deleted: 0,
      legacy_flag: 7,
    });
    // A repeated id of a table without a key, a missing one, and an empty required name.
    expect(rows[1]).toMatchObject({ id: '42~2', name: '', deleted: 1 });
    expect(rows[2]).toMatchObject({ id: 'legacy~3', name: 'C', deleted: 0 });
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger'`).pluck().all()).toEqual(['keep_me']);
    db.close();
  });
});

describe('the rules of reconciliation', () => {
  const facts = (f: Partial<RowFacts>): RowFacts => ({
    onMaster: true,
    equal: false,
    deletedHere: false,
    syncKnown: true,
    neverSynced: false,
    changedHere: true,
    changedOnMaster: false,
    createdDiffers: false,
    ...f,
  });

  it.each([
    ['equal to the master', { equal: true }, 'unchanged'],
    ['equal, never synced (the old app left synced_at empty)', { equal: true, neverSynced: true }, 'unchanged'],
    ['changed on the master only', { changedHere: false }, 'take-master'],
    ['edited here only', {}, 'update'],
    ['edited on both sides', { changedOnMaster: true }, 'update-without-base'],
    [
      'a file without synced_at: differs, so edited; when unknown, both sides',
      { syncKnown: false, changedOnMaster: true },
      'update-without-base',
    ],
    ['never synced, the master uses the id for another record', { neverSynced: true }, 'rekey'],
    ['synced, but made at another time than the master’s record', { createdDiffers: true }, 'rekey'],
    ['another record’s id, deleted here', { neverSynced: true, deletedHere: true }, 'drop'],
    ['soft-deleted here, the master unchanged', { deletedHere: true }, 'delete'],
    ['soft-deleted here, edited on the master', { deletedHere: true, changedOnMaster: true }, 'delete-without-base'],
    ['new here', { onMaster: false, neverSynced: true }, 'insert'],
    ['not on the master, the file cannot tell if synced', { onMaster: false, syncKnown: false }, 'insert'],
    ['synced, not edited since, gone from the master', { onMaster: false, changedHere: false }, 'deleted-on-master'],
    ['synced, edited since, gone from the master', { onMaster: false }, 'edited-gone'],
    ['new here and deleted here', { onMaster: false, neverSynced: true, deletedHere: true }, 'drop'],
  ] as [string, Partial<RowFacts>, string][])('%s → %s', (_what, f, expected) => {
    expect(decideRow(facts(f))).toBe(expected);
  });

  it('counts a master row missing here as deleted here only when the file can tell', () => {
    const at = (d: string) => Date.parse(d) / 86_400_000 + 2440587.5;
    const base = { id: '5', masterChanged: at('2023-01-05'), lastSync: at('2023-02-01'), seqLimit: 12 };
    expect(deletedHere(base)).toBe(true);
    // The master's row changed (or came) after the file's last sync: the file never had it as it is.
    expect(deletedHere({ ...base, masterChanged: at('2023-03-01') })).toBe(false);
    // The file never synced, or never reached that id.
    expect(deletedHere({ ...base, lastSync: null })).toBe(false);
    expect(deletedHere({ ...base, id: '13' })).toBe(false);
    expect(deletedHere({ ...base, id: 'a-uuid' })).toBe(false);
    // A table without AUTOINCREMENT: the time alone decides.
    expect(deletedHere({ ...base, seqLimit: null, id: 'a-uuid' })).toBe(true);
  });
});
