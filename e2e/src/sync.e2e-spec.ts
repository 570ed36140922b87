import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { freePort } from './browser';
import { ROOT, adminSession, sqlite3, startServer, tempDir, type ServerProcess } from './harness';
import { SyncClient } from '@cacpq/sync-client';
import { Workstation, readTables } from './workstations';

const TABLES = ['customers', 'components', 'sub_assemblies', 'product_templates', 'projects', 'quotes', 'manual_quotes'];

interface ConflictView {
  table: string;
  rowId: string;
  kind: string;
  winner: string;
  columns: string[];
  serverVersion: Record<string, unknown> | null;
  clientVersion: Record<string, unknown> | null;
}

describe('sync between a real server process and workstation processes', () => {
  let dir: string;
  let server: ServerProcess;
  let call: Awaited<ReturnType<typeof adminSession>>;

  // One port for the whole suite, as on the NAS: workstations keep their server address across restarts.
  let env: Record<string, string>;
  const restart = async () => {
    server = await startServer({ dataDir: path.join(dir, 'data'), env });
    call = await adminSession(server.url);
  };

  beforeAll(async () => {
    dir = tempDir('sync');
    env = { PORT: String(await freePort()) };
    server = await startServer({ dataDir: path.join(dir, 'data'), env });
    call = await adminSession(server.url);
    expect((await call('POST', '/api/v1/demo/seed', { confirm: 'seed-demo', scale: 0.1, months: 1 })).status).toBe(201);
  });

  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function token(username: string, device: string): Promise<string> {
    const users = (await (await call('GET', '/api/v1/users')).json()) as { username: string }[];
    if (!users.some((u) => u.username === username))
      expect((await call('POST', '/api/v1/users', { username, role: 'user' })).status).toBe(201);
    const res = await call('POST', `/api/v1/users/${username}/tokens`, { device });
    return ((await res.json()) as { token: string }).token;
  }

  async function workstation(name: string, user: string, clockAheadHours = 0): Promise<Workstation> {
    return Workstation.init(name, dir, server.url, await token(user, name), clockAheadHours);
  }

  async function conflicts(): Promise<ConflictView[]> {
    return (await (await call('GET', '/api/v1/conflicts?status=all&limit=1000')).json()) as ConflictView[];
  }

  it('three workstations editing offline converge with the master; every edit is kept or recorded', async () => {
    const ws = [await workstation('ws1', 'u1'), await workstation('ws2', 'u2'), await workstation('ws3', 'u3')];
    const ids = ws[0].sql('SELECT id FROM components ORDER BY id LIMIT 40;').split('\n');
    const [d1, d2] = [ids[38], ids[39]];
    const inList = (xs: string[]) => xs.map((x) => `'${x}'`).join(',');

    // Offline: each "desktop app" (the sqlite3 shell) writes its own file.
    ws[0].sql(`UPDATE components SET listPrice = 1000 + rowid WHERE id IN (${inList(ids.slice(0, 20))});
      INSERT INTO components (id, sku, name, category) VALUES ('ws1-new-1', 'NEW-1', 'From ws1', 'Valves'), ('ws1-new-2', 'NEW-2', 'Also ws1', 'Pumps');
      DELETE FROM components WHERE id IN ('${d1}', '${d2}');`);
    ws[1].sql(`UPDATE components SET name = 'ws2 name ' || rowid WHERE id IN (${inList(ids.slice(10, 30))});
      UPDATE components SET listPrice = 2000 + rowid WHERE id IN (${inList(ids.slice(15, 25))});
      INSERT INTO customers (id, name, type) VALUES ('ws2-cust', 'Offline Customer', 'OEM');`);
    ws[2].sql(`UPDATE components SET vendor = 'edited offline by ws3' WHERE id = '${d1}';
      UPDATE quotes SET status = 'won' WHERE id IN (SELECT id FROM quotes ORDER BY id LIMIT 5);
      INSERT INTO quotes (id, quoteNumber, customer, title, status) VALUES ('ws3-quote', 'Q-OFFLINE-1', 'Offline Customer', 'Shell quote', 'draft');`);
    expect(ws[1].sql(`SELECT COUNT(*) FROM _sync_outbox;`)).not.toBe('0');

    // Sync in shuffled orders, then once more so everyone has everything.
    const orders = [
      [2, 0, 1],
      [1, 2, 0],
      [0, 1, 2],
    ];
    for (const order of orders) for (const i of order) ws[i].sync();

    const master = await workstation('ws-fresh', 'u4');
    const expected = master.dump(TABLES);
    for (const w of ws) expect({ ws: w.name, tables: w.dump(TABLES) }).toEqual({ ws: w.name, tables: expected });

    const comps = new Map(expected.components.map((r) => [r.id as string, r]));
    const all = await conflicts();
    const lost = (id: string, column: string, value: unknown) =>
      all.some((c) => c.rowId === id && [c.clientVersion?.[column], c.serverVersion?.[column]].some((v) => v === value));

    // Different fields of one row: both survive, no conflict.
    for (const id of ids.slice(10, 15)) {
      const row = comps.get(id)!;
      expect(row.listPrice).toBeGreaterThan(1000);
      expect(String(row.name)).toMatch(/^ws2 name /);
      expect(all.filter((c) => c.rowId === id)).toEqual([]);
    }
    // The same field: the later edit holds, the other is kept as a conflict's version.
    for (const id of ids.slice(15, 20)) {
      const row = comps.get(id)!;
      const ws1Value = Number(ws[0].sql(`SELECT 1000 + rowid FROM components WHERE id = '${id}';`));
      const ws2Value = Number(ws[0].sql(`SELECT 2000 + rowid FROM components WHERE id = '${id}';`));
      expect([ws1Value, ws2Value]).toContain(row.listPrice);
      const other = row.listPrice === ws1Value ? ws2Value : ws1Value;
      expect({ id, kept: lost(id, 'listPrice', other) }).toEqual({ id, kept: true });
    }
    // New rows from everyone are everywhere.
    expect(comps.get('ws1-new-1')).toMatchObject({ name: 'From ws1', updated_by: 'u1' });
    expect(expected.customers.find((r) => r.id === 'ws2-cust')).toMatchObject({ name: 'Offline Customer', updated_by: 'u2' });
    expect(expected.quotes.find((r) => r.id === 'ws3-quote')).toMatchObject({ quoteNumber: 'Q-OFFLINE-1', updated_by: 'u3' });
    // d2: deleted by ws1 only, gone everywhere. d1: deleted by ws1 and edited by ws3 offline; whichever
    // reached the master second is kept as the losing side of a recorded conflict.
    expect(comps.has(d2)).toBe(false);
    const d1Conflict = all.find((c) => c.rowId === d1)!;
    if (comps.has(d1)) {
      expect(d1Conflict).toMatchObject({ kind: 'delete-vs-update', winner: 'server' });
      expect(comps.get(d1)!.vendor).toBe('edited offline by ws3');
    } else {
      expect(d1Conflict).toMatchObject({ kind: expect.stringMatching(/update-vs-delete|delete-vs-update/) });
      expect(lost(d1, 'vendor', 'edited offline by ws3')).toBe(true);
    }
    // Nothing pending anywhere.
    for (const w of ws) expect(w.sql('SELECT COUNT(*) FROM _sync_outbox;')).toBe('0');
  });

  it('sends a delete to every workstation; a stale offline edit of the deleted row is a recorded conflict, never an undelete', async () => {
    const a = await workstation('ws-del-a', 'u10');
    const b = await workstation('ws-del-b', 'u11');
    const c = await workstation('ws-del-c', 'u12');
    const id = a.sql('SELECT id FROM projects ORDER BY id LIMIT 1;');
    c.sql(`UPDATE projects SET notes = 'edited while offline' WHERE id = '${id}';`);
    a.sql(`DELETE FROM projects WHERE id = '${id}';`);
    a.sync();
    b.sync();
    expect(b.sql(`SELECT COUNT(*) FROM projects WHERE id = '${id}';`)).toBe('0');
    c.sync();
    expect(c.sql(`SELECT COUNT(*) FROM projects WHERE id = '${id}';`)).toBe('0');
    expect(c.sql('SELECT COUNT(*) FROM _sync_outbox;')).toBe('0');
    const conflict = (await conflicts()).find((x) => x.rowId === id)!;
    expect(conflict).toMatchObject({ kind: 'update-vs-delete', winner: 'server', clientVersion: { notes: 'edited while offline' } });
  });

  it('keeps an edit made while a pull is running from silently overwriting a later edit elsewhere', async () => {
    // ws-b edits a field while its pull is in flight; ws-a edits the same field later and pushes
    // first. ws-b's earlier edit must not win silently: the later one holds, the other is recorded.
    const a = await workstation('ws-race-a', 'u18');
    const b = await workstation('ws-race-b', 'u19');
    const id = a.sql('SELECT id FROM components ORDER BY id DESC LIMIT 1;');
    let hooked = false;
    const hook: typeof fetch = async (url, init) => {
      if (!hooked && String(url).includes('/sync/pull')) {
        hooked = true;
        b.sql(`UPDATE components SET description = 'b-earlier-edit' WHERE id = '${id}';`);
        await new Promise((r) => setTimeout(r, 50));
        a.sql(`UPDATE components SET description = 'a-later-edit' WHERE id = '${id}';`);
        a.sync();
      }
      return fetch(url, init);
    };
    const client = SyncClient.open(b.file, { fetch: hook });
    try {
      await client.syncNow();
      await client.syncNow();
    } finally {
      await client.close();
    }
    a.sync();
    expect(a.sql(`SELECT description FROM components WHERE id = '${id}';`)).toBe('a-later-edit');
    expect(b.sql(`SELECT description FROM components WHERE id = '${id}';`)).toBe('a-later-edit');
    const c = (await conflicts()).find((x) => x.rowId === id)!;
    expect(c).toMatchObject({ winner: 'server', columns: ['description'], clientVersion: { description: 'b-earlier-edit' } });
  });

  it('does not let a workstation whose clock runs 3 hours ahead beat a later real edit', async () => {
    const fast = await workstation('ws-fast', 'u5', 3);
    const normal = await workstation('ws-normal', 'u6');
    const id = normal.sql('SELECT id FROM customers ORDER BY id LIMIT 1;');
    fast.sql(`UPDATE customers SET city = 'fast clock city' WHERE id = '${id}';`);
    await new Promise((r) => setTimeout(r, 1100));
    normal.sql(`UPDATE customers SET city = 'later real city' WHERE id = '${id}';`);
    normal.sync();
    const line = fast.sync();
    expect(line).toMatch(/clock corrected/);
    normal.sync();
    expect(normal.sql(`SELECT city FROM customers WHERE id = '${id}';`)).toBe('later real city');
    expect(fast.sql(`SELECT city FROM customers WHERE id = '${id}';`)).toBe('later real city');
    const c = (await conflicts()).find((x) => x.rowId === id)!;
    expect(c).toMatchObject({ winner: 'server', columns: ['city'], clientVersion: { city: 'fast clock city' } });
  });

  it('applies a push once when its answer is lost, and waits as told by a 503 Retry-After', async () => {
    // A loopback proxy that answers the first sync/info with 503 and Retry-After: 1, and lets the
    // first push reach the server but cuts the connection before the answer.
    let dropped = 0;
    let refused = 0;
    let refusedAt = 0;
    let retriedAt = 0;
    const target = new URL(server.url);
    const proxy = http.createServer((req, res) => {
      if (req.url === '/api/v1/sync/info' && dropped === 0 && refused === 0 && req.headers['authorization']?.includes(flakyToken)) {
        refused++;
        refusedAt = Date.now();
        res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '1' });
        res.end(JSON.stringify({ statusCode: 503, code: 'SERVICE_UNAVAILABLE', message: 'Maintenance in progress.' }));
        return;
      }
      if (req.url === '/api/v1/sync/info' && refused === 1 && retriedAt === 0) retriedAt = Date.now();
      const upstream = http.request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (up) => {
          if (req.url === '/api/v1/sync/push' && dropped === 0) {
            dropped++;
            up.resume();
            up.on('end', () => req.socket.destroy());
            return;
          }
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    let flakyToken = 'not yet';
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    flakyToken = await token('u7', 'ws-flaky');
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    try {
      const w = await Workstation.initAsync('ws-flaky', dir, proxyUrl, flakyToken);
      w.sql(
        `INSERT INTO manual_quotes (id, quoteNumber, customer, amount) VALUES ('once-1', 'MQ-ONCE', 'Flaky Link Inc', 10), ('once-2', 'MQ-TWICE', 'Flaky Link Inc', 20);`,
      );
      const before = ((await (await call('GET', '/api/v1/sync/info')).json()) as { lastSeq: number }).lastSeq;
      const line = await w.syncAsync();
      expect(dropped).toBe(1);
      expect(refused).toBe(1);
      expect(retriedAt - refusedAt).toBeGreaterThanOrEqual(950);
      expect(line).toMatch(/^synced: pushed 2/);
      const after = ((await (await call('GET', '/api/v1/sync/info')).json()) as { lastSeq: number }).lastSeq;
      expect(after - before).toBe(2); // two rows, one version each: nothing applied twice
      expect(w.sql(`SELECT COUNT(*) FROM _sync_outbox;`)).toBe('0');
    } finally {
      proxy.close();
    }
  });

  it('gives 20 concurrent callers × 50 allocations 1,000 distinct numbers', async () => {
    const tokens: string[] = [];
    for (let i = 0; i < 20; i++) tokens.push(await token(`num${i % 4}`, `numbers-${i}`));
    const lists = await Promise.all(
      tokens.map(async (t) => {
        const got: string[] = [];
        for (let n = 0; n < 50; n++) {
          const res = await fetch(`${server.url}/api/v1/numbers/project`, { method: 'POST', headers: { Authorization: `Bearer ${t}` } });
          expect(res.status).toBe(201);
          got.push(((await res.json()) as { number: string }).number);
        }
        return got;
      }),
    );
    const numbers = lists.flat();
    expect(numbers).toHaveLength(1000);
    expect(new Set(numbers).size).toBe(1000);
  });

  it('answers bad pushes with a 4xx, a code and a sentence, and leaves the master unchanged', async () => {
    const t = await token('u8', 'bad-pusher');
    const info = (await (await fetch(`${server.url}/api/v1/sync/info`, { headers: { Authorization: `Bearer ${t}` } })).json()) as {
      generation: string;
    };
    const fingerprint = async () => {
      const page = await fetch(`${server.url}/api/v1/sync/pull?generation=${info.generation}&clientId=fp&cursor=0&limit=5000`, {
        headers: { Authorization: `Bearer ${t}` },
      });
      return createHash('sha256')
        .update(await page.text())
        .digest('hex');
    };
    const before = await fingerprint();
    const base = { protocolVersion: 1, clientId: 'bad', generation: info.generation, clientTime: new Date().toISOString() };
    const row = {
      table: 'components',
      op: 'upsert',
      id: 'bad-1',
      baseVersion: 0,
      updatedAt: new Date().toISOString(),
      values: { sku: 'B', name: 'Bad' },
    };
    const cases: [string, unknown, number, string][] = [
      // Ahead of the master's schema (a newer app): 409, the change waits on the workstation for a migration.
      ['unknown table', { ...base, batchId: 'b1', changes: [{ ...row, table: 'payroll' }] }, 409, 'SCHEMA_AHEAD'],
      [
        'unknown column',
        { ...base, batchId: 'b2', changes: [{ ...row, values: { sku: 'B', name: 'Bad', colour: 'red' } }] },
        409,
        'SCHEMA_AHEAD',
      ],
      [
        'wrong type',
        { ...base, batchId: 'b3', changes: [{ ...row, values: { sku: 'B', name: 'Bad', listPrice: 'free' } }] },
        400,
        'VALIDATION_FAILED',
      ],
      ['missing id', { ...base, batchId: 'b4', changes: [{ ...row, id: undefined }] }, 400, 'VALIDATION_FAILED'],
      [
        'too many rows',
        { ...base, batchId: 'b5', changes: Array.from({ length: 5001 }, (_, i) => ({ ...row, id: `many-${i}` })) },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'forged updated_by',
        { ...base, batchId: 'b6', changes: [{ ...row, values: { sku: 'B', name: 'Bad', updated_by: 'the-ceo' } }] },
        400,
        'FORBIDDEN_FIELD',
      ],
      ['another generation', { ...base, generation: 'from-before-the-restore', batchId: 'b7', changes: [row] }, 409, 'REINITIALIZE'],
      [
        'a 10 MB body',
        { ...base, batchId: 'b8', changes: [{ ...row, values: { sku: 'B', name: 'x'.repeat(10 * 1024 * 1024) } }] },
        413,
        'PAYLOAD_TOO_LARGE',
      ],
    ];
    for (const [label, body, status, code] of cases) {
      const res = await fetch(`${server.url}/api/v1/sync/push`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${t}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      const answer = (await res.json()) as { code: string; message: string };
      expect({ label, status: res.status, code: answer.code }).toEqual({ label, status, code });
      expect(answer.message).toMatch(/\.$/);
    }
    const cursor = await fetch(`${server.url}/api/v1/sync/pull?generation=old&clientId=x&cursor=0`, {
      headers: { Authorization: `Bearer ${t}` },
    });
    expect(cursor.status).toBe(409);
    expect(await fingerprint()).toBe(before);
  });

  it('pokes a watching workstation over socket.io so it pulls at once, long before its 2-hour schedule', async () => {
    const watcher = await workstation('ws-watch', 'u13');
    const writer = await workstation('ws-writer', 'u14');
    const child = spawn(process.execPath, [path.join(ROOT, 'tools', 'bin', 'cacpq.js'), 'client', 'watch', '--db', watcher.file], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const waitFor = async (test: () => boolean, ms: number) => {
      const until = Date.now() + ms;
      while (!test()) {
        if (Date.now() > until) throw new Error(`timed out; watcher said:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      await waitFor(() => /synced: /.test(out), 15_000);
      await new Promise((r) => setTimeout(r, 500)); // the socket connects after the first sync starts
      writer.sql(`INSERT INTO customers (id, name, type) VALUES ('poked-1', 'Pushed elsewhere', 'End User');`);
      await writer.syncAsync();
      await waitFor(() => (out.match(/synced: /g) ?? []).length >= 2, 10_000);
      expect(out.split('\n').filter((l) => l.includes('synced: '))[1]).toMatch(/pulled [1-9]/);
      expect(watcher.sql(`SELECT name FROM customers WHERE id = 'poked-1';`)).toBe('Pushed elsewhere');
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('after a restore to an older master (new generation), workstations give back what it lost: nothing is lost', async () => {
    const a = await workstation('ws-restore-a', 'u15');
    const b = await workstation('ws-restore-b', 'u16');
    const c = await workstation('ws-restore-c', 'u20');
    // The admin takes a backup (here: with the server stopped, by the sqlite3 shell)...
    expect(await server.stop()).toBe(0);
    const master = path.join(dir, 'data', 'database', 'server.db');
    const backup = path.join(dir, 'backup-server.db');
    expect(sqlite3(master, `.backup '${backup}'`).code).toBe(0);
    await restart();
    // ...work goes on and is synced...
    a.sql(`INSERT INTO components (id, sku, name) VALUES ('after-backup-1', 'AB-1', 'Made after the backup');
      UPDATE components SET listPrice = 4242 WHERE id = (SELECT id FROM components WHERE id <> 'after-backup-1' ORDER BY id LIMIT 1);`);
    a.sync();
    b.sync();
    b.sql(`INSERT INTO customers (id, name, type) VALUES ('pending-at-restore', 'Not yet synced', 'OEM');`);
    // ...then the master is restored to the backup: older data, a new generation.
    expect(await server.stop()).toBe(0);
    const restoredSeq = sqlite3(backup, `SELECT value FROM sync_state WHERE key = 'last_seq';`).stdout.trim();
    fs.copyFileSync(backup, master);
    expect(
      sqlite3(
        master,
        `UPDATE sync_state SET value = 'restored-generation' WHERE key = 'generation'; UPDATE sync_state SET value = '${restoredSeq}' WHERE key = 'restored_seq';`,
      ).code,
    ).toBe(0);
    expect(sqlite3(master, `SELECT COUNT(*) FROM components WHERE id = 'after-backup-1';`).stdout.trim()).toBe('0');
    await restart();

    expect(b.sync()).toMatch(/re-initialised/);
    expect(a.sync()).toMatch(/re-initialised/);
    // A re-initialisation cut off at its first push (a crash, a dropped link) leaves the file on
    // the old generation, so the next sync re-initialises again instead of pulling with a stale cursor.
    c.sql(`UPDATE customers SET notes = 'c edited before the cut' WHERE id = (SELECT id FROM customers ORDER BY id LIMIT 1);`);
    const cut: typeof fetch = async (url, init) => {
      if (String(url).includes('/sync/push')) throw new TypeError('fetch failed: cut off');
      return fetch(url, init);
    };
    const interrupted = SyncClient.open(c.file, { fetch: cut, maxAttempts: 1 });
    await expect(interrupted.syncNow()).rejects.toMatchObject({ code: 'NETWORK' });
    await interrupted.close();
    expect(c.sql(`SELECT value FROM _sync_state WHERE key = 'generation';`)).not.toBe('restored-generation');
    expect(c.sync()).toMatch(/re-initialised/);
    b.sync();
    const fresh = await workstation('ws-restore-check', 'u17');
    const rows = fresh.dump(['components', 'customers']);
    expect(rows.components.find((r) => r.id === 'after-backup-1')).toMatchObject({ name: 'Made after the backup' });
    expect(rows.components.some((r) => r.listPrice === 4242)).toBe(true);
    expect(rows.customers.find((r) => r.id === 'pending-at-restore')).toMatchObject({ name: 'Not yet synced' });
    expect(rows.customers.some((r) => r.notes === 'c edited before the cut')).toBe(true);
    a.sync();
    c.sync();
    for (const w of [a, b, c]) expect(w.dump(['components', 'customers'])).toEqual(rows);
    expect(a.sql(`SELECT value FROM _sync_state WHERE key = 'generation';`)).toBe('restored-generation');
  });

  it('leaves the master equal to the workstations and intact after a stop', async () => {
    const w = await workstation('ws-last', 'u9');
    const held = w.dump(TABLES);
    expect(await server.stop()).toBe(0);
    const masterFile = path.join(dir, 'data', 'database', 'server.db');
    expect(sqlite3(masterFile, 'PRAGMA integrity_check;').stdout.trim()).toBe('ok');
    const master = readTables(masterFile, TABLES);
    for (const t of TABLES) {
      const live = master[t].filter((r) => r.deleted === 0);
      expect({ t, rows: live }).toEqual({ t, rows: held[t] });
    }
    await restart();
  });
});
