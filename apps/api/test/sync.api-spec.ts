import { randomUUID } from 'node:crypto';
import type { PullResponse, PushChange, PushResponse } from '@cacpq/sync-protocol';
import { ADMIN_PASSWORD, makeUser, sessionCaller, startTestServer, type Caller, type TestServer } from './harness';

let server: TestServer;
let admin: Caller;
let alice: Caller;
let bob: Caller;
let generation: string;

beforeAll(async () => {
  server = await startTestServer();
  admin = await sessionCaller(server, 'admin', ADMIN_PASSWORD);
  alice = (await makeUser(server, admin, 'alice', 'user')).token;
  bob = (await makeUser(server, admin, 'bob', 'user')).token;
  generation = ((await alice.auth(server.http.get('/api/v1/sync/info'), 'GET').expect(200)).body as { generation: string }).generation;
});
afterAll(() => server.close());

const iso = (offsetMs = 0) => new Date(Date.now() + offsetMs).toISOString();

function push(
  caller: Caller,
  changes: PushChange[],
  opts: { clientId?: string; batchId?: string; clientTime?: string; generation?: string } = {},
) {
  return caller.auth(server.http.post('/api/v1/sync/push'), 'POST').send({
    protocolVersion: 1,
    clientId: opts.clientId ?? 'ws-1',
    batchId: opts.batchId ?? randomUUID(),
    generation: opts.generation ?? generation,
    clientTime: opts.clientTime ?? iso(),
    changes,
  });
}

async function pullAll(caller: Caller, cursor = 0, limit = 1000): Promise<PullResponse['changes']> {
  const out: PullResponse['changes'] = [];
  let until: number | undefined;
  for (;;) {
    const res = await caller
      .auth(server.http.get('/api/v1/sync/pull'), 'GET')
      .query({ generation, clientId: 'ws-1', cursor, limit, ...(until !== undefined ? { until } : {}) })
      .expect(200);
    const page = res.body as PullResponse;
    out.push(...page.changes);
    cursor = page.cursor;
    until = page.until;
    if (!page.hasMore) return out;
  }
}

const component = (id: string, extra: Record<string, unknown> = {}): PushChange => ({
  table: 'components',
  op: 'upsert',
  id,
  baseVersion: 0,
  updatedAt: iso(),
  values: { sku: `SKU-${id}`, name: `Component ${id}`, category: 'Pumps', listPrice: 100, ...extra } as PushChange['values'],
});

function row(id: string) {
  return server.store.serverDb.prepare('SELECT * FROM components WHERE id = ?').get(id) as Record<string, unknown>;
}

describe('sync info', () => {
  it('describes the protocol, generation, interval and every synced table with its columns', async () => {
    const res = await alice.auth(server.http.get('/api/v1/sync/info'), 'GET').expect(200);
    expect(res.body).toMatchObject({ protocolVersion: 1, generation: expect.stringMatching(/^[0-9a-f-]{36}$/), syncIntervalMinutes: 120 });
    const tables = (res.body.tables as { name: string; columns: { name: string }[] }[]).map((t) => t.name);
    expect(tables).toEqual(['customers', 'components', 'sub_assemblies', 'product_templates', 'projects', 'quotes', 'manual_quotes']);
    const components = res.body.tables[1];
    expect(components.columns.map((c: { name: string }) => c.name)).toEqual(
      expect.arrayContaining(['id', 'sku', 'updated_at', 'server_seq', 'deleted']),
    );
    expect(components.indexes).toContain('CREATE INDEX IF NOT EXISTS idx_components_sku ON components(sku)');
  });

  it('lets an admin set the workstation interval, not a user', async () => {
    await admin.auth(server.http.put('/api/v1/sync/settings'), 'PUT').send({ intervalMinutes: 60 }).expect(200);
    expect((await alice.auth(server.http.get('/api/v1/sync/info'), 'GET').expect(200)).body.syncIntervalMinutes).toBe(60);
    expect((await alice.auth(server.http.put('/api/v1/sync/settings'), 'PUT').send({ intervalMinutes: 30 })).status).toBe(403);
    const bad = await admin.auth(server.http.put('/api/v1/sync/settings'), 'PUT').send({ intervalMinutes: 1 });
    expect([bad.status, bad.body.message]).toEqual([400, 'Invalid request body: intervalMinutes must be at least 5 minutes.']);
    await admin.auth(server.http.put('/api/v1/sync/settings'), 'PUT').send({ intervalMinutes: 120 }).expect(200);
  });
});

