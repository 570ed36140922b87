import * as readline from 'node:readline';
import {
  BACKUP_KINDS,
  MAINTENANCE_JOBS,
  REQUESTABLE_BACKUP_KINDS,
  type BackupView,
  type JobStatus,
  type JobView,
  type MaintenanceJob,
  type RestorePreview,
} from '@cacpq/sync-protocol';
import { ApiClient, CliError } from './client';
import type { Command, Out, Values } from './command';
import { bytes, duration, localTime, table } from './format';

/** Where the operations commands write and read; the real terminal in `cacpq`, fakes in tests. */
export interface OpsIo {
  out: Out;
  /** Progress lines (standard error): one updating line when it is a terminal, plain lines otherwise. */
  progress: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  /** Shows `prompt` and reads one line; null when the input ended first. */
  readLine(prompt: string): Promise<string | null>;
  /** How often a running job is asked for (ms). */
  pollMs: number;
  /** Ctrl-C while waiting says the job goes on on the server (the real terminal only). */
  handleSigint?: boolean;
}

const FINISHED: readonly JobStatus[] = ['succeeded', 'failed', 'refused', 'interrupted'];
const OUTCOME: Record<JobStatus, string> = {
  queued: 'is queued',
  running: 'is running',
  succeeded: 'succeeded',
  failed: 'failed',
  refused: 'was refused',
  interrupted: 'was interrupted',
};

const EXIT_HELP = `Exit status: 0 done; 1 the job failed or was refused, or the server said no (the reason on
standard error); 2 wrong usage; 3 the server cannot be reached.`;

const WAIT_HELP = `Progress goes to standard error (one updating line on a terminal, a line per phase or 10 %
otherwise); the result to standard output. Ctrl-C stops waiting, not the job.`;

/** Reads one line of standard input after showing `prompt` (the prompt goes to standard error). */
export function readStdinLine(prompt: string): Promise<string | null> {
  process.stderr.write(prompt);
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  return new Promise((resolve) => {
    let answered = false;
    rl.once('line', (line) => {
      answered = true;
      rl.close();
      // Typed at a terminal, the line ends itself; read from a pipe, it is not echoed.
      if (!process.stdin.isTTY) process.stderr.write('\n');
      resolve(line);
    });
    rl.once('close', () => {
      if (answered) return;
      process.stderr.write('\n');
      resolve(null);
    });
  });
}

/** The progress line of a job: `backup (job 12)  42%  copying server.db  3.1 s`. */
export function progressLine(label: string, job: JobView, elapsedMs: number): string {
  const pct = `${Math.floor(Math.max(0, Math.min(1, job.progress)) * 100)}%`.padStart(4);
  const phase = job.status === 'queued' ? 'queued (one job runs at a time)' : (job.phase ?? job.status);
  return `${label} (job ${job.id}) ${pct}  ${phase}  ${duration(elapsedMs)}`;
}

/** Asks for the job every `io.pollMs` until it has finished, showing its progress; returns the finished job. */
export async function waitForJob(client: ApiClient, first: JobView, label: string, io: OpsIo): Promise<JobView> {
  const started = Date.now();
  const stream = io.progress;
  const tty = !!stream.isTTY;
  let job = first;
  let drawn = false;
  let lastPhase: string | null | undefined;
  let lastTenth = -1;
  const show = () => {
    const line = progressLine(label, job, Date.now() - started);
    if (tty) {
      stream.write(`\r\x1b[2K${line.slice(0, Math.max(20, (stream.columns || 100) - 1))}`);
      drawn = true;
      return;
    }
    const phase = job.status === 'queued' ? 'queued' : job.phase;
    const tenth = Math.floor(job.progress * 10);
    if (phase === lastPhase && tenth <= lastTenth) return;
    lastPhase = phase;
    lastTenth = tenth;
    stream.write(`${line}\n`);
  };
  const onSigint = () => {
    stream.write(`${drawn ? '\n' : ''}Stopped waiting; job ${job.id} goes on on the server. Follow it with: cacpq job ${job.id} --wait\n`);
    process.exit(130);
  };
  if (io.handleSigint) process.once('SIGINT', onSigint);
  let unreachable = 0;
  try {
    while (!FINISHED.includes(job.status)) {
      show();
      await new Promise((resolve) => setTimeout(resolve, io.pollMs));
      try {
        job = await client.request<JobView>('GET', `/api/v1/jobs/${job.id}`);
        unreachable = 0;
      } catch (err) {
        // A moment without an answer (a busy disk, a restart of the network) is waited out for a while.
        const transient = err instanceof CliError && (err.exitCode === 3 || err.api?.status === 503);
        if (!transient || ++unreachable >= 20) throw err;
      }
    }
    if (drawn) stream.write(`\r\x1b[2K${progressLine(label, job, Date.now() - started)}`);
    return job;
  } finally {
    // The updating line ends here, also when waiting stops with an error (which then starts on its own line).
    if (drawn) stream.write('\n');
    if (io.handleSigint) process.off('SIGINT', onSigint);
  }
}

