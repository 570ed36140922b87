import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BackupView, JobView, RestorePreview } from '@cacpq/sync-protocol';
import { ROOT, adminSession, startServer, tempDir, type ServerProcess } from './harness';

const CACPQ = path.join(ROOT, 'tools', 'bin', 'cacpq.js');

let server: ServerProcess;
let dataDir: string;
let env: Record<string, string>;

function cacpq(args: string[], input?: string) {
  return spawnSync(process.execPath, [CACPQ, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    input,
    encoding: 'utf8',
    timeout: 120_000,
  });
}

async function api<T>(method: string, p: string, body?: unknown): Promise<T> {
  const res = await (await adminSession(server.url))(method, p, body);
  if (!res.ok) throw new Error(`${method} ${p}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

beforeAll(async () => {
  dataDir = tempDir('cli-ops');
  server = await startServer({ dataDir });
  env = { CACPQ_URL: server.url, DATA_DIR: dataDir };
});

afterAll(async () => {
  if (server && server.proc.exitCode === null && server.proc.signalCode === null) await server.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('cacpq backup, restore, check and vacuum against a real server', () => {
  let emptyBackup: string;
  let manualQuotes: number;

  it('has --help on each of the commands', () => {
    const main = cacpq(['--help']);
    for (const command of ['backup', 'restore', 'check', 'vacuum', 'maintenance', 'job']) {
      expect(main.stdout).toContain(`  ${command} `);
      const help = cacpq([command, '--help']);
      expect([command, help.status, help.stdout]).toEqual([command, 0, expect.stringContaining(`Usage: cacpq ${command}`)]);
    }
    expect(cacpq(['restore', '--help']).stdout).toMatch(
      /--yes +do not ask: the command sends the confirmation phrase itself\. For scripts/,
    );
  });

  it('takes a backup, following its progress on standard error, and prints what it wrote', () => {
    const r = cacpq(['backup']);
    expect([r.status, r.stderr]).toEqual([0, expect.stringMatching(/^backup manual \(job \d+\) +\d+%/m)]);
    const m = /^Backup (manual\/\d{4}-\d\d-\d\d_\d{6}) written and verified \(quick_check, row counts, sha256\)\.$/m.exec(r.stdout);
    expect(m).not.toBeNull();
    emptyBackup = m![1];
    expect(r.stdout).toMatch(/^ {2}size +\d+\.\d KB$/m);
    expect(r.stdout).toMatch(/^ {2}total +\d/m);
  });

  it('takes a weekly backup of a seeded master as JSON, and lists the catalogue', () => {
    const seeded = cacpq(['seed-demo', '--scale', '0.1', '--months', '1']);
    expect(seeded.status).toBe(0);
    manualQuotes = Number(/^manual_quotes +(\d+)$/m.exec(seeded.stdout)![1]);
    expect(manualQuotes).toBeGreaterThan(0);
    const r = cacpq(['backup', '--kind', 'weekly', '--json']);
    expect(r.status).toBe(0);
    const job = JSON.parse(r.stdout) as JobView;
    expect(job).toMatchObject({ type: 'backup', status: 'succeeded', params: { kind: 'weekly' } });
    expect(job.result).toMatchObject({ name: expect.stringMatching(/^weekly\//), check: 'integrity_check' });

    const list = cacpq(['backup', 'list']);
    expect(list.status).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0].split(/\s+/)).toEqual(['id', 'name', 'kind', 'origin', 'status', 'size', 'created', 'problem']);
    expect(lines.slice(2)).toEqual([
      expect.stringMatching(/^\d+ +weekly\/\S+ +weekly +server +verified +\d/),
      expect.stringMatching(new RegExp(`^\\d+ +${emptyBackup} +manual +server +verified +`)),
    ]);
    const weekly = cacpq(['backup', 'list', '--kind', 'weekly']);
    expect(weekly.stdout.trim().split('\n')).toHaveLength(3);
    expect(cacpq(['backup', '--kind', 'hourly'])).toMatchObject({ status: 2, stderr: expect.stringContaining('--kind must be one of') });
  });

  it("a backup job's result carries its timings and the bytes copied", () => {
    const r = cacpq(['backup', '--json']);
    expect(r.status).toBe(0);
    const job = JSON.parse(r.stdout) as JobView;
    expect(job.result).toMatchObject({
      timings: { copyMs: expect.any(Number), verifyMs: expect.any(Number), totalMs: expect.any(Number) },
      bytesCopied: expect.any(Number),
    });
  });

  it('--no-wait returns with the job, which cacpq job --wait follows', () => {
    const r = cacpq(['backup', '--no-wait']);
    expect(r.status).toBe(0);
    const id = /job (\d+)\./.exec(r.stdout)![1];
    const waited = cacpq(['job', id, '--wait']);
    expect([waited.status, waited.stdout]).toEqual([0, expect.stringMatching(new RegExp(`^job ${id}: backup .*\\n {2}status +succeeded`))]);
  });

  it('restore shows the preview and changes nothing unless the phrase is typed', async () => {
    const r = cacpq(['restore', emptyBackup], 'restore it\n');
    expect([r.status, r.stderr.trim().split('\n').pop()]).toEqual([1, `That is not "restore ${emptyBackup}"; nothing was restored.`]);
    expect(r.stderr).toContain(`Type "restore ${emptyBackup}" to restore`);
    expect(r.stdout).toContain(`Backup ${emptyBackup} (id `);
    expect(r.stdout).toMatch(/^components +0 +300 +\+300$/m);
    expect(r.stdout).toMatch(/^Changes made since this backup: \d+\.$/m);
    const jobs = await api<JobView[]>('GET', '/api/v1/jobs?type=restore');
    expect(jobs).toEqual([]);
    const ended = cacpq(['restore', emptyBackup], '');
    expect([ended.status, ended.stderr.trim().split('\n').pop()]).toEqual([
      1,
      'No confirmation was typed (the input ended); nothing was restored.',
    ]);
  });

  it('restore --table --yes writes the backup versions of one table through sync', () => {
    const r = cacpq(['restore', emptyBackup, '--table', 'manual_quotes', '--yes']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`--yes: confirming with "restore ${emptyBackup}".`);
    expect(r.stdout).toMatch(/^manual_quotes +0 +\d+ +\+\d+$/m);
    expect(r.stdout).not.toMatch(/^components /m);
    // The backup had none: every manual quote seeded since is deleted, as a change through sync.
    expect(r.stdout).toContain(
      `Restored ${manualQuotes} rows from ${emptyBackup} as changes through sync (manual_quotes ${manualQuotes}).`,
    );
  });

  it('restore with the typed phrase replaces the whole master', async () => {
    const backups = await api<BackupView[]>('GET', '/api/v1/backups');
    const weekly = backups.find((b) => b.kind === 'weekly')!;
    const r = cacpq(['restore', String(backups.find((b) => b.name === emptyBackup)!.id)], `restore ${emptyBackup}\n`);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Restored the master from ${emptyBackup} \\(integrity ok\\); new generation \\S+\\.$`, 'm'));
    const preview = await api<RestorePreview>('GET', `/api/v1/backups/${weekly.id}/preview`);
    expect(preview.tables.find((t) => t.table === 'components')).toEqual({ table: 'components', backup: 300, now: 0 });
    const pre = cacpq(['backup', 'list', '--kind', 'pre-restore']);
    expect(pre.stdout.trim().split('\n').slice(2)).toHaveLength(2);
  });

  it('check runs the integrity job and prints every file', () => {
    const r = cacpq(['check']);
    expect(r.status).toBe(0);
    for (const file of ['server.db', 'generated_numbers.db', 'hub.db']) {
      expect(r.stdout).toMatch(new RegExp(`^${file.replace('.', '\\.')} +ok +ok$`, 'm'));
    }
    expect(r.stdout.trim().split('\n').pop()).toBe('Every file is intact: integrity_check ok and no foreign key violations.');
  });

  it('vacuum prints the sizes before and after and the space reclaimed', () => {
    const r = cacpq(['vacuum']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^server\.db +\d+\.\d [KM]B +\d+\.\d [KM]B$/m);
    expect(r.stdout).toMatch(/^generated_numbers\.db +\d/m);
    expect(r.stdout.trim().split('\n').pop()).toMatch(/^Reclaimed (\d+(\.\d)? (B|KB|MB) in \d.*|nothing in .*; the files grew by \d.*)\.$/);
  });

  it('maintenance runs another job and lists the runs; errors say why', () => {
    const r = cacpq(['maintenance', 'checkpoint']);
    expect([r.status, r.stdout]).toEqual([0, expect.stringMatching(/^checkpoint done in .*\n {2}server\.db: \{/)]);
    const runs = cacpq(['maintenance', 'runs']);
    expect(runs.status).toBe(0);
    expect(runs.stdout).toMatch(/^\d+ +checkpoint +succeeded +manual +local-cli /m);
    expect(runs.stdout).toMatch(/^\d+ +vacuum +succeeded /m);
    expect(runs.stdout).toMatch(/^\d+ +integrity +succeeded /m);
    expect(cacpq(['maintenance', 'defrag']).status).toBe(2);
    expect(cacpq(['restore', '9999', '--yes'])).toMatchObject({
      status: 1,
      stderr: 'There is no backup 9999 in the catalogue. (NOT_FOUND, HTTP 404)\n',
    });
  });
});
