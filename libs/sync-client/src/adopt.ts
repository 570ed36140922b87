import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SnapshotMetaAnswer, type PushResponse, type TableInfo } from '@cacpq/sync-protocol';
import { convertLegacyTable, decideRow, deletedHere, type RowDecision } from './adopt-rows';
import { SyncError } from './errors';
import { LocalStore } from './local-store';
import { dataColumns, installLocalSchema, quoteIdent as q } from './local-schema';
import { Remote, checkAnswer, checkTrust } from './remote';
import { trustedFetch, type ServerTrust } from './trust';
import type { HeldChange, SyncClientOptions, SyncSummary } from './types';

/**
 * Taking over the desktop app's existing local database (the SMB era's `server.db` on a PC) in
 * place, with its unsynced changes:
 * 1. a backup through SQLite's online backup API beside the file, verified (integrity_check, row
 *    counts per table);
 * 2. on a copy of that backup: the tables rebuilt as the master's DDL gives them (ids converted as
 *    the server converted the master's, local-only columns kept), the SDK's tables and triggers
 *    installed, and every row reconciled with a snapshot of the master: changes queued in the
 *    outbox with their bases, collisions re-keyed, the master's rows written; the copy verified;
 * 3. the copy renamed over the file in one step (fsynced first), marked "pushing";
 * 4. the first sync, through the SDK's ordinary push and pull; then marked "done".
 * A kill before step 3 leaves the file byte for byte as it was (the next run starts again); after
 * it, the file is a workstation file whose outbox holds the changes, and the next run (or any sync)
 * sends them. A file already adopted, or not SQLite, is refused with a code and a sentence.
 */

/** Where an adoption is: each is passed to `onPhase` (tests pause or fail there). */
export type AdoptPhase = 'backed-up' | 'downloaded' | 'converted' | 'swapped' | 'pushed';

export interface AdoptParams extends SyncClientOptions {
  /** The desktop app's local database. Close the app first. */
  file: string;
  server: string;
  /** A device token of this workstation's user. */
  token: string;
  clientId?: string;
  /** Awaited at each phase: `pushed` after each push answer arrives, before it is written here. */
  onPhase?: (phase: AdoptPhase) => void | Promise<void>;
}

export interface AdoptTableReport {
  table: string;
  /** Rows the legacy table held, converted in place. */
  adopted: number;
  /** Equal to the master's row: nothing to do, it took the master's version. */
  unchanged: number;
  /** Changed on the master only since this file's last SMB sync: the master's version taken. */
  tookMaster: number;
  /** Records the master lacked, queued as new. */
  inserts: number;
  /** Edits made here since the last SMB sync, queued as updates; `updatesWithoutBase` of them were edited on the master too. */
  updates: number;
  updatesWithoutBase: number;
  /** Rows deleted here (a soft-delete flag, or gone while the master's row predates the last sync), queued as deletes. */
  deletes: number;
  /** Rows whose id the master uses for another record: moved to a new id, queued as new. */
  rekeyed: { from: string; to: string }[];
  /** Edited here, gone from the master: queued as edits; the server keeps them as conflicts when the master deleted the row. */
  editedGone: number;
  /** Synced once, not edited since, gone from the master (deleted there): removed here too. */
  removedDeletedOnMaster: number;
  /** Deleted here and never the master's: removed, nothing to send. */
  dropped: number;
  /** Master rows this file did not have (made after its last sync elsewhere, or not judged deleted here): written here. */
  newFromMaster: number;
  /** Columns only this file has: kept, not synced. */
  localOnlyColumns: string[];
  /** After the first sync: changes the server answered, and conflicts it recorded for them. */
  pushed: number;
  conflicts: number;
  /** Changes the server refused (held back here, see `cacpq client status`). */
  heldBack: number;
}

export interface AdoptReport {
  file: string;
  /** The verified backup of the file as it was. */
  backup: string;
  clientId: string;
  generation: string;
  /** This run finished an adoption that an earlier run had swapped in (it was cut off in its first sync). */
  resumed: boolean;
  /** This run removed what an earlier run cut off before its swap left (a half-built copy). */
  restarted: boolean;
  tables: AdoptTableReport[];
  /** The first sync after the swap (of this run). */
  sync: SyncSummary;
}

