import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BackupView, JobView, RestorePreview } from '@cacpq/sync-protocol';
import { ApiClient, CliError } from './client';
import type { Values } from './command';
import { operationsCommands, progressLine, type OpsIo } from './operations';

function job(over: Partial<JobView>): JobView {
  return {
    id: 7,
    type: 'backup',
    params: { kind: 'manual' },
    trigger: 'manual',
    requestedBy: 'local-cli',
    status: 'queued',
    queuedAt: '2026-11-24 10:00:00.000',
    startedAt: null,
    finishedAt: null,
    durationMs: null,
    progress: 0,
    phase: null,
    result: null,
    error: null,
    ...over,
  };
}

const BACKUP: BackupView = {
  id: 3,
  name: 'daily/2026-11-24_020000',
  kind: 'daily',
  origin: 'server',
  createdAt: '2026-11-24 02:00:00.000',
  status: 'verified',
  check: 'quick_check',
  verifiedAt: '2026-11-24 02:00:05.000',
  problem: null,
  bytes: 5 * 1024 * 1024,
  files: [],
  jobId: 1,
};

const PREVIEW: RestorePreview = {
  backup: BACKUP,
  confirmPhrase: 'restore daily/2026-11-24_020000',
  tables: [
    { table: 'customers', backup: 10, now: 12 },
    { table: 'quotes', backup: 40, now: 40 },
  ],
  changesSince: 5,
};

/** A stand-in for the API: each route answers from a list, the last answer repeating. */
class FakeApi {
  readonly requests: { method: string; path: string; body: unknown }[] = [];
  private readonly routes = new Map<string, { status: number; body: unknown }[]>();
  private server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      const key = `${req.method} ${req.url}`;
      this.requests.push({ method: req.method!, path: req.url!, body: text ? JSON.parse(text) : undefined });
      const answers = this.routes.get(key);
      const answer = answers ? (answers.length > 1 ? answers.shift()! : answers[0]) : undefined;
      res.writeHead(answer?.status ?? 404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(answer?.body ?? { statusCode: 404, code: 'NOT_FOUND', message: `No route ${key}.` }));
    });
  });

  on(method: string, path: string, ...answers: { status?: number; body: unknown }[]): this {
    this.routes.set(
      `${method} ${path}`,
      answers.map((a) => ({ status: a.status ?? 200, body: a.body })),
    );
    return this;
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function fakeIo(opts: { tty?: boolean; answer?: string | null } = {}) {
  const lines: string[] = [];
  const progress: string[] = [];
  const prompts: string[] = [];
  const io: OpsIo = {
    out: (line = '') => lines.push(line),
    progress: { write: (t: string) => progress.push(t), isTTY: opts.tty ?? false, columns: 120 },
    readLine: async (prompt) => {
      prompts.push(prompt);
      return opts.answer === undefined ? null : opts.answer;
    },
    pollMs: 1,
  };
  return { io, lines, progress, prompts };
}

let api: FakeApi;
let client: ApiClient;

beforeEach(async () => {
  api = new FakeApi();
  const url = await api.listen();
  client = new ApiClient({ url, token: 'cacpq_test', dataDir: '/nonexistent' });
});
afterEach(() => api.close());

async function run(io: OpsIo, command: string, values: Values = {}, positionals: string[] = []): Promise<void> {
  await operationsCommands(io)[command].run(client, values, positionals);
}

async function failure(p: Promise<unknown>): Promise<CliError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CliError) return err;
    throw err;
  }
  throw new Error('expected a CliError');
}

const SUCCEEDED_BACKUP = job({
  status: 'succeeded',
  progress: 1,
  phase: 'done',
  durationMs: 5200,
  result: {
    backupId: 9,
    name: 'manual/2026-11-24_101500',
    bytes: 200 * 1024 * 1024,
    check: 'quick_check',
    timings: { copyMs: 2000, verifyMs: 3000, totalMs: 5100 },
    bytesCopied: 200 * 1024 * 1024,
  },
});

describe('progressLine', () => {
  it('shows percent, phase and time', () => {
    expect(progressLine('backup manual', job({ status: 'running', progress: 0.423, phase: 'copying server.db' }), 3100)).toBe(
      'backup manual (job 7)  42%  copying server.db  3.1 s',
    );
    expect(progressLine('backup manual', job({}), 0)).toBe('backup manual (job 7)   0%  queued (one job runs at a time)  0 ms');
  });
});