/** Exit 1 with the job's sentence unless it succeeded. */
export function ensureSucceeded(job: JobView, label: string): void {
  if (job.status === 'succeeded') return;
  throw new CliError(`${label} ${OUTCOME[job.status]}: ${job.error ?? `job ${job.id} ended as ${job.status}.`}`, 1);
}

function str(v: Values[string]): string | undefined {
  return Array.isArray(v) ? v[v.length - 1] : typeof v === 'string' ? v : undefined;
}

function list(v: Values[string]): string[] | undefined {
  if (v === undefined || typeof v === 'boolean') return undefined;
  return Array.isArray(v) ? v : [v];
}

function noMore(rest: string[], command: string): void {
  if (rest.length) throw new CliError(`Unexpected argument "${rest[0]}"; see cacpq ${command} --help.`, 2);
}

function kindOption(value: string | undefined, allowed: readonly string[]): string | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value)) throw new CliError(`--kind must be one of ${allowed.join(', ')} (got "${value}").`, 2);
  return value;
}

function rate(bytesDone: number, ms: number): string {
  return ms > 0 ? `${(bytesDone / 1024 / 1024 / (ms / 1000)).toFixed(0)} MB/s` : '-';
}

/** A result's fields, one per line: scalars as they are, objects as compact JSON. */
function printFields(out: Out, result: Record<string, unknown> | null, skip: string[] = []): void {
  for (const [k, val] of Object.entries(result ?? {})) {
    if (skip.includes(k)) continue;
    out(`  ${k}: ${val !== null && typeof val === 'object' ? JSON.stringify(val) : String(val)}`);
  }
}

// ---------------------------------------------------------------------- backups

function printBackupResult(out: Out, job: JobView): void {
  const r = (job.result ?? {}) as {
    name?: string;
    bytes?: number;
    check?: string;
    bytesCopied?: number;
    timings?: { copyMs?: number; verifyMs?: number; totalMs?: number };
    retentionRemoved?: string[];
  };
  const t = r.timings ?? {};
  out(`Backup ${r.name ?? '?'} written and verified (${r.check ?? '?'}, row counts, sha256).`);
  out(`  size     ${bytes(r.bytes ?? 0)}`);
  if (t.copyMs !== undefined)
    out(`  copy     ${duration(t.copyMs)} (${bytes(r.bytesCopied ?? 0)} at ${rate(r.bytesCopied ?? 0, t.copyMs)})`);
  if (t.verifyMs !== undefined) out(`  verify   ${duration(t.verifyMs)}`);
  out(`  total    ${duration(t.totalMs ?? job.durationMs ?? 0)}`);
  if (r.retentionRemoved?.length) out(`  past retention, removed: ${r.retentionRemoved.join(', ')}`);
}

async function startBackup(client: ApiClient, v: Values, io: OpsIo): Promise<void> {
  const kind = kindOption(str(v.kind), REQUESTABLE_BACKUP_KINDS) ?? 'manual';
  const job = await client.request<JobView>('POST', '/api/v1/backups', { kind });
  if (v['no-wait']) {
    if (v.json) return io.out(JSON.stringify(job, null, 2));
    io.out(`Backup (${kind}) started: job ${job.id}. Follow it with: cacpq job ${job.id} --wait`);
    return;
  }
  const done = await waitForJob(client, job, `backup ${kind}`, io);
  if (v.json) io.out(JSON.stringify(done, null, 2));
  ensureSucceeded(done, 'The backup');
  if (!v.json) printBackupResult(io.out, done);
}