/** What adopt needs of a SyncClient; SyncClient.adopt passes its own `open` (no import cycle). */
export interface AdoptedClient {
  readonly db: Database.Database;
  syncNow(): Promise<SyncSummary>;
  quarantine(): HeldChange[];
  close(): Promise<void>;
}
export type OpenClient = (file: string, opts: SyncClientOptions) => AdoptedClient;

/** `_sync_state` keys of an adoption: `pushing` once swapped in, `done` after its first sync. */
const STATUS_KEY = 'adopt_status';
const REPORT_KEY = 'adopt_report';
/** Push answers seen, per batch id: a batch resent after a kill is counted once. */
const PUSHES_KEY = 'adopt_pushes';
/** The version an edit of a row this file had from the master is based on when the master no longer has the row. */
const HAD_MASTER_VERSION = 1;
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

export async function adoptFile(params: AdoptParams, open: OpenClient): Promise<AdoptReport> {
  const file = path.resolve(params.file);
  const p = { ...params, file, trust: checkTrust(params.trust, params.server) };
  const found = inspect(file);
  if (found.kind === 'adopted') {
    throw new SyncError(
      'ALREADY_ADOPTED',
      `${file} is a CACPQ workstation file already (it syncs with ${found.server}); nothing was changed. Sync it with "cacpq client sync --db ${file}".`,
    );
  }
  if (found.kind === 'swapped') return finish(p, open, { resumed: true, restarted: false });
  const restarted = await adoptCopy(p);
  return finish(p, open, { resumed: false, restarted });
}

// ---------------------------------------------------------------- the file as found

type Found = { kind: 'legacy' } | { kind: 'swapped' | 'adopted'; server: string };

function inspect(file: string): Found {
  if (!fs.existsSync(file)) {
    throw new SyncError(
      'LOCAL_FILE_MISSING',
      `${file} does not exist: name the desktop app's local database (a new workstation uses init).`,
    );
  }
  const header = Buffer.alloc(16);
  let read = 0;
  if (fs.statSync(file).isFile()) {
    const fd = fs.openSync(file, 'r');
    try {
      read = fs.readSync(fd, header, 0, 16, 0);
    } finally {
      fs.closeSync(fd);
    }
  }
  if (read < 16 || !header.equals(SQLITE_HEADER)) {
    throw new SyncError(
      'NOT_SQLITE',
      `${file} is not an SQLite database (it does not start with "SQLite format 3"); nothing was changed. Name the desktop app's local database, e.g. %APPDATA%\\craft-tools-hub\\database\\server.db.`,
    );
  }
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: true });
  } catch (err) {
    throw new SyncError('LOCAL_FILE_UNREADABLE', `${file} cannot be opened (${(err as Error).message}); nothing was changed.`);
  }
  try {
    const names = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
    if (!names.includes('_sync_state')) return { kind: 'legacy' };
    const get = (key: string) => db.prepare('SELECT value FROM _sync_state WHERE key = ?').pluck().get(key) as string | undefined;
    const server = get('server');
    if (!server) return { kind: 'legacy' };
    return { kind: get(STATUS_KEY) === 'pushing' ? 'swapped' : 'adopted', server };
  } catch (err) {
    throw new SyncError(
      'LOCAL_FILE_DAMAGED',
      `${file} cannot be read as an SQLite database (${(err as Error).message}); nothing was changed.`,
    );
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------- backup, copy, swap

function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Windows cannot open a directory to fsync it; its renames are durable on their own.
  }
}

function countRows(db: Database.Database): Record<string, number> {
  const names = db
    .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
    .pluck()
    .all() as string[];
  return Object.fromEntries(
    names.map((n) => [
      n,
      db
        .prepare(`SELECT COUNT(*) FROM ${q(n)}`)
        .pluck()
        .get() as number,
    ]),
  );
}

