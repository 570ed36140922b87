import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sqlite3 } from '../harness';
import { counterOf, type Ledger } from './ledger';

export const FILES = ['database/server.db', 'database/generated_numbers.db', 'hub/hub.db'];

/**
 * Copies the master files as a crash left them (main file and WAL, not the shared-memory index)
 * so they can be checked without recovering the originals: the restarted server does that itself.
 */
export function copyCrashState(dataDir: string, to: string): string {
  fs.rmSync(to, { recursive: true, force: true });
  for (const f of FILES) {
    fs.mkdirSync(path.dirname(path.join(to, f)), { recursive: true });
    for (const ext of ['', '-wal']) {
      const src = path.join(dataDir, f + ext);
      if (fs.existsSync(src)) fs.copyFileSync(src, path.join(to, f + ext));
    }
  }
  return to;
}

/** `PRAGMA integrity_check` of every file by the sqlite3 shell; the problems found (none: []). */
export function integrityProblems(dataDir: string): string[] {
  const problems: string[] = [];
  for (const f of FILES) {
    const r = sqlite3(path.join(dataDir, f), 'PRAGMA integrity_check;');
    const out = r.stdout.trim();
    if (r.code !== 0 || out !== 'ok') problems.push(`${f}: ${out || r.stderr.trim()}`);
  }
  return problems;
}

export interface MasterRow {
  id: string;
  amount: number;
  notes: string;
  updated_by: string;
  server_seq: number;
  deleted: number;
}

export interface MasterView {
  lastSeq: number;
  rows: Map<string, MasterRow>;
  /** `sync_batches` of the storm's clients, by batch id. */
  batches: Set<string>;
  numbers: { number: string; created_by: string; status: string }[];
  duplicateNumbers: string[];
  highWater: number;
  maxSequence: number;
  syncLog: { client_id: string; status: string; records_pushed: number; records_pulled: number; error: string | null }[];
}

export function readMaster(dataDir: string, rowPrefix: string): MasterView {
  const open = (f: string) => new Database(path.join(dataDir, f), { fileMustExist: true });
  const server = open(FILES[0]);
  const numbers = open(FILES[1]);
  const hub = open(FILES[2]);
  try {
    const lastSeq = Number((server.prepare(`SELECT value FROM sync_state WHERE key = 'last_seq'`).get() as { value: string }).value);
    const rows = server
      .prepare(`SELECT id, amount, notes, updated_by, server_seq, deleted FROM manual_quotes WHERE id LIKE ? || '%'`)
      .all(rowPrefix) as MasterRow[];
    const batches = server.prepare("SELECT batch_id FROM sync_batches WHERE client_id LIKE ? || '%'").all(rowPrefix) as {
      batch_id: string;
    }[];
    const syncLog = server
      .prepare(`SELECT client_id, status, records_pushed, records_pulled, error FROM sync_log WHERE client_id LIKE ? || '%' ORDER BY id`)
      .all(rowPrefix) as MasterView['syncLog'];
    const issued = numbers
      .prepare(`SELECT number, created_by, status FROM generated_numbers WHERE created_by LIKE ? || '%' AND duplicate_of IS NULL`)
      .all(rowPrefix) as MasterView['numbers'];
    const dup = numbers.prepare('SELECT number FROM generated_numbers GROUP BY number HAVING COUNT(*) > 1').all() as { number: string }[];
    const maxSequence =
      (numbers.prepare(`SELECT MAX(sequence) AS m FROM generated_numbers WHERE type = 'quote'`).get() as { m: number | null }).m ?? 0;
    const highWater =
      (hub.prepare(`SELECT MAX(sequence) AS m FROM number_high_water WHERE kind = 'quote'`).get() as { m: number | null }).m ?? 0;
    return {
      lastSeq,
      rows: new Map(rows.map((r) => [r.id, r])),
      batches: new Set(batches.map((b) => b.batch_id)),
      numbers: issued,
      duplicateNumbers: dup.map((d) => d.number),
      highWater,
      maxSequence,
      syncLog,
    };
  } finally {
    server.close();
    numbers.close();
    hub.close();
  }
}

/**
 * Holds the master against the ledger; returns every violation as a sentence (none: []).
 * - every acknowledged batch is in the master; a batch is applied whole or not at all;
 * - each row holds the values of the latest applied change of it, and nothing else;
 * - the server sequence grew by exactly one per change of an applied batch (nothing applied twice);
 * - every number a workstation received is in generated_numbers, none twice.
 */
export function violations(m: MasterView, ledger: Ledger, baseSeq: number, userOf: (ws: string) => string): string[] {
  const out: string[] = [];
  const applied = [...ledger.sent.values()].filter((b) => m.batches.has(b.batchId));
  for (const id of m.batches) if (!ledger.sent.has(id)) out.push(`batch ${id} is in the master but was never sent`);
  for (const id of ledger.acked) if (!m.batches.has(id)) out.push(`acknowledged batch ${id} is missing from the master`);
  // The newest applied marker of each row is what the row must hold.
  const newest = new Map<string, { marker: string; counter: number; ws: string }>();
  for (const b of applied) {
    for (const c of b.changes) {
      const cur = newest.get(c.id);
      if (!cur || c.counter > cur.counter) newest.set(c.id, { marker: c.marker, counter: c.counter, ws: b.ws });
    }
  }
  for (const [id, want] of newest) {
    const row = m.rows.get(id);
    if (!row) out.push(`row ${id} of an applied batch is missing`);
    else if (row.notes !== want.marker || row.amount !== want.counter || row.updated_by !== userOf(want.ws))
      out.push(`row ${id} holds ${row.notes}/${row.amount}/${row.updated_by}, expected ${want.marker}/${want.counter}/${userOf(want.ws)}`);
  }
  for (const [id, row] of m.rows) {
    if (!newest.has(id)) out.push(`row ${id} (${row.notes}) comes from no applied batch: half of a batch was written`);
    if (row.deleted !== 0) out.push(`row ${id} is deleted`);
  }
  // Not applied: none of its changes may show (the only way a marker appears is by its batch).
  for (const b of ledger.sent.values()) {
    if (m.batches.has(b.batchId)) continue;
    for (const c of b.changes)
      if (m.rows.get(c.id)?.notes === c.marker) out.push(`batch ${b.batchId} is not recorded but ${c.marker} is in the master`);
  }
  const changes = applied.reduce((n, b) => n + b.changes.length, 0);
  if (m.lastSeq - baseSeq !== changes)
    out.push(`the server sequence moved ${m.lastSeq - baseSeq} for ${changes} applied changes: something was applied twice or lost`);
  for (const [n, ws] of ledger.numbers) {
    const row = m.numbers.find((x) => x.number === n);
    if (!row) out.push(`number ${n} given to ${ws} is not in generated_numbers`);
    else if (row.created_by !== userOf(ws)) out.push(`number ${n} given to ${ws} is recorded for ${row.created_by}`);
  }
  if (ledger.numbersTwice.length > 0) out.push(`numbers issued twice: ${ledger.numbersTwice.join(', ')}`);
  if (m.duplicateNumbers.length > 0) out.push(`generated_numbers holds duplicates: ${m.duplicateNumbers.join(', ')}`);
  if (m.highWater < m.maxSequence) out.push(`the high-water mark ${m.highWater} is below the highest number ${m.maxSequence}`);
  return out;
}

export { counterOf };