async function listBackups(client: ApiClient, v: Values, io: OpsIo): Promise<void> {
  const kind = kindOption(str(v.kind), BACKUP_KINDS);
  const backups = await client.request<BackupView[]>('GET', `/api/v1/backups${kind ? `?kind=${encodeURIComponent(kind)}` : ''}`);
  if (v.json) return io.out(JSON.stringify(backups, null, 2));
  io.out(
    table(
      backups.map((b) => ({
        id: b.id,
        name: b.name,
        kind: b.kind,
        origin: b.origin,
        status: b.status,
        size: bytes(b.bytes),
        created: localTime(b.createdAt),
        problem: b.problem ?? '',
      })),
    ),
  );
}

/** A backup by catalogue id (digits) or by name (`daily/2026-11-24_020000`). */
async function findBackup(client: ApiClient, ref: string): Promise<BackupView> {
  if (/^\d+$/.test(ref)) return client.request<BackupView>('GET', `/api/v1/backups/${ref}`);
  const all = await client.request<BackupView[]>('GET', '/api/v1/backups');
  const found = all.find((b) => b.name === ref);
  if (!found) throw new CliError(`There is no backup named "${ref}" in the catalogue; see cacpq backup list.`, 1);
  return found;
}

// ---------------------------------------------------------------------- restore

function printPreview(out: Out, p: RestorePreview, tables: string[] | undefined, ids: string[] | undefined): void {
  const b = p.backup;
  out(`Backup ${b.name} (id ${b.id}, ${b.kind}, ${b.origin === 'found' ? 'found on disk' : 'written by the server'})`);
  out(`  taken      ${localTime(b.createdAt)}`);
  out(`  size       ${bytes(b.bytes)}`);
  out(`  status     ${b.status}${b.status === 'verified' ? ` (${b.check}, ${localTime(b.verifiedAt)})` : `: ${b.problem ?? ''}`}`);
  out('');
  const shown = tables ? p.tables.filter((t) => tables.includes(t.table)) : p.tables;
  out(
    table(
      shown.map((t) => ({
        table: t.table,
        backup: t.backup,
        now: t.now,
        difference: t.now === t.backup ? '' : `${t.now > t.backup ? '+' : ''}${t.now - t.backup}`,
      })),
    ),
  );
  out('');
  if (p.changesSince !== null) out(`Changes made since this backup: ${p.changesSince}.`);
  if (tables || ids) {
    const what = [tables ? `tables ${tables.join(', ')}` : '', ids ? `records ${ids.join(', ')}` : ''].filter(Boolean).join(', ');
    out(`Selective restore of ${what}: the backup's versions are written as ordinary changes through sync, so every`);
    out(
      `workstation pulls them${ids ? '' : '; rows created since the backup in those tables are deleted'}. A pre-restore snapshot is taken first.`,
    );
  } else {
    out('Full restore: the master is replaced by this backup. Syncs wait meanwhile (maintenance mode); a pre-restore');
    out('snapshot of the master is taken first; workstations then give back the changes the backup lacks.');
  }
}

function printRestoreResult(out: Out, job: JobView): void {
  const r = (job.result ?? {}) as {
    restored?: string;
    selective?: boolean;
    changedRows?: Record<string, number>;
    generation?: string;
    integrity?: string;
    preRestore?: { name?: string };
  };
  if (r.selective) {
    const changed = Object.entries(r.changedRows ?? {});
    const total = changed.reduce((a, [, n]) => a + n, 0);
    out(
      `Restored ${total} rows from ${r.restored} as changes through sync${changed.length ? ` (${changed.map(([t, n]) => `${t} ${n}`).join(', ')})` : ''}.`,
    );
  } else {
    out(`Restored the master from ${r.restored} (integrity ${r.integrity ?? '?'}); new generation ${r.generation ?? '?'}.`);
    out('Workstations re-initialise at their next sync and give back the changes the backup lacks.');
  }
  if (r.preRestore?.name)
    out(`The state before the restore is kept in ${r.preRestore.name}: cacpq restore ${r.preRestore.name} undoes it.`);
}

