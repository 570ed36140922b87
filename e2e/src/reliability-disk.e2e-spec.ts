import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { adminSession, sqlite3, startServer, tempDir, type ServerProcess } from './harness';
import { Workstation, cacpq } from './workstations';

/**
 * Full disk (issue 7): the server's data directory on a small size-limited tmpfs that runs out of
 * space during a push, during a backup and during a VACUUM, and with the disk full to the last
 * byte while sessions, the audit log and sync_log are written. Each must give a clear error and
 * leave the master intact; the server stays up and, once the space returns, works again without
 * a restart. Needs root (it mounts a tmpfs); `RELIABILITY_LONG=1` repeats every fill several times.
 */

const LONG = process.env.RELIABILITY_LONG === '1';
const ROUNDS = LONG ? 5 : 1;
/** Room for the seeded master, its backups and VACUUM's copy, also as it grows by a batch each round. */
const MOUNT_MB = LONG ? 192 : 64;
/** Quotes per seeding batch and the size of each one's line items: about 4 MB a batch. */
const BATCH_ROWS = 2000;
const LINE_ITEMS_CHARS = 1800;

interface JobView {
  id: number;
  status: string;
  error: string | null;
  result: Record<string, unknown> | null;
}

interface ErrorBody {
  statusCode: number;
  code: string;
  message: string;
}

