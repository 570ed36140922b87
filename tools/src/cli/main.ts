import { parseArgs } from 'node:util';
import * as path from 'node:path';
import type { CreatedToken, DemoSeedResponse, TokenView, UserView } from '@cacpq/sync-protocol';
import { ApiClient, CliError, readTrust, type Connection } from './client';
import type { Command } from './command';
import { table } from './format';
import { operationsCommands, readStdinLine } from './operations';
import { schemaCommand } from './schema';
import { WORKSTATION_HELP, WORKSTATION_OPTIONS, runWorkstation } from './workstation';
import { benchBackup } from '../bench/backup-bench';
import { benchLoad, loadPassed } from '../bench/load-bench';
import { benchMonitoring, type PlannerStats } from '../bench/monitoring-bench';
import { benchSync } from '../bench/sync-bench';

const CONNECTION_HELP = `Connection (every command):
  --url URL          server address (CACPQ_URL, default http://127.0.0.1:$PORT or :3000)
  --token TOKEN      a device token of an admin (CACPQ_TOKEN)
  --user NAME        sign in as this user (CACPQ_USER) ...
  --password PASS    ... with this password (CACPQ_PASSWORD)
  --data-dir DIR     on the server's host, use the local command-line token it wrote
                     to DIR/hub/local-cli.token (DATA_DIR, default ./data)
  --fingerprint FP   an https:// server's SHA-256 certificate fingerprint, pinned: only that
                     certificate is accepted (CACPQ_FINGERPRINT; printed at the server's start)
  --ca FILE          PEM certificate(s) to verify an https:// server against (CACPQ_CA)`;

const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  user: { type: 'string' },
  password: { type: 'string' },
  'data-dir': { type: 'string' },
  fingerprint: { type: 'string' },
  ca: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

const OPERATIONS = operationsCommands({ out, progress: process.stderr, readLine: readStdinLine, pollMs: 500, handleSigint: true });

