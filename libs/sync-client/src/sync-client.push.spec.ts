import { SERVER_FEATURES, type PushRequest, type PushResponse } from '@cacpq/sync-protocol';
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import { itemsTable, json, scriptedWorkstation } from './scripted-workstation.spec-helper';
import { SyncClient } from './sync-client';

// The SDK's push against a scripted server: what it holds back, what it splits, what it writes back.

const TABLE = itemsTable(['name', 'createdAt']);
const workstation = () => scriptedWorkstation(TABLE, 'ws-push');

/** A scripted server: `onPush` answers each push; info and an empty pull are answered as a real server would. */
function server(
  onPush: (body: PushRequest, bytes: number) => Response,
  features: readonly string[] = SERVER_FEATURES,
): { fetch: typeof fetch; pushes: PushRequest[] } {
  const pushes: PushRequest[] = [];
  const impl = async (url: string, init: RequestInit) => {
    const u = new URL(url);
    if (u.pathname === '/api/v1/sync/info')
      return json(200, {
        protocolVersion: 1,
        generation: 'g1',
        serverTime: new Date().toISOString(),
        lastSeq: 0,
        syncIntervalMinutes: 120,
        tombstoneRetentionDays: 90,
        maxPushRows: 5000,
        maxPullPage: 5000,
        maxBodyBytes: 2000,
        ...(features.length > 0 ? { features: [...features] } : {}),
        tables: [TABLE],
      });
    if (u.pathname === '/api/v1/sync/push') {
      const text = String(init.body);
      const body = JSON.parse(text) as PushRequest;
      pushes.push(body);
      return onPush(body, Buffer.byteLength(text));
    }
    if (u.pathname === '/api/v1/sync/pull') return json(200, { generation: 'g1', changes: [], cursor: 0, until: 0, hasMore: false });
    if (u.pathname === '/api/v1/sync/refusals') return json(200, []);
    return json(404, { statusCode: 404, code: 'NOT_FOUND', message: `No ${u.pathname}.` });
  };
  return { fetch: impl as unknown as typeof fetch, pushes };
}

const applied = (body: PushRequest): PushResponse => ({
  generation: 'g1',
  batchId: body.batchId,
  results: body.changes.map((c, i) => ({ table: c.table, id: c.id, outcome: 'applied', version: i + 1, deleted: false })),
  lastSeq: body.changes.length,
  conflicts: 0,
  clockSkewMs: 0,
  clockCorrected: false,
  replayed: false,
});

