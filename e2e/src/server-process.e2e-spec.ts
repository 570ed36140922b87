import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeLegacyDataDir } from '@cacpq/db';
import { ROOT, adminSession, runToExit, sqlite3, startServer, tempDir, type ServerProcess } from './harness';

const GUIDE = path.join(ROOT, 'docs', 'operations-guide.md');
const GUIDE_SQL = path.join(ROOT, 'e2e', 'fixtures', 'guide-sql');

const running: ServerProcess[] = [];
const dirs: string[] = [];
function dir(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}
async function start(dataDir: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const s = await startServer({ dataDir, env });
  running.push(s);
  return s;
}

afterAll(async () => {
  for (const s of running) if (s.proc.exitCode === null && s.proc.signalCode === null) await s.kill9();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('the server as a real process', () => {
  it('serves liveness and readiness on its port, and stops cleanly on SIGTERM', async () => {
    const dataDir = dir('basic');
    const s = await start(dataDir);
    const live = await fetch(`${s.url}/api/health`);
    expect(live.status).toBe(200);
    const ready = (await (await fetch(`${s.url}/api/health/ready`)).json()) as {
      ready: boolean;
      files: { name: string; open: boolean }[];
      generation: string;
    };
    expect(ready.ready).toBe(true);
    expect(ready.files.map((f) => f.name)).toEqual(['server.db', 'generated_numbers.db', 'hub.db']);
    expect(fs.existsSync(path.join(dataDir, 'cacpq.lock.json'))).toBe(true);

    expect(await s.stop()).toBe(0);
    // Checkpointed and released: no WAL left, no owner record, no local CLI token.
    for (const f of [
      'database/server.db-wal',
      'database/generated_numbers.db-wal',
      'hub/hub.db-wal',
      'cacpq.lock.json',
      'hub/local-cli.token',
    ]) {
      expect([f, fs.existsSync(path.join(dataDir, f))]).toEqual([f, false]);
    }
  });

  it('refuses a second instance on the same DATA_DIR with a sentence naming the holder', async () => {
    const dataDir = dir('second');
    const first = await start(dataDir);
    const second = runToExit(dataDir);
    expect(second.code).toBe(3);
    expect(second.output).toContain(
      `The data directory ${dataDir} is already in use by a CACPQ Sync Server (pid ${first.proc.pid} on host ${os.hostname()}, since `,
    );
    // The first one is unharmed.
    expect((await fetch(`${first.url}/api/health/ready`)).status).toBe(200);
    await first.stop();
  });

  it('lets exactly one of two servers started at the same instant own a new data directory', async () => {
    for (let trial = 0; trial < 3; trial++) {
      const dataDir = dir(`race${trial}`);
      const results = await Promise.allSettled([startServer({ dataDir }), startServer({ dataDir })]);
      const winners = results.filter((r): r is PromiseFulfilledResult<ServerProcess> => r.status === 'fulfilled');
      const losers = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect([winners.length, losers.length]).toEqual([1, 1]);
      expect(String(losers[0].reason)).toMatch(/exited with 3 .*already in use by a CACPQ Sync Server/s);
      running.push(winners[0].value);
      expect(await winners[0].value.stop()).toBe(0);
    }
  });

  it('keeps other programs out of the master files while it runs', async () => {
    const dataDir = dir('exclusive');
    const s = await start(dataDir);
    const r = sqlite3(path.join(dataDir, 'database', 'server.db'), 'SELECT COUNT(*) FROM components;');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/locked/);
    await s.stop();
  });

  it('after kill -9, a restart takes over the lock and every acknowledged change is there', async () => {
    const dataDir = dir('kill9');
    const first = await start(dataDir);
    const call = await adminSession(first.url);
    for (let i = 0; i < 20; i++) {
      expect((await call('POST', '/api/v1/users', { username: `worker${i}`, role: 'user' })).status).toBe(201);
    }
    const generation = ((await (await fetch(`${first.url}/api/health/ready`)).json()) as { generation: string }).generation;
    await first.kill9();
    expect(fs.existsSync(path.join(dataDir, 'cacpq.lock.json'))).toBe(true); // left behind by the dead process

    const second = await start(dataDir);
    const ready = (await (await fetch(`${second.url}/api/health/ready`)).json()) as { generation: string };
    expect(ready.generation).toBe(generation);
    const users = (await (await (await adminSession(second.url))('GET', '/api/v1/users')).json()) as { username: string }[];
    expect(users.filter((u) => u.username.startsWith('worker'))).toHaveLength(20);
    const owner = JSON.parse(fs.readFileSync(path.join(dataDir, 'cacpq.lock.json'), 'utf8')) as { pid: number };
    expect(owner.pid).toBe(second.proc.pid);
    expect(await second.stop()).toBe(0);
    for (const f of ['database/server.db', 'database/generated_numbers.db', 'hub/hub.db']) {
      expect([f, sqlite3(path.join(dataDir, f), 'PRAGMA integrity_check;').stdout.trim()]).toEqual([f, 'ok']);
    }
  });

  it('stops at start-up with a sentence naming a bad variable', () => {
    const r = runToExit(dir('config'), { PORT: 'eighty' });
    expect(r.code).toBe(2);
    expect(r.output.trim()).toBe(
      'Invalid configuration: PORT must be a whole number from 0 to 65535 (got "eighty"). The server was not started.',
    );
  });
});

describe("the guide's SQL on a data directory the server created and stopped", () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = dir('guide');
    const s = await start(dataDir);
    const call = await adminSession(s.url);
    const seeded = await call('POST', '/api/v1/demo/seed', { confirm: 'seed-demo', scale: 0.2, months: 2 });
    expect(seeded.status).toBe(201);
    expect(await s.stop()).toBe(0);
  });

  it("ships the guide's statements verbatim", () => {
    // The operations guide ships with the repository (docs/); its SQL is what the product runs.
    expect(fs.existsSync(GUIDE)).toBe(true);
    const guide = fs.readFileSync(GUIDE, 'utf8');
    for (const f of fs.readdirSync(GUIDE_SQL))
      expect([f, guide.includes(fs.readFileSync(path.join(GUIDE_SQL, f), 'utf8'))]).toEqual([f, true]);
  });

  it.each(['indexes.sql', 'monitoring-queries.sql', 'sync-statistics.sql'])('%s runs unchanged in the sqlite3 shell', (file) => {
    const sql = fs.readFileSync(path.join(GUIDE_SQL, file), 'utf8');
    const r = sqlite3(path.join(dataDir, 'database', 'server.db'), sql);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    if (file !== 'indexes.sql') expect(r.stdout.trim().length).toBeGreaterThan(0);
  });

  it("answers the guide's statistics with real figures, and integrity_check says ok", () => {
    const db = path.join(dataDir, 'database', 'server.db');
    const rate = Number(
      sqlite3(db, "SELECT ROUND(100.0 * SUM(CASE WHEN status='success' THEN 1 ELSE 0 END) / COUNT(*), 2) FROM sync_log;").stdout,
    );
    expect(rate).toBeGreaterThan(80);
    expect(rate).toBeLessThanOrEqual(100);
    const users = sqlite3(db, fs.readFileSync(path.join(GUIDE_SQL, 'monitoring-queries.sql'), 'utf8')).stdout;
    expect(users).toMatch(/alice\|\d+\|\d+/);
    expect(sqlite3(db, 'PRAGMA integrity_check;').stdout.trim()).toBe('ok');
    const indexes = sqlite3(db, "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%' ORDER BY name;").stdout;
    for (const m of fs.readFileSync(path.join(GUIDE_SQL, 'indexes.sql'), 'utf8').matchAll(/CREATE INDEX IF NOT EXISTS (\w+)/g)) {
      expect(indexes).toContain(m[1]);
    }
  });
});

