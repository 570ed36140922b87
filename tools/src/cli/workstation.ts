import { NUMBER_KINDS, SYNC_LIMITS, type NumberKind } from '@cacpq/sync-protocol';
import { SyncClient, SyncError, type AdoptPhase, type AdoptReport, type ServerTrust, type SyncSummary } from '@cacpq/sync-client';
import { CliError } from './client';
import { table } from './format';

export const WORKSTATION_HELP = `A workstation you can run from a shell: a local SQLite file with the master's schema, synced
with the server through the sync protocol (the SDK the desktop app embeds).

  cacpq client init --server URL --token TOKEN --db FILE [--client-id ID] [--fingerprint FP | --ca FILE]
        create FILE from a server snapshot (the first sync). For an https:// server with a
        self-signed certificate, pin its SHA-256 fingerprint (printed at the server's start and
        shown on its dashboard); FILE keeps it, and any later command may give a new one
  cacpq client adopt --server URL --token TOKEN --db FILE [--client-id ID] [--json]
        take over the desktop app's existing local database (the SMB era's server.db on this PC)
        in place, with its unsynced changes: a verified backup beside it first, ids converted as
        the server converted the master's, every row reconciled with the master (what it lacks and
        what was edited here since the last SMB sync pushed under the conflict rules, an id the
        master uses for another record moved to a new id), then the first sync. Prints what
        happened per table. Close the desktop app first. Cut off, it leaves the file as it was or
        adopted; run it again to finish
  cacpq client sync --db FILE [--keep-schema]
        push local changes, then pull; one line; exit 1 on failure. The file follows the master's
        schema first (new tables and columns added); --keep-schema leaves it as it is (an app that
        migrates its own file): it then syncs the columns it has
  cacpq client status --db FILE        pending changes, last sync, cursor, generation, and the changes
                                       held back because the server refused them (with its reason)
  cacpq client number --db FILE quote|project [--record TABLE:ID]
        allocate the next number (offline: one from a reserved block, registered at the next sync
        with the record that uses it)
  cacpq client reserve --db FILE quote|project --count N
        reserve N numbers for offline work
  cacpq client watch --db FILE         sync now, then on the server's schedule and at once
                                       when another workstation's change arrives (Ctrl-C stops)

Any program may write FILE (the desktop app, the sqlite3 shell): triggers capture every change.`;

