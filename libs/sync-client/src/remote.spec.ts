import { SERVER_FEATURES } from '@cacpq/sync-protocol';
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { ProtocolError, SyncError } from './errors';
import { itemsTable, json, scriptedWorkstation } from './scripted-workstation.spec-helper';
import { SyncClient } from './sync-client';

// Every answer the SDK consumes is checked against the contract at its edge: a malformed one is a
// ProtocolError (BAD_RESPONSE) naming the endpoint, before anything of it is written to the file.

const TABLE = itemsTable(['name']);
const workstation = () => scriptedWorkstation(TABLE, 'ws-answers');

const INFO = {
  protocolVersion: 1,
  generation: 'g1',
  serverTime: '2026-11-24T10:00:00.000Z',
  lastSeq: 0,
  syncIntervalMinutes: 120,
  tombstoneRetentionDays: 90,
  maxPushRows: 5000,
  maxPullPage: 5000,
  maxBodyBytes: 1_000_000,
  features: [...SERVER_FEATURES],
  tables: [TABLE],
};

const PAGE = { generation: 'g1', changes: [], cursor: 0, until: 0, hasMore: false };

/** A scripted server answering each path with what `answers` says (a well-formed answer by default). */
function server(answers: Record<string, (body: unknown) => Response>): typeof fetch {
  return (async (url: string, init: RequestInit) => {
    const u = new URL(url);
    const answer = answers[u.pathname];
    if (answer) return answer(init.body === undefined ? undefined : JSON.parse(String(init.body)));
    if (u.pathname === '/api/v1/sync/info') return json(200, INFO);
    if (u.pathname === '/api/v1/sync/pull') return json(200, PAGE);
    return json(404, { statusCode: 404, code: 'NOT_FOUND', message: `No ${u.pathname}.` });
  }) as unknown as typeof fetch;
}

async function failure(run: () => Promise<unknown>): Promise<ProtocolError> {
  const err = await run().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProtocolError);
  expect(err).toBeInstanceOf(SyncError);
  return err as ProtocolError;
}

