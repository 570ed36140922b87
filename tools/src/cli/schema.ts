import * as fs from 'node:fs';
import * as path from 'node:path';
import type { JobView, MigrationPreview, SchemaView } from '@cacpq/sync-protocol';
import { CliError, type ApiClient } from './client';
import type { Command, Values } from './command';
import { table } from './format';
import { ensureSucceeded, waitForJob, type OpsIo } from './operations';

const STEP_WORDS: Record<MigrationPreview['steps'][number]['kind'], string> = {
  'create-table': 'new table',
  'add-column': 'new column',
  'create-index': 'new index',
};

/** `cacpq schema`: the learned sync schema, exclusions, and the app's additive migrations. */
export function schemaCommand(io: OpsIo): Command {
  return {
    summary: 'show the sync schema, exclude or include a table or column, apply the app’s migration',
    usage: `cacpq schema [show] [--json]
       cacpq schema apply FILE.sql [--yes] [--json]
       cacpq schema exclude TABLE[.COLUMN]
       cacpq schema include TABLE[.COLUMN]`,
    help: `The tables and columns the server syncs are learned from the master itself (every app table,
every column with its declared type). show lists them with row counts, and each table that does
not sync with the reason; then the schema version and its history.

apply FILE.sql: the desktop app's migration for a new version. The server takes additive changes
only (CREATE TABLE, ALTER TABLE … ADD COLUMN, CREATE INDEX): a drop, a rename or a type change is
refused with the two-step way to do it. First shows what will be added and the rows each step
touches; then asks for "apply" on standard input (--yes: no question). The server takes a verified
backup, applies the file in one transaction and bumps the schema version; workstations follow at
their next sync, before they pull.

exclude / include TABLE[.COLUMN]: stop syncing a table or a column (an app-local setting, say), or
sync it again. Workstations follow at their next sync.

Exit status: 0 done; 1 the server refused (the sentence on standard error) or the job failed; 2 a
usage mistake.`,
    options: { yes: { type: 'boolean' }, json: { type: 'boolean' } },
    async run(client, v, [action = 'show', ...rest]) {
      switch (action) {
        case 'show':
          return show(client, v, io);
        case 'apply':
          if (rest.length !== 1) throw new CliError('Name the migration file: cacpq schema apply FILE.sql', 2);
          return apply(client, v, rest[0], io);
        case 'exclude':
        case 'include': {
          if (rest.length !== 1) throw new CliError(`Name the table or column: cacpq schema ${action} TABLE[.COLUMN]`, 2);
          const [tableName, column] = rest[0].split('.', 2);
          const view = await client.request<SchemaView>('POST', `/api/v1/schema/${action}`, {
            table: tableName,
            ...(column ? { column } : {}),
          });
          io.out(
            `${action === 'exclude' ? 'Excluded' : 'Included again'}: ${rest[0]}. Schema version ${view.version}; workstations follow at their next sync.`,
          );
          return;
        }
        default:
          throw new CliError(`Unknown action "${action}"; see cacpq schema --help.`, 2);
      }
    },
  };
}

async function show(client: ApiClient, v: Values, io: OpsIo): Promise<void> {
  const view = await client.request<SchemaView>('GET', '/api/v1/schema');
  if (v.json) return io.out(JSON.stringify(view, null, 2));
  io.out(`Sync schema version ${view.version}`);
  io.out(
    table(
      view.tables.map((t) => ({
        table: t.name,
        rows: t.rowCount,
        columns: t.columns.filter((c) => !c.system).length,
        syncs: t.synced ? 'yes' : 'no',
        note:
          t.reason ??
          (t.columns.some((c) => c.excluded)
            ? `excluded: ${t.columns
                .filter((c) => c.excluded)
                .map((c) => c.name)
                .join(', ')}`
            : ''),
      })),
    ),
  );
  io.out('\nHistory (newest first):');
  for (const h of view.history.slice(0, 10))
    io.out(`  v${h.version}  ${h.recordedAt.slice(0, 16)} UTC  ${h.recordedBy}: ${h.changes.join(' ')}`);
}

async function apply(client: ApiClient, v: Values, file: string, io: OpsIo): Promise<void> {
  let sql: string;
  try {
    sql = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`Cannot read ${file}: ${(err as Error).message}`, 2);
  }
  const fileName = path.basename(file);
  const info = v.json ? (line = '') => io.progress.write(`${line}\n`) : io.out;
  const preview = await client.request<MigrationPreview>('POST', '/api/v1/schema/migrations/preview', { sql, fileName });
  info(`${fileName}: ${preview.steps.length} step${preview.steps.length === 1 ? '' : 's'} (schema version ${preview.version} now)`);
  info(
    table(
      preview.steps.map((s) => ({
        step: STEP_WORDS[s.kind],
        table: s.table,
        name: s.column ?? s.index ?? '',
        rows: s.rowsAffected,
        state: s.alreadyApplied ? 'already there' : 'to add',
      })),
    ),
  );
  if (preview.nothingToDo) {
    info('The master has all of it already; nothing to apply.');
    return;
  }
  if (v.yes) info('--yes: applying.');
  else {
    const typed = await io.readLine('Type "apply" to take a verified backup and apply it (anything else stops): ');
    if (typed === null || typed.trim() !== 'apply') throw new CliError('Not confirmed; nothing was applied.', 1);
  }
  const first = await client.request<JobView>('POST', '/api/v1/schema/migrations', { sql, fileName, confirm: true });
  const job = await waitForJob(client, first, 'migration', io);
  ensureSucceeded(job, 'The migration');
  if (v.json) return io.out(JSON.stringify(job, null, 2));
  const r = job.result as { version?: number; backup?: string; applied?: number };
  io.out(
    `Applied ${r.applied ?? 0} step(s) after the backup ${r.backup ?? '?'}; schema version ${r.version ?? '?'}. Workstations follow at their next sync.`,
  );
}