function integrity(db: Database.Database): string {
  return (db.pragma('integrity_check', { simple: false }) as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
}

const workOf = (file: string) => `${file}.adopting`;
const SIDE = ['-wal', '-shm', '-journal'];

/** What a run cut off before its swap left: its half-built copy, its snapshot, a half-written backup. */
function removeLeftovers(file: string): boolean {
  const work = workOf(file);
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.pre-adopt-`;
  const found = [work, ...SIDE.map((s) => work + s), `${work}.snapshot`].filter((f) => fs.existsSync(f));
  for (const name of fs.readdirSync(dir))
    if (name.startsWith(prefix) && /\.partial(-wal|-shm|-journal)?$/.test(name)) found.push(path.join(dir, name));
  for (const f of found) fs.rmSync(f, { force: true });
  return found.length > 0;
}

/** The file as it is, read through SQLite's online backup API into a verified copy beside it. */
async function backUp(file: string): Promise<{ backup: string; counts: Record<string, number> }> {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').replace(/\..*$/, '');
  let backup = `${file}.pre-adopt-${stamp}.db`;
  for (let i = 2; fs.existsSync(backup); i++) backup = `${file}.pre-adopt-${stamp}-${i}.db`;
  const partial = `${backup}.partial`;
  const src = new Database(file, { fileMustExist: true });
  let counts: Record<string, number>;
  try {
    const check = integrity(src);
    if (check !== 'ok') throw new SyncError('LOCAL_FILE_DAMAGED', `${file} is damaged (${check}); nothing was changed.`);
    counts = countRows(src);
    await src.backup(partial);
  } finally {
    src.close();
  }
  try {
    fsyncFile(partial);
    const copy = new Database(partial, { readonly: true, fileMustExist: true });
    try {
      const check = integrity(copy);
      if (check !== 'ok' || JSON.stringify(countRows(copy)) !== JSON.stringify(counts)) {
        throw new SyncError('BACKUP_FAILED', `The backup of ${file} did not verify (${check}); nothing was changed.`);
      }
    } finally {
      copy.close();
    }
    fs.renameSync(partial, backup);
    fsyncDir(path.dirname(file));
  } catch (err) {
    for (const f of [partial, ...SIDE.map((s) => partial + s)]) fs.rmSync(f, { force: true });
    throw err;
  }
  return { backup, counts };
}

/** Steps 1–3: backup, the adopted copy, the swap. Returns whether an earlier cut-off run's leftovers were removed. */
async function adoptCopy(p: AdoptParams & { file: string; trust: ServerTrust | undefined }): Promise<boolean> {
  const { file } = p;
  const restarted = removeLeftovers(file);
  const { backup, counts } = await backUp(file);
  const before = fs.statSync(file);
  const work = workOf(file);
  const removeWork = () => {
    for (const f of [work, ...SIDE.map((s) => work + s), `${work}.snapshot`]) fs.rmSync(f, { force: true });
  };
  try {
    await p.onPhase?.('backed-up');
    fs.copyFileSync(backup, work);
    await buildAdopted(work, p, backup, counts, before.mtime);
    fsyncFile(work);
    await p.onPhase?.('converted');
    // The desktop app must stay closed throughout: a file written meanwhile is not swapped away.
    const now = fs.statSync(file);
    const busy = SIDE.filter((s) => s !== '-shm' && fs.existsSync(file + s) && fs.statSync(file + s).size > 0);
    if (now.size !== before.size || now.mtimeMs !== before.mtimeMs || busy.length > 0) {
      throw new SyncError(
        'LOCAL_FILE_CHANGED',
        `${file} was written while it was being adopted (is the desktop app open?); nothing was changed. Close the app and run adopt again.`,
      );
    }
  } catch (err) {
    removeWork();
    throw err;
  }
  for (const s of SIDE) fs.rmSync(file + s, { force: true });
  fs.renameSync(work, file);
  fsyncDir(path.dirname(file));
  for (const s of SIDE) fs.rmSync(work + s, { force: true });
  await p.onPhase?.('swapped');
  return restarted;
}

// ---------------------------------------------------------------- the adopted copy

/** A legacy table of the file that the master syncs, as found before it is converted. */
interface LegacyTable {
  info: TableInfo;
  /** The old app's columns, lower-cased. */
  columns: Set<string>;
  /** Its references to synced tables (the old app's REFERENCES clauses): column (as the master names it) → table. */
  references: { column: string; table: string }[];
  /** Its AUTOINCREMENT counter; null when it has none. */
  seqLimit: number | null;
}

function readLegacy(db: Database.Database, tables: TableInfo[]): LegacyTable[] {
  const byLower = new Map(tables.map((t) => [t.name.toLowerCase(), t]));
  const names = db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'table'`).all() as { name: string; sql: string | null }[];
  const hasSequence = names.some((n) => n.name === 'sqlite_sequence');
  const out: LegacyTable[] = [];
  for (const t of tables) {
    const found = names.find((n) => n.name === t.name);
    if (!found) continue;
    const columns = new Set((db.prepare(`PRAGMA table_info(${q(t.name)})`).all() as { name: string }[]).map((c) => c.name.toLowerCase()));
    const masterCols = new Map(t.columns.map((c) => [c.name.toLowerCase(), c.name]));
    const references = (db.prepare(`PRAGMA foreign_key_list(${q(t.name)})`).all() as { table: string; from: string; to: string | null }[])
      .filter((f) => byLower.has(f.table.toLowerCase()) && (f.to === null || f.to.toLowerCase() === 'id'))
      .map((f) => ({ column: masterCols.get(f.from.toLowerCase()) ?? f.from, table: byLower.get(f.table.toLowerCase())!.name }));
    let seqLimit: number | null = null;
    if (/\bAUTOINCREMENT\b/i.test(found.sql ?? '')) {
      seqLimit = hasSequence
        ? ((db.prepare('SELECT seq FROM sqlite_sequence WHERE name = ?').pluck().get(t.name) as number | undefined) ?? 0)
        : 0;
    }
    out.push({ info: t, columns, references, seqLimit });
  }
  return out;
}