describe('push and pull', () => {
  it('applies new rows, stamps who and when from the server, and pulls them back', async () => {
    const res = await push(alice, [component('c-1'), component('c-2')]).expect(200);
    const body = res.body as PushResponse;
    expect(body.results.map((r) => r.outcome)).toEqual(['applied', 'applied']);
    expect(row('c-1')).toMatchObject({ updated_by: 'alice', deleted: 0, server_seq: body.results[0].version });
    expect(row('c-1').synced_at).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/));
    const pulled = await pullAll(bob);
    expect(pulled.filter((c) => c.id.startsWith('c-')).map((c) => c.id)).toEqual(['c-1', 'c-2']);
  });

  it('applies a batch sent twice only once and answers the retry with the first answer', async () => {
    const batchId = randomUUID();
    const clientTime = iso();
    const change = component('c-once');
    const first = await push(alice, [change], { batchId, clientTime }).expect(200);
    const seqBefore = server.store.serverDb.prepare(`SELECT value FROM sync_state WHERE key = 'last_seq'`).get();
    const again = await push(alice, [change], { batchId, clientTime }).expect(200);
    expect(again.body.replayed).toBe(true);
    expect(again.body.results).toEqual(first.body.results);
    expect(server.store.serverDb.prepare(`SELECT value FROM sync_state WHERE key = 'last_seq'`).get()).toEqual(seqBefore);
    const reused = await push(alice, [component('c-other')], { batchId });
    expect([reused.status, reused.body.code]).toEqual([409, 'BATCH_ID_REUSED']);
  });

  it('keeps edits to different fields of one record from two users, with no conflict', async () => {
    const created = (await push(alice, [component('c-merge')]).expect(200)).body as PushResponse;
    const base = created.results[0].version;
    await push(alice, [
      {
        table: 'components',
        op: 'upsert',
        id: 'c-merge',
        baseVersion: base,
        updatedAt: iso(),
        values: { listPrice: 250 },
        changed: ['listPrice'],
      },
    ]).expect(200);
    const second = await push(
      bob,
      [
        {
          table: 'components',
          op: 'upsert',
          id: 'c-merge',
          baseVersion: base,
          updatedAt: iso(),
          values: { name: 'Renamed by Bob' },
          changed: ['name'],
        },
      ],
      { clientId: 'ws-2' },
    ).expect(200);
    expect(second.body.results[0].outcome).toBe('merged');
    expect(second.body.conflicts).toBe(0);
    expect(row('c-merge')).toMatchObject({ listPrice: 250, name: 'Renamed by Bob' });
    expect(server.store.serverDb.prepare(`SELECT COUNT(*) AS n FROM sync_conflicts WHERE row_id = 'c-merge'`).get()).toEqual({ n: 0 });
  });

  it('gives a field both changed to the later edit and keeps both versions as a conflict', async () => {
    const base = ((await push(alice, [component('c-both')]).expect(200)).body as PushResponse).results[0].version;
    await push(alice, [
      {
        table: 'components',
        op: 'upsert',
        id: 'c-both',
        baseVersion: base,
        updatedAt: iso(-60_000),
        values: { listPrice: 111 },
        changed: ['listPrice'],
      },
    ]).expect(200);
    const later = await push(
      bob,
      [
        {
          table: 'components',
          op: 'upsert',
          id: 'c-both',
          baseVersion: base,
          updatedAt: iso(),
          values: { listPrice: 222 },
          changed: ['listPrice'],
        },
      ],
      { clientId: 'ws-2' },
    ).expect(200);
    expect(later.body.results[0].outcome).toBe('conflict_won');
    expect(row('c-both').listPrice).toBe(222);
    const conflicts = await admin.auth(server.http.get('/api/v1/conflicts'), 'GET').expect(200);
    const c = (
      conflicts.body as {
        rowId: string;
        serverVersion: { listPrice: number };
        clientVersion: { listPrice: number };
        winner: string;
        clientUser: string;
        serverUpdatedBy: string;
      }[]
    ).find((x) => x.rowId === 'c-both')!;
    expect(c).toMatchObject({
      winner: 'client',
      clientUser: 'bob',
      serverUpdatedBy: 'alice',
      serverVersion: { listPrice: 111 },
      clientVersion: { listPrice: 222 },
    });

    // An older edit of the same field arriving later loses, and is kept too.
    const stale = await push(
      alice,
      [
        {
          table: 'components',
          op: 'upsert',
          id: 'c-both',
          baseVersion: base,
          updatedAt: iso(-120_000),
          values: { listPrice: 333 },
          changed: ['listPrice'],
        },
      ],
      { clientId: 'ws-3' },
    ).expect(200);
    expect(stale.body.results[0]).toMatchObject({ outcome: 'conflict_lost', row: { listPrice: 222 } });
    expect(row('c-both').listPrice).toBe(222);
  });

  it('does not let a clock running 3 hours ahead beat a later real edit, and says so', async () => {
    const base = ((await push(alice, [component('c-clock')]).expect(200)).body as PushResponse).results[0].version;
    const threeHours = 3 * 3600_000;
    const fastEditTime = iso(threeHours - 10_000); // made 10 s ago, by a clock 3 h ahead
    await push(
      bob,
      [
        {
          table: 'components',
          op: 'upsert',
          id: 'c-clock',
          baseVersion: base,
          updatedAt: iso(-1_000),
          values: { name: 'real later edit' },
          changed: ['name'],
        },
      ],
      { clientId: 'ws-2' },
    ).expect(200);
    const fast = await push(
      alice,
      [
        {
          table: 'components',
          op: 'upsert',
          id: 'c-clock',
          baseVersion: base,
          updatedAt: fastEditTime,
          values: { name: 'fast clock edit' },
          changed: ['name'],
        },
      ],
      { clientTime: iso(threeHours) },
    ).expect(200);
    expect(fast.body.clockCorrected).toBe(true);
    expect(fast.body.clockSkewMs).toBeGreaterThan(threeHours - 5_000);
    expect(fast.body.results[0].outcome).toBe('conflict_lost');
    expect(row('c-clock').name).toBe('real later edit');
  });

  it('sends a delete to everyone as a tombstone; a stale edit of it is a conflict, never an undelete', async () => {
    const base = ((await push(alice, [component('c-del')]).expect(200)).body as PushResponse).results[0].version;
    const cursor = base;
    const del = await push(alice, [{ table: 'components', op: 'delete', id: 'c-del', baseVersion: base, updatedAt: iso() }]).expect(200);
    expect(del.body.results[0]).toMatchObject({ outcome: 'applied', deleted: true });
    const pulled = await pullAll(bob, cursor);
    expect(pulled.find((c) => c.id === 'c-del')).toMatchObject({ deleted: true });
    const stale = await push(
      bob,
      [
        {
          table: 'components',
          op: 'upsert',
          id: 'c-del',
          baseVersion: base,
          updatedAt: iso(),
          values: { name: 'edited offline' },
          changed: ['name'],
        },
      ],
      { clientId: 'ws-2' },
    ).expect(200);
    expect(stale.body.results[0]).toMatchObject({ outcome: 'conflict_lost', deleted: true });
    expect(row('c-del')).toMatchObject({ deleted: 1, name: 'Component c-del' });
    const conflicts = (await admin.auth(server.http.get('/api/v1/conflicts'), 'GET').expect(200)).body as {
      id: number;
      rowId: string;
      kind: string;
      clientVersion: { name: string };
    }[];
    const c = conflicts.find((x) => x.rowId === 'c-del')!;
    expect(c).toMatchObject({ kind: 'update-vs-delete', clientVersion: { name: 'edited offline' } });

    // The admin takes the losing edit: it goes out to everyone as an ordinary change.
    const lastSeq = Number(
      (server.store.serverDb.prepare(`SELECT value FROM sync_state WHERE key = 'last_seq'`).get() as { value: string }).value,
    );
    const resolved = await admin
      .auth(server.http.post(`/api/v1/conflicts/${c.id}/resolve`), 'POST')
      .send({ keep: 'loser' })
      .expect(200);
    expect(resolved.body.resolvedBy).toBe('admin');
    expect(row('c-del')).toMatchObject({ deleted: 0, name: 'edited offline', updated_by: 'admin' });
    const after = await pullAll(bob, lastSeq);
    expect(after.map((x) => x.id)).toEqual(['c-del']);
    const open = (await admin.auth(server.http.get('/api/v1/conflicts'), 'GET').expect(200)).body as { id: number }[];
    expect(open.map((x) => x.id)).not.toContain(c.id);
    const twice = await admin.auth(server.http.post(`/api/v1/conflicts/${c.id}/resolve`), 'POST').send({ keep: 'winner' });
    expect([twice.status, twice.body.code]).toEqual([409, 'ALREADY_RESOLVED']);
  });

  it('pulls in pages up to the bound fixed at the start; later changes wait for the next pull', async () => {
    const start = Number(
      (server.store.serverDb.prepare(`SELECT value FROM sync_state WHERE key = 'last_seq'`).get() as { value: string }).value,
    );
    await push(
      alice,
      Array.from({ length: 25 }, (_, i) => component(`page-${i}`)),
    ).expect(200);
    const first = (
      await bob
        .auth(server.http.get('/api/v1/sync/pull'), 'GET')
        .query({ generation, clientId: 'ws-2', cursor: start, limit: 10 })
        .expect(200)
    ).body as PullResponse;
    expect(first.changes).toHaveLength(10);
    expect(first.hasMore).toBe(true);
    await push(alice, [component('page-late')]).expect(200);
    let cursor = first.cursor;
    const seen = [...first.changes];
    for (;;) {
      const page = (
        await bob
          .auth(server.http.get('/api/v1/sync/pull'), 'GET')
          .query({ generation, clientId: 'ws-2', cursor, until: first.until, limit: 10 })
          .expect(200)
      ).body as PullResponse;
      seen.push(...page.changes);
      cursor = page.cursor;
      if (!page.hasMore) break;
    }
    expect(seen.map((c) => c.id)).toEqual(Array.from({ length: 25 }, (_, i) => `page-${i}`));
    expect(cursor).toBe(first.until);
    const next = await pullAll(bob, cursor);
    expect(next.map((c) => c.id)).toEqual(['page-late']);
  });

  it("logs a first sync from the snapshot as the workstation's own sync_log row", async () => {
    const res = await alice.auth(server.http.get('/api/v1/sync/snapshot?clientId=ws-new-laptop'), 'GET').buffer(true).expect(200);
    const row = server.store.serverDb.prepare('SELECT * FROM sync_log ORDER BY id DESC LIMIT 1').get() as Record<string, unknown>;
    expect(row).toMatchObject({
      status: 'success',
      user: 'alice',
      client_id: 'ws-new-laptop',
      records_pulled: Number(res.headers['x-snapshot-rows']),
    });
    const bad = await alice.auth(server.http.get('/api/v1/sync/snapshot?clientId=../../etc'), 'GET');
    expect([bad.status, bad.body.code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('writes one sync_log row per sync, success or error, with user and client id', async () => {
    const syncId = randomUUID();
    const before = (server.store.serverDb.prepare('SELECT COUNT(*) AS n FROM sync_log').get() as { n: number }).n;
    await alice
      .auth(server.http.post('/api/v1/sync/push'), 'POST')
      .send({
        protocolVersion: 1,
        clientId: 'ws-log',
        batchId: randomUUID(),
        generation,
        clientTime: iso(),
        syncId,
        changes: [component('log-1')],
      })
      .expect(200);
    await alice.auth(server.http.get('/api/v1/sync/pull'), 'GET').query({ generation, clientId: 'ws-log', cursor: 0, syncId }).expect(200);
    await push(alice, [{ ...component('log-2'), table: 'nope' }], { clientId: 'ws-log' }).expect(409);
    const rows = server.store.serverDb
      .prepare('SELECT * FROM sync_log WHERE id > (SELECT MAX(id) - 2 FROM sync_log) ORDER BY id')
      .all() as Record<string, unknown>[];
    expect((server.store.serverDb.prepare('SELECT COUNT(*) AS n FROM sync_log').get() as { n: number }).n).toBe(before + 2);
    expect(rows[0]).toMatchObject({ status: 'success', records_pushed: 1, user: 'alice', client_id: 'ws-log', error: null });
    expect(rows[0].records_pulled as number).toBeGreaterThan(0);
    expect(rows[1]).toMatchObject({
      status: 'error',
      user: 'alice',
      client_id: 'ws-log',
      error: expect.stringMatching(/^SCHEMA_AHEAD: /),
    });
  });
});

describe('sync_log when answers are lost and asked again', () => {
  const logRows = (clientId: string) =>
    server.store.serverDb.prepare('SELECT * FROM sync_log WHERE client_id = ? ORDER BY id').all(clientId) as Record<string, unknown>[];

  it('counts a pull page asked again once, in its own sync, also after the last page', async () => {
    for (const id of ['relog-1', 'relog-2', 'relog-3']) await push(alice, [component(id)], { clientId: 'ws-relog-writer' }).expect(200);
    const syncId = randomUUID();
    const page = (cursor: number, until?: number) =>
      alice
        .auth(server.http.get('/api/v1/sync/pull'), 'GET')
        .query({ generation, clientId: 'ws-relog', cursor, limit: 2, syncId, ...(until !== undefined ? { until } : {}) })
        .expect(200);
    const start = (await alice.auth(server.http.get('/api/v1/sync/info'), 'GET').expect(200)).body.lastSeq - 3;
    const first = (await page(start)).body as PullResponse;
    expect(first).toMatchObject({ hasMore: true });
    await page(start); // the first answer was lost
    const last = (await page(first.cursor, first.until)).body as PullResponse;
    expect(last).toMatchObject({ hasMore: false });
    await page(first.cursor, first.until); // and the last one too
    expect(logRows('ws-relog')).toEqual([expect.objectContaining({ status: 'success', records_pulled: 3, records_pushed: 0 })]);
  });

  it('logs a snapshot fetched twice with one sync id as one sync', async () => {
    const url = `/api/v1/sync/snapshot?clientId=ws-relog-snap&syncId=${randomUUID()}`;
    const res = await alice.auth(server.http.get(url), 'GET').buffer(true).expect(200);
    await alice.auth(server.http.get(url), 'GET').buffer(true).expect(200);
    expect(logRows('ws-relog-snap')).toEqual([
      expect.objectContaining({ status: 'success', records_pulled: Number(res.headers['x-snapshot-rows']) }),
    ]);
  });
});

describe('bad pushes get a 4xx with a code and a sentence, and the master is unchanged', () => {
  const dump = () =>
    JSON.stringify(
      ['components', 'customers', 'quotes', 'sync_conflicts', 'sync_state'].map((t) =>
        server.store.serverDb.prepare(`SELECT * FROM "${t}" ORDER BY rowid`).all(),
      ),
    );

  const cases: [string, () => unknown, number, string, RegExp][] = [
    // A table or column the master lacks: the workstation's app is newer; the change waits there for a migration.
    ['an unknown table', () => [{ ...component('b-1'), table: 'salaries' }], 409, 'SCHEMA_AHEAD', /the master has no table "salaries" yet/],
    ['an unknown column', () => [component('b-2', { colour: 'red' })], 409, 'SCHEMA_AHEAD', /components has no column "colour" yet/],
    ['a wrong type', () => [component('b-3', { listPrice: 'cheap' })], 400, 'VALIDATION_FAILED', /components\.listPrice must be a number/],
    [
      'a bad enum value',
      () => [{ table: 'customers', op: 'upsert', id: 'b-4', baseVersion: 0, updatedAt: iso(), values: { name: 'X', type: 'Reseller' } }],
      400,
      'VALIDATION_FAILED',
      /customers\.type must be one of "OEM", "End User"/,
    ],
    [
      'a missing id',
      () => [{ table: 'components', op: 'upsert', baseVersion: 0, updatedAt: iso(), values: { sku: 'x', name: 'y' } }],
      400,
      'VALIDATION_FAILED',
      /changes\.0\.id is required/,
    ],
    [
      'a missing required column on a new row',
      () => [{ table: 'components', op: 'upsert', id: 'b-5', baseVersion: 0, updatedAt: iso(), values: { name: 'no sku' } }],
      400,
      'VALIDATION_FAILED',
      /needs sku/,
    ],
    ['a forged updated_by', () => [component('b-6', { updated_by: 'ceo' })], 400, 'FORBIDDEN_FIELD', /"updated_by" is set by the server/],
    ['a forged server_seq', () => [component('b-7', { server_seq: 999999 })], 400, 'FORBIDDEN_FIELD', /"server_seq" is set by the server/],
    ['the same row twice', () => [component('b-8'), component('b-8')], 400, 'DUPLICATE_ROW', /appears twice in this batch/],
    ['a bad time', () => [{ ...component('b-9'), updatedAt: 'yesterday-ish' }], 400, 'VALIDATION_FAILED', /updatedAt must be a date-time/],
    [
      'a day that does not exist (not rolled into 2 March)',
      () => [{ ...component('b-9b'), updatedAt: '2026-02-30T10:00:00Z' }],
      400,
      'VALIDATION_FAILED',
      /updatedAt must be a date-time/,
    ],
    [
      'a datetime value that does not exist',
      () => [component('b-9c', { createdAt: '2026-04-31 09:00:00' })],
      400,
      'VALIDATION_FAILED',
      /components\.createdAt must be a date-time/,
    ],
    [
      'invalid JSON text in a json column',
      () => [{ table: 'quotes', op: 'upsert', id: 'b-10', baseVersion: 0, updatedAt: iso(), values: { lineItems: '{not json' } }],
      400,
      'VALIDATION_FAILED',
      /quotes\.lineItems must be valid JSON text/,
    ],
    ['too many rows', () => Array.from({ length: 5001 }, (_, i) => component(`many-${i}`)), 400, 'VALIDATION_FAILED', /at most 5000 rows/],
    [
      'a good row followed by a bad one (nothing applied)',
      () => [component('b-good'), component('b-bad', { leadTimeDays: 1.5 })],
      400,
      'VALIDATION_FAILED',
      /must be a whole number/,
    ],
  ];

  it.each(cases)('%s', async (_label, changes, status, code, sentence) => {
    const before = dump();
    const res = await push(alice, changes() as PushChange[]);
    expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
    expect(res.body.message).toMatch(sentence);
    expect(dump()).toBe(before);
  });

  it('a 10 MB body is refused before it is parsed', async () => {
    const before = dump();
    const res = await push(alice, [component('huge', { description: 'x'.repeat(10 * 1024 * 1024) })]);
    expect([res.status, res.body.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    expect(dump()).toBe(before);
  });

  it('a push or a cursor from another generation is told to re-initialise, with what it needs', async () => {
    const before = dump();
    const res = await push(alice, [component('b-gen')], { generation: 'an-old-generation' });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'REINITIALIZE', details: { reason: 'generation', generation, lastSeq: expect.any(Number) } });
    expect(res.body.message).toMatch(/re-initialise/);
    const pull = await alice
      .auth(server.http.get('/api/v1/sync/pull'), 'GET')
      .query({ generation: 'an-old-generation', clientId: 'ws-1', cursor: 0 });
    expect([pull.status, pull.body.code]).toEqual([409, 'REINITIALIZE']);
    expect(dump()).toBe(before);
  });

  it('refuses inverted and out-of-range cursors', async () => {
    for (const query of [
      { cursor: -1 },
      { cursor: 10, until: 5 },
      { cursor: 0, until: 10_000_000 },
      { cursor: 'abc' },
      { cursor: 0, limit: 100_000 },
    ]) {
      const res = await alice.auth(server.http.get('/api/v1/sync/pull'), 'GET').query({ generation, clientId: 'ws-1', ...query });
      expect([JSON.stringify(query), res.status, res.body.code]).toEqual([JSON.stringify(query), 400, 'VALIDATION_FAILED']);
    }
  });
});

describe('tombstone retention', () => {
  it('purges old tombstones and sends a workstation from before them to re-initialise', async () => {
    const base = ((await push(alice, [component('t-old')]).expect(200)).body as PushResponse).results[0].version;
    await push(alice, [{ table: 'components', op: 'delete', id: 't-old', baseVersion: base, updatedAt: iso() }]).expect(200);
    const sync = server.app.get((await import('../src/sync/sync.service')).SyncService);
    expect(sync.purgeTombstones(new Date(Date.now() + 91 * 86400_000))).toBeGreaterThanOrEqual(1);
    expect(row('t-old')).toBeUndefined();
    const res = await alice.auth(server.http.get('/api/v1/sync/pull'), 'GET').query({ generation, clientId: 'ws-1', cursor: base - 1 });
    expect([res.status, res.body.code, res.body.details.reason]).toEqual([409, 'REINITIALIZE', 'cursor-expired']);
  });
});

describe('push replay records', () => {
  it('are kept for the retention period, then purged with the tombstones (the table grew by every push, forever)', async () => {
    const batches = () => (server.store.serverDb.prepare('SELECT COUNT(*) AS n FROM sync_batches').get() as { n: number }).n;
    await push(alice, [component('b-retained')]).expect(200);
    expect(batches()).toBeGreaterThan(0);
    const sync = server.app.get((await import('../src/sync/sync.service')).SyncService);
    sync.purgeTombstones(new Date(Date.now() + 86400_000));
    expect(batches()).toBeGreaterThan(0);
    sync.purgeTombstones(new Date(Date.now() + 91 * 86400_000));
    expect(batches()).toBe(0);
  });
});

describe('numbers', () => {
  it('allocates 1,000 distinct numbers to 20 concurrent callers × 50', async () => {
    const callers = [alice, bob];
    const all = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const got: string[] = [];
        for (let n = 0; n < 50; n++) {
          const res = await callers[i % 2]
            .auth(server.http.post('/api/v1/numbers/quote'), 'POST')
            .send({ clientId: `ws-${i}` })
            .expect(201);
          got.push(res.body.number);
        }
        return got;
      }),
    );
    const numbers = all.flat();
    expect(numbers).toHaveLength(1000);
    expect(new Set(numbers).size).toBe(1000);
    const year = new Date().getUTCFullYear();
    expect(numbers.every((n) => new RegExp(`^Q${year}-\\d{4}$`).test(n))).toBe(true);
  });

  it('reserves a block for offline work, lists numbers with who and when, and uses the set format', async () => {
    const block = await alice.auth(server.http.post('/api/v1/numbers/project/reserve'), 'POST').send({ count: 5 }).expect(201);
    expect(block.body).toHaveLength(5);
    expect(block.body.map((n: { status: string }) => n.status)).toEqual(Array(5).fill('reserved'));
    await admin.auth(server.http.put('/api/v1/numbers/project/format'), 'PUT').send({ format: 'PRJ-{YY}-{SEQ:5}' }).expect(200);
    const next = await bob.auth(server.http.post('/api/v1/numbers/project'), 'POST').expect(201);
    expect(next.body.number).toMatch(/^PRJ-\d\d-00006$/);
    const list = await admin.auth(server.http.get('/api/v1/numbers?kind=project&limit=10'), 'GET').expect(200);
    expect(list.body[0]).toMatchObject({ number: next.body.number, issuedBy: 'bob', status: 'issued' });
    const bad = await admin.auth(server.http.put('/api/v1/numbers/project/format'), 'PUT').send({ format: 'P{SEQ}{SEQ}' });
    expect([bad.status, bad.body.message]).toEqual([400, 'Invalid request body: format must contain {SEQ} or {SEQ:n} exactly once.']);
    const kind = await alice.auth(server.http.post('/api/v1/numbers/invoice'), 'POST');
    expect([kind.status, kind.body.message]).toEqual([400, 'Invalid path: the value must be one of "quote", "project".']);
  });

  it('answers an allocation retried with the same request id (its answer was lost) with the same numbers', async () => {
    const count = () => (server.store.numbersDb.prepare('SELECT COUNT(*) AS n FROM generated_numbers').get() as { n: number }).n;
    const before = count();
    const first = await alice.auth(server.http.post('/api/v1/numbers/quote'), 'POST').send({ requestId: 'req-once-1' }).expect(201);
    const again = await alice.auth(server.http.post('/api/v1/numbers/quote'), 'POST').send({ requestId: 'req-once-1' }).expect(201);
    expect(again.body).toEqual(first.body);
    const block = await alice.auth(server.http.post('/api/v1/numbers/quote/reserve'), 'POST').send({ count: 3, requestId: 'req-once-2' });
    const blockAgain = await alice
      .auth(server.http.post('/api/v1/numbers/quote/reserve'), 'POST')
      .send({ count: 3, requestId: 'req-once-2' })
      .expect(201);
    expect(blockAgain.body).toEqual(block.body);
    expect(count()).toBe(before + 4);
    // Another user's request id is their own; the same id for another allocation is refused.
    const bobs = await bob.auth(server.http.post('/api/v1/numbers/quote'), 'POST').send({ requestId: 'req-once-1' }).expect(201);
    expect(bobs.body.number).not.toBe(first.body.number);
    const reused = await alice.auth(server.http.post('/api/v1/numbers/project'), 'POST').send({ requestId: 'req-once-1' });
    expect([reused.status, reused.body.code]).toEqual([409, 'REQUEST_ID_REUSED']);
    const bad = await alice.auth(server.http.post('/api/v1/numbers/quote'), 'POST').send({ requestId: 'no spaces' });
    expect([bad.status, bad.body.code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('never issues a number twice after generated_numbers.db loses rows (a restore to an older copy)', async () => {
    const issued = (await alice.auth(server.http.post('/api/v1/numbers/quote'), 'POST').expect(201)).body.number as string;
    server.store.numbersDb.prepare(`DELETE FROM generated_numbers WHERE type = 'quote' AND created_at > datetime('now', '-1 hour')`).run();
    const next = (await alice.auth(server.http.post('/api/v1/numbers/quote'), 'POST').expect(201)).body.number as string;
    expect(next > issued).toBe(true);
  });
});