export const WORKSTATION_OPTIONS = {
  server: { type: 'string' },
  db: { type: 'string' },
  'client-id': { type: 'string' },
  count: { type: 'string' },
  record: { type: 'string' },
  'keep-schema': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

/**
 * What `client adopt` did, per table. `same`: equal to the master's; `master`: changed on the master
 * only, its version taken; `new`/`edited`/`deleted`: queued here and sent; `re-keyed`: moved to a
 * new id because the master uses the old one for another record.
 */
export function adoptLines(r: AdoptReport): string[] {
  const lines = [
    `${r.resumed ? 'finished adopting' : 'adopted'} ${r.file} as client ${r.clientId}, generation ${r.generation}; the file as it was is in ${r.backup}`,
    '',
    table(
      r.tables.map((t) => ({
        table: t.table,
        rows: t.adopted,
        same: t.unchanged,
        master: t.tookMaster,
        new: t.inserts,
        edited: t.updates + t.editedGone,
        deleted: t.deletes,
        're-keyed': t.rekeyed.length,
        'from master': t.newFromMaster,
        pushed: t.pushed,
        conflicts: t.conflicts,
        held: t.heldBack,
      })),
    ),
    '',
  ];
  for (const t of r.tables) {
    for (const k of t.rekeyed) lines.push(`re-keyed: ${t.table} ${k.from} → ${k.to} (the master's ${k.from} is another record)`);
    if (t.removedDeletedOnMaster > 0)
      lines.push(`${t.table}: ${t.removedDeletedOnMaster} rows deleted on the master since this PC's last sync, removed here too`);
    if (t.localOnlyColumns.length > 0)
      lines.push(`${t.table}: columns only this file has, kept and not synced: ${t.localOnlyColumns.join(', ')}`);
  }
  const conflicts = r.tables.reduce((n, t) => n + t.conflicts, 0);
  const held = r.tables.reduce((n, t) => n + t.heldBack, 0);
  lines.push(
    `${summaryLine(r.sync)}${conflicts > 0 ? `; ${conflicts} conflicts recorded with both versions (the dashboard's Conflicts page)` : ''}${held > 0 ? `; ${held} changes held back (see cacpq client status)` : ''}`,
  );
  return lines;
}

/** CACPQ_ADOPT_PAUSE_AT=PHASE: stop there and wait (for a test to kill the process mid-way). */
function pauseAt(phase: string | undefined): ((p: AdoptPhase) => Promise<void>) | undefined {
  if (!phase) return undefined;
  return async (p) => {
    if (p !== phase) return;
    process.stderr.write(`adopt: paused at ${p} (CACPQ_ADOPT_PAUSE_AT)\n`);
    await new Promise<never>(() => setInterval(() => undefined, 60_000));
  };
}

function summaryLine(s: SyncSummary): string {
  const held = s.heldBack > 0 ? `, ${s.heldBack} held back${s.newlyHeld > 0 ? ` (${s.newlyHeld} new)` : ''} (see cacpq client status)` : '';
  const copy = s.reidentified
    ? `; this file is ${s.reidentified.reason === 'rolled-back' ? 'an older copy' : 'a copy'} of workstation ${s.reidentified.from}'s: it carries on with new client id ${s.reidentified.to}, its reserved numbers void`
    : '';
  const dup =
    s.duplicateNumbers.length > 0 ? `; numbers also used by another record: ${s.duplicateNumbers.join(', ')} (flagged to the admins)` : '';
  return (
    `synced: pushed ${s.pushed}, pulled ${s.pulled}, conflicts ${s.conflicts}, cursor ${s.cursor}${held}` +
    `${s.reinitialized ? ', re-initialised' : ''}${s.clockCorrected ? ', clock corrected' : ''} (${(s.durationMs / 1000).toFixed(2)} s)${copy}${dup}`
  );
}

function kindArg(value: string | undefined): NumberKind {
  if (!value || !(NUMBER_KINDS as readonly string[]).includes(value))
    throw new CliError(`Name the kind: quote or project (got ${value ?? 'nothing'}).`, 2);
  return value as NumberKind;
}

async function withClient<T>(
  file: string,
  trust: ServerTrust | undefined,
  fn: (c: SyncClient) => Promise<T>,
  applySchemaChanges = true,
): Promise<T> {
  let client: SyncClient;
  try {
    client = SyncClient.open(file, { trust, applySchemaChanges });
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

export async function runWorkstation(
  values: Record<string, string | boolean | undefined>,
  positionals: string[],
  token: string | undefined,
  out: (line: string) => void,
  trust?: ServerTrust,
): Promise<void> {
  const [action, arg] = positionals;
  const db = values.db as string | undefined;
  if (!db) throw new CliError('Name the workstation file: --db FILE', 2);
  try {
    switch (action) {
      case 'init': {
        const server = values.server as string | undefined;
        if (!server || !token) throw new CliError('init needs --server URL and --token TOKEN (a device token of this workstation).', 2);
        const client = await SyncClient.init({ file: db, server, token, clientId: values['client-id'] as string | undefined, trust });
        const st = client.status();
        await client.close();
        return out(`initialised ${db}: generation ${st.generation}, cursor ${st.cursor}, client ${st.clientId}`);
      }
      case 'adopt': {
        const server = values.server as string | undefined;
        if (!server || !token) throw new CliError('adopt needs --server URL and --token TOKEN (a device token of this workstation).', 2);
        const report = await SyncClient.adopt({
          file: db,
          server,
          token,
          clientId: values['client-id'] as string | undefined,
          trust,
          onPhase: pauseAt(process.env.CACPQ_ADOPT_PAUSE_AT),
        });
        if (values.json) return out(JSON.stringify(report, null, 2));
        for (const line of adoptLines(report)) out(line);
        return;
      }
      case 'sync':
        return await withClient(db, trust, async (c) => out(summaryLine(await c.syncNow())), values['keep-schema'] !== true);
      case 'status':
        return await withClient(db, trust, async (c) => {
          const st = c.status();
          out(`server:        ${st.server}`);
          out(`client id:     ${st.clientId}`);
          out(`generation:    ${st.generation}`);
          out(`cursor:        ${st.cursor}`);
          out(`pending:       ${st.pendingChanges} changes to ${st.pendingRows} rows`);
          out(`last sync:     ${st.lastSyncAt ?? 'never'} (${st.lastStatus ?? '-'})${st.lastError ? `: ${st.lastError}` : ''}`);
          out(`interval:      every ${st.intervalMinutes} min`);
          out(
            `certificate:   ${st.trust.kind === 'fingerprint' ? `pinned, SHA-256 ${st.trust.fingerprint}` : st.trust.kind === 'ca' ? 'checked against the CA given with --ca' : st.server.startsWith('https:') ? "checked against this computer's CAs" : 'none (plain HTTP)'}`,
          );
          out(`reserved nos.: ${st.reservedNumbers}`);
          const held = c.quarantine();
          out(
            `held back:     ${held.length} changes${held.length > 0 ? ' (refused by the server; edit the row to send it again, or ask an admin)' : ''}`,
          );
          for (const h of held) out(`  ${h.table} ${h.id}${h.column ? ` ${h.column}` : ''}: ${h.code}: ${h.message}`);
        });
      case 'number':
        return await withClient(db, trust, async (c) => {
          const rec = values.record as string | undefined;
          const m = rec === undefined ? null : /^([A-Za-z_][A-Za-z0-9_]*):(.+)$/.exec(rec);
          if (rec !== undefined && !m) throw new CliError(`--record must be TABLE:ID, e.g. quotes:q-123 (got "${rec}").`, 2);
          const n = await c.allocateNumber(kindArg(arg), m ? { table: m[1], id: m[2] } : undefined);
          out(n.offline ? `${n.number} (offline: from this workstation's reserved block)` : n.number);
        });
      case 'reserve': {
        const count = Number(values.count ?? 10);
        if (!Number.isInteger(count) || count < 1 || count > SYNC_LIMITS.maxReserve)
          throw new CliError(`--count must be a whole number from 1 to ${SYNC_LIMITS.maxReserve}.`, 2);
        return await withClient(db, trust, async (c) => out((await c.reserveNumbers(kindArg(arg), count)).join('\n')));
      }
      case 'watch': {
        let client: SyncClient;
        try {
          client = SyncClient.open(db, { trust });
        } catch (err) {
          throw new CliError((err as Error).message, 2);
        }
        client.on('synced', (s) => out(`${new Date().toISOString()} ${summaryLine(s)}`));
        client.on('error', (e) => out(`${new Date().toISOString()} sync failed: ${e.code}: ${e.message}`));
        client.start();
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await client.close();
        return;
      }
      default:
        throw new CliError(`Unknown action "${action ?? ''}"; see cacpq client --help.`, 2);
    }
  } catch (err) {
    if (err instanceof SyncError)
      throw new CliError(`${action === 'sync' ? 'sync failed' : `${action} failed`}: ${err.code}: ${err.message}`, 1);
    throw err;
  }
}