async function buildAdopted(
  work: string,
  p: AdoptParams & { file: string; trust: ServerTrust | undefined },
  backup: string,
  counts: Record<string, number>,
  fileTime: Date,
): Promise<void> {
  const db = new Database(work, { fileMustExist: true });
  try {
    // The old app's REFERENCES clauses must not stop its tables being rebuilt (the master's DDL has none).
    db.pragma('foreign_keys = OFF');
    const store = new LocalStore(db);
    const now = p.clock ?? (() => new Date());
    const hostName = (p.hostName ?? process.env.CACPQ_HOST_NAME ?? os.hostname()).slice(0, 255);
    const remote = new Remote(store, { ...p, hostName }, now);
    const clientId = p.clientId ?? `ws-${randomUUID()}`;
    store.setState('server', p.server.replace(/\/$/, ''));
    store.setState('token', p.token);
    store.setState('client_id', clientId);
    store.setState('file_id', randomUUID());
    const info = await remote.info();
    const legacy = readLegacy(db, info.tables);
    if (legacy.length === 0) {
      throw new SyncError(
        'NOT_A_WORKSTATION_FILE',
        `${p.file} has none of the tables the master syncs (${info.tables.map((t) => t.name).join(', ')}); it is not the desktop app's database. Nothing was changed.`,
      );
    }
    // The file's last SMB sync: the latest synced_at of any of its tables.
    const lastSync =
      legacy
        .filter((t) => t.columns.has('synced_at'))
        .map(
          (t) =>
            db
              .prepare(`SELECT MAX(julianday(synced_at)) FROM ${q(t.info.name)}`)
              .pluck()
              .get() as number | null,
        )
        .reduce<number | null>((m, v) => (v !== null && (m === null || v > m) ? v : m), null) ?? null;

    const { data, headers } = await remote.snapshot({ clientId, syncId: randomUUID() });
    const snapshotFile = `${work}.snapshot`;
    fs.writeFileSync(snapshotFile, data);
    await p.onPhase?.('downloaded');
    db.prepare('ATTACH DATABASE ? AS snap').run(snapshotFile);
    let tables: AdoptTableReport[] = [];
    try {
      db.transaction(() => {
        const localOnly = new Map<string, string[]>();
        const adopted = new Map<string, number>();
        const oldTriggers: string[] = [];
        for (const t of legacy) {
          const r = convertLegacyTable(db, t.info.name, t.info.ddl);
          localOnly.set(t.info.name, r.localOnly);
          adopted.set(t.info.name, r.rows);
          oldTriggers.push(...r.triggers);
        }
        installLocalSchema(db, info.tables);
        tables = store.applying(() =>
          reconcile(db, info.tables, legacy, { lastSync, fileTime: fileTime.toISOString(), localOnly, adopted }),
        );
        // The old app's own triggers come back once the reconciliation's writes are done: taking the
        // file over is not an edit of the app's (its side tables stay as they were).
        for (const sql of oldTriggers) db.exec(sql);
        const snapInfo = Object.fromEntries(
          (db.prepare('SELECT key, value FROM snap.snapshot_info').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]),
        );
        const meta = checkAnswer(
          SnapshotMetaAnswer,
          { generation: snapInfo.generation ?? headers.get('x-generation'), cursor: snapInfo.last_seq ?? headers.get('x-snapshot-seq') },
          'GET /api/v1/sync/snapshot',
        );
        store.setState('generation', meta.generation);
        store.setState('cursor', meta.cursor);
        store.setState('tables', JSON.stringify(info.tables));
        store.setState('interval_minutes', String(info.syncIntervalMinutes));
        store.setState('max_body_bytes', String(info.maxBodyBytes ?? 0));
        store.setState('features', JSON.stringify(info.features ?? []));
        setAdoptState(db, REPORT_KEY, JSON.stringify({ backup, clientId, generation: meta.generation, tables }));
        setAdoptState(db, STATUS_KEY, 'pushing');
      })();
    } finally {
      db.exec('DETACH DATABASE snap');
      fs.rmSync(snapshotFile, { force: true });
    }
    // Verified before it replaces anything: sound, the tables the master does not sync exactly as they were.
    const check = integrity(db);
    if (check !== 'ok')
      throw new SyncError('ADOPT_FAILED', `The adopted copy of ${p.file} failed its integrity check (${check}); nothing was changed.`);
    const synced = new Set(info.tables.map((t) => t.name));
    const after = countRows(db);
    for (const [t, n] of Object.entries(counts)) {
      if (!synced.has(t) && after[t] !== n)
        throw new SyncError('ADOPT_FAILED', `${t} has ${after[t]} rows in the adopted copy, ${n} in ${p.file}; nothing was changed.`);
    }
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
}