async function restore(client: ApiClient, v: Values, positionals: string[], io: OpsIo): Promise<void> {
  const [ref, ...rest] = positionals;
  if (!ref) throw new CliError('Name the backup: cacpq restore <backup-id|name> (see cacpq backup list).', 2);
  noMore(rest, 'restore');
  const tables = list(v.table);
  const ids = list(v.id);
  const backup = await findBackup(client, ref);
  const preview = await client.request<RestorePreview>('GET', `/api/v1/backups/${backup.id}/preview`);
  // With --json the preview goes to standard error, so that standard output is the job alone.
  const info: Out = v.json ? (line = '') => io.progress.write(`${line}\n`) : io.out;
  printPreview(info, preview, tables, ids);
  info('');
  let confirm = preview.confirmPhrase;
  if (v.yes) {
    info(`--yes: confirming with "${confirm}".`);
  } else {
    const typed = await io.readLine(`Type "${preview.confirmPhrase}" to restore (anything else stops): `);
    if (typed === null) throw new CliError('No confirmation was typed (the input ended); nothing was restored.', 1);
    if (typed.trim() !== preview.confirmPhrase) throw new CliError(`That is not "${preview.confirmPhrase}"; nothing was restored.`, 1);
    confirm = typed.trim();
  }
  const job = await client.request<JobView>('POST', `/api/v1/backups/${backup.id}/restore`, {
    confirm,
    ...(tables ? { tables } : {}),
    ...(ids ? { ids } : {}),
  });
  const done = await waitForJob(client, job, 'restore', io);
  if (v.json) io.out(JSON.stringify(done, null, 2));
  ensureSucceeded(done, 'The restore');
  if (!v.json) printRestoreResult(io.out, done);
}

// ---------------------------------------------------------------------- maintenance

function printIntegrity(out: Out, job: JobView): void {
  const files = (job.result?.files ?? {}) as Record<string, { integrity: string; foreignKeyProblems: number }>;
  if (!Object.keys(files).length) return;
  out(
    table(
      Object.entries(files).map(([file, r]) => ({
        file,
        integrity_check: r.integrity,
        foreign_key_check: r.foreignKeyProblems ? `${r.foreignKeyProblems} violations` : 'ok',
      })),
    ),
  );
}

function printVacuum(out: Out, job: JobView): void {
  const r = (job.result ?? {}) as {
    before?: Record<string, number>;
    after?: Record<string, number>;
    reclaimedBytes?: number;
  };
  const names: Record<string, string> = { server: 'server.db', numbers: 'generated_numbers.db' };
  out(
    table(
      Object.keys(r.before ?? {}).map((k) => ({
        file: names[k] ?? k,
        before: bytes(r.before![k]),
        after: bytes(r.after?.[k] ?? 0),
      })),
    ),
  );
  const reclaimed = r.reclaimedBytes ?? 0;
  out(
    reclaimed >= 0
      ? `Reclaimed ${bytes(reclaimed)} in ${duration(job.durationMs ?? 0)}.`
      : `Reclaimed nothing in ${duration(job.durationMs ?? 0)}; the files grew by ${bytes(-reclaimed)}.`,
  );
}

const PRINTERS: Partial<Record<MaintenanceJob, (out: Out, job: JobView) => void>> = {
  integrity: printIntegrity,
  vacuum: printVacuum,
};

async function runMaintenance(client: ApiClient, name: MaintenanceJob, v: Values, io: OpsIo): Promise<void> {
  let job: JobView;
  try {
    job = await client.request<JobView>('POST', `/api/v1/maintenance/${name}`);
  } catch (err) {
    // Refused before it was queued (VACUUM without twice the database free): the server's sentence alone.
    if (err instanceof CliError && err.api?.code === 'INSUFFICIENT_DISK') throw new CliError(err.api.message, 1, err.api);
    throw err;
  }
  if (v['no-wait']) {
    if (v.json) return io.out(JSON.stringify(job, null, 2));
    io.out(`${name} started: job ${job.id}. Follow it with: cacpq job ${job.id} --wait`);
    return;
  }
  const done = await waitForJob(client, job, name, io);
  if (v.json) io.out(JSON.stringify(done, null, 2));
  else if (done.status === 'succeeded' || name === 'integrity') {
    const print = PRINTERS[name];
    if (print) print(io.out, done);
    else {
      io.out(`${name} done in ${duration(done.durationMs ?? 0)}:`);
      printFields(io.out, done.result);
    }
  }
  ensureSucceeded(done, name === 'integrity' ? 'The integrity check' : name === 'vacuum' ? 'VACUUM' : `Maintenance job ${name}`);
  if (name === 'integrity' && !v.json) io.out('Every file is intact: integrity_check ok and no foreign key violations.');
}