describe('legacy adoption through the real process', () => {
  it('backs up and adopts the old app files with every row, then serves them', async () => {
    const dataDir = dir('legacy');
    writeLegacyDataDir(dataDir);
    const countsBefore = sqlite3(
      path.join(dataDir, 'database', 'server.db'),
      'SELECT (SELECT COUNT(*) FROM components), (SELECT COUNT(*) FROM quotes), (SELECT COUNT(*) FROM sync_log);',
    ).stdout.trim();
    const s = await start(dataDir);
    expect(s.output()).toMatch(/Adopted legacy database .*server\.db; its backup is .*backups\/pre-adoption\/.*server\.db/);
    expect(await s.stop()).toBe(0);
    const server = path.join(dataDir, 'database', 'server.db');
    expect(
      sqlite3(
        server,
        'SELECT (SELECT COUNT(*) FROM components), (SELECT COUNT(*) FROM quotes), (SELECT COUNT(*) FROM sync_log);',
      ).stdout.trim(),
    ).toBe(countsBefore);
    expect(sqlite3(server, 'PRAGMA journal_mode;').stdout.trim()).toBe('wal');
    const [backupStamp] = fs.readdirSync(path.join(dataDir, 'backups', 'pre-adoption'));
    const backup = path.join(dataDir, 'backups', 'pre-adoption', backupStamp, 'server.db');
    expect(
      sqlite3(
        backup,
        'SELECT (SELECT COUNT(*) FROM components), (SELECT COUNT(*) FROM quotes), (SELECT COUNT(*) FROM sync_log);',
      ).stdout.trim(),
    ).toBe(countsBefore);
    expect(sqlite3(backup, "SELECT COUNT(*) FROM pragma_table_info('components') WHERE name = 'updated_at';").stdout.trim()).toBe('0');
  });
});

