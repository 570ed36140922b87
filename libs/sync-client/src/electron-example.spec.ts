import { SERVER_FEATURES, type PushRequest } from '@cacpq/sync-protocol';
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import { startWorkstationSync, wireSyncIpc, type AppLike, type IpcMainLike, type SyncIpcAnswer } from '../examples/electron-main';
import { itemsTable, json, scriptedWorkstation } from './scripted-workstation.spec-helper';
import { SyncClient } from './sync-client';
import type { LocalStatus, SyncSummary } from './types';

// The Electron example (examples/electron-main.ts) against a scripted server: the guide's
// `sync:manual` and `sync:setSchedule` as the renderer would invoke them, and setSchedule itself.

const TABLE = itemsTable(['name']);

/** A scripted server: info with a 120-minute interval, every push applied, an empty pull. */
function scriptedServer(): { fetch: typeof fetch; pushes: PushRequest[] } {
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
        maxBodyBytes: 1_000_000,
        features: [...SERVER_FEATURES],
        tables: [TABLE],
      });
    if (u.pathname === '/api/v1/sync/push') {
      const body = JSON.parse(String(init.body)) as PushRequest;
      pushes.push(body);
      return json(200, {
        generation: 'g1',
        batchId: body.batchId,
        results: body.changes.map((c, i) => ({ table: c.table, id: c.id, outcome: 'applied', version: i + 1, deleted: false })),
        lastSeq: body.changes.length,
        conflicts: 0,
        clockSkewMs: 0,
        clockCorrected: false,
        replayed: false,
      });
    }
    if (u.pathname === '/api/v1/sync/pull') return json(200, { generation: 'g1', changes: [], cursor: 0, until: 0, hasMore: false });
    if (u.pathname === '/api/v1/sync/refusals') return json(200, []);
    return json(404, { statusCode: 404, code: 'NOT_FOUND', message: `No ${u.pathname}.` });
  };
  return { fetch: impl as unknown as typeof fetch, pushes };
}

