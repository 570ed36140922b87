import { writeLegacyDataDir } from '@cacpq/db';
import type { ConflictView, JobView as Job, RefusalView } from '@cacpq/sync-protocol';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { freePort } from './browser';
import { ADMIN_PASSWORD, API_MAIN, ROOT, adminSession, sqlite3, startServer, tempDir, type ServerProcess } from './harness';
import { Workstation, cacpq, type ClockOffset } from './workstations';

// Each test reproduces one defect of issue 12 with real server and `cacpq client` processes and
// sqlite3-shell writes (the desktop app), as an office meets it.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sync integrity under real-world faults (issue 12)', () => {
  let dir: string;
  let dataDir: string;
  let server: ServerProcess;
  let env: Record<string, string>;
  let call: Awaited<ReturnType<typeof adminSession>>;

  const master = () => path.join(dataDir, 'database', 'server.db');
  const restart = async () => {
    server = await startServer({ dataDir, env });
    call = await adminSession(server.url);
  };
  const json = async <T>(res: Promise<Response>): Promise<T> => (await (await res).json()) as T;

  beforeAll(async () => {
    dir = tempDir('integrity');
    dataDir = path.join(dir, 'data');
    // One port for the suite (workstations keep their server address across restarts); a small body
    // limit, so a batch of ordinary rows can outgrow it.
    env = { PORT: String(await freePort()), MAX_BODY_BYTES: String(256 * 1024) };
    await restart();
    expect((await call('POST', '/api/v1/demo/seed', { confirm: 'seed-demo', scale: 0.1, months: 1 })).status).toBe(201);
  });

  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function token(username: string, device: string): Promise<string> {
    const users = await json<{ username: string }[]>(call('GET', '/api/v1/users'));
    if (!users.some((u) => u.username === username))
      expect((await call('POST', '/api/v1/users', { username, role: 'user' })).status).toBe(201);
    return (await json<{ token: string }>(call('POST', `/api/v1/users/${username}/tokens`, { device }))).token;
  }

  async function workstation(name: string, user: string, clock: ClockOffset = 0): Promise<Workstation> {
    return Workstation.init(name, dir, server.url, await token(user, name), clock);
  }

  const conflicts = () => json<ConflictView[]>(call('GET', '/api/v1/conflicts?status=all&limit=1000'));

  async function waitJob(id: number): Promise<Job> {
    for (const until = Date.now() + 120_000; ;) {
      const job = await json<Job>(call('GET', `/api/v1/jobs/${id}`));
      if (!['queued', 'running'].includes(job.status)) return job;
      if (Date.now() > until) throw new Error(`job ${id} still ${job.status}`);
      await sleep(100);
    }
  }

  async function backup(): Promise<{ id: number; name: string }> {
    const done = await waitJob((await json<Job>(call('POST', '/api/v1/backups', { kind: 'manual' }))).id);
    expect({ status: done.status, error: done.error }).toEqual({ status: 'succeeded', error: null });
    return json<{ id: number; name: string }>(call('GET', `/api/v1/backups/${(done.result as { backupId: number }).backupId}`));
  }

  async function restore(b: { id: number; name: string }): Promise<void> {
    const res = await call('POST', `/api/v1/backups/${b.id}/restore`, { confirm: `restore ${b.name}` });
    expect(res.status).toBe(202);
    const done = await waitJob(((await res.json()) as Job).id);
    expect({ status: done.status, error: done.error }).toEqual({ status: 'succeeded', error: null });
  }

  /** The master's live rows of a table, from a snapshot through the API (the server holds the file exclusively). */
  async function masterRows(table: string): Promise<Map<string, Record<string, unknown>>> {
    const res = await call('GET', '/api/v1/sync/snapshot?clientId=e2e-master-read');
    expect(res.status).toBe(200);
    const file = path.join(dir, `master-read-${Date.now()}.db`);
    fs.writeFileSync(file, gunzipSync(Buffer.from(await res.arrayBuffer())));
    const db = new Database(file, { readonly: true });
    try {
      return new Map((db.prepare(`SELECT * FROM "${table}"`).all() as Record<string, unknown>[]).map((r) => [String(r.id), r]));
    } finally {
      db.close();
      fs.rmSync(file, { force: true });
    }
  }

  /** A failed test may leave the server stopped: the next one starts it again. */
  beforeEach(async () => {
    if (server.proc.exitCode !== null || server.proc.signalCode !== null) await restart();
  });

  it('1. quarantines six refused values and syncs the rest of the outbox in the same sync; a fixed row goes through', async () => {
    const ws = await workstation('ws-poison', 'poison');
    const [cust] = ws.sql('SELECT id FROM customers ORDER BY id LIMIT 1;').split('\n');
    const [proj] = ws.sql('SELECT id FROM projects ORDER BY id LIMIT 1;').split('\n');
    const [quote] = ws.sql('SELECT id FROM quotes ORDER BY id LIMIT 1;').split('\n');
    const [c1, c2] = ws.sql('SELECT id FROM components ORDER BY id LIMIT 2;').split('\n');
    ws.sql(`INSERT INTO customers (id, name, type) VALUES ('bad-type', 'Lower-case OEM', 'oem');
      UPDATE customers SET notes = '${'n'.repeat(4001)}' WHERE id = '${cust}';
      UPDATE projects SET dueDate = '2026-12-15' WHERE id = '${proj}';
      UPDATE quotes SET lineItems = '' WHERE id = '${quote}';
      UPDATE components SET leadTimeDays = '2-3 weeks' WHERE id = '${c1}';
      UPDATE components SET notes = X'0001FF' WHERE id = '${c2}';
      INSERT INTO customers (id, name, type) VALUES ('good-after', 'Good Customer', 'OEM');`);
    const line = ws.sync();
    expect(line).toMatch(/6 held back/);
    expect((await masterRows('customers')).get('good-after')).toMatchObject({ name: 'Good Customer', updated_by: 'poison' });
    expect((await masterRows('customers')).has('bad-type')).toBe(false);
    expect(String((await masterRows('components')).get(c1)!.leadTimeDays)).not.toBe('2-3 weeks');

    const refusals = (await json<RefusalView[]>(call('GET', '/api/v1/refusals?status=open'))).filter((r) => r.clientId === 'ws-poison');
    expect(refusals.map((r) => `${r.table}.${r.column}`).sort()).toEqual(
      ['components.leadTimeDays', 'components.notes', 'customers.notes', 'customers.type', 'projects.dueDate', 'quotes.lineItems'].sort(),
    );
    for (const r of refusals) {
      expect(r).toMatchObject({ user: 'poison', status: 'open' });
      expect(r.code).toMatch(/^[A-Z_]+$/);
      expect(r.message).toMatch(/\.$/);
    }
    expect(refusals.find((r) => r.column === 'type')!.value).toBe('oem');

    const status = cacpq(['client', 'status', '--db', ws.file]);
    expect(status.stdout).toMatch(/held back:\s+6 changes/);
    expect(status.stdout).toMatch(/customers bad-type type: VALIDATION_FAILED/);

    // Fixed on the workstation: goes through at the next sync; the others stay held back, not resent.
    ws.sql(`UPDATE customers SET type = 'OEM' WHERE id = 'bad-type';`);
    expect(ws.sync()).toMatch(/pushed 1\b.*5 held back/);
    expect((await masterRows('customers')).get('bad-type')).toMatchObject({ type: 'OEM', name: 'Lower-case OEM' });
    const after = (await json<RefusalView[]>(call('GET', '/api/v1/refusals?status=all'))).find((r) => r.rowId === 'bad-type')!;
    expect(after.status).toBe('fixed');
    expect(ws.sync()).toMatch(/pushed 0\b/);
  });

  it('1. an edit of an adopted row whose old value breaks a rule goes through: only changed columns are checked', async () => {
    const maker = await workstation('ws-legacy-maker', 'legacy');
    maker.sql(`INSERT INTO customers (id, name, type) VALUES ('legacy-row', 'Adopted Ltd', 'OEM');`);
    maker.sync();
    const legacyId = 'legacy-row';
    expect(await server.stop()).toBe(0);
    // As an old app version left it: a value the column rules refuse.
    expect(sqlite3(master(), `UPDATE customers SET type = 'oem', notes = '${'x'.repeat(5000)}' WHERE id = '${legacyId}';`).code).toBe(0);
    await restart();
    const ws = await workstation('ws-legacy-edit', 'legacy');
    ws.sql(`UPDATE customers SET email = 'new@example.com' WHERE id = '${legacyId}';`);
    expect(ws.sync()).not.toMatch(/held back/);
    expect((await masterRows('customers')).get(legacyId)).toMatchObject({ email: 'new@example.com', type: 'oem' });
  });

  it('1. splits a batch larger than the body limit, and holds back only a row too large even alone', async () => {
    const ws = await workstation('ws-big', 'big');
    const notes = 'b'.repeat(2000);
    const values = Array.from({ length: 400 }, (_, i) => `('big-${i}', 'Big batch ${i}', 'OEM', '${notes}')`).join(',\n');
    ws.sql(`INSERT INTO customers (id, name, type, notes) VALUES ${values};
      INSERT INTO quotes (id, quoteNumber, title, lineItems) VALUES ('too-large', 'Q-HUGE', 'Huge', '[${Array.from({ length: 3000 }, () => `{"sku":"${'s'.repeat(90)}"}`).join(',')}]');`);
    const line = ws.sync();
    expect(line).toMatch(/pushed 400\b.*1 held back/);
    const rows = await masterRows('customers');
    expect(Array.from({ length: 400 }, (_, i) => rows.has(`big-${i}`)).every(Boolean)).toBe(true);
    const refused = (await json<RefusalView[]>(call('GET', '/api/v1/refusals?status=open'))).filter((r) => r.clientId === 'ws-big');
    expect(refused).toMatchObject([{ table: 'quotes', rowId: 'too-large', code: 'PAYLOAD_TOO_LARGE' }]);
  });

  it('2. a restore give-back never reverts a later edit: every later edit survives, a real overlap is a recorded conflict', async () => {
    const a = await workstation('ws-gb-a', 'gb-a');
    const b = await workstation('ws-gb-b', 'gb-b');
    const ids = a.sql('SELECT id FROM customers ORDER BY id LIMIT 30;').split('\n');
    const list = ids.map((id) => `'${id}'`).join(',');
    const now = `strftime('%Y-%m-%d %H:%M:%f', 'now')`;
    const seenBefore = Math.max(0, ...(await conflicts()).map((c) => c.id));
    const snap = await backup();
    // After the backup: a's edits reach the master (and are lost with the restore).
    a.sql(`UPDATE customers SET notes = 'lost-era ' || id, updated_at = ${now} WHERE id IN (${list});
      UPDATE customers SET city = 'lost-era city ' || id, updated_at = ${now} WHERE id IN (${list.split(',').slice(0, 5).join(',')});`);
    a.sync();
    await restore(snap);
    // A colleague edits the phone after the restore (and the city of five rows).
    expect(b.sync()).toMatch(/re-initialised/);
    await sleep(1100);
    b.sql(`UPDATE customers SET phone = 'b-phone ' || id, updated_at = ${now} WHERE id IN (${list});
      UPDATE customers SET city = 'b city ' || id, updated_at = ${now} WHERE id IN (${list.split(',').slice(0, 5).join(',')});`);
    b.sync();
    await sleep(1100);
    // a edits the email before its first sync after the restore, as the desktop app does (stamping updated_at).
    a.sql(`UPDATE customers SET email = 'a-' || id || '@example.com', updated_at = ${now} WHERE id IN (${list});`);
    expect(a.sync()).toMatch(/re-initialised/);
    b.sync();

    const rows = await masterRows('customers');
    const reverted = ids.filter((id) => rows.get(id)!.phone !== `b-phone ${id}`);
    expect({ reverted }).toEqual({ reverted: [] });
    expect(ids.filter((id) => rows.get(id)!.email !== `a-${id}@example.com`)).toEqual([]);
    expect(ids.filter((id) => rows.get(id)!.notes !== `lost-era ${id}`)).toEqual([]);
    expect(ids.slice(0, 5).filter((id) => rows.get(id)!.city !== `b city ${id}`)).toEqual([]);
    const recorded = (await conflicts()).filter((c) => c.id > seenBefore && ids.includes(c.rowId));
    expect(recorded.map((c) => [c.rowId, c.columns, c.winner, c.clientVersion?.city]).sort()).toEqual(
      ids
        .slice(0, 5)
        .map((id) => [id, ['city'], 'server', `lost-era city ${id}`])
        .sort(),
    );
    for (const w of [a, b]) {
      const local = w.dump(['customers']).customers.filter((r) => ids.includes(String(r.id)));
      expect({ ws: w.name, rows: local }).toEqual({ ws: w.name, rows: ids.map((id) => rows.get(id)) });
    }
  });

  it('3. a 0.1+0.2 price edited 100 times by its only editor (clock 60 s slow): 0 conflicts, exact everywhere', async () => {
    const editor = await workstation('ws-exact', 'exact', '-60s');
    const other = await workstation('ws-exact-other', 'exact-other');
    const id = editor.sql('SELECT id FROM components ORDER BY id LIMIT 1 OFFSET 7;');
    const before = (await conflicts()).length;
    editor.sql(`UPDATE components SET listPrice = 0.1 + 0.2 WHERE id = '${id}';`);
    editor.sync();
    for (let i = 0; i < 100; i++) {
      editor.sql(`UPDATE components SET listPrice = listPrice + 0.1 + 0.2, unitCost = listPrice / 3 WHERE id = '${id}';`);
      editor.sync();
    }
    other.sync();
    expect((await conflicts()).length - before).toBe(0);
    const read = (file: string) => {
      const db = new Database(file, { readonly: true });
      try {
        return db.prepare('SELECT listPrice, unitCost FROM components WHERE id = ?').get(id) as { listPrice: number; unitCost: number };
      } finally {
        db.close();
      }
    };
    let expected = 0.1 + 0.2;
    let unit = 0;
    for (let i = 0; i < 100; i++) {
      // SQL's SET reads the row as it was before the update.
      unit = expected / 3;
      expected = expected + 0.1 + 0.2;
    }
    for (const file of [editor.file, other.file]) expect(read(file)).toEqual({ listPrice: expected, unitCost: unit });
    expect((await masterRows('components')).get(id)).toMatchObject({ listPrice: expected, unitCost: unit });
  }, 600_000);

  it('4. clocks 2 days behind and 3 hours ahead: the later real edit wins both ways, and each offset is shown', async () => {
    const behind = await workstation('ws-behind', 'behind', '-2d');
    const ahead = await workstation('ws-ahead', 'ahead', '+3h');
    const normal = await workstation('ws-on-time', 'on-time');
    const [r1, r2] = normal.sql('SELECT id FROM customers ORDER BY id LIMIT 2 OFFSET 20;').split('\n');
    // Behind: the normal clock edits first, the slow one later in real time.
    normal.sql(`UPDATE customers SET city = 'earlier real edit' WHERE id = '${r1}';`);
    normal.sync();
    await sleep(1100);
    behind.sql(`UPDATE customers SET city = 'later real edit, clock 2 days behind' WHERE id = '${r1}';`);
    behind.sync();
    // Ahead: the fast clock edits first, the normal one later in real time.
    ahead.sql(`UPDATE customers SET city = 'earlier real edit, clock 3 hours ahead' WHERE id = '${r2}';`);
    await sleep(1100);
    normal.sql(`UPDATE customers SET city = 'later real edit' WHERE id = '${r2}';`);
    normal.sync();
    ahead.sync();
    normal.sync();
    const rows = await masterRows('customers');
    expect(rows.get(r1)!.city).toBe('later real edit, clock 2 days behind');
    expect(rows.get(r2)!.city).toBe('later real edit');
    const all = await conflicts();
    expect(all.find((c) => c.rowId === r1)).toMatchObject({
      winner: 'client',
      clientVersion: { city: 'later real edit, clock 2 days behind' },
    });
    expect(all.find((c) => c.rowId === r2)).toMatchObject({
      winner: 'server',
      clientVersion: { city: 'earlier real edit, clock 3 hours ahead' },
    });
    const stations = await json<{ clientId: string; clockOffsetMs: number | null }[]>(call('GET', '/api/v1/monitoring/workstations'));
    const offset = (id: string) => stations.find((s) => s.clientId === id)?.clockOffsetMs ?? null;
    expect(Math.round((offset('ws-behind') ?? 0) / 3_600_000)).toBe(-48);
    expect(Math.round((offset('ws-ahead') ?? 0) / 3_600_000)).toBe(3);
    expect(Math.abs(offset('ws-on-time') ?? Infinity)).toBeLessThan(5000);
  });

  it('5. a cloned file and an old copy put back are each detected at their first sync; no number is used twice silently', async () => {
    const orig = await workstation('ws-orig', 'cloner');
    expect(cacpq(['client', 'reserve', '--db', orig.file, 'quote', '--count', '3']).status).toBe(0);
    // IT re-images a second laptop from this one.
    const cloneFile = path.join(dir, 'ws-orig-clone.db');
    fs.copyFileSync(orig.file, cloneFile);
    const clone = new Workstation('ws-orig-clone', cloneFile);
    // Both work offline and use the first reserved number for a quote.
    expect(await server.stop()).toBe(0);
    const offline = (w: Workstation, quoteId: string) => {
      const r = cacpq(['client', 'number', '--db', w.file, 'quote', '--record', `quotes:${quoteId}`], { CACPQ_HOST_NAME: w.name });
      expect(r.stdout).toMatch(/offline/);
      const n = r.stdout.split(' ')[0].trim();
      w.sql(`INSERT INTO quotes (id, quoteNumber, title) VALUES ('${quoteId}', '${n}', 'Offline quote');`);
      return n;
    };
    const n1 = offline(orig, 'q-orig');
    const n2 = offline(clone, 'q-clone');
    expect(n2).toBe(n1);
    await restart();
    expect(cacpq(['client', 'sync', '--db', orig.file], { CACPQ_HOST_NAME: 'laptop-original' }).status).toBe(0);
    const cloned = cacpq(['client', 'sync', '--db', clone.file], { CACPQ_HOST_NAME: 'laptop-reimaged' });
    expect(cloned.status).toBe(0);
    expect(cloned.stdout).toMatch(/copy of workstation ws-orig.*new client id (ws-orig-\S+)/);
    const st = cacpq(['client', 'status', '--db', clone.file]).stdout;
    const newId = /client id:\s+(\S+)/.exec(st)![1];
    expect(newId).not.toBe('ws-orig');
    expect(st).toMatch(/reserved nos.:\s+0/);
    // Both quotes reached the master; the number used twice is flagged, naming both PCs.
    expect((await call('POST', '/api/v1/alerts/evaluate')).status).toBe(200);
    const alerts = await json<{ rule: string; message: string; status: string }[]>(call('GET', '/api/v1/alerts?status=open'));
    const copyAlert = alerts.find((a) => a.rule === 'workstation-copy' && a.message.includes(newId));
    expect(copyAlert?.message).toMatch(/laptop-original/);
    expect(copyAlert?.message).toMatch(/laptop-reimaged/);
    const dup = alerts.find((a) => a.rule === 'duplicate-number' && a.message.includes(n1));
    expect(dup?.message).toMatch(/q-orig/);
    expect(dup?.message).toMatch(/q-clone/);
    // The clone's voided block is gone: offline it gets no number the original still holds.
    expect(await server.stop()).toBe(0);
    const none = cacpq(['client', 'number', '--db', clone.file, 'quote']);
    expect(none.status).not.toBe(0);
    expect(none.stderr + none.stdout).toMatch(/OFFLINE_NO_NUMBERS/);
    await restart();

    // An old copy of a file put back (a restored laptop backup).
    const roll = await workstation('ws-roll', 'roller');
    const oldCopy = path.join(dir, 'ws-roll-old.db');
    fs.copyFileSync(roll.file, oldCopy);
    roll.sql(`INSERT INTO customers (id, name, type) VALUES ('made-after-the-copy', 'After copy', 'OEM');`);
    roll.sync();
    roll.sync();
    fs.copyFileSync(oldCopy, roll.file);
    const back = roll.sync();
    expect(back).toMatch(/copy of workstation ws-roll/);
    expect(roll.sql(`SELECT name FROM customers WHERE id = 'made-after-the-copy';`)).toBe('After copy');
    const stations = await json<{ clientId: string }[]>(call('GET', '/api/v1/monitoring/workstations'));
    expect(stations.filter((s) => s.clientId.startsWith('ws-roll')).length).toBe(2);
  });

  it('6. a purged tombstone, then a stale edit of that row: a recorded "deleted elsewhere" conflict, never an undelete', async () => {
    const stale = await workstation('ws-stale', 'stale');
    const other = await workstation('ws-deleter', 'deleter');
    const id = other.sql('SELECT id FROM projects ORDER BY id DESC LIMIT 1;');
    other.sql(`DELETE FROM projects WHERE id = '${id}';`);
    other.sync();
    stale.sql(`UPDATE projects SET notes = 'stale edit after a long absence' WHERE id = '${id}';`);
    // The retention period passes and the tombstone purge removes the deleted row (as its job does).
    expect(await server.stop()).toBe(0);
    const seq = sqlite3(master(), `SELECT server_seq FROM projects WHERE id = '${id}';`).stdout.trim();
    expect(
      sqlite3(
        master(),
        `DELETE FROM sync_row_meta WHERE table_name = 'projects' AND row_id = '${id}'; DELETE FROM projects WHERE id = '${id}';
         UPDATE sync_state SET value = '${seq}' WHERE key = 'purged_seq';`,
      ).code,
    ).toBe(0);
    await restart();
    expect(stale.sync()).toMatch(/re-initialised/);
    expect((await masterRows('projects')).has(id)).toBe(false);
    expect(stale.sql(`SELECT COUNT(*) FROM projects WHERE id = '${id}';`)).toBe('0');
    const c = (await conflicts()).find((x) => x.rowId === id)!;
    expect(c).toMatchObject({ kind: 'update-vs-delete', winner: 'server', clientVersion: { notes: 'stale edit after a long absence' } });
  });

  it('7. a conflict recorded after a backup is still open after restoring that backup, and can be resolved', async () => {
    const a = await workstation('ws-keep-a', 'keep-a');
    const b = await workstation('ws-keep-b', 'keep-b');
    const snap = await backup();
    const id = a.sql('SELECT id FROM manual_quotes ORDER BY id LIMIT 1;');
    a.sql(`UPDATE manual_quotes SET description = 'a version' WHERE id = '${id}';`);
    await sleep(1100);
    b.sql(`UPDATE manual_quotes SET description = 'b version' WHERE id = '${id}';`);
    b.sync();
    a.sync();
    const open = (await json<ConflictView[]>(call('GET', '/api/v1/conflicts?status=open'))).find((c) => c.rowId === id)!;
    expect(open).toMatchObject({ columns: ['description'], clientVersion: { description: 'a version' } });
    await restore(snap);
    const after = (await json<ConflictView[]>(call('GET', '/api/v1/conflicts?status=open'))).find((c) => c.rowId === id);
    expect(after).toEqual(open);
    const resolved = await call('POST', `/api/v1/conflicts/${open.id}/resolve`, { keep: 'loser' });
    expect(resolved.status).toBe(200);
    a.sync();
    b.sync();
    expect((await masterRows('manual_quotes')).get(id)!.description).toBe('a version');
    expect(b.sql(`SELECT description FROM manual_quotes WHERE id = '${id}';`)).toBe('a version');
  });
});