describe('the cacpq command line', () => {
  const cacpq = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [path.join(ROOT, 'tools', 'bin', 'cacpq.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });

  it('has --help on every command', () => {
    const main = cacpq(['--help']);
    expect(main.status).toBe(0);
    for (const command of ['seed-demo', 'users', 'tokens', 'whoami']) {
      expect(main.stdout).toContain(command);
      const help = cacpq([command, '--help']);
      expect([command, help.status, help.stdout]).toEqual([command, 0, expect.stringContaining('Usage: cacpq')]);
    }
  });

  it("manages users and tokens and seeds demo data through the running server's API", async () => {
    const dataDir = dir('cli');
    const s = await start(dataDir);
    const env = { CACPQ_URL: s.url, DATA_DIR: dataDir };
    expect(cacpq(['whoami'], env).stdout.trim()).toBe('local-cli (admin) via local');
    const created = spawnSync(
      process.execPath,
      [path.join(ROOT, 'tools', 'bin', 'cacpq.js'), 'users', 'create', 'dana', '--role', 'manager', '--password-stdin'],
      {
        cwd: ROOT,
        env: { ...process.env, ...env },
        input: 'dana-password-1\n',
        encoding: 'utf8',
      },
    );
    expect([created.status, created.stdout.trim()]).toEqual([0, 'Created dana (manager).']);
    const login = await fetch(`${s.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'dana', password: 'dana-password-1' }),
    });
    expect(login.status).toBe(200);
    const issued = cacpq(['tokens', 'issue', 'dana', '--device', 'dana-laptop'], env);
    expect(issued.status).toBe(0);
    const token = issued.stdout.trim().split('\n').pop()!;
    expect(token).toMatch(/^cacpq_[A-Za-z0-9_-]{40,}$/);
    expect(cacpq(['whoami'], { CACPQ_URL: s.url, CACPQ_TOKEN: token, DATA_DIR: '/nonexistent' }).stdout.trim()).toBe(
      'dana (manager) via token',
    );
    // A manager reads the accounts (the dashboard's read-only Users page) but cannot change them.
    const listed = cacpq(['users', 'list'], { CACPQ_URL: s.url, CACPQ_TOKEN: token });
    expect([listed.status, listed.stdout]).toEqual([0, expect.stringContaining('dana')]);
    const refused = cacpq(['users', 'create', 'eve', '--role', 'user'], { CACPQ_URL: s.url, CACPQ_TOKEN: token });
    expect([refused.status, refused.stderr.trim()]).toEqual([1, 'This needs the admin role; dana is a manager. (FORBIDDEN, HTTP 403)']);
    const dupe = cacpq(['users', 'create', 'dana', '--role', 'user'], env);
    expect([dupe.status, dupe.stderr.trim()]).toEqual([1, 'A user named "dana" exists already. (ALREADY_EXISTS, HTTP 409)']);

    const seeded = cacpq(['seed-demo', '--scale', '0.1', '--months', '1'], env);
    expect(seeded.status).toBe(0);
    expect(seeded.stdout).toMatch(/components\s+300/);
    expect(seeded.stdout).toMatch(/morgan\s+manager/);
    const again = cacpq(['seed-demo'], env);
    expect([again.status, again.stderr]).toEqual([1, expect.stringMatching(/already holds data .*NOT_EMPTY/)]);
    await s.stop();
    const down = cacpq(['users', 'list'], { CACPQ_URL: s.url, CACPQ_TOKEN: token });
    expect([down.status, down.stderr]).toEqual([3, expect.stringMatching(/Cannot reach the CACPQ server at .* Is it running\?/)]);
  });
});
