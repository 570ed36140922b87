import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { MIGRATIONS_TABLE } from '../store';

/**
 * Heavy reads and rewrites of whole database files (integrity checks, row counts, VACUUM,
 * REINDEX) run on a worker thread with a connection of its own, so the server keeps answering
 * while they run. The worker's source is plain JavaScript evaluated in the worker: it runs the
 * same from the compiled server and from the test runner.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const task = workerData.task;
const out = { problem: null, check: null, foreignKeyProblems: 0, rowCounts: {}, tables: [], state: {}, migrations: [], pageSize: 0, pageCount: 0, results: [] };
try {
  const db = new Database(task.file, { fileMustExist: true, timeout: task.busyTimeoutMs || 5000 });
  try {
    // Exclusive: nothing else opens the file meanwhile, and no -shm file is left beside it.
    db.pragma('locking_mode = EXCLUSIVE');
    if (task.journalMode) db.pragma('journal_mode = ' + task.journalMode);
    if (task.synchronous) db.pragma('synchronous = ' + task.synchronous);
    for (const sql of task.exec || []) {
      const started = Date.now();
      db.exec(sql);
      out.results.push({ sql, ms: Date.now() - started });
    }
    if (task.check) {
      out.check = db.pragma(task.check).map((r) => Object.values(r)[0]).join('; ');
      if (out.check !== 'ok') out.problem = task.check + ' reported: ' + out.check.slice(0, 2000);
    }
    if (task.foreignKeys) {
      const rows = db.pragma('foreign_key_check');
      out.foreignKeyProblems = rows.length;
      if (rows.length && !out.problem) out.problem = 'foreign_key_check found ' + rows.length + ' rows pointing at missing rows (first in table ' + rows[0].table + ')';
    }
    if (task.describe) {
      out.pageSize = db.pragma('page_size', { simple: true });
      out.pageCount = db.pragma('page_count', { simple: true });
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all().map((r) => r.name);
      out.tables = tables;
      for (const t of tables) out.rowCounts[t] = db.prepare('SELECT COUNT(*) AS n FROM "' + t.replace(/"/g, '""') + '"').get().n;
      if (tables.includes('sync_state')) for (const r of db.prepare('SELECT key, value FROM sync_state').all()) out.state[r.key] = r.value;
      if (tables.includes(workerData.migrationsTable)) out.migrations = db.prepare('SELECT name FROM "' + workerData.migrationsTable + '" ORDER BY id').all().map((r) => r.name);
    }
    if (task.checkpoint) db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
} catch (err) {
  out.problem = (err && err.code === 'SQLITE_NOTADB') ? 'it is not an SQLite database (or its header is damaged)' : String(err && err.message || err);
}
parentPort.postMessage(out);
`;

export interface DbWorkerTask {
  file: string;
  /** Set before anything else (e.g. `DELETE` to turn a fresh backup into one self-contained file). */
  journalMode?: 'DELETE' | 'WAL';
  synchronous?: 'FULL' | 'NORMAL';
  /** SQL run in order (VACUUM, ANALYZE, REINDEX, ...). */
  exec?: string[];
  check?: 'quick_check' | 'integrity_check';
  foreignKeys?: boolean;
  /** Row counts per table, sync_state, applied migrations, page size and count. */
  describe?: boolean;
  checkpoint?: boolean;
  busyTimeoutMs?: number;
}

export interface DbWorkerResult {
  /** Null when everything asked for passed; otherwise one sentence. */
  problem: string | null;
  check: string | null;
  foreignKeyProblems: number;
  rowCounts: Record<string, number>;
  tables: string[];
  state: Record<string, string>;
  migrations: string[];
  pageSize: number;
  pageCount: number;
  results: { sql: string; ms: number }[];
}

/** Runs one task on a fresh worker thread; `onTick` is called every 250 ms while it runs. */
export function runDbWorker(task: DbWorkerTask, onTick?: () => void): Promise<DbWorkerResult> {
  if (!fs.existsSync(task.file)) {
    return Promise.resolve(emptyResult(`the file ${task.file} does not exist`));
  }
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { task, sqlite: require.resolve('better-sqlite3'), migrationsTable: MIGRATIONS_TABLE },
    });
    const timer = onTick ? setInterval(onTick, 250) : null;
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      if (timer) clearInterval(timer);
      fn();
    };
    worker.once('message', (m: DbWorkerResult) => finish(() => resolve(m)));
    worker.once('error', (err) => finish(() => reject(err)));
    worker.once('exit', (code) => finish(() => reject(new Error(`the database worker stopped (exit code ${code}) before answering`))));
  });
}

function emptyResult(problem: string): DbWorkerResult {
  return {
    problem,
    check: null,
    foreignKeyProblems: 0,
    rowCounts: {},
    tables: [],
    state: {},
    migrations: [],
    pageSize: 0,
    pageCount: 0,
    results: [],
  };
}