describe('8. a killed legacy adoption leaves nothing behind (issue 12)', () => {
  let dir: string;
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Every file under `root`, relative to it. */
  function files(root: string): string[] {
    if (!fs.existsSync(root)) return [];
    return fs
      .readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.relative(root, path.join(e.parentPath, e.name)));
  }

  it('removes or reuses what each kill -9 left, and says so at the next start', async () => {
    dir = tempDir('adopt-kill');
    const dataDir = path.join(dir, 'data');
    writeLegacyDataDir(dataDir);
    const legacy = path.join(dataDir, 'database', 'server.db');
    // Large enough that the backup and the migration each take a moment to catch them in the act.
    expect(
      sqlite3(
        legacy,
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 150000)
         INSERT INTO components (sku, name, description, listPrice) SELECT 'K-' || i, 'Kill test ' || i, printf('%.300c', 'd'), i * 1.5 FROM n;`,
      ).code,
    ).toBe(0);
    const legacyBytes = fs.statSync(legacy).size;
    const counts = sqlite3(legacy, 'SELECT (SELECT COUNT(*) FROM components), (SELECT COUNT(*) FROM quotes);').stdout.trim();
    const preAdoption = path.join(dataDir, 'backups', 'pre-adoption');
    for (const [i, when] of [/\.partial$/, /\.adopting$/, /\.adopting$/].entries()) {
      const proc = spawn(process.execPath, [API_MAIN], {
        cwd: ROOT,
        env: { ...process.env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', ADMIN_PASSWORD, LOG_LEVEL: 'warn' },
        stdio: 'ignore',
      });
      const exited = new Promise((r) => proc.once('exit', r));
      const until = Date.now() + 60_000;
      while (![...files(preAdoption), ...files(path.join(dataDir, 'database'))].some((f) => when.test(f))) {
        if (Date.now() > until || proc.exitCode !== null) throw new Error(`cycle ${i}: never saw ${when} (exit ${proc.exitCode})`);
        await sleep(2);
      }
      proc.kill('SIGKILL');
      await exited;
      expect(sqlite3(legacy, 'SELECT (SELECT COUNT(*) FROM components), (SELECT COUNT(*) FROM quotes);').stdout.trim()).toBe(counts);
    }
    const s = await startServer({ dataDir, env: { LOG_LEVEL: 'info' } });
    const output = s.output();
    expect(await s.stop()).toBe(0);
    const left = files(preAdoption);
    expect(left.filter((f) => /\.partial|-journal|-wal|-shm/.test(f))).toEqual([]);
    expect(files(path.join(dataDir, 'database')).filter((f) => /adopting/.test(f))).toEqual([]);
    const copies = left.filter((f) => f.endsWith('server.db'));
    expect(copies).toHaveLength(1);
    const total = left.reduce((sum, f) => sum + fs.statSync(path.join(preAdoption, f)).size, 0);
    expect(total).toBeLessThan(legacyBytes * 1.5);
    expect(
      sqlite3(path.join(preAdoption, copies[0]), 'SELECT (SELECT COUNT(*) FROM components), (SELECT COUNT(*) FROM quotes);').stdout.trim(),
    ).toBe(counts);
    expect(sqlite3(legacy, 'SELECT (SELECT COUNT(*) FROM components), (SELECT COUNT(*) FROM quotes);').stdout.trim()).toBe(counts);
    expect(output).toMatch(/Adopted legacy database/);
    expect(output).toMatch(/interrupted adoption/i);
  });
});