describe('cacpq backup', () => {
  it('starts a backup, shows each phase on its own line when not on a terminal, and prints the result', async () => {
    api
      .on('POST', '/api/v1/backups', { status: 202, body: job({}) })
      .on(
        'GET',
        '/api/v1/jobs/7',
        { body: job({ status: 'running', progress: 0.2, phase: 'copying server.db' }) },
        { body: job({ status: 'running', progress: 0.25, phase: 'copying server.db' }) },
        { body: job({ status: 'running', progress: 0.6, phase: 'verifying (quick_check, row counts, sha256)' }) },
        { body: SUCCEEDED_BACKUP },
      );
    const t = fakeIo();
    await run(t.io, 'backup', { kind: 'manual' });
    expect(api.requests[0]).toEqual({ method: 'POST', path: '/api/v1/backups', body: { kind: 'manual' } });
    expect(t.progress.map((l) => l.replace(/ {2}\d+(\.\d)? m?s\n$/, ''))).toEqual([
      'backup manual (job 7)   0%  queued (one job runs at a time)',
      'backup manual (job 7)  20%  copying server.db',
      'backup manual (job 7)  60%  verifying (quick_check, row counts, sha256)',
    ]);
    expect(t.lines).toEqual([
      'Backup manual/2026-11-24_101500 written and verified (quick_check, row counts, sha256).',
      '  size     200.0 MB',
      '  copy     2.0 s (200.0 MB at 100 MB/s)',
      '  verify   3.0 s',
      '  total    5.1 s',
    ]);
  });

  it('updates one line on a terminal and ends it', async () => {
    api
      .on('POST', '/api/v1/backups', { status: 202, body: job({}) })
      .on(
        'GET',
        '/api/v1/jobs/7',
        { body: job({ status: 'running', progress: 0.5, phase: 'copying server.db' }) },
        { body: SUCCEEDED_BACKUP },
      );
    const t = fakeIo({ tty: true });
    await run(t.io, 'backup', {});
    const all = t.progress.join('');
    expect(all.split('\r\x1b[2K').slice(1)).toEqual([
      expect.stringMatching(/^backup manual \(job 7\) {3}0% {2}queued/),
      expect.stringMatching(/^backup manual \(job 7\) {2}50% {2}copying server\.db/),
      expect.stringMatching(/^backup manual \(job 7\) 100% {2}done {2}\d+ m?s\n$/),
    ]);
    expect(all.indexOf('\n')).toBe(all.length - 1);
  });

  it("exits 1 with the job's sentence when the backup fails or is refused", async () => {
    api.on('POST', '/api/v1/backups', { status: 202, body: job({}) }).on('GET', '/api/v1/jobs/7', {
      body: job({ status: 'refused', error: 'Not enough free disk for a manual backup: it needs about 600 MB and 20 MB are free.' }),
    });
    const err = await failure(run(fakeIo().io, 'backup', {}));
    expect([err.exitCode, err.message]).toEqual([
      1,
      'The backup was refused: Not enough free disk for a manual backup: it needs about 600 MB and 20 MB are free.',
    ]);
  });

  it('--no-wait prints the job and returns; a bad --kind is a usage error', async () => {
    api.on('POST', '/api/v1/backups', { status: 202, body: job({}) });
    const t = fakeIo();
    await run(t.io, 'backup', { 'no-wait': true, kind: 'weekly' });
    expect(t.lines).toEqual(['Backup (weekly) started: job 7. Follow it with: cacpq job 7 --wait']);
    expect(api.requests).toHaveLength(1);
    const err = await failure(run(t.io, 'backup', { kind: 'hourly' }));
    expect([err.exitCode, err.message]).toEqual([2, '--kind must be one of manual, daily, weekly, monthly (got "hourly").']);
  });

  it('lists the catalogue', async () => {
    api.on('GET', '/api/v1/backups?kind=daily', {
      body: [BACKUP, { ...BACKUP, id: 4, status: 'failed', problem: 'server.db did not verify.' }],
    });
    const t = fakeIo();
    await run(t.io, 'backup', { kind: 'daily' }, ['list']);
    const lines = t.lines.join('\n').split('\n');
    expect(lines[0].split(/\s+/)).toEqual(['id', 'name', 'kind', 'origin', 'status', 'size', 'created', 'problem']);
    expect(lines[2]).toMatch(/^3 +daily\/2026-11-24_020000 +daily +server +verified +5\.0 MB +2026-11-2[34] \d\d:00:00$/);
    expect(lines[3]).toMatch(/failed .*server\.db did not verify\.$/);
  });
});