describe('SyncClient with a malformed answer', () => {
  let dir: string;
  let file: string;
  beforeEach(() => ({ dir, file } = workstation()));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function withClient(fetchImpl: typeof fetch, run: (c: SyncClient) => Promise<void>): Promise<void> {
    const client = SyncClient.open(file, { fetch: fetchImpl, backoffBaseMs: 1 });
    try {
      await run(client);
    } finally {
      await client.close();
    }
  }

  it('refuses /sync/info without its tables, naming the endpoint; the file keeps its state', async () => {
    const { tables: _tables, ...noTables } = INFO;
    await withClient(server({ '/api/v1/sync/info': () => json(200, noTables) }), async (c) => {
      const err = await failure(() => c.syncNow());
      expect(err.code).toBe('BAD_RESPONSE');
      expect(err.endpoint).toBe('GET /api/v1/sync/info');
      expect(err.message).toMatch(/^The server's answer to GET \/api\/v1\/sync\/info is not what the sync protocol says \(tables: /);
      expect(c.status()).toMatchObject({ lastStatus: 'error', lastError: expect.stringMatching(/^BAD_RESPONSE: /), cursor: 0 });
    });
  });

  it('refuses a push answer whose results are not the protocol’s, and keeps the batch to send again', async () => {
    await withClient(
      server({
        '/api/v1/sync/push': (body) =>
          json(200, {
            generation: 'g1',
            batchId: (body as { batchId: string }).batchId,
            results: [{ table: 'items', id: 'a', outcome: 'applied', version: 'seven', deleted: false }],
            lastSeq: 1,
            conflicts: 0,
            clockSkewMs: 0,
            clockCorrected: false,
            replayed: false,
          }),
      }),
      async (c) => {
        c.db.exec(`INSERT INTO items (id, name) VALUES ('a', 'x')`);
        const err = await failure(() => c.syncNow());
        expect(err.endpoint).toBe('POST /api/v1/sync/push');
        expect(err.problem).toMatch(/^results\.0\.version: /);
        expect(c.status()).toMatchObject({ pendingChanges: 1, heldBack: 0 });
        expect(c.db.prepare('SELECT COUNT(*) AS n FROM _sync_pending').get()).toEqual({ n: 1 });
      },
    );
  });

  it('refuses a pull page that is not JSON of the protocol, and does not move the cursor', async () => {
    await withClient(
      server({ '/api/v1/sync/pull': () => json(200, { generation: 'g1', changes: 'none', cursor: 9, until: 9 }) }),
      async (c) => {
        const err = await failure(() => c.syncNow());
        expect(err.endpoint).toBe('GET /api/v1/sync/pull');
        expect(err.problem).toMatch(/changes: .*; hasMore: /);
        expect(c.status().cursor).toBe(0);
      },
    );
  });

  it('takes tagged values of legacy data in a pull page (they are the protocol’s)', async () => {
    const page = {
      ...PAGE,
      changes: [{ table: 'items', id: 'big', seq: 3, deleted: false, values: { id: 'big', name: { $int: '9007199254740993' } } }],
      cursor: 3,
      until: 3,
    };
    await withClient(server({ '/api/v1/sync/pull': () => json(200, page) }), async (c) => {
      await expect(c.syncNow()).resolves.toMatchObject({ pulled: 1, cursor: 3 });
      // Written as SQLite holds it (the TEXT column stores the integer's digits), not as the tagged object.
      expect(c.db.prepare('SELECT name FROM items WHERE id = ?').get('big')).toEqual({ name: '9007199254740993' });
    });
  });

  it('refuses a number that is not one, and a reserved block that is not a list', async () => {
    await withClient(
      server({
        '/api/v1/numbers/quote': () => json(201, { number: 42 }),
        '/api/v1/numbers/quote/reserve': () => json(201, { numbers: ['Q1'] }),
      }),
      async (c) => {
        const one = await failure(() => c.allocateNumber('quote'));
        expect(one.endpoint).toBe('POST /api/v1/numbers/quote');
        expect(one.problem).toMatch(/^number: /);
        const block = await failure(() => c.reserveNumbers('quote', 2));
        expect(block.endpoint).toBe('POST /api/v1/numbers/quote/reserve');
        expect(c.status().reservedNumbers).toBe(0);
      },
    );
  });

  it('refuses a 409 REINITIALIZE whose details do not say how to start over', async () => {
    await withClient(
      server({
        '/api/v1/sync/info': () => json(200, { ...INFO, generation: 'g2' }),
        '/api/v1/sync/pull': () =>
          json(409, { statusCode: 409, code: 'REINITIALIZE', message: 'Start over.', details: { reason: 'generation' } }),
      }),
      async (c) => {
        const err = await failure(() => c.syncNow());
        expect(err.endpoint).toBe('GET /api/v1/sync/pull');
        expect(err.status).toBe(409);
        expect(err.problem).toMatch(/generation: /);
        expect(c.status()).toMatchObject({ generation: 'g1', cursor: 0 });
      },
    );
  });

  it('refuses a snapshot without its generation and cursor, and leaves no file behind', async () => {
    const snapshotDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cacpq-sdk-snap-'));
    const snap = path.join(snapshotDir, 's.db');
    const db = new Database(snap);
    db.exec(TABLE.ddl);
    db.exec('CREATE TABLE snapshot_info (key TEXT PRIMARY KEY, value TEXT)');
    db.close();
    const gz = zlib.gzipSync(fs.readFileSync(snap));
    fs.rmSync(snapshotDir, { recursive: true, force: true });
    const fresh = path.join(dir, 'new.db');
    const err = await failure(() =>
      SyncClient.init({
        file: fresh,
        server: 'http://server.test',
        token: 't',
        backoffBaseMs: 1,
        fetch: server({
          '/api/v1/sync/snapshot': () => new Response(gz, { status: 200, headers: { 'Content-Type': 'application/gzip' } }),
        }),
      }),
    );
    expect(err.endpoint).toBe('GET /api/v1/sync/snapshot');
    expect(err.problem).toMatch(/generation: .*cursor: /);
    expect(fs.existsSync(fresh)).toBe(false);
  });

  it('refuses a snapshot that is not gzip data', async () => {
    const fresh = path.join(dir, 'new.db');
    const err = await failure(() =>
      SyncClient.init({
        file: fresh,
        server: 'http://server.test',
        token: 't',
        backoffBaseMs: 1,
        fetch: server({ '/api/v1/sync/snapshot': () => new Response('not gzip', { status: 200 }) }),
      }),
    );
    expect(err.message).toMatch(/GET \/api\/v1\/sync\/snapshot .*not gzip data/);
  });
});