const COMMANDS: Record<string, Command> = {
  'seed-demo': {
    summary: 'fill an empty master with demo CPQ data, users and months of sync history',
    usage: 'cacpq seed-demo [--months N] [--scale X]',
    help: `Asks the running server to fill its (empty) master with realistic demo data: thousands of
components, hundreds of customers, projects and quotes, demo users and months of sync_log
history. Refused when the master already holds data.
  --months N   months of sync history (1-24, default 6)
  --scale X    volume factor (0.1-10, default 1: 3000 components, 1200 quotes)`,
    options: { months: { type: 'string' }, scale: { type: 'string' } },
    async run(client, v) {
      const body: Record<string, unknown> = { confirm: 'seed-demo' };
      if (v.months !== undefined) body.months = numberOption('months', v.months as string);
      if (v.scale !== undefined) body.scale = numberOption('scale', v.scale as string);
      const res = await client.request<DemoSeedResponse>('POST', '/api/v1/demo/seed', body);
      out('Demo data added:');
      out(table(Object.entries(res.rows).map(([t, n]) => ({ table: t, rows: n }))));
      out(`sync_log history: ${res.syncLogRows} syncs; numbers issued: ${res.numbersIssued}`);
      if (res.users.length) {
        out('\nDemo accounts (passwords shown once):');
        out(table(res.users));
      }
    },
  },
  users: {
    summary: 'list, create and change accounts',
    usage:
      'cacpq users [list | create NAME --role ROLE [--password P] | set NAME [--role R] [--password P] | password NAME | disable NAME | enable NAME]',
    help: `Accounts (admin). Roles: admin, manager, user. An account created without a password can
only sync with device tokens.
  password NAME      set a new password for NAME, asked twice at the terminal (not echoed) or read
                     with --password-stdin; NAME's dashboard sessions end
  --password-stdin   read the password from standard input (keeps it out of the shell history)`,
    options: { role: { type: 'string' }, password: { type: 'string' }, 'password-stdin': { type: 'boolean' }, json: { type: 'boolean' } },
    async run(client, v, [action = 'list', name]) {
      if (v['password-stdin']) v.password = (await readStdin()).replace(/\r?\n$/, '');
      const needName = () => {
        if (!name) throw new CliError(`Name the user: cacpq users ${action} NAME`, 2);
        return name;
      };
      let users: UserView[];
      switch (action) {
        case 'list':
          users = await client.request<UserView[]>('GET', '/api/v1/users');
          if (v.json) return out(JSON.stringify(users, null, 2));
          return out(
            table(
              users.map(({ username, role, disabled, hasPassword, activeTokens, lastLoginAt }) => ({
                username,
                role,
                disabled,
                password: hasPassword,
                tokens: activeTokens,
                lastLogin: lastLoginAt ?? '',
              })),
            ),
          );
        case 'create': {
          if (!v.role) throw new CliError('Give the role: --role admin|manager|user', 2);
          const body = { username: needName(), role: v.role, ...(v.password ? { password: v.password } : {}) };
          const u = await client.request<UserView>('POST', '/api/v1/users', body);
          return out(`Created ${u.username} (${u.role}).`);
        }
        case 'password': {
          const user = needName();
          let password = v.password as string | undefined;
          if (password === undefined) {
            if (!process.stdin.isTTY)
              throw new CliError('Give the new password on standard input with --password-stdin (it is asked for only at a terminal).', 2);
            password = await promptHidden(`New password for ${user}: `);
            if ((await promptHidden('The same again: ')) !== password)
              throw new CliError('The two passwords differ; nothing was changed.', 2);
          }
          await client.request<UserView>('PATCH', `/api/v1/users/${encodeURIComponent(user)}`, { password });
          return out(`The password of ${user} was changed; their dashboard sessions were ended.`);
        }
        case 'set':
        case 'disable':
        case 'enable': {
          const body: Record<string, unknown> = {};
          if (action === 'disable') body.disabled = true;
          if (action === 'enable') body.disabled = false;
          if (v.role) body.role = v.role;
          if (v.password) body.password = v.password;
          const u = await client.request<UserView>('PATCH', `/api/v1/users/${encodeURIComponent(needName())}`, body);
          return out(`${u.username}: role ${u.role}${u.disabled ? ', disabled' : ''}.`);
        }
        default:
          throw new CliError(`Unknown action "${action}"; see cacpq users --help.`, 2);
      }
    },
  },
  tokens: {
    summary: 'issue, list and revoke device tokens',
    usage: 'cacpq tokens [issue NAME --device D | list NAME | revoke ID]',
    help: `Device tokens (admin): a workstation or script authenticates with "Authorization: Bearer
<token>" and acts with its user's role. A token is shown only when issued.`,
    options: { device: { type: 'string' }, json: { type: 'boolean' } },
    async run(client, v, [action = 'list', arg]) {
      if (!arg) throw new CliError(`Missing ${action === 'revoke' ? 'token id' : 'user name'}; see cacpq tokens --help.`, 2);
      switch (action) {
        case 'issue': {
          if (!v.device) throw new CliError('Name the device: --device "alice-laptop"', 2);
          const t = await client.request<CreatedToken>('POST', `/api/v1/users/${encodeURIComponent(arg)}/tokens`, { device: v.device });
          if (v.json) return out(JSON.stringify(t, null, 2));
          out(`Token for ${t.username} on ${t.device} (id ${t.id}); it is shown only now:`);
          return out(t.token);
        }
        case 'list': {
          const list = await client.request<TokenView[]>('GET', `/api/v1/users/${encodeURIComponent(arg)}/tokens`);
          return out(
            table(
              list.map(({ id, device, createdAt, lastUsedAt, revokedAt }) => ({
                id,
                device,
                createdAt,
                lastUsed: lastUsedAt ?? '',
                revoked: revokedAt ?? '',
              })),
            ),
          );
        }
        case 'revoke': {
          const t = await client.request<TokenView>('DELETE', `/api/v1/tokens/${encodeURIComponent(arg)}`);
          return out(`Revoked the token of ${t.username} on ${t.device}.`);
        }
        default:
          throw new CliError(`Unknown action "${action}"; see cacpq tokens --help.`, 2);
      }
    },
  },
  backup: OPERATIONS.backup,
  restore: OPERATIONS.restore,
  check: OPERATIONS.check,
  vacuum: OPERATIONS.vacuum,
  maintenance: OPERATIONS.maintenance,
  job: OPERATIONS.job,
  schema: schemaCommand({ out, progress: process.stderr, readLine: readStdinLine, pollMs: 500, handleSigint: true }),
  client: {
    summary: 'a workstation: init or adopt, sync, status and numbers over a local SQLite file',
    usage: 'cacpq client init|adopt|sync|status|number|reserve|watch --db FILE [...]',
    help: WORKSTATION_HELP,
    options: WORKSTATION_OPTIONS,
    async run(_client, v, positionals) {
      await runWorkstation(
        v as Record<string, string | boolean | undefined>,
        positionals,
        (v.token as string | undefined) ?? process.env.CACPQ_TOKEN,
        out,
        _client.trust,
      );
    },
  },
  bench: {
    summary: 'benchmarks, printed as ratios against a baseline measured in the same run',
    usage:
      'cacpq bench sync [--rows N] [--samples N]\n       cacpq bench backup [--mb N] [--rounds N]\n       cacpq bench monitoring [--rows N] [--samples N] [--stats none|optimize|analyze]\n       cacpq bench load [--workstations N] [--seconds N] [--pokes]',
    help: `Each starts a server on a temporary data directory (loopback) as a real process, and deletes
the directory at the end. Each needs "npm run build".

sync: pushes then pulls N component rows through the real HTTP protocol and prints rows/s beside
raw better-sqlite3 upserts measured in the same run, as ratios; then p50/p95 of a sync carrying 10
changed rows.
  --rows N      rows to push and pull (default 100000)
  --samples N   10-row syncs to time (default 50)

backup: builds a master of about N MB (quotes with their line items, components, customers,
projects, sync history), then, in rounds, times a plain file copy of server.db (copy + fsync:
the baseline) and a backup through the API while a workstation pushes 5-row batches
continuously. Prints the median MB/s of the plain copy, of the backup's copy phase and of the
whole verified backup (copy, check, row counts, sha256), each backup as a ratio of the plain copy
of the same round (median), the pushes made during the backups (p50/p95 latency, failures: there
must be none; exit 1 otherwise), and SQLite's backup API alone on the file, as a reference.
  --mb N        size of the master in MB (default 500; 20-20000)
  --rounds N    rounds of copy + backup, the median is reported (default 3; 1-15)

monitoring: builds a master with N sync_log rows over two years (15 people, 25 workstations,
~3 % errors, ~5 % with conflicts) and 300,000 components, quotes and projects, then for each
monitoring endpoint (defaults and realistic parameters, plus a few long "stress" ranges) times the
HTTP request against the service's own SQL on a read-only copy of the same file in this process
(the baseline), interleaved. Prints median and p95 of both, the ratio, PASS/FAIL against
"ratio <= 2 and under 100 ms", the HTTP floor (GET /api/health) for reference, and the query plans.
  --rows N      sync_log rows (default 1000000; 10000-20000000)
  --samples N   timed requests per case (default 30; 5-1000)
  --stats S     planner statistics: none (a new server), optimize (the daily job's PRAGMA optimize)
                or analyze (the monthly VACUUM job's ANALYZE; default)

load: N simulated workstations (real SyncClients in this process, each with its own SQLite file
and device token) edit and sync concurrently against the server for a bounded time: mostly
updates of components, quotes, projects and customers, some inserts (quotes with numbers from the
server), a few deletes, shared rows edited by many (conflicts), edits made while a sync runs; each
syncs every 150-450 ms. Prints sync latency p50/p95/p99, the server process's RSS and CPU (from
/proc every second), then, after a last round where everyone syncs until quiet and the server
stops, checks its files: every workstation equal to the master, every edit in the master or kept
by a recorded conflict, every number distinct. Exit 1 when a sync failed or anything was lost.
  --workstations N   simulated workstations (default 50; 1-500)
  --seconds N        duration of the load (default 60; 5-3600)
  --pokes            also connect each workstation's socket, as the desktop app does: every push
                     pokes the others to pull at once
CACPQ_API_MAIN=FILE runs another build of the server (default dist/api/apps/api/src/main.js).`,
    options: {
      rows: { type: 'string' },
      samples: { type: 'string' },
      mb: { type: 'string' },
      rounds: { type: 'string' },
      stats: { type: 'string' },
      workstations: { type: 'string' },
      seconds: { type: 'string' },
      pokes: { type: 'boolean' },
    },
    async run(_client, v, [which, ...rest]) {
      if (rest.length) throw new CliError(`Unexpected argument "${rest[0]}"; see cacpq bench --help.`, 2);
      if (which === 'backup') {
        const mb = numberOption('mb', (v.mb as string | undefined) ?? '500');
        const rounds = numberOption('rounds', (v.rounds as string | undefined) ?? '3');
        if (!Number.isInteger(mb) || mb < 20 || mb > 20_000) throw new CliError('--mb must be a whole number from 20 to 20000.', 2);
        if (!Number.isInteger(rounds) || rounds < 1 || rounds > 15) throw new CliError('--rounds must be a whole number from 1 to 15.', 2);
        const result = await benchBackup({ mb, rounds, out }).catch((err: unknown) => {
          throw new CliError(`bench backup failed: ${(err as Error).message}`, 1);
        });
        if (result.failedPushes > 0)
          throw new CliError(`${result.failedPushes} pushes failed during the backups (there must be none); see above.`, 1);
        return;
      }
      if (which === 'monitoring') {
        const rows = numberOption('rows', (v.rows as string | undefined) ?? '1000000');
        const samples = numberOption('samples', (v.samples as string | undefined) ?? '30');
        const stats = (v.stats as string | undefined) ?? 'analyze';
        if (!Number.isInteger(rows) || rows < 10_000 || rows > 20_000_000)
          throw new CliError('--rows must be a whole number from 10000 to 20000000.', 2);
        if (!Number.isInteger(samples) || samples < 5 || samples > 1000)
          throw new CliError('--samples must be a whole number from 5 to 1000.', 2);
        if (!['none', 'optimize', 'analyze'].includes(stats)) throw new CliError('--stats must be none, optimize or analyze.', 2);
        await benchMonitoring({ rows, samples, stats: stats as PlannerStats, out }).catch((err: unknown) => {
          throw new CliError(`bench monitoring failed: ${(err as Error).message}`, 1);
        });
        return;
      }
      if (which === 'load') {
        const workstations = numberOption('workstations', (v.workstations as string | undefined) ?? '50');
        const seconds = numberOption('seconds', (v.seconds as string | undefined) ?? '60');
        if (!Number.isInteger(workstations) || workstations < 1 || workstations > 500)
          throw new CliError('--workstations must be a whole number from 1 to 500.', 2);
        if (!Number.isInteger(seconds) || seconds < 5 || seconds > 3600)
          throw new CliError('--seconds must be a whole number from 5 to 3600.', 2);
        const result = await benchLoad({ workstations, seconds, pokes: v.pokes === true, out }).catch((err: unknown) => {
          throw new CliError(`bench load failed: ${(err as Error).message}`, 1);
        });
        if (!loadPassed(result)) throw new CliError('bench load: a sync failed or something was lost; see above.', 1);
        return;
      }
      if (which !== 'sync')
        throw new CliError('Name the benchmark: cacpq bench sync, cacpq bench backup, cacpq bench monitoring or cacpq bench load', 2);
      const rows = numberOption('rows', (v.rows as string | undefined) ?? '100000');
      const samples = numberOption('samples', (v.samples as string | undefined) ?? '50');
      if (!Number.isInteger(rows) || rows < 100 || rows > 10_000_000)
        throw new CliError('--rows must be a whole number from 100 to 10000000.', 2);
      if (!Number.isInteger(samples) || samples < 5 || samples > 10_000)
        throw new CliError('--samples must be a whole number from 5 to 10000.', 2);
      await benchSync({ rows, samples, out });
    },
  },
  whoami: {
    summary: 'show which account the command line acts as',
    usage: 'cacpq whoami',
    help: 'Prints the user and role the server sees for these credentials.',
    options: {},
    async run(client) {
      const me = await client.request<{ user: { username: string; role: string }; via: string }>('GET', '/api/v1/auth/me');
      out(`${me.user.username} (${me.user.role}) via ${me.via}`);
    },
  },
};