describe('cacpq restore', () => {
  beforeEach(() => {
    api
      .on('GET', '/api/v1/backups', { body: [BACKUP] })
      .on('GET', '/api/v1/backups/3', { body: BACKUP })
      .on('GET', '/api/v1/backups/3/preview', { body: PREVIEW })
      .on('POST', '/api/v1/backups/3/restore', { status: 202, body: job({ id: 8, type: 'restore' }) })
      .on('GET', '/api/v1/jobs/8', {
        body: job({
          id: 8,
          type: 'restore',
          status: 'succeeded',
          progress: 1,
          phase: 'done',
          result: { restored: BACKUP.name, generation: 'g2', integrity: 'ok', preRestore: { name: 'pre-restore/2026-11-24_101500' } },
        }),
      });
  });

  it('shows the preview, and restores nothing when the typed phrase is not the one asked for', async () => {
    const t = fakeIo({ answer: 'restore yes' });
    const err = await failure(run(t.io, 'restore', {}, ['daily/2026-11-24_020000']));
    expect([err.exitCode, err.message]).toEqual([1, 'That is not "restore daily/2026-11-24_020000"; nothing was restored.']);
    expect(t.prompts).toEqual(['Type "restore daily/2026-11-24_020000" to restore (anything else stops): ']);
    expect(t.lines.join('\n')).toMatch(/customers +10 +12 +\+2\nquotes +40 +40/);
    expect(t.lines).toContain('Changes made since this backup: 5.');
    expect(api.requests.some((r) => r.method === 'POST')).toBe(false);
  });

  it('restores after the phrase is typed, and says where the state before is kept', async () => {
    const t = fakeIo({ answer: ' restore daily/2026-11-24_020000 ' });
    await run(t.io, 'restore', {}, ['3']);
    expect(api.requests.find((r) => r.method === 'POST')).toEqual({
      method: 'POST',
      path: '/api/v1/backups/3/restore',
      body: { confirm: 'restore daily/2026-11-24_020000' },
    });
    expect(t.lines.slice(-3)).toEqual([
      'Restored the master from daily/2026-11-24_020000 (integrity ok); new generation g2.',
      'Workstations re-initialise at their next sync and give back the changes the backup lacks.',
      'The state before the restore is kept in pre-restore/2026-11-24_101500: cacpq restore pre-restore/2026-11-24_101500 undoes it.',
    ]);
  });

  it('--yes sends the phrase itself; --table and --id go along; no input ends it', async () => {
    const t = fakeIo();
    await run(t.io, 'restore', { yes: true, table: ['quotes'], id: ['q1', 'q2'] }, ['daily/2026-11-24_020000']);
    expect(t.prompts).toEqual([]);
    expect(api.requests.find((r) => r.method === 'POST')!.body).toEqual({
      confirm: 'restore daily/2026-11-24_020000',
      tables: ['quotes'],
      ids: ['q1', 'q2'],
    });
    const err = await failure(run(fakeIo({ answer: null }).io, 'restore', {}, ['3']));
    expect(err.message).toBe('No confirmation was typed (the input ended); nothing was restored.');
    const unknown = await failure(run(fakeIo().io, 'restore', { yes: true }, ['weekly/nope']));
    expect([unknown.exitCode, unknown.message]).toEqual([
      1,
      'There is no backup named "weekly/nope" in the catalogue; see cacpq backup list.',
    ]);
  });
});

describe('cacpq check and vacuum', () => {
  it('check prints every file and exits 1 with the sentence when one is not ok', async () => {
    const files = {
      'server.db': { integrity: 'ok', foreignKeyProblems: 0 },
      'generated_numbers.db': { integrity: 'ok', foreignKeyProblems: 2 },
      'hub.db': { integrity: 'ok', foreignKeyProblems: 0 },
    };
    api.on('POST', '/api/v1/maintenance/integrity', { status: 202, body: job({ id: 9, type: 'integrity' }) }).on('GET', '/api/v1/jobs/9', {
      body: job({
        id: 9,
        type: 'integrity',
        status: 'failed',
        result: { files },
        error:
          'Integrity problems: generated_numbers.db: ok, 2 foreign key violations. Restore from the last verified backup or contact support.',
      }),
    });
    const t = fakeIo();
    const err = await failure(run(t.io, 'check'));
    expect(t.lines.join('\n')).toMatch(/generated_numbers\.db +ok +2 violations/);
    expect([err.exitCode, err.message]).toEqual([
      1,
      'The integrity check failed: Integrity problems: generated_numbers.db: ok, 2 foreign key violations. Restore from the last verified backup or contact support.',
    ]);
  });

  it('vacuum prints the sizes before and after; 409 INSUFFICIENT_DISK prints the sentence alone and exits 1', async () => {
    api.on('POST', '/api/v1/maintenance/vacuum', { status: 202, body: job({ id: 10, type: 'vacuum' }) }).on('GET', '/api/v1/jobs/10', {
      body: job({
        id: 10,
        type: 'vacuum',
        status: 'succeeded',
        durationMs: 1500,
        result: {
          before: { server: 10 * 1024 * 1024, numbers: 8192 },
          after: { server: 6 * 1024 * 1024, numbers: 8192 },
          reclaimedBytes: 4 * 1024 * 1024,
        },
      }),
    });
    const t = fakeIo();
    await run(t.io, 'vacuum');
    expect(t.lines.join('\n')).toMatch(/server\.db +10\.0 MB +6\.0 MB/);
    expect(t.lines.at(-1)).toBe('Reclaimed 4.0 MB in 1.5 s.');

    const sentence =
      'VACUUM needs free disk of at least twice the database (1200 MB) and 300 MB are free; it was not run. Free some space (old backups) first.';
    api.on('POST', '/api/v1/maintenance/vacuum', { status: 409, body: { statusCode: 409, code: 'INSUFFICIENT_DISK', message: sentence } });
    const err = await failure(run(fakeIo().io, 'vacuum'));
    expect([err.exitCode, err.message]).toEqual([1, sentence]);
  });

  it('maintenance refuses an unknown job as a usage error', async () => {
    const err = await failure(run(fakeIo().io, 'maintenance', {}, ['defrag']));
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/^Name the job: one of integrity, vacuum, reindex/);
  });
});
