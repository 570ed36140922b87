import Database from 'better-sqlite3';
import { type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MASTER_INDEXES_V1, MASTER_TABLES_V1, applyPragmas } from '@cacpq/db';
import { SyncClient } from '@cacpq/sync-client';
import { repoRoot, startBenchServer } from './server-process';

export interface SyncBenchOptions {
  rows: number;
  samples: number;
  out: (line: string) => void;
}

export interface SyncBenchResult {
  rows: number;
  rawRowsPerSec: number;
  pushRowsPerSec: number;
  pullRowsPerSec: number;
  pushRatio: number;
  pullRatio: number;
  p50Ms: number;
  p95Ms: number;
}

const BATCH = 2000;

function componentRow(i: number): Record<string, string | number | null> {
  return {
    id: `bench-${String(i).padStart(7, '0')}`,
    sku: `BEN-${i}`,
    name: `Bench component ${i}`,
    description: 'Centrifugal pump, stainless, 3 kW',
    category: ['Pumps', 'Valves', 'Motors', 'Sensors'][i % 4],
    vendor: ['Grundfos', 'Siemens', 'ABB', 'Festo'][i % 4],
    manufacturer: null,
    partNumber: `PN${100000 + i}`,
    unitCost: (i % 1000) + 0.5,
    listPrice: (i % 1000) * 1.4 + 0.5,
    unit: 'ea',
    leadTimeDays: i % 60,
    active: 1,
    notes: null,
    createdAt: '2026-01-01 00:00:00.000',
  };
}

/** The baseline: plain better-sqlite3 upserts into the master's schema with the master's pragmas. */
function rawUpsertRate(dir: string, rows: number, name: string): number {
  const db = new Database(path.join(dir, `${name}.db`));
  applyPragmas(db, { busyTimeoutMs: 5000, exclusive: true });
  db.exec(MASTER_TABLES_V1.components);
  for (const sql of MASTER_INDEXES_V1.filter((s) => / ON components\(/.test(s))) db.exec(sql);
  const cols = [...Object.keys(componentRow(0)), 'updated_at', 'updated_by', 'synced_at', 'server_seq', 'deleted'];
  const upsert = db.prepare(
    `INSERT INTO components (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})
     ON CONFLICT(id) DO UPDATE SET ${cols
       .filter((c) => c !== 'id')
       .map((c) => `"${c}" = excluded."${c}"`)
       .join(', ')}`,
  );
  const started = process.hrtime.bigint();
  for (let start = 0; start < rows; start += BATCH) {
    db.transaction(() => {
      for (let i = start; i < Math.min(rows, start + BATCH); i++) {
        upsert.run({
          ...componentRow(i),
          updated_at: '2026-01-01 00:00:00.000',
          updated_by: 'bench',
          synced_at: null,
          server_seq: i + 1,
          deleted: 0,
        });
      }
    })();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  db.close();
  return rows / seconds;
}

async function deviceToken(url: string): Promise<string> {
  const login = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: 'bench-admin-password' }),
  });
  const cookie = login.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const { csrfToken } = (await login.json()) as { csrfToken: string };
  const headers = { Cookie: cookie, 'X-CSRF-Token': csrfToken, 'Content-Type': 'application/json' };
  await fetch(`${url}/api/v1/users`, { method: 'POST', headers, body: JSON.stringify({ username: 'bench', role: 'user' }) });
  const res = await fetch(`${url}/api/v1/users/bench/tokens`, { method: 'POST', headers, body: JSON.stringify({ device: 'bench' }) });
  return ((await res.json()) as { token: string }).token;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * `cacpq bench sync`: pushes then pulls N component rows through the real HTTP protocol (a real
 * server process on loopback, the SDK in this process) and prints rows/s beside raw
 * better-sqlite3 upserts measured in the same run, as ratios; then p50/p95 of a 10-row sync.
 */