/** Electron's ipcMain as far as the example uses it, with `invoke` standing in for the renderer. */
function fakeIpcMain(): IpcMainLike & { invoke(channel: string, ...args: unknown[]): Promise<unknown>; channels(): string[] } {
  const handlers = new Map<string, (event: unknown, ...args: unknown[]) => unknown>();
  return {
    handle: (channel, listener) => {
      if (handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
      handlers.set(channel, listener);
    },
    removeHandler: (channel) => handlers.delete(channel),
    invoke: async (channel, ...args) => {
      const h = handlers.get(channel);
      if (!h) throw new Error(`No handler registered for '${channel}'`);
      return h({ sender: 'renderer' }, ...args);
    },
    channels: () => [...handlers.keys()],
  };
}

describe('the Electron example: the guide IPC over the SDK', () => {
  let dir: string;
  let file: string;
  beforeEach(() => ({ dir, file } = scriptedWorkstation(TABLE, 'ws-electron')));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('sync:manual pushes the app’s unsynced row and answers the summary; offline, the code and sentence', async () => {
    const server = scriptedServer();
    const client = SyncClient.open(file, { fetch: server.fetch, backoffBaseMs: 1 });
    const ipc = fakeIpcMain();
    const unwire = wireSyncIpc(ipc, client);
    try {
      client.db.prepare(`INSERT INTO items (id, name) VALUES ('q1', 'Quote from the app')`).run();
      const answer = (await ipc.invoke('sync:manual')) as SyncIpcAnswer<SyncSummary>;
      expect(answer).toMatchObject({ ok: true, value: { pushed: 1, conflicts: 0, heldBack: 0 } });
      expect(server.pushes.flatMap((p) => p.changes.map((c) => [c.table, c.op, c.id, c.values?.name]))).toEqual([
        ['items', 'upsert', 'q1', 'Quote from the app'],
      ]);
      expect(client.status().pendingChanges).toBe(0);
    } finally {
      unwire();
      await client.close();
    }
    expect(ipc.channels()).toEqual([]);

    const refused = (async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    }) as unknown as typeof fetch;
    const offline = SyncClient.open(file, { fetch: refused, backoffBaseMs: 1, maxAttempts: 1 });
    const ipc2 = fakeIpcMain();
    wireSyncIpc(ipc2, offline);
    try {
      offline.db.prepare(`UPDATE items SET name = 'Edited offline' WHERE id = 'q1'`).run();
      const answer = (await ipc2.invoke('sync:manual')) as SyncIpcAnswer<SyncSummary>;
      expect(answer).toMatchObject({ ok: false, code: 'NETWORK' });
      expect(answer.ok === false && answer.message).toMatch(/server/i);
      expect(offline.status().pendingChanges).toBe(1);
    } finally {
      await offline.close();
    }
  });

  it('sync:setSchedule sets this workstation’s interval (kept in the file), refuses one out of range, null goes back to the server’s', async () => {
    const server = scriptedServer();
    let client = SyncClient.open(file, { fetch: server.fetch });
    const ipc = fakeIpcMain();
    wireSyncIpc(ipc, client);
    try {
      await client.syncNow();
      expect(client.status()).toMatchObject({ intervalMinutes: 120, intervalSetBy: 'server' });
      const set = (await ipc.invoke('sync:setSchedule', 240)) as SyncIpcAnswer<LocalStatus>;
      expect(set).toMatchObject({ ok: true, value: { intervalMinutes: 240, intervalSetBy: 'workstation' } });
      for (const bad of [1, 2000, 90.5, '240', undefined]) {
        expect(await ipc.invoke('sync:setSchedule', bad)).toEqual({
          ok: false,
          code: 'VALIDATION_FAILED',
          message: `The sync interval must be a whole number of minutes from 5 to 1440; got ${bad}.`,
        });
      }
      // A sync (the server says 120 again) does not undo this PC's own setting.
      await client.syncNow();
      expect(client.status().intervalMinutes).toBe(240);
    } finally {
      await client.close();
    }
    client = SyncClient.open(file, { fetch: server.fetch });
    const ipc2 = fakeIpcMain();
    wireSyncIpc(ipc2, client);
    try {
      expect(client.status()).toMatchObject({ intervalMinutes: 240, intervalSetBy: 'workstation' });
      expect(await ipc2.invoke('sync:setSchedule', null)).toMatchObject({
        ok: true,
        value: { intervalMinutes: 120, intervalSetBy: 'server' },
      });
    } finally {
      await client.close();
    }
  });

  it('a running schedule takes the new interval at once, and stop() leaves no sync scheduled', async () => {
    const server = scriptedServer();
    const client = SyncClient.open(file, { fetch: server.fetch });
    const delays: number[] = [];
    const realSetTimeout = global.setTimeout;
    const spy = jest.spyOn(global, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      if ((ms ?? 0) >= 60_000) delays.push(ms!);
      return realSetTimeout(fn, ms);
    }) as typeof setTimeout);
    try {
      const firstSync = new Promise((resolve) => client.once('synced', resolve));
      client.start();
      await firstSync;
      await new Promise((resolve) => realSetTimeout(resolve, 20));
      expect(delays).toEqual([120 * 60_000]);
      client.setSchedule(30);
      expect(delays).toEqual([120 * 60_000, 30 * 60_000]);
      client.stop();
      client.setSchedule(45);
      expect(delays).toHaveLength(2);
    } finally {
      spy.mockRestore();
      await client.close();
    }
  });

  it('startWorkstationSync answers the IPC, forwards the state, and closes the file before the app quits', async () => {
    const server = scriptedServer();
    const ipc = fakeIpcMain();
    const sent: [string, unknown][] = [];
    let onQuit: ((event: { preventDefault(): void }) => void) | null = null;
    let quits = 0;
    const app: AppLike = {
      on: (_event, listener) => (onQuit = listener),
      quit: () => void quits++,
    };
    const client = await startWorkstationSync({
      app,
      ipcMain: ipc,
      file,
      server: 'http://server.test',
      token: 't',
      send: (channel, payload) => sent.push([channel, payload]),
      options: { fetch: server.fetch },
    });
    await client.syncNow(); // the first sync, started by start()
    const app2 = new Database(file); // the desktop app's own connection
    app2.prepare(`INSERT INTO items (id, name) VALUES ('q2', 'Written by the app')`).run();
    app2.close();
    const answer = (await ipc.invoke('sync:manual')) as SyncIpcAnswer<SyncSummary>;
    expect(answer).toMatchObject({ ok: true });
    expect(server.pushes.flatMap((p) => p.changes.map((c) => c.id))).toContain('q2');
    expect(sent.some(([ch, p]) => ch === 'sync:status' && (p as { state: string }).state === 'idle')).toBe(true);

    const preventDefault = jest.fn();
    onQuit!({ preventDefault });
    expect(preventDefault).toHaveBeenCalledTimes(1);
    expect(ipc.channels()).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(quits).toBe(1);
    expect(client.db.open).toBe(false);
    // The second will-quit (after app.quit()) goes through.
    onQuit!({ preventDefault });
    expect(preventDefault).toHaveBeenCalledTimes(1);
  });
});
