import type { BackupView, JobView } from '@cacpq/sync-protocol';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { JobsService } from '../src/jobs/jobs.service';
import { ADMIN_PASSWORD, sessionCaller, startTestServer, type Caller, type TestServer } from './harness';

// A symbolic link placed in the backup directories that leads outside them (to /etc/passwd, to the
// server's own hub.db, to a valid master copy elsewhere) is never catalogued, downloaded or restored.

let server: TestServer;
let admin: Caller;
let outside: string;

beforeAll(async () => {
  server = await startTestServer();
  admin = await sessionCaller(server, 'admin', ADMIN_PASSWORD);
  outside = fs.mkdtempSync(path.join(os.tmpdir(), 'cacpq-outside-'));
});
afterAll(async () => {
  await server.close();
  fs.rmSync(outside, { recursive: true, force: true });
});

async function backup(): Promise<BackupView> {
  const res = await admin.auth(server.http.post('/api/v1/backups'), 'POST').send({}).expect(202);
  const done = await server.app.get(JobsService).waitFor((res.body as JobView).id);
  const id = (done.result as { backupId: number }).backupId;
  return (await admin.auth(server.http.get(`/api/v1/backups/${id}`), 'GET').expect(200)).body as BackupView;
}

const list = async () =>
  ((await admin.auth(server.http.get('/api/v1/backups'), 'GET').expect(200)).body as BackupView[]).map((b) => b.name);

it('does not catalogue links that lead outside the backup directories', async () => {
  const real = await backup();
  const copy = path.join(outside, 'server.db');
  fs.copyFileSync(path.join(server.dataDir, real.files[0].path), copy);
  fs.mkdirSync(path.join(outside, 'set'));
  fs.copyFileSync(copy, path.join(outside, 'set', 'server.db'));
  const l = server.store.layout;
  const links: [string, string][] = [
    [path.join(l.dailyBackupsDir, 'server_2020-01-02_030405.db'), '/etc/passwd'],
    [path.join(l.dailyBackupsDir, 'server_2020-01-03_030405.db'), path.join(server.dataDir, 'hub', 'hub.db')],
    [path.join(l.manualBackupsDir, 'server_2020-01-04_030405.db'), copy],
    [path.join(l.weeklyBackupsDir, '2020-01-05'), path.join(outside, 'set')],
    [path.join(l.archivesDir, 'CACPQ_2020-01.zip'), '/etc/passwd'],
  ];
  for (const [link, target] of links) {
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(target, link);
  }
  // A link that stays inside the backup directories is an ordinary backup.
  fs.symlinkSync(path.join(server.dataDir, real.files[0].path), path.join(l.dailyBackupsDir, 'server_2020-01-06_030405.db'));
  const names = await list();
  expect(names).toEqual(expect.arrayContaining([real.name, 'daily/2020-01-06_030405']));
  expect(names.filter((n) => n.includes('2020-01-0') && n !== 'daily/2020-01-06_030405')).toEqual([]);
});

it('refuses to download or restore a catalogued backup whose file was replaced by a link leading outside', async () => {
  const b = await backup();
  const file = path.join(server.dataDir, b.files.find((f) => f.role === 'server')!.path);
  fs.renameSync(file, path.join(outside, 'moved.db'));
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'root:x:0:0:outside\n');
  fs.symlinkSync(path.join(outside, 'secret.txt'), file);
  for (const q of ['?file=server', '']) {
    const res = await admin.auth(server.http.get(`/api/v1/backups/${b.id}/download${q}`), 'GET');
    expect([res.status, res.body.code]).toEqual([404, 'NOT_FOUND']);
    expect(res.body.message).toMatch(/leads elsewhere/);
  }
  const preview = (await admin.auth(server.http.get(`/api/v1/backups/${b.id}/preview`), 'GET').expect(200)).body as {
    confirmPhrase: string;
  };
  const restore = await admin.auth(server.http.post(`/api/v1/backups/${b.id}/restore`), 'POST').send({ confirm: preview.confirmPhrase });
  // Refused either way: by the on-disk check (404), or as unverified when a catalogue scan noticed
  // the link first (409); which one wins depends on when the background scan ran.
  expect([
    [404, 'NOT_FOUND'],
    [409, 'BACKUP_NOT_RESTORABLE'],
  ]).toContainEqual([restore.status, restore.body.code]);
  // The catalogue, refreshed, no longer lists the link as the set's server.db.
  await list();
  const again = (await admin.auth(server.http.get('/api/v1/backups'), 'GET').expect(200)).body as BackupView[];
  expect(again.find((x) => x.name === b.name)?.files.map((f) => f.role) ?? []).not.toContain('server');
});