function setAdoptState(db: Database.Database, key: string, value: string): void {
  db.prepare('INSERT INTO _sync_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
}

interface LocalRow {
  id: string;
  synced: string | null;
  changed_here: number | null;
  changed_at: string | null;
  on_master: number;
  m_seq: number | null;
  changed_on_master: number | null;
  created_differs: number;
  deleted_here: number;
  diff: string;
}

/**
 * Every row of every adopted table against the master's (the snapshot, attached as `snap`): see
 * {@link decideRow} and {@link deletedHere}. Changes are queued in the outbox as the triggers would
 * have queued them, with the edit's own time (`updated_at`) so the server's last-write-wins compares
 * real edit times; then the master's rows are written wherever nothing is queued. Runs with change
 * capture off, inside the copy's one transaction.
 */
function reconcile(
  db: Database.Database,
  tables: TableInfo[],
  legacy: LegacyTable[],
  ctx: { lastSync: number | null; fileTime: string; localOnly: Map<string, string[]>; adopted: Map<string, number> },
): AdoptTableReport[] {
  const reports = new Map<string, AdoptTableReport>();
  const colsOf = (schema: 'main' | 'snap', table: string) =>
    new Set((db.prepare(`PRAGMA ${schema}.table_info(${q(table)})`).all() as { name: string }[]).map((c) => c.name));
  const queue = db.prepare(
    `INSERT INTO _sync_outbox (table_name, row_id, op, base_version, changed, changed_at) VALUES (?, ?, ?, ?, ?, COALESCE(?, ?))`,
  );
  const decided = new Map<
    string,
    { rows: (LocalRow & { decision: RowDecision })[]; cols: string[]; absent: { id: string; changed: number | null; seq: number }[] }
  >();

  // 1. Each row's fate, against the master as it is and the file as the old app left it.
  for (const t of legacy) {
    const name = t.info.name;
    const local = colsOf('main', name);
    const master = colsOf('snap', name);
    const cols = dataColumns(t.info).filter((c) => local.has(c) && master.has(c));
    const syncKnown = t.columns.has('synced_at');
    const updatedKnown = t.columns.has('updated_at');
    const created = local.has('createdAt') && master.has('createdAt') && t.columns.has('createdat');
    const diff =
      cols.length > 0 ? cols.map((c) => `(CASE WHEN l.${q(c)} IS NOT m.${q(c)} THEN ${lit(`,${c}`)} ELSE '' END)`).join(' || ') : `''`;
    const rows = db
      .prepare(
        `SELECT l.id AS id, ${syncKnown ? 'l.synced_at' : 'NULL'} AS synced,
           ${syncKnown && updatedKnown ? `(l.synced_at IS NULL OR julianday(l.updated_at) > julianday(l.synced_at))` : 'NULL'} AS changed_here,
           strftime('%Y-%m-%dT%H:%M:%fZ', l.updated_at) AS changed_at,
           m.id IS NOT NULL AS on_master, m.server_seq AS m_seq,
           ${syncKnown ? `julianday(COALESCE(m.synced_at, m.updated_at)) > julianday(l.synced_at)` : 'NULL'} AS changed_on_master,
           ${created ? `(l."createdAt" IS NOT NULL AND m."createdAt" IS NOT NULL AND COALESCE(julianday(l."createdAt") <> julianday(m."createdAt"), l."createdAt" <> m."createdAt"))` : '0'} AS created_differs,
           ${local.has('deleted') ? 'COALESCE(l.deleted, 0) <> 0' : '0'} AS deleted_here,
           ${diff} AS diff
         FROM main.${q(name)} l LEFT JOIN snap.${q(name)} m ON m.id = l.id`,
      )
      .all() as LocalRow[];
    const absent = db
      .prepare(
        `SELECT m.id AS id, julianday(COALESCE(m.synced_at, m.updated_at)) AS changed, m.server_seq AS seq
         FROM snap.${q(name)} m WHERE NOT EXISTS (SELECT 1 FROM main.${q(name)} l WHERE l.id = m.id)`,
      )
      .all() as { id: string; changed: number | null; seq: number }[];
    decided.set(name, {
      cols,
      absent,
      rows: rows.map((r) => ({
        ...r,
        decision: decideRow({
          onMaster: r.on_master === 1,
          equal: r.diff === '',
          deletedHere: r.deleted_here === 1,
          syncKnown,
          neverSynced: syncKnown && r.synced === null,
          changedHere: r.changed_here === null ? true : r.changed_here === 1,
          changedOnMaster: r.changed_on_master === null ? true : r.changed_on_master === 1,
          createdDiffers: r.created_differs === 1,
        }),
      })),
    });
    reports.set(name, {
      table: name,
      adopted: ctx.adopted.get(name) ?? 0,
      unchanged: 0,
      tookMaster: 0,
      inserts: 0,
      updates: 0,
      updatesWithoutBase: 0,
      deletes: 0,
      rekeyed: [],
      editedGone: 0,
      removedDeletedOnMaster: 0,
      dropped: 0,
      newFromMaster: 0,
      localOnlyColumns: ctx.localOnly.get(name) ?? [],
      pushed: 0,
      conflicts: 0,
      heldBack: 0,
    });
  }

  // 2. Records the master knows under another id's record move to new ids; the old app's references to them follow.
  for (const t of legacy) {
    const name = t.info.name;
    const report = reports.get(name)!;
    const rekey = db.prepare(`UPDATE main.${q(name)} SET id = ? WHERE id = ?`);
    for (const r of decided.get(name)!.rows) {
      if (r.decision !== 'rekey') continue;
      const to = randomUUID();
      rekey.run(to, r.id);
      report.rekeyed.push({ from: r.id, to });
      r.id = to;
    }
  }
  for (const t of legacy) {
    for (const ref of t.references) {
      const target = reports.get(ref.table);
      if (!target || target.rekeyed.length === 0 || !colsOf('main', t.info.name).has(ref.column)) continue;
      // Only where the reference is this file's own (the row is not the master's, or points elsewhere than the master's does).
      const follow = db.prepare(
        `UPDATE main.${q(t.info.name)} SET ${q(ref.column)} = ? WHERE ${q(ref.column)} = ?
           AND NOT EXISTS (SELECT 1 FROM snap.${q(t.info.name)} m WHERE m.id = main.${q(t.info.name)}.id AND m.${q(ref.column)} IS main.${q(t.info.name)}.${q(ref.column)})`,
      );
      for (const k of target.rekeyed) follow.run(k.to, k.from);
    }
  }

  // 3. The outbox, as the triggers would have filled it.
  for (const t of legacy) {
    const name = t.info.name;
    const report = reports.get(name)!;
    const { rows, cols, absent } = decided.get(name)!;
    const all = cols.join(',');
    const remove = db.prepare(`DELETE FROM main.${q(name)} WHERE id = ?`);
    const setSeq = db.prepare(`UPDATE main.${q(name)} SET server_seq = ? WHERE id = ?`);
    const bases = new Map(
      cols.map((c) => [
        c,
        db.prepare(`INSERT INTO _sync_outbox_base (seq, col, value) SELECT ?, ${lit(c)}, m.${q(c)} FROM snap.${q(name)} m WHERE m.id = ?`),
      ]),
    );
    const put = (id: string, op: 'insert' | 'update' | 'delete', base: number, changed: string, at: string | null) =>
      Number(queue.run(name, id, op, base, changed, at, ctx.fileTime).lastInsertRowid);
    for (const r of rows) {
      const changed = r.diff.split(',').filter(Boolean);
      switch (r.decision) {
        case 'unchanged':
          report.unchanged++;
          break;
        case 'take-master':
          report.tookMaster++;
          break;
        case 'insert':
        case 'rekey':
          put(r.id, 'insert', 0, all, r.changed_at);
          if (r.decision === 'insert') report.inserts++;
          break;
        case 'update': {
          const seq = put(r.id, 'update', r.m_seq!, changed.join(','), r.changed_at);
          for (const c of changed) bases.get(c)!.run(seq, r.id);
          setSeq.run(r.m_seq, r.id);
          report.updates++;
          break;
        }
        case 'update-without-base':
          put(r.id, 'update', 0, changed.join(','), r.changed_at);
          setSeq.run(r.m_seq, r.id);
          report.updates++;
          report.updatesWithoutBase++;
          break;
        case 'delete':
        case 'delete-without-base':
          remove.run(r.id);
          put(r.id, 'delete', r.decision === 'delete' ? r.m_seq! : 0, '', r.changed_at);
          report.deletes++;
          break;
        case 'edited-gone':
          put(r.id, 'update', HAD_MASTER_VERSION, all, r.changed_at);
          setSeq.run(HAD_MASTER_VERSION, r.id);
          report.editedGone++;
          break;
        case 'drop':
          remove.run(r.id);
          report.dropped++;
          break;
        case 'deleted-on-master':
          remove.run(r.id);
          report.removedDeletedOnMaster++;
          break;
      }
    }
    // Master rows this file lacks: deleted here when the file can tell, else they come in below.
    for (const a of absent) {
      if (deletedHere({ id: a.id, masterChanged: a.changed, lastSync: ctx.lastSync, seqLimit: t.seqLimit })) {
        put(a.id, 'delete', a.seq, '', null);
        report.deletes++;
      }
    }
  }

  // 4. The master's rows wherever nothing is queued: equal rows take its version, new ones come in.
  // Columns only this file has are left as they are.
  for (const table of tables) {
    const name = table.name;
    const master = colsOf('snap', name);
    if (master.size === 0) continue;
    const local = colsOf('main', name);
    const cols = table.columns.map((c) => c.name).filter((c) => master.has(c) && local.has(c));
    const queued = `(SELECT row_id FROM _sync_outbox WHERE table_name = ${lit(name)})`;
    const fresh = db
      .prepare(
        `SELECT COUNT(*) FROM snap.${q(name)} m WHERE m.id NOT IN ${queued} AND NOT EXISTS (SELECT 1 FROM main.${q(name)} l WHERE l.id = m.id)`,
      )
      .pluck()
      .get() as number;
    const before = db
      .prepare(`SELECT COUNT(*) FROM main.${q(name)}`)
      .pluck()
      .get() as number;
    db.prepare(
      `INSERT INTO main.${q(name)} (${cols.map(q).join(', ')}) SELECT ${cols.map(q).join(', ')} FROM snap.${q(name)} WHERE id NOT IN ${queued}
       ON CONFLICT(id) DO UPDATE SET ${cols
         .filter((c) => c !== 'id')
         .map((c) => `${q(c)} = excluded.${q(c)}`)
         .join(', ')}`,
    ).run();
    const after = db
      .prepare(`SELECT COUNT(*) FROM main.${q(name)}`)
      .pluck()
      .get() as number;
    if (after !== before + fresh)
      throw new SyncError('ADOPT_FAILED', `${name}: wrote ${after - before} new rows of the master's, expected ${fresh}.`);
    const report = reports.get(name);
    if (report) report.newFromMaster = fresh;
  }
  return [...reports.values()];
}

const lit = (text: string) => `'${text.replace(/'/g, "''")}'`;

// ---------------------------------------------------------------- step 4: the first sync

/** The first sync of the swapped-in file (its outbox holds the changes), then the report. */
async function finish(
  p: AdoptParams & { file: string; trust: ServerTrust | undefined },
  open: OpenClient,
  how: { resumed: boolean; restarted: boolean },
): Promise<AdoptReport> {
  const { file } = p;
  const state = (() => {
    const db = new Database(file, { fileMustExist: true });
    try {
      const rows = db.prepare('SELECT key, value FROM _sync_state').all() as { key: string; value: string | null }[];
      return new Map(rows.map((r) => [r.key, r.value]));
    } finally {
      db.close();
    }
  })();
  const server = state.get('server') ?? '';
  const stored = JSON.parse(state.get(REPORT_KEY) ?? '{}') as Pick<AdoptReport, 'backup' | 'clientId' | 'generation' | 'tables'>;
  const pushes = JSON.parse(state.get(PUSHES_KEY) ?? '{}') as Record<string, Record<string, [pushed: number, conflicts: number]>>;
  const trust: ServerTrust | undefined =
    p.trust ??
    (state.get('tls_fingerprint') || state.get('tls_ca')
      ? {
          ...(state.get('tls_fingerprint') ? { fingerprint: state.get('tls_fingerprint')! } : {}),
          ...(state.get('tls_ca') ? { ca: state.get('tls_ca')! } : {}),
        }
      : undefined);
  const base: typeof fetch = p.fetch ?? (server.startsWith('https:') ? trustedFetch(trust ?? {}) : fetch);
  let client: AdoptedClient | null = null;
  // Each push answer is tallied per table (by its batch id: one resent after a kill counts once) before the SDK writes it here.
  const observed = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const res = await base(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (res.ok && new URL(url).pathname.endsWith('/sync/push')) {
      try {
        const answer = (await res.clone().json()) as PushResponse;
        const tally: Record<string, [number, number]> = {};
        for (const r of answer.results) {
          const t = (tally[r.table] ??= [0, 0]);
          t[0]++;
          if (r.outcome === 'conflict_won' || r.outcome === 'conflict_lost') t[1]++;
        }
        pushes[answer.batchId] = tally;
        if (client) setAdoptState(client.db, PUSHES_KEY, JSON.stringify(pushes));
      } catch {
        // Not an answer to tally (the SDK judges it).
      }
      await p.onPhase?.('pushed');
    }
    return res;
  }) as typeof fetch;
  const { file: _file, server: _server, token: _token, clientId: _clientId, onPhase: _onPhase, ...opts } = p;
  client = open(file, { ...opts, trust: p.trust, fetch: observed });
  try {
    let sync: SyncSummary;
    try {
      sync = await client.syncNow();
    } catch (err) {
      const e = err instanceof SyncError ? err : new SyncError('LOCAL', (err as Error).message);
      throw new SyncError(
        e.code,
        `${file} is adopted, but its first sync failed (${e.message}). Its changes wait in its outbox: run adopt again (or sync) to send them.`,
        e.status,
        e.details,
      );
    }
    const held = client.quarantine();
    const tables = (stored.tables ?? []).map((t) => {
      let pushed = 0;
      let conflicts = 0;
      for (const tally of Object.values(pushes)) {
        pushed += tally[t.table]?.[0] ?? 0;
        conflicts += tally[t.table]?.[1] ?? 0;
      }
      return { ...t, pushed, conflicts, heldBack: held.filter((h) => h.table === t.table).length };
    });
    const report: AdoptReport = {
      file,
      backup: stored.backup,
      clientId: client.db.prepare(`SELECT value FROM _sync_state WHERE key = 'client_id'`).pluck().get() as string,
      generation: sync.generation,
      resumed: how.resumed,
      restarted: how.restarted,
      tables,
      sync,
    };
    setAdoptState(client.db, REPORT_KEY, JSON.stringify({ ...stored, tables }));
    setAdoptState(client.db, STATUS_KEY, 'done');
    return report;
  } finally {
    await client.close();
  }
}