describe('SyncClient push', () => {
  let dir: string;
  let file: string;
  beforeEach(() => ({ dir, file } = workstation()));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function write(sql: string): void {
    const db = new Database(file);
    db.exec(sql);
    db.close();
  }

  it('holds back a refused change, sends the rest in the same sync, and sends it again once edited', async () => {
    write(`INSERT INTO items (id, name) VALUES ('bad', 'x'), ('good', 'fine');`);
    const s = server((body) => {
      const bad = body.changes.findIndex((c) => c.values?.name === 'x');
      if (bad < 0) return json(200, applied(body));
      return json(400, {
        statusCode: 400,
        code: 'VALIDATION_FAILED',
        message: 'items.name must be longer.',
        details: {
          refused: [
            {
              index: bad,
              table: 'items',
              id: 'bad',
              column: 'name',
              code: 'VALIDATION_FAILED',
              message: 'items.name must be longer.',
              refusalId: 7,
            },
          ],
        },
      });
    });
    const client = SyncClient.open(file, { fetch: s.fetch });
    const held: unknown[] = [];
    client.on('quarantined', (h) => held.push(...h));
    try {
      const summary = await client.syncNow();
      expect(summary).toMatchObject({ pushed: 1, heldBack: 1, newlyHeld: 1 });
      expect(s.pushes.map((p) => p.changes.map((c) => c.id))).toEqual([['bad', 'good'], ['good']]);
      expect(client.quarantine()).toMatchObject([{ table: 'items', id: 'bad', column: 'name', code: 'VALIDATION_FAILED', refusalId: 7 }]);
      expect(held).toHaveLength(1);
      expect(client.status()).toMatchObject({ pendingChanges: 0, heldBack: 1 });
      // Not sent again while nothing changed...
      await client.syncNow();
      expect(s.pushes).toHaveLength(2);
      // ...and sent again, with everything it held, once edited.
      client.db.exec(`UPDATE items SET name = 'longer' WHERE id = 'bad'`);
      const again = await client.syncNow();
      expect(again).toMatchObject({ pushed: 1, heldBack: 0 });
      expect(s.pushes[2].changes).toMatchObject([{ id: 'bad', op: 'upsert', changed: ['name', 'createdAt'] }]);
    } finally {
      await client.close();
    }
  });

  it('splits a batch over the body limit it was told, and holds back only a row too large alone', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => `('r${i}', '${'n'.repeat(200)}')`).join(',');
    write(`INSERT INTO items (id, name) VALUES ${rows}, ('huge', '${'h'.repeat(3000)}');`);
    const s = server((body, bytes) =>
      bytes > 2000 ? json(413, { statusCode: 413, code: 'PAYLOAD_TOO_LARGE', message: 'Too large.' }) : json(200, applied(body)),
    );
    const client = SyncClient.open(file, { fetch: s.fetch });
    try {
      const summary = await client.syncNow();
      expect(summary).toMatchObject({ pushed: 12, heldBack: 1 });
      expect(s.pushes.every((p) => Buffer.byteLength(JSON.stringify(p)) <= 2000)).toBe(true);
      expect(client.quarantine()).toMatchObject([{ id: 'huge', code: 'PAYLOAD_TOO_LARGE' }]);
    } finally {
      await client.close();
    }
  });

  it('writes back the values the master stores in another form, but not over an edit made since', async () => {
    write(`INSERT INTO items (id, name, createdAt) VALUES ('d1', 'a', '2026-11-24T09:30:00Z'), ('d2', 'b', '2026-11-24T09:30:00Z');`);
    let client: SyncClient | null = null;
    const s = server((body) => {
      if (s.pushes.length > 1) return json(200, applied(body));
      // d2 is edited again while its first batch is on the wire.
      client!.db.exec(`UPDATE items SET createdAt = '2026-12-01T00:00:00Z' WHERE id = 'd2'`);
      const answer = applied(body);
      answer.results = answer.results.map((r) => ({ ...r, stored: { createdAt: '2026-11-24 09:30:00.000' } }));
      return json(200, answer);
    });
    client = SyncClient.open(file, { fetch: s.fetch });
    try {
      await client.syncNow();
      expect(client.db.prepare(`SELECT id, createdAt FROM items ORDER BY id`).all()).toEqual([
        { id: 'd1', createdAt: '2026-11-24 09:30:00.000' },
        { id: 'd2', createdAt: '2026-12-01T00:00:00Z' },
      ]);
    } finally {
      await client.close();
    }
  });

  it('leaves out what an older server does not announce (the cursor of a push)', async () => {
    write(`INSERT INTO items (id, name) VALUES ('c1', 'a');`);
    const current = server((body) => json(200, applied(body)));
    const a = SyncClient.open(file, { fetch: current.fetch });
    try {
      await a.syncNow();
    } finally {
      await a.close();
    }
    expect(current.pushes[0].cursor).toBe(0);
    write(`INSERT INTO items (id, name) VALUES ('c2', 'b');`);
    const older = server((body) => json(200, applied(body)), []);
    const b = SyncClient.open(file, { fetch: older.fetch });
    try {
      await b.syncNow();
    } finally {
      await b.close();
    }
    expect(older.pushes).toHaveLength(1);
    expect('cursor' in older.pushes[0]).toBe(false);
  });
});
