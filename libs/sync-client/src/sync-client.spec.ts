import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SyncClient } from './sync-client';

/** A workstation file with just the SDK's state: enough for requests that touch no synced table. */
function workstationFile(): { dir: string; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cacpq-sdk-'));
  const file = path.join(dir, 'ws.db');
  const db = new Database(file);
  db.exec('CREATE TABLE _sync_state (key TEXT PRIMARY KEY NOT NULL, value TEXT)');
  db.prepare('INSERT INTO _sync_state (key, value) VALUES (?, ?), (?, ?), (?, ?)').run(
    'server',
    'http://127.0.0.1:9',
    'token',
    'cacpq_test',
    'client_id',
    'ws-test',
  );
  db.close();
  return { dir, file };
}

/** An answer whose connection is cut after its headers and the first bytes of its body. */
function cutAnswer(status: number, firstBytes: string): Response {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode(firstBytes));
      c.error(new TypeError('terminated'));
    },
  });
  return new Response(body, { status, headers: { 'Content-Type': 'application/json' } });
}

describe('SyncClient when an answer is cut mid-body', () => {
  let dir: string;
  let file: string;
  beforeEach(() => ({ dir, file } = workstationFile()));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('retries the request with the same request id and takes the whole answer', async () => {
    const bodies: string[] = [];
    const issued = {
      number: 'Q2026-0007',
      kind: 'quote',
      year: 2026,
      sequence: 7,
      issuedBy: 'u',
      issuedAt: 'x',
      clientId: null,
      status: 'issued',
    };
    const fetchImpl = (async (_url: string, init: RequestInit) => {
      bodies.push(String(init.body));
      return bodies.length === 1 ? cutAnswer(201, '{"number":"Q20') : new Response(JSON.stringify(issued), { status: 201 });
    }) as unknown as typeof fetch;
    const client = SyncClient.open(file, { fetch: fetchImpl, backoffBaseMs: 1 });
    try {
      await expect(client.allocateNumber('quote')).resolves.toEqual({ number: 'Q2026-0007', offline: false });
      expect(bodies).toHaveLength(2);
      expect(bodies[1]).toBe(bodies[0]);
      expect(JSON.parse(bodies[0])).toMatchObject({ clientId: 'ws-test', requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    } finally {
      await client.close();
    }
  });

  it('gives up with a network error when every answer is cut', async () => {
    const fetchImpl = (async () => cutAnswer(200, '[')) as unknown as typeof fetch;
    const client = SyncClient.open(file, { fetch: fetchImpl, backoffBaseMs: 1, maxAttempts: 3 });
    try {
      await expect(client.reserveNumbers('quote', 2)).rejects.toMatchObject({ code: 'NETWORK' });
    } finally {
      await client.close();
    }
  });
});