/** Asks at the terminal without echoing what is typed. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    let answer = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (err: Error | null) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(answer);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done(null);
        if (ch === '\u0003') return done(new CliError('Interrupted; nothing was changed.', 130));
        if (ch === '\u007f' || ch === '\b') answer = answer.slice(0, -1);
        else answer += ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function numberOption(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new CliError(`--${name} must be a number (got "${value}").`, 2);
  return n;
}

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return `cacpq — command line of the CACPQ Sync Server

Usage: cacpq <command> [options]     (cacpq <command> --help for details)

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  .join('\n')}

Commands that change a running server go through its API; none of them opens the files the
server owns.

${CONNECTION_HELP}`;
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    out(mainHelp());
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`Unknown command "${name}". Commands: ${Object.keys(COMMANDS).join(', ')}. See cacpq --help.\n`);
    return 2;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options: { ...CONNECTION_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\nUsage: ${command.usage}\n`);
    return 2;
  }
  const v = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (v.help) {
    out(`Usage: ${command.usage}\n\n${command.help}\n\n${CONNECTION_HELP}`);
    return 0;
  }
  const env = process.env;
  const conn: Connection = {
    url: (v.url as string | undefined) ?? env.CACPQ_URL ?? `http://127.0.0.1:${env.PORT ?? 3000}`,
    token: (v.token as string | undefined) ?? env.CACPQ_TOKEN,
    username: (v.user as string | undefined) ?? env.CACPQ_USER,
    password: (v.password as string | undefined) ?? env.CACPQ_PASSWORD,
    dataDir: path.resolve((v['data-dir'] as string | undefined) ?? env.DATA_DIR ?? './data'),
  };
  try {
    conn.trust = readTrust((v.fingerprint as string | undefined) ?? env.CACPQ_FINGERPRINT, (v.ca as string | undefined) ?? env.CACPQ_CA);
    await command.run(new ApiClient(conn), v, parsed.positionals);
    return 0;
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

if (require.main === module) {
  run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`cacpq failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