describe('a full disk under the data directory', () => {
  let root: string;
  let mnt: string;
  let dataDir: string;
  let mounted = false;
  let server: ServerProcess;
  let call: Awaited<ReturnType<typeof adminSession>>;
  let token: string;
  let generation: string;
  let lastSeq = 0;
  let batchNo = 0;
  /** Every quote id a push was acknowledged for (200): each must be in the master at the end. */
  const acknowledged = new Set<string>();
  /** Jobs that failed for lack of space: their outcome must reach hub.db once the space is back. */
  const failedJobs: number[] = [];
  let deskFile = '';
  const ballast = () => path.join(mnt, 'ballast.bin');
  const report: Record<string, unknown> = { rounds: ROUNDS, mountMb: MOUNT_MB };
  const tally = (key: string) => (report[key] = ((report[key] as number | undefined) ?? 0) + 1);

  const freeBytes = () => {
    const s = fs.statfsSync(mnt);
    return s.bavail * s.bsize;
  };

  /** Fills the filesystem until `leave` bytes are free (a ballast file next to the data directory). */
  function fill(leave: number): void {
    const have = fs.existsSync(ballast()) ? fs.statSync(ballast()).size : 0;
    const size = have + Math.max(0, freeBytes() - leave);
    const r = spawnSync('fallocate', ['-l', String(size), ballast()], { encoding: 'utf8' });
    if (r.status !== 0) {
      // fallocate asks for every block at once; near the end fill what is left by writing.
      const fd = fs.openSync(ballast(), 'a');
      try {
        const chunk = Buffer.alloc(1024 * 1024);
        while (freeBytes() > leave) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, Math.max(4096, freeBytes() - leave)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      } finally {
        fs.closeSync(fd);
      }
    }
  }

  function release(): void {
    fs.rmSync(ballast(), { force: true });
  }

  function quote(id: string, n: number): Record<string, unknown> {
    const items = randomBytes(LINE_ITEMS_CHARS / 2).toString('hex');
    return {
      table: 'quotes',
      op: 'upsert',
      id,
      baseVersion: 0,
      updatedAt: new Date().toISOString(),
      values: {
        quoteNumber: `Q-DISK-${n}`,
        customer: `Customer ${n % 97}`,
        title: `Conveyor line ${n}`,
        status: 'draft',
        revision: 1,
        currency: 'CAD',
        subtotal: n * 10.5,
        total: n * 11.25,
        lineItems: JSON.stringify([{ sku: `SKU-${n}`, qty: 1 + (n % 7), notes: items }]),
        createdAt: new Date().toISOString(),
      },
    };
  }

  /** A batch of new quotes, as a workstation sends it (same batch id when retried). */
  function batch(rows: number, batchId = `disk-${++batchNo}`): { body: Record<string, unknown>; ids: string[] } {
    const ids = Array.from({ length: rows }, (_, i) => `${batchId}-${i}`);
    return {
      ids,
      body: {
        protocolVersion: 1,
        clientId: 'disk-ws-1',
        batchId,
        generation,
        clientTime: new Date().toISOString(),
        changes: ids.map((id, i) => quote(id, batchNo * 10_000 + i)),
      },
    };
  }

  async function push(b: { body: Record<string, unknown>; ids: string[] }): Promise<Response> {
    const res = await fetch(`${server.url}/api/v1/sync/push`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(b.body),
    });
    if (res.status === 200) {
      const answer = (await res.clone().json()) as { lastSeq: number; results: { outcome: string }[] };
      expect(answer.results.every((r) => r.outcome === 'applied')).toBe(true);
      lastSeq = answer.lastSeq;
      for (const id of b.ids) acknowledged.add(id);
    }
    return res;
  }

  /** Pulls every change after `cursor`, page by page: the HTTP status and how many changes. */
  async function pullSince(cursor: number): Promise<{ status: number; changes: number }> {
    let changes = 0;
    let until = '';
    for (;;) {
      const res = await fetch(
        `${server.url}/api/v1/sync/pull?generation=${generation}&clientId=disk-ws-1&cursor=${cursor}&limit=1000${until}`,
        { headers: { Authorization: `Bearer ${token}` } },
      );
      if (res.status !== 200) return { status: res.status, changes: -1 };
      const page = (await res.json()) as { changes: unknown[]; cursor: number; until: number; hasMore: boolean };
      changes += page.changes.length;
      if (!page.hasMore) return { status: 200, changes };
      cursor = page.cursor;
      until = `&until=${page.until}`;
    }
  }

  async function waitJob(id: number): Promise<JobView> {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const job = (await (await call('GET', `/api/v1/jobs/${id}`)).json()) as JobView;
      if (job.status !== 'queued' && job.status !== 'running') return job;
      if (Date.now() > deadline) throw new Error(`job ${id} did not finish in 90 s: ${JSON.stringify(job)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Waits until job `id` has reached the named fault point one more time than `seen` (it pauses there). */
  async function reached(point: string, seen: number, id: number): Promise<void> {
    const count = () => server.output().split(`fault point reached: ${point}`).length - 1;
    const deadline = Date.now() + 30_000;
    while (count() <= seen) {
      const job = (await (await call('GET', `/api/v1/jobs/${id}`)).json()) as JobView;
      if (job.status !== 'queued' && job.status !== 'running') throw new Error(`job ${id} ended before ${point}: ${JSON.stringify(job)}`);
      if (Date.now() > deadline) throw new Error(`the server never reached ${point}:\n${server.output()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** WAL files truncated: a write then needs new disk blocks, not the room of an earlier WAL. */
  async function checkpoint(): Promise<void> {
    const job = (await (await call('POST', '/api/v1/maintenance/checkpoint')).json()) as JobView;
    expect((await waitJob(job.id)).status).toBe('succeeded');
  }
  const seenSoFar = (point: string) => server.output().split(`fault point reached: ${point}`).length - 1;

  async function health(): Promise<number> {
    return (await fetch(`${server.url}/api/health`)).status;
  }

  /** A clear "disk full" answer: a status with a code and a sentence, never a bare 500. */
  function expectDiskFull(status: number, body: { code?: string; message?: string }): void {
    expect({ status, code: body.code }).toEqual({ status: 507, code: 'DISK_FULL' });
    expect(body.message).toMatch(/disk .*full/i);
    expect(body.message).toMatch(/\.$/);
  }

  beforeAll(async () => {
    root = tempDir('disk');
    mnt = path.join(root, 'mnt');
    fs.mkdirSync(mnt);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${MOUNT_MB}m`, 'tmpfs', mnt], { encoding: 'utf8' });
    if (m.status !== 0 || m.error) {
      throw new Error(
        `The full-disk suite needs root: it mounts a ${MOUNT_MB} MB tmpfs as the data directory and could not (mount -t tmpfs: ${(m.stderr || m.error?.message || '').trim()}). Run it as root (or in a container with CAP_SYS_ADMIN).`,
      );
    }
    mounted = true;
    dataDir = path.join(mnt, 'data');
    server = await startServer({
      dataDir,
      // The backup and the VACUUM stop briefly where the test fills the disk under them.
      env: { CACPQ_FAULT_PAUSE: 'backup.started,vacuum.running', CACPQ_FAULT_PAUSE_MS: '1500' },
    });
    call = await adminSession(server.url);
    expect((await call('POST', '/api/v1/demo/seed', { confirm: 'seed-demo', scale: 0.1, months: 1 })).status).toBe(201);
    expect((await call('POST', '/api/v1/users', { username: 'disk-ws', role: 'user' })).status).toBe(201);
    token = ((await (await call('POST', '/api/v1/users/disk-ws/tokens', { device: 'disk-ws-1' })).json()) as { token: string }).token;
    generation = ((await (await call('GET', '/api/v1/sync/info')).json()) as { generation: string }).generation;
    // A master of a realistic size (a few years of quotes), so that filling the rest is quick.
    for (let i = 0; i < 3; i++) expect((await push(batch(BATCH_ROWS))).status).toBe(200);
    await checkpoint();
    report.masterBytes = fs.statSync(path.join(dataDir, 'database', 'server.db')).size;
  }, 120_000);

  // A failed expectation must not leave the disk full for the tests after it.
  afterEach(() => release());

  afterAll(async () => {
    if (process.env.DISK_DEBUG) fs.writeFileSync('/tmp/disk-server-output.log', server?.output() ?? '');
    if (server?.proc.exitCode === null) await server.stop();
    if (mounted) spawnSync('umount', ['-l', mnt]);
    fs.rmSync(root, { recursive: true, force: true });
    process.stdout.write(`full-disk figures: ${JSON.stringify(report)}\n`);
  });

  it('a push that runs out of space is refused with 507 DISK_FULL and applies nothing', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const before = lastSeq;
      const b = batch(BATCH_ROWS);
      await checkpoint();
      fill(1024 * 1024);
      const res = await push(b);
      const body = (await res.json()) as ErrorBody;
      report.push = { status: res.status, code: body.code, message: body.message };
      expectDiskFull(res.status, body);
      tally('pushesRefusedDiskFull');
      expect(await health()).toBe(200);
      // Nothing of the batch is visible: a pull after the last acknowledged change finds none.
      expect(await pullSince(before)).toEqual({ status: 200, changes: 0 });
      release();
      // The space is back: the same batch (its retry) goes through, once.
      const again = await push(b);
      expect(again.status).toBe(200);
      expect(await pullSince(before)).toEqual({ status: 200, changes: BATCH_ROWS });
      expect((await push(b)).status).toBe(200);
      expect(await pullSince(lastSeq)).toEqual({ status: 200, changes: 0 });
      tally('pushesRetriedOnceAfterSpaceReturned');
    }
  });

  it('with the disk full to the last byte, sessions, the audit log and sync_log fail cleanly and the store is not wedged', async () => {
    await checkpoint();
    fill(0);
    const answers: Record<string, { status: number; code?: string; message?: string }> = {};
    const record = async (name: string, res: Response) => {
      const body = (await res.json()) as ErrorBody;
      answers[name] = res.status < 400 ? { status: res.status } : { status: res.status, code: body.code, message: body.message };
    };
    await record(
      'login (a session row in hub.db)',
      await fetch(`${server.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: 'e2e-admin-password' }),
      }),
    );
    await record('push of 5 rows (server.db, sync_log)', await push(batch(5)));
    await record(
      'pull (a sync_log row)',
      await fetch(`${server.url}/api/v1/sync/pull?generation=${generation}&clientId=disk-ws-1&cursor=0&limit=10`, {
        headers: { Authorization: `Bearer ${token}` },
      }),
    );
    await record('create a user (hub.db, audit log)', await call('POST', '/api/v1/users', { username: 'disk-full-user', role: 'user' }));
    await record('change the sync interval (settings, audit log)', await call('PUT', '/api/v1/sync/settings', { intervalMinutes: 90 }));
    await record('queue a backup (jobs row)', await call('POST', '/api/v1/backups', { kind: 'manual' }));
    report.diskFullAnswers = answers;
    // Each either worked or said the disk is full: never a bare 500.
    for (const a of Object.values(answers)) if (a.status >= 500) expectDiskFull(a.status, a);
    expect(await health()).toBe(200);
    release();
    // Space back: each works again on the same process.
    const relogin = await adminSession(server.url);
    expect((await relogin('GET', '/api/v1/auth/me')).status).toBe(200);
    expect((await push(batch(5))).status).toBe(200);
    expect((await pullSince(0)).status).toBe(200);
    const user2 = await call('POST', '/api/v1/users', { username: 'disk-back-user', role: 'user' });
    expect(user2.status).toBe(201);
    expect((await call('PUT', '/api/v1/sync/settings', { intervalMinutes: 120 })).status).toBe(200);
  });

  it('a backup that runs out of space fails with a sentence and leaves no partial file or catalogue entry', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const listBefore = (await (await call('GET', '/api/v1/backups')).json()) as { name: string }[];
      const seen = seenSoFar('backup.started');
      const res = await call('POST', '/api/v1/backups', { kind: 'manual' });
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as JobView;
      await reached('backup.started', seen, id);
      fill(0);
      const job = await waitJob(id);
      report.backup = { status: job.status, error: job.error };
      failedJobs.push(id);
      expect(job.status).toBe('failed');
      expect(job.error).toMatch(/disk .*full/i);
      tally('backupsFailedDiskFull');
      expect(await health()).toBe(200);
      const files = fs.readdirSync(path.join(dataDir, 'backups'), { recursive: true }) as string[];
      expect(files.filter((f) => f.endsWith('.db') || f.includes('.partial'))).toEqual([]);
      expect(fs.existsSync(path.join(dataDir, 'work')) ? fs.readdirSync(path.join(dataDir, 'work')) : []).toEqual([]);
      const listAfter = (await (await call('GET', '/api/v1/backups')).json()) as { name: string }[];
      expect(listAfter.map((b) => b.name)).toEqual(listBefore.map((b) => b.name));
      release();
      // Space back: a backup succeeds without a restart, verified.
      const ok = (await (await call('POST', '/api/v1/backups', { kind: 'manual' })).json()) as JobView;
      const done = await waitJob(ok.id);
      expect({ status: done.status, error: done.error }).toEqual({ status: 'succeeded', error: null });
      tally('backupsSucceededAfter');
      // Removed again so the next round (and the VACUUM) has the room it needs.
      const list = (await (await call('GET', '/api/v1/backups')).json()) as { name: string; files: { path: string }[] }[];
      for (const b of list) for (const f of b.files) fs.rmSync(path.join(dataDir, f.path), { force: true });
    }
  });

  it('a VACUUM that runs out of space fails with a sentence, the master untouched and open again', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const before = lastSeq;
      const seen = seenSoFar('vacuum.running');
      const res = await call('POST', '/api/v1/maintenance/vacuum');
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as JobView;
      await reached('vacuum.running', seen, id);
      fill(0);
      const job = await waitJob(id);
      report.vacuum = { status: job.status, error: job.error };
      failedJobs.push(id);
      expect(job.status).toBe('failed');
      expect(job.error).toMatch(/disk .*full/i);
      tally('vacuumsFailedDiskFull');
      expect(await health()).toBe(200);
      // The master is open again, not left held by the failed VACUUM: out of maintenance mode, and a
      // pull says the disk is full (its sync_log row cannot be written) rather than 503 MAINTENANCE.
      expect(((await (await call('GET', '/api/v1/maintenance/state')).json()) as { active: boolean }).active).toBe(false);
      const pull = await fetch(`${server.url}/api/v1/sync/pull?generation=${generation}&clientId=disk-ws-1&cursor=0&limit=1`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      expectDiskFull(pull.status, (await pull.json()) as ErrorBody);
      release();
      // Space back: it holds what it held.
      expect(await pullSince(before)).toEqual({ status: 200, changes: 0 });
      const integrity = await waitJob(((await (await call('POST', '/api/v1/maintenance/integrity')).json()) as JobView).id);
      expect({ status: integrity.status, error: integrity.error }).toEqual({ status: 'succeeded', error: null });
      // Space back: a VACUUM succeeds, and a push after it.
      const ok = await waitJob(((await (await call('POST', '/api/v1/maintenance/vacuum')).json()) as JobView).id);
      expect({ status: ok.status, error: ok.error }).toEqual({ status: 'succeeded', error: null });
      tally('vacuumsSucceededAfter');
      expect((await push(batch(10))).status).toBe(200);
    }
  });

  it('a real workstation syncing while the disk is full is told so, keeps its changes, and syncs them once when space returns', async () => {
    // The workstation's own file is on the ordinary disk, as on a desktop; only the server's is full.
    const wsToken = ((await (await call('POST', '/api/v1/users/disk-ws/tokens', { device: 'disk-desk' })).json()) as { token: string })
      .token;
    const desk = Workstation.init('disk-desk', root, server.url, wsToken);
    const rows = Array.from({ length: 200 }, (_, i) => `disk-desk-${i}`);
    desk.sql(
      `BEGIN; ${rows.map((id, i) => `INSERT INTO quotes (id, quoteNumber, customer, title, status, notes) VALUES ('${id}', 'Q-DESK-${i}', 'Desk customer', 'Made at a desk', 'draft', '${'n'.repeat(1500)}');`).join(' ')} COMMIT;`,
    );
    await checkpoint();
    fill(0);
    const failed = cacpq(['client', 'sync', '--db', desk.file]);
    report.workstationWhileFull = { exitCode: failed.status, stderr: failed.stderr.trim() };
    expect(failed.status).not.toBe(0);
    expect(failed.stderr).toMatch(/disk is full/);
    expect(Number(desk.sql('SELECT COUNT(*) FROM _sync_outbox;'))).toBe(rows.length);
    release();
    expect(desk.sync()).toBeTruthy();
    expect(desk.sql('SELECT COUNT(*) FROM _sync_outbox;')).toBe('0');
    for (const id of rows) acknowledged.add(id);
    deskFile = desk.file;
  });

  it('after all of it the files are intact and every acknowledged row is there, once', async () => {
    const pid = server.proc.pid;
    expect(await health()).toBe(200);
    expect(server.proc.exitCode).toBeNull();
    expect(await server.stop()).toBe(0);
    for (const file of ['database/server.db', 'database/generated_numbers.db', 'hub/hub.db']) {
      const r = sqlite3(path.join(dataDir, file), 'PRAGMA integrity_check;');
      expect({ file, out: r.stdout.trim() }).toEqual({ file, out: 'ok' });
    }
    const ids = sqlite3(path.join(dataDir, 'database/server.db'), `SELECT id FROM quotes WHERE id LIKE 'disk-%';`)
      .stdout.split('\n')
      .filter(Boolean);
    expect(ids.length).toBe(new Set(ids).size);
    // The failed jobs' outcomes reached hub.db once space returned (a full disk had kept them out); none is left running.
    const jobs = sqlite3(
      path.join(dataDir, 'hub/hub.db'),
      `SELECT id || '|' || status || '|' || error FROM jobs WHERE id IN (${failedJobs.join(', ')}) ORDER BY id;`,
    )
      .stdout.split('\n')
      .filter(Boolean);
    expect(jobs).toHaveLength(failedJobs.length);
    for (const j of jobs) expect(j).toMatch(/^\d+\|failed\|.*disk ran full/);
    expect(
      sqlite3(path.join(dataDir, 'hub/hub.db'), `SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running');`).stdout.trim(),
    ).toBe('0');
    report.jobRowsHeldBack = server.output().split('could not write the job row').length - 1;
    // The workstation and the master hold the same rows it made.
    const deskRows = `SELECT id, quoteNumber, notes, server_seq FROM quotes WHERE id LIKE 'disk-desk-%' ORDER BY id;`;
    const master = sqlite3(path.join(dataDir, 'database/server.db'), deskRows).stdout;
    expect(master.split('\n').filter(Boolean)).toHaveLength(200);
    expect(sqlite3(deskFile, deskRows).stdout).toBe(master);
    const stored = new Set(ids);
    const missing = [...acknowledged].filter((id) => !stored.has(id));
    expect(missing).toEqual([]);
    report.acknowledgedRows = acknowledged.size;
    report.serverPid = pid;
  });
});