export async function benchSync(opts: SyncBenchOptions): Promise<SyncBenchResult> {
  const root = repoRoot();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cacpq-bench-'));
  const { out } = opts;
  let proc: ChildProcess | null = null;
  const clients: SyncClient[] = [];
  try {
    out(`cacpq bench sync: ${opts.rows} component rows, server and workstations on loopback, this machine, one run`);
    // The machine is shared and noisy: the baseline is measured before and after the protocol runs.
    const rawBefore = rawUpsertRate(dir, opts.rows, 'raw-before');
    const server = await startBenchServer(root, path.join(dir, 'data'), 30_000);
    proc = server.proc;
    const token = await deviceToken(server.url);
    const pusher = await SyncClient.init({ file: path.join(dir, 'push.db'), server: server.url, token, clientId: 'bench-push' });
    const puller = await SyncClient.init({ file: path.join(dir, 'pull.db'), server: server.url, token, clientId: 'bench-pull' });
    clients.push(pusher, puller);

    // The desktop app's writes (not timed): captured by the triggers into the outbox.
    const cols = Object.keys(componentRow(0));
    const insert = pusher.db.prepare(
      `INSERT INTO components (${cols.map((c) => `"${c}"`).join(', ')}, updated_at, server_seq, deleted) VALUES (${cols.map((c) => `@${c}`).join(', ')}, '2026-01-01 00:00:00.000', 0, 0)`,
    );
    pusher.db.transaction(() => {
      for (let i = 0; i < opts.rows; i++) insert.run(componentRow(i));
    })();

    let pushEnd = 0n;
    pusher.on('progress', (p) => {
      if (p.phase === 'push') pushEnd = process.hrtime.bigint();
    });
    const pushStart = process.hrtime.bigint();
    const pushed = await pusher.syncNow();
    const pushRowsPerSec = pushed.pushed / (Number(pushEnd - pushStart) / 1e9);

    const pullStart = process.hrtime.bigint();
    const pulled = await puller.syncNow();
    const pullRowsPerSec = pulled.pulled / (Number(process.hrtime.bigint() - pullStart) / 1e9);
    const held = (puller.db.prepare('SELECT COUNT(*) AS n FROM components').get() as { n: number }).n;
    if (held !== opts.rows) throw new Error(`the pulling workstation holds ${held} rows, expected ${opts.rows}`);

    const latencies: number[] = [];
    const touch = pusher.db.prepare(
      `UPDATE components SET listPrice = listPrice + 1 WHERE id IN (SELECT id FROM components ORDER BY random() LIMIT 10)`,
    );
    for (let i = 0; i < opts.samples; i++) {
      touch.run();
      const t0 = process.hrtime.bigint();
      const s = await pusher.syncNow();
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (s.pushed !== 10) throw new Error(`a 10-row sync pushed ${s.pushed} rows`);
    }
    latencies.sort((a, b) => a - b);
    const rawAfter = rawUpsertRate(dir, opts.rows, 'raw-after');
    const rawRowsPerSec = (rawBefore + rawAfter) / 2;
    const result: SyncBenchResult = {
      rows: opts.rows,
      rawRowsPerSec,
      pushRowsPerSec,
      pullRowsPerSec,
      pushRatio: pushRowsPerSec / rawRowsPerSec,
      pullRatio: pullRowsPerSec / rawRowsPerSec,
      p50Ms: percentile(latencies, 50),
      p95Ms: percentile(latencies, 95),
    };
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(9);
    out('');
    out(
      `  raw better-sqlite3 upsert (master schema and pragmas, ${BATCH}-row transactions)  ${fmt(rawRowsPerSec)} rows/s   1.00 (baseline: mean of ${Math.round(rawBefore)} before and ${Math.round(rawAfter)} after)`,
    );
    out(
      `  push through the sync protocol (HTTP, validation, conflicts, outbox)      ${fmt(pushRowsPerSec)} rows/s   ${result.pushRatio.toFixed(2)} of baseline (target >= 0.50)`,
    );
    out(
      `  pull through the sync protocol (HTTP pages, apply into the local file)    ${fmt(pullRowsPerSec)} rows/s   ${result.pullRatio.toFixed(2)} of baseline (target >= 0.50)`,
    );
    out(
      `  a sync carrying 10 changed rows, ${opts.samples} samples: p50 ${result.p50Ms.toFixed(1)} ms, p95 ${result.p95Ms.toFixed(1)} ms (target p95 < 50 ms)`,
    );
    return result;
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    if (proc && proc.exitCode === null) {
      proc.kill('SIGTERM');
      await new Promise((r) => proc!.once('exit', r));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
