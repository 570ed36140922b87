import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type {
  AlertView,
  JobView,
  OpsSnapshot,
  PushChange,
  SyncFinishedEvent,
  WorkstationPresence,
  ConflictRecordedEvent,
} from '@cacpq/sync-protocol';
import { io, type Socket } from 'socket.io-client';
import { AlertsService } from '../src/alerts/alerts.service';
import { JobsService } from '../src/jobs/jobs.service';
import { ADMIN_PASSWORD, makeUser, sessionCaller, startTestServer, type Caller, type TestServer } from './harness';

let server: TestServer;
let base: string;
let managerCookie: string;
let alice: { token: Caller; raw: string };
let userToken: string;
const sockets: Socket[] = [];

beforeAll(async () => {
  server = await startTestServer();
  await server.app.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${(server.app.getHttpServer().address() as AddressInfo).port}`;
  const admin = await sessionCaller(server, 'admin', ADMIN_PASSWORD);
  const made = await makeUser(server, admin, 'mona', 'manager');
  const login = await server.http.post('/api/v1/auth/login').send({ username: 'mona', password: made.password }).expect(200);
  managerCookie = ([] as string[])
    .concat(login.headers['set-cookie'] ?? [])
    .map((c) => c.split(';')[0])
    .join('; ');
  const a = await makeUser(server, admin, 'alice', 'user');
  const tok = await admin.auth(server.http.post('/api/v1/users/alice/tokens'), 'POST').send({ device: 'alice-laptop' }).expect(201);
  alice = { token: a.token, raw: (tok.body as { token: string }).token };
  userToken = alice.raw;
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await server.close();
});

function connect(namespace: string, opts: { cookie?: string; token?: string }): Socket {
  const s = io(`${base}${namespace}`, {
    transports: ['websocket'],
    reconnection: false,
    ...(opts.cookie ? { extraHeaders: { Cookie: opts.cookie } } : {}),
    ...(opts.token ? { auth: { token: opts.token } } : {}),
  });
  sockets.push(s);
  return s;
}

function next<T>(s: Socket, event: string, accept: (v: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within 5 s`)), 5000);
    const on = (v: T) => {
      if (!accept(v)) return;
      clearTimeout(timer);
      s.off(event, on);
      resolve(v);
    };
    s.on(event, on);
  });
}

function push(changes: PushChange[]) {
  return alice.token.auth(server.http.post('/api/v1/sync/push'), 'POST').send({
    protocolVersion: 1,
    clientId: 'alice-pc',
    batchId: randomUUID(),
    generation: server.store.generation,
    clientTime: new Date().toISOString(),
    changes,
  });
}

describe('the dashboard live feed (/ops)', () => {
  it('sends one snapshot on connect, then syncs, conflicts and workstations as they happen', async () => {
    const dash = connect('/ops', { cookie: managerCookie });
    const snapshot = await next<OpsSnapshot>(dash, 'snapshot');
    expect(snapshot).toMatchObject({ maintenance: { active: false }, runningJob: null, workstations: [], openConflicts: 0 });
    // The fresh server has no verified backup: the backup-age alert is open from its first evaluation.
    expect(snapshot.openAlerts.map((a) => a.rule)).toContain('backup-age');
    expect(snapshot.last24h).toEqual({ syncs: 0, failed: 0, conflicts: 0 });

    const connected = next<WorkstationPresence>(dash, 'workstation.connected');
    const ws = connect('/sync', { token: alice.raw });
    expect(await connected).toMatchObject({ user: 'alice', role: 'user', socketId: expect.any(String) as string });

    const finished = next<SyncFinishedEvent>(dash, 'sync.finished');
    const row: PushChange = {
      table: 'customers',
      op: 'upsert',
      id: 'live-1',
      baseVersion: 0,
      updatedAt: new Date().toISOString(),
      values: { name: 'Live', type: 'OEM' },
    };
    await push([row]).expect(200);
    expect(await finished).toMatchObject({ user: 'alice', clientId: 'alice-pc', status: 'success', recordsPushed: 1, conflicts: 0 });

    // Two edits of the same field from versions the master has moved past: a conflict.
    await push([{ ...row, values: { name: 'First edit', type: 'OEM' }, baseVersion: 1 }]).expect(200);
    const conflict = next<ConflictRecordedEvent>(dash, 'conflict.recorded');
    await push([
      { ...row, values: { name: 'Second edit', type: 'OEM' }, baseVersion: 1, updatedAt: new Date(Date.now() - 60_000).toISOString() },
    ]).expect(200);
    expect(await conflict).toMatchObject({ table: 'customers', rowId: 'live-1', user: 'alice', clientId: 'alice-pc' });

    const again = connect('/ops', { cookie: managerCookie });
    const second = await next<OpsSnapshot>(again, 'snapshot');
    expect(second.workstations.map((w) => w.user)).toEqual(['alice']);
    expect(second.openConflicts).toBe(1);
    expect(second.last24h!.syncs).toBe(3);

    const gone = next<WorkstationPresence>(dash, 'workstation.gone');
    ws.close();
    expect(await gone).toMatchObject({ user: 'alice' });
  });

  it('sends alerts as they open and resolve', async () => {
    const dash = connect('/ops', { cookie: managerCookie });
    await next<OpsSnapshot>(dash, 'snapshot');
    const admin = await sessionCaller(server, 'admin', ADMIN_PASSWORD);
    const resolved = next<AlertView>(dash, 'alert.resolved', (a) => a.rule === 'backup-age');
    const job = (await admin.auth(server.http.post('/api/v1/backups'), 'POST').send({}).expect(202)).body as JobView;
    await server.app.get(JobsService).waitFor(job.id);
    await server.app.get(AlertsService).evaluate(new Date());
    expect(await resolved).toMatchObject({ rule: 'backup-age', status: 'resolved' });
  });

  it('is for managers and admins', async () => {
    const s = connect('/ops', { token: userToken });
    const err = await new Promise<Error>((resolve) => s.on('connect_error', resolve));
    expect(err.message).toMatch(/manager/);
    const anon = connect('/ops', {});
    await new Promise<Error>((resolve) => anon.on('connect_error', resolve));
    expect(anon.connected).toBe(false);
  });
});