function printJob(out: Out, job: JobView): void {
  out(`job ${job.id}: ${job.type} ${JSON.stringify(job.params)}, ${job.trigger} by ${job.requestedBy}`);
  out(`  status     ${job.status}${job.status === 'running' ? ` (${Math.floor(job.progress * 100)}%, ${job.phase ?? ''})` : ''}`);
  out(`  queued     ${localTime(job.queuedAt)}`);
  if (job.startedAt) out(`  started    ${localTime(job.startedAt)}`);
  if (job.finishedAt) out(`  finished   ${localTime(job.finishedAt)} (${duration(job.durationMs ?? 0)})`);
  if (job.error) out(`  error      ${job.error}`);
  if (job.result) {
    out('  result');
    printFields((line = '') => out(`  ${line}`), job.result);
  }
}

// ---------------------------------------------------------------------- the commands

export function operationsCommands(io: OpsIo): Record<string, Command> {
  return {
    backup: {
      summary: 'take a backup now (verified before it is listed), or list the catalogue',
      usage: `cacpq backup [--kind ${REQUESTABLE_BACKUP_KINDS.join('|')}] [--no-wait] [--json]
       cacpq backup list [--kind K] [--json]`,
      help: `Asks the server for a backup and follows it: an online copy of server.db and generated_numbers.db
through SQLite's backup API (workstations keep syncing meanwhile), verified before it is listed:
quick_check (manual, daily) or integrity_check (weekly, monthly), row counts equal to the master's,
sha256. Prints its name, size, check and timings.
  --kind K     manual (default; kept until removed by hand), daily, weekly or monthly (a zip
               archive); daily, weekly and monthly backups follow their retention settings
  --no-wait    print the job id and return at once (follow it with cacpq job ID --wait)
  --json       print the finished job as JSON instead of the summary
${WAIT_HELP}

cacpq backup list [--kind K]: the catalogue, newest first: id, name, kind, origin (server, or
found on disk: e.g. written by the old scripts), status (verified or failed), size, created
(local time) and, for a failed one, the problem. K may also be pre-restore.

${EXIT_HELP}`,
      options: { kind: { type: 'string' }, 'no-wait': { type: 'boolean' }, json: { type: 'boolean' } },
      async run(client, v, [action, ...rest]) {
        if (action === 'list') {
          noMore(rest, 'backup');
          return listBackups(client, v, io);
        }
        if (action !== undefined) throw new CliError(`Unknown action "${action}"; see cacpq backup --help.`, 2);
        return startBackup(client, v, io);
      },
    },
    restore: {
      summary: 'restore the master (or some tables or records) from a backup, after a typed confirmation',
      usage: 'cacpq restore <backup-id|name> [--table T ...] [--id ID ...] [--yes] [--json]',
      help: `Restores from a backup of the catalogue (its id or name, see cacpq backup list). First shows what
would change: the backup's date, rows per table in the backup and in the master now, and the number
of changes made since; then asks you to type the backup's confirmation phrase ("restore <name>")
on standard input. Anything else stops with nothing changed.

Whole master (no --table, no --id): syncs wait meanwhile (maintenance mode), a pre-restore snapshot
of the master is taken, the backup is checked and swapped in under a new generation; workstations
then give back every change the backup lacks at their next sync.
  --table T    only this table (repeat for more): its rows as they are in the backup, written as
               ordinary changes through sync; rows created since the backup are deleted
  --id ID      only this record (repeat for more); with --table, looked for in those tables only
  --yes        do not ask: the command sends the confirmation phrase itself. For scripts that
               have decided beforehand; at a terminal, read the preview and type the phrase.
  --json       print the finished job as JSON (the preview then goes to standard error)
${WAIT_HELP}

${EXIT_HELP}`,
      options: {
        table: { type: 'string', multiple: true },
        id: { type: 'string', multiple: true },
        yes: { type: 'boolean', short: 'y' },
        json: { type: 'boolean' },
      },
      run: (client, v, positionals) => restore(client, v, positionals, io),
    },
    check: {
      summary: 'integrity_check and foreign_key_check of every database file',
      usage: 'cacpq check [--json]',
      help: `Runs the integrity maintenance job now and waits for it: integrity_check and foreign_key_check of
server.db and generated_numbers.db (syncs wait meanwhile, a few seconds to minutes) and of hub.db.
Prints the result per file; exits 1 when any file is not ok.
  --json       print the finished job as JSON
${WAIT_HELP}

${EXIT_HELP}`,
      options: { json: { type: 'boolean' } },
      async run(client, v, rest) {
        noMore(rest, 'check');
        return runMaintenance(client, 'integrity', v, io);
      },
    },
    vacuum: {
      summary: 'VACUUM and ANALYZE the master: reclaim the space of deleted rows',
      usage: 'cacpq vacuum [--json]',
      help: `Runs the vacuum maintenance job now and waits for it: VACUUM then ANALYZE of server.db and
generated_numbers.db, while syncs wait (maintenance mode). Prints the sizes before and after and the
space reclaimed. Refused, with nothing done, when the free disk is less than twice the database.
  --json       print the finished job as JSON
${WAIT_HELP}

${EXIT_HELP}`,
      options: { json: { type: 'boolean' } },
      async run(client, v, rest) {
        noMore(rest, 'vacuum');
        return runMaintenance(client, 'vacuum', v, io);
      },
    },
    maintenance: {
      summary: 'run a maintenance job now (reindex, optimize, prune-sync-log, ...), or list the runs',
      usage: `cacpq maintenance <${MAINTENANCE_JOBS.join('|')}> [--no-wait] [--json]
       cacpq maintenance runs [--limit N] [--json]`,
      help: `Runs one of the scheduled maintenance jobs now and waits for it:
  integrity        integrity_check + foreign_key_check of every file (as cacpq check)
  vacuum           VACUUM + ANALYZE (as cacpq vacuum)
  reindex          REINDEX of the master files (syncs wait meanwhile)
  optimize         PRAGMA optimize
  prune-sync-log   sync_log rows older than the retention days and beyond the newest N go
  archive-quotes   quotes older than N years into archived_quotes and an .sql dump in archives/
  checkpoint       the WAL files written into the database files
  --no-wait    print the job id and return at once (follow it with cacpq job ID --wait)
  --json       print the finished job as JSON
${WAIT_HELP}

cacpq maintenance runs: the latest maintenance runs, newest first (--limit N, default 20).

${EXIT_HELP}`,
      options: { 'no-wait': { type: 'boolean' }, json: { type: 'boolean' }, limit: { type: 'string' } },
      async run(client, v, [name, ...rest]) {
        noMore(rest, 'maintenance');
        if (name === 'runs') {
          const limit = Number(str(v.limit) ?? '20');
          if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new CliError('--limit must be a whole number from 1 to 500.', 2);
          const runs = await client.request<JobView[]>('GET', `/api/v1/maintenance/runs?limit=${limit}`);
          if (v.json) return io.out(JSON.stringify(runs, null, 2));
          return io.out(
            table(
              runs.map((j) => ({
                id: j.id,
                job: j.type,
                status: j.status,
                trigger: j.trigger,
                by: j.requestedBy,
                started: localTime(j.startedAt ?? j.queuedAt),
                took: j.durationMs === null ? '' : duration(j.durationMs),
                error: j.error ?? '',
              })),
            ),
          );
        }
        if (!name || !(MAINTENANCE_JOBS as readonly string[]).includes(name))
          throw new CliError(`Name the job: one of ${MAINTENANCE_JOBS.join(', ')}, or runs (got ${name ? `"${name}"` : 'nothing'}).`, 2);
        return runMaintenance(client, name as MaintenanceJob, v, io);
      },
    },
    job: {
      summary: 'show a backup, restore or maintenance job, or wait for it',
      usage: 'cacpq job <id> [--wait] [--json]',
      help: `Shows one job: what it is, who asked, its status, progress, result or error.
  --wait       follow it until it ends; exit 1 when it failed or was refused
  --json       print the job as JSON
${WAIT_HELP}

${EXIT_HELP}`,
      options: { wait: { type: 'boolean' }, json: { type: 'boolean' } },
      async run(client, v, [id, ...rest]) {
        noMore(rest, 'job');
        if (!id || !/^\d+$/.test(id)) throw new CliError('Give the job id (a whole number): cacpq job <id>.', 2);
        let job = await client.request<JobView>('GET', `/api/v1/jobs/${id}`);
        if (v.wait) job = await waitForJob(client, job, job.type, io);
        if (v.json) io.out(JSON.stringify(job, null, 2));
        else printJob(io.out, job);
        if (v.wait) ensureSucceeded(job, `Job ${job.id} (${job.type})`);
      },
    },
  };
}
