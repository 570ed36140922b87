import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type SyncInfoResponse, type TableInfo } from '@cacpq/sync-protocol';
import { SyncClient, SyncError, type SyncSummary } from '@cacpq/sync-client';
import { random, type Random } from './fixture';
import { BENCH_ADMIN_PASSWORD, repoRoot, startBenchServer } from './server-process';

/**
 * `cacpq bench load` and the reliability load suite (e2e/src/reliability-load.e2e-spec.ts):
 * N simulated workstations — each a real SyncClient with its own SQLite file and its own device
 * token, all in this process — edit and sync concurrently against one real server process on
 * loopback for a bounded time. Every sync must succeed or retry to success. At the end every
 * workstation pushes and pulls until quiet, the server stops, and its files are read directly:
 * every workstation must equal the master, every edit must be in the master or kept in a recorded
 * conflict (or knowingly overwritten or deleted by a later edit), every quote number distinct.
 */

/** A running server the load runs against (started by the bench or by an e2e harness). */
export interface LoadServer {
  url: string;
  pid: number;
  dataDir: string;
  adminPassword: string;
  /** Graceful stop (SIGTERM); the checks read the server's files after it. */
  stop(): Promise<unknown>;
}

export interface LoadOptions {
  workstations: number;
  seconds: number;
  /** Mean pause between a workstation's syncs; each pause is drawn from 0.5×–1.5× of it. */
  intervalMs?: number;
  seed?: number;
  /** Also connect each workstation's socket (SyncClient.start()): every push pokes the others to pull at once. */
  pokes?: boolean;
  /** Where the workstation files go (kept after the run for further checks). */
  dir: string;
  out?: (line: string) => void;
}

export interface LoadFigures {
  workstations: number;
  users: number;
  seconds: number;
  /** Every successful sync, timed or after a poke. */
  syncs: number;
  /** The syncs the workstations' own schedule started during the load (the latency sample). */
  timedSyncs: number;
  pokes: boolean;
  syncsPerSecond: number;
  /** Syncs that failed at first and succeeded when tried again (counted once per failed attempt). */
  syncRetries: number;
  /** Syncs that never succeeded: must be 0. */
  failedSyncs: number;
  /** HTTP requests the SDK retried itself (network errors, 502/503/504). */
  requestRetries: number;
  requests: number;
  /** Answers by status class other than 2xx, e.g. {"409": 3}. */
  errorStatuses: Record<string, number>;
  errors: string[];
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** Time to the answer's headers per request kind (info, push, pull, numbers), p50/p95/p99 in ms. */
  requestMs: Record<string, { count: number; p50: number; p95: number; p99: number }>;
  /** The server's own `sync_log.duration_ms` of the run's syncs. */
  serverDurationMs: { p50: number; p95: number; p99: number; max: number };
  edits: { updates: number; inserts: number; deletes: number; duringSync: number; hotRowEdits: number };
  numbersAllocated: number;
  pushed: number;
  pulled: number;
  conflictsReported: number;
  conflictsRecorded: number;
  drainRounds: number;
  server: {
    rssStartMb: number;
    rssPeakMb: number;
    rssMeanMb: number;
    rssEndMb: number;
    cpuMeanPct: number;
    cpuPeakPct: number;
    samples: number;
    /** The highest RSS of each minute of the load, in MB: flat once warm, or growing. */
    rssByMinuteMb: number[];
  };
  /** The master after the run: server.db's size, and the idempotency records of the pushes (`sync_batches`). */
  master: { fileMb: number; syncBatches: number; syncBatchesMb: number; syncLogRows: number };
  /** This process (the workstations): CPU in % of one core over the load, and its event loop's delay. */
  workstationsProcess: { cpuPct: number; eventLoopDelayP50Ms: number; eventLoopDelayP99Ms: number };
  /** The machine's 1-minute load average at the start and end of the load, and its cores. */
  machine: { loadStart: number; loadEnd: number; cores: number };
}

export interface LoadVerdict {
  /** Workstations whose synced tables differ from the master, with the first differences. */
  mismatches: string[];
  /** Edits neither in the master, nor recorded in a conflict, nor knowingly replaced. */
  lost: string[];
  /** Outbox entries or unanswered batches left on a workstation after the final round. */
  pendingLeft: string[];
  duplicateNumbers: string[];
  missingNumbers: string[];
  integrity: string;
  masterLiveRows: number;
  masterTombstones: number;
  editsChecked: number;
  serverAliveAtEnd: boolean;
}

export interface LoadResult {
  figures: LoadFigures;
  verdict: LoadVerdict;
  /** Workstation files (closed), for checks of their own. */
  files: string[];
  tables: TableInfo[];
}

type Value = string | number | null;
type Row = Record<string, Value>;

/** One local edit of one column, as the workstation made it (values are unique per edit). */
interface LedgerEntry {
  ws: string;
  kind: 'insert' | 'update' | 'delete';
  table: string;
  id: string;
  column: string;
  /** The column's value just before the edit (undefined for inserts). */
  old?: Value;
  /** The value written (undefined for deletes). */
  value?: Value;
}

/** The columns a workstation edits, by table; text columns get a unique tag, number columns a unique amount. */
const EDITABLE: Record<string, { weight: number; text: string[]; num: string[] }> = {
  components: { weight: 35, text: ['name', 'description', 'notes', 'vendor'], num: ['listPrice', 'unitCost'] },
  quotes: { weight: 30, text: ['title', 'notes', 'status'], num: ['discountPct', 'total'] },
  projects: { weight: 20, text: ['name', 'notes', 'salesperson', 'status'], num: [] },
  customers: { weight: 15, text: ['contactName', 'city', 'notes', 'phone'], num: [] },
};
const EDITED_TABLES = Object.keys(EDITABLE);
const SYNC_COLUMNS = new Set(['id', 'updated_at', 'updated_by', 'synced_at', 'server_seq', 'deleted']);
/** Rows every workstation edits: the source of real conflicts (same row, often the same field). */
const HOT_ROWS_PER_TABLE = 4;

interface Workstation {
  index: number;
  name: string;
  file: string;
  client: SyncClient;
  r: Random;
  counter: number;
  inserted: { table: string; id: string }[];
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A signed-in admin (session cookie + CSRF token); a failure throws with the server's sentence. */
async function admin(url: string, password: string) {
  const login = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password }),
  });
  if (login.status !== 200) throw new Error(`admin sign-in failed: ${login.status} ${await login.text()}`);
  const cookie = login.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const { csrfToken } = (await login.json()) as { csrfToken: string };
  return async <T>(method: string, p: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}${p}`, {
      method,
      headers: { Cookie: cookie, 'X-CSRF-Token': csrfToken, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p} answered ${res.status}: ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  };
}

/** RSS and CPU of the server process from /proc, sampled every second. */
class ProcessSampler {
  private readonly ticksPerSecond: number;
  private timer: NodeJS.Timeout | null = null;
  private last: { ticks: number; at: number } | null = null;
  readonly rssMb: number[] = [];
  readonly at: number[] = [];
  readonly cpuPct: number[] = [];

  constructor(private readonly pid: number) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    this.ticksPerSecond = Number(r.stdout?.trim()) || 100;
  }

  /** Resident memory now, in MB (VmRSS of /proc/<pid>/status). */
  rss(): number {
    const status = fs.readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN);
    return kb / 1024;
  }

  /** utime + stime of /proc/<pid>/stat, in clock ticks (fields 14 and 15; the name may hold spaces). */
  private ticks(): number {
    const stat = fs.readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    return Number(fields[11]) + Number(fields[12]);
  }

  sample(): void {
    try {
      const now = { ticks: this.ticks(), at: Date.now() };
      this.rssMb.push(this.rss());
      this.at.push(now.at);
      if (this.last && now.at > this.last.at) {
        this.cpuPct.push(((now.ticks - this.last.ticks) / this.ticksPerSecond / ((now.at - this.last.at) / 1000)) * 100);
      }
      this.last = now;
    } catch {
      // The process is gone: the run notices through its requests.
    }
  }

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const round1 = (x: number) => Math.round(x * 10) / 10;

/** Runs the load against `server`, stops it, and checks its files. */
export async function runLoad(server: LoadServer, opts: LoadOptions): Promise<LoadResult> {
  const out = opts.out ?? (() => undefined);
  const intervalMs = opts.intervalMs ?? 300;
  const seed = opts.seed ?? 20261125;
  const call = await admin(server.url, server.adminPassword);

  // A master with realistic data to edit: the demo data at a tenth of its size.
  await call('POST', '/api/v1/demo/seed', { confirm: 'seed-demo', scale: 0.1, months: 1 });
  const info = await call<SyncInfoResponse>('GET', '/api/v1/sync/info');
  const tables = info.tables;

  // People with one to two workstations each; every workstation its own device token.
  const users = Math.max(1, Math.ceil(opts.workstations / 2));
  for (let u = 1; u <= users; u++) await call('POST', '/api/v1/users', { username: `load-u${String(u).padStart(2, '0')}`, role: 'user' });
  const tokens: string[] = [];
  for (let i = 0; i < opts.workstations; i++) {
    const user = `load-u${String((i % users) + 1).padStart(2, '0')}`;
    const issued = await call<{ token: string }>('POST', `/api/v1/users/${user}/tokens`, {
      device: `load-ws${String(i + 1).padStart(2, '0')}`,
    });
    tokens.push(issued.token);
  }

  // Every request of every workstation is counted; those the SDK will retry are counted apart.
  let requests = 0;
  let requestRetries = 0;
  const errorStatuses: Record<string, number> = {};
  const requestMs: Record<string, number[]> = { info: [], push: [], pull: [], numbers: [] };
  const countingFetch: typeof fetch = async (input, init) => {
    requests++;
    const url = String(input);
    const kind = /\/sync\/info/.test(url)
      ? 'info'
      : /\/sync\/push/.test(url)
        ? 'push'
        : /\/sync\/pull/.test(url)
          ? 'pull'
          : /\/numbers/.test(url)
            ? 'numbers'
            : null;
    const t0 = performance.now();
    try {
      const res = await fetch(input, init);
      if (kind) requestMs[kind].push(performance.now() - t0);
      if (!res.ok) errorStatuses[String(res.status)] = (errorStatuses[String(res.status)] ?? 0) + 1;
      if (res.status === 502 || res.status === 503 || res.status === 504) requestRetries++;
      return res;
    } catch (err) {
      requestRetries++;
      errorStatuses.network = (errorStatuses.network ?? 0) + 1;
      throw err;
    }
  };
  const clientOptions = { fetch: countingFetch, maxAttempts: 8, backoffBaseMs: 100, requestTimeoutMs: 60_000 };

  fs.mkdirSync(opts.dir, { recursive: true });
  const stations: Workstation[] = [];
  // Initialised a few at a time (each takes a snapshot), as workstations come online in a morning.
  for (let start = 0; start < opts.workstations; start += 10) {
    const batch = await Promise.all(
      tokens.slice(start, start + 10).map(async (token, k) => {
        const index = start + k;
        const name = `load-ws${String(index + 1).padStart(2, '0')}`;
        const file = path.join(opts.dir, `${name}.db`);
        const client = await SyncClient.init({ file, server: server.url, token, clientId: name, ...clientOptions });
        return { index, name, file, client, r: random(seed + index), counter: 0, inserted: [] } satisfies Workstation;
      }),
    );
    stations.push(...batch);
  }

  const hot = new Map<string, string[]>();
  for (const t of EDITED_TABLES) {
    hot.set(
      t,
      (stations[0].client.db.prepare(`SELECT id FROM "${t}" ORDER BY id LIMIT ?`).all(HOT_ROWS_PER_TABLE) as { id: string }[]).map(
        (r) => r.id,
      ),
    );
  }
  const hotSet = new Set([...hot.entries()].flatMap(([t, ids]) => ids.map((id) => `${t}\u0000${id}`)));

  const ledger: LedgerEntry[] = [];
  const numbers: string[] = [];
  const latencies: number[] = [];
  const errors: string[] = [];
  const edits = { updates: 0, inserts: 0, deletes: 0, duringSync: 0, hotRowEdits: 0 };
  let syncs = 0;
  let syncRetries = 0;
  let failedSyncs = 0;
  let pushed = 0;
  let pulled = 0;
  let conflictsReported = 0;

  const pickTable = (r: Random): string => {
    let x = r.rnd() * 100;
    for (const t of EDITED_TABLES) {
      x -= EDITABLE[t].weight;
      if (x < 0) return t;
    }
    return EDITED_TABLES[0];
  };
  const tag = (ws: Workstation) => `${ws.name}#${++ws.counter}`;
  const amount = (ws: Workstation) => (ws.index + 1) * 1_000_000 + ++ws.counter + 0.25;
  const liveRow = (ws: Workstation, table: string, id: string) =>
    ws.client.db.prepare(`SELECT * FROM "${table}" WHERE id = ?`).get(id) as Row | undefined;

  /** An update of one or two columns of an existing row: a shared hot row a quarter of the time. */
  const update = (ws: Workstation): void => {
    const table = pickTable(ws.r);
    const hotIds = hot.get(table)!;
    let id: string | undefined;
    if (ws.r.rnd() < 0.25) id = ws.r.pick(hotIds);
    else id = (ws.client.db.prepare(`SELECT id FROM "${table}" ORDER BY random() LIMIT 1`).get() as { id: string } | undefined)?.id;
    if (!id) return;
    const row = liveRow(ws, table, id);
    if (!row) return;
    const spec = EDITABLE[table];
    const cols = [...spec.text, ...spec.num];
    const chosen = new Set([ws.r.pick(cols)]);
    if (ws.r.rnd() < 0.3) chosen.add(ws.r.pick(cols));
    const values: Row = {};
    for (const c of chosen) values[c] = spec.num.includes(c) ? amount(ws) : `${c} ${tag(ws)}`;
    const cs = Object.keys(values);
    ws.client.db
      .prepare(`UPDATE "${table}" SET ${cs.map((c) => `"${c}" = ?`).join(', ')} WHERE id = ?`)
      .run(...cs.map((c) => values[c]), id);
    for (const c of cs) ledger.push({ ws: ws.name, kind: 'update', table, id, column: c, old: row[c], value: values[c] });
    edits.updates++;
    if (hotSet.has(`${table}\u0000${id}`)) edits.hotRowEdits++;
  };

  /** A new row; a quote (and some projects) with a number allocated by the server. */
  const insert = async (ws: Workstation): Promise<void> => {
    const table = pickTable(ws.r);
    const id = `${ws.name}-${table}-${++ws.counter}`;
    const t = tag(ws);
    const values: Row = { id, notes: `notes ${t}` };
    if (table === 'customers') Object.assign(values, { name: `Customer ${t}`, type: ws.r.pick(['OEM', 'End User']), city: `city ${t}` });
    if (table === 'components')
      Object.assign(values, { sku: `SKU-${t}`, name: `Component ${t}`, category: 'Pumps', listPrice: amount(ws), unitCost: amount(ws) });
    if (table === 'projects') {
      Object.assign(values, { name: `Project ${t}`, status: 'open', customer: `Customer of ${t}` });
      if (ws.r.rnd() < 0.5) values.projectNumber = await allocate(ws, 'project');
    }
    if (table === 'quotes') {
      Object.assign(values, { title: `Quote ${t}`, status: 'draft', total: amount(ws), currency: 'CAD' });
      values.quoteNumber = await allocate(ws, 'quote');
    }
    const cs = Object.keys(values);
    ws.client.db
      .prepare(`INSERT INTO "${table}" (${cs.map((c) => `"${c}"`).join(', ')}) VALUES (${cs.map(() => '?').join(', ')})`)
      .run(...cs.map((c) => values[c]));
    for (const c of cs) if (c !== 'id') ledger.push({ ws: ws.name, kind: 'insert', table, id, column: c, value: values[c] });
    ws.inserted.push({ table, id });
    edits.inserts++;
  };

  /** A delete: of a row this workstation created, or of any row that is not a shared hot row. */
  const remove = (ws: Workstation): void => {
    let target: { table: string; id: string } | undefined;
    if (ws.inserted.length > 0 && ws.r.rnd() < 0.5) target = ws.inserted.splice(ws.r.int(0, ws.inserted.length - 1), 1)[0];
    else {
      const table = pickTable(ws.r);
      const hotIds = hot.get(table)!;
      const found = ws.client.db
        .prepare(`SELECT id FROM "${table}" WHERE id NOT IN (${hotIds.map(() => '?').join(', ')}) ORDER BY random() LIMIT 1`)
        .get(...hotIds) as { id: string } | undefined;
      if (found) target = { table, id: found.id };
    }
    if (!target) return;
    const row = liveRow(ws, target.table, target.id);
    if (!row) return;
    ws.client.db.prepare(`DELETE FROM "${target.table}" WHERE id = ?`).run(target.id);
    // The delete knowingly replaces every value the row held.
    for (const c of Object.keys(row))
      if (!SYNC_COLUMNS.has(c)) ledger.push({ ws: ws.name, kind: 'delete', table: target.table, id: target.id, column: c, old: row[c] });
    edits.deletes++;
  };

  const allocate = async (ws: Workstation, kind: 'quote' | 'project'): Promise<string> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const { number } = await ws.client.allocateNumber(kind);
        numbers.push(number);
        return number;
      } catch (err) {
        errors.push(`${ws.name} number: ${(err as Error).message}`);
        if (attempt >= 10) throw err;
        await sleep(200 * attempt);
      }
    }
  };

  /** A round of "desktop app" work: mostly updates, some inserts, a few deletes. */
  const work = async (ws: Workstation, operations: number): Promise<void> => {
    for (let k = 0; k < operations; k++) {
      const x = ws.r.rnd();
      if (x < 0.75) update(ws);
      else if (x < 0.93) await insert(ws);
      else remove(ws);
    }
  };

  /** One sync, tried again until it succeeds (the SDK already retries requests); its latency is first try to success. */
  const syncOnce = async (ws: Workstation, giveUpAt: number, timed = true): Promise<SyncSummary | null> => {
    const started = performance.now();
    for (;;) {
      try {
        const s = await ws.client.syncNow();
        if (timed) latencies.push(performance.now() - started);
        return s;
      } catch {
        // Recorded by the client's error event.
        if (Date.now() > giveUpAt) {
          failedSyncs++;
          return null;
        }
        syncRetries++;
        await sleep(100 + Math.random() * 400);
      }
    }
  };

  // Every sync, timed or after a poke, is counted once, by the client's own events.
  for (const ws of stations) {
    ws.client.on('synced', (s) => {
      syncs++;
      pushed += s.pushed;
      pulled += s.pulled;
      conflictsReported += s.conflicts;
    });
    ws.client.on('error', (e: SyncError) => errors.push(`${ws.name} sync: ${e.code} ${e.message}`));
    // As the desktop app runs it: a socket to the server, pulling at once on each "changes available".
    if (opts.pokes) ws.client.start();
  }

  const sampler = new ProcessSampler(server.pid);
  sampler.start();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const cpuBefore = process.cpuUsage();
  const loadStart = os.loadavg()[0];
  const rssStartMb = sampler.rssMb[0] ?? 0;
  const began = Date.now();
  const deadline = began + opts.seconds * 1000;
  const runStartedIso = new Date(began).toISOString();
  out(`  ${stations.length} workstations initialised (${users} users, one device token each); running ${opts.seconds} s …`);

  await Promise.all(
    stations.map(async (ws) => {
      // Staggered start, then: pause with jitter, edit, sync (sometimes editing again while it runs).
      await sleep(ws.r.rnd() * intervalMs);
      while (Date.now() < deadline) {
        await work(ws, ws.r.int(1, 4));
        const during = ws.r.rnd() < 0.3;
        const inFlight = syncOnce(ws, deadline + 60_000);
        if (during) {
          await sleep(ws.r.int(0, 20));
          update(ws);
          edits.duringSync++;
        }
        const done = await inFlight;
        if (!done) break;
        await sleep(intervalMs * (0.5 + ws.r.rnd()));
      }
    }),
  );
  const loadSeconds = (Date.now() - began) / 1000;
  const syncsDuringLoad = syncs;
  const cpu = process.cpuUsage(cpuBefore);
  loopDelay.disable();
  const loadEnd = os.loadavg()[0];

  // The last round: no more pokes; everyone pushes and pulls until a whole round moves nothing.
  for (const ws of stations) ws.client.stop();
  let drainRounds = 0;
  for (; drainRounds < 12;) {
    drainRounds++;
    const summaries = await Promise.all(stations.map((ws) => syncOnce(ws, Date.now() + 60_000, false)));
    if (summaries.every((s) => s !== null && s.pushed === 0 && s.pulled === 0)) break;
  }
  sampler.sample();
  sampler.stop();
  const rssEndMb = sampler.rssMb[sampler.rssMb.length - 1] ?? 0;
  const serverAliveAtEnd = await fetch(`${server.url}/api/health`)
    .then((r) => r.ok)
    .catch(() => false);

  const pendingLeft: string[] = [];
  for (const ws of stations) {
    const st = ws.client.status();
    const unanswered = (ws.client.db.prepare('SELECT COUNT(*) AS n FROM _sync_pending').get() as { n: number }).n;
    if (st.pendingChanges > 0 || unanswered > 0)
      pendingLeft.push(`${ws.name}: ${st.pendingChanges} outbox entries, ${unanswered} unanswered batches`);
    await ws.client.close();
  }
  await server.stop();

  const verdict = verify({ server, tables, stations, ledger, numbers, pendingLeft, serverAliveAtEnd });
  const master = new Database(path.join(server.dataDir, 'database', 'server.db'), { readonly: true, fileMustExist: true });
  let conflictsRecorded = 0;
  let masterFigures: LoadFigures['master'] = { fileMb: 0, syncBatches: 0, syncBatchesMb: 0, syncLogRows: 0 };
  let serverDurations: number[] = [];
  try {
    conflictsRecorded = (master.prepare(`SELECT COUNT(*) AS n FROM sync_conflicts WHERE client_id LIKE 'load-ws%'`).get() as { n: number })
      .n;
    serverDurations = (
      master
        .prepare(`SELECT duration_ms AS d FROM sync_log WHERE timestamp >= ? AND client_id LIKE 'load-ws%' ORDER BY duration_ms`)
        .all(runStartedIso.replace('T', ' ').replace('Z', '')) as { d: number }[]
    ).map((r) => r.d);
    const batches = master
      .prepare(
        'SELECT COUNT(*) AS n, COALESCE(SUM(length(response) + length(request_hash) + length(batch_id) + length(client_id)), 0) AS bytes FROM sync_batches',
      )
      .get() as {
      n: number;
      bytes: number;
    };
    masterFigures = {
      fileMb: round1(fs.statSync(path.join(server.dataDir, 'database', 'server.db')).size / 1048576),
      syncBatches: batches.n,
      syncBatchesMb: round1(batches.bytes / 1048576),
      syncLogRows: (master.prepare('SELECT COUNT(*) AS n FROM sync_log').get() as { n: number }).n,
    };
  } finally {
    master.close();
  }
  const rssByMinuteMb: number[] = [];
  sampler.rssMb.forEach((mb, i) => {
    const minute = Math.floor((sampler.at[i] - began) / 60_000);
    if (minute >= 0) rssByMinuteMb[minute] = round1(Math.max(rssByMinuteMb[minute] ?? 0, mb));
  });

  latencies.sort((a, b) => a - b);
  const figures: LoadFigures = {
    workstations: stations.length,
    users,
    seconds: round1(loadSeconds),
    syncs,
    timedSyncs: latencies.length,
    pokes: opts.pokes === true,
    syncsPerSecond: round1(syncsDuringLoad / loadSeconds),
    syncRetries,
    failedSyncs,
    requestRetries,
    requests,
    errorStatuses,
    errors: errors.slice(0, 20),
    latencyMs: {
      p50: round1(percentile(latencies, 50)),
      p95: round1(percentile(latencies, 95)),
      p99: round1(percentile(latencies, 99)),
      max: round1(latencies[latencies.length - 1] ?? 0),
      mean: round1(mean(latencies)),
    },
    requestMs: Object.fromEntries(
      Object.entries(requestMs).map(([k, xs]) => {
        xs.sort((a, b) => a - b);
        return [k, { count: xs.length, p50: round1(percentile(xs, 50)), p95: round1(percentile(xs, 95)), p99: round1(percentile(xs, 99)) }];
      }),
    ),
    serverDurationMs: {
      p50: percentile(serverDurations, 50),
      p95: percentile(serverDurations, 95),
      p99: percentile(serverDurations, 99),
      max: serverDurations[serverDurations.length - 1] ?? 0,
    },
    edits,
    numbersAllocated: numbers.length,
    pushed,
    pulled,
    conflictsReported,
    conflictsRecorded,
    drainRounds,
    server: {
      rssStartMb: round1(rssStartMb),
      rssPeakMb: round1(Math.max(...sampler.rssMb)),
      rssMeanMb: round1(mean(sampler.rssMb)),
      rssEndMb: round1(rssEndMb),
      cpuMeanPct: round1(mean(sampler.cpuPct)),
      cpuPeakPct: round1(Math.max(0, ...sampler.cpuPct)),
      samples: sampler.rssMb.length,
      rssByMinuteMb: [...rssByMinuteMb].map((x) => x ?? 0),
    },
    master: masterFigures,
    workstationsProcess: {
      cpuPct: round1(((cpu.user + cpu.system) / 1e6 / loadSeconds) * 100),
      eventLoopDelayP50Ms: round1(loopDelay.percentile(50) / 1e6),
      eventLoopDelayP99Ms: round1(loopDelay.percentile(99) / 1e6),
    },
    machine: { loadStart: round1(loadStart), loadEnd: round1(loadEnd), cores: os.cpus().length },
  };
  return { figures, verdict, files: stations.map((s) => s.file), tables };
}

const key = (...parts: (string | number)[]) => parts.join('\u0000');
const same = (a: Value | undefined, b: Value | undefined) => a === b || (a === undefined && b === null) || (a === null && b === undefined);

/** Reads the stopped server's files and checks the final state (see {@link LoadVerdict}). */
function verify(ctx: {
  server: LoadServer;
  tables: TableInfo[];
  stations: Workstation[];
  ledger: LedgerEntry[];
  numbers: string[];
  pendingLeft: string[];
  serverAliveAtEnd: boolean;
}): LoadVerdict {
  const dbDir = path.join(ctx.server.dataDir, 'database');
  const master = new Database(path.join(dbDir, 'server.db'), { readonly: true, fileMustExist: true });
  const numbersDb = new Database(path.join(dbDir, 'generated_numbers.db'), { readonly: true, fileMustExist: true });
  try {
    const integrity = (master.prepare('PRAGMA integrity_check').all() as { integrity_check: string }[])
      .map((r) => r.integrity_check)
      .join('; ');

    // The master, every row including tombstones.
    const rows = new Map<string, Row>();
    let masterLiveRows = 0;
    let masterTombstones = 0;
    const liveByTable = new Map<string, Row[]>();
    for (const t of ctx.tables) {
      const cols = t.columns.map((c) => `"${c.name}"`).join(', ');
      const all = master.prepare(`SELECT ${cols} FROM "${t.name}" ORDER BY id`).all() as Row[];
      const live: Row[] = [];
      for (const r of all) {
        rows.set(key(t.name, r.id as string), r);
        if (r.deleted === 1) masterTombstones++;
        else {
          masterLiveRows++;
          live.push(r);
        }
      }
      liveByTable.set(
        t.name,
        live.map((r) => Object.fromEntries(Object.entries(r).filter(([c]) => c !== 'deleted'))),
      );
    }

    // Every workstation equal to the master: the same live rows, column for column, and no row
    // the master holds as a tombstone.
    const mismatches: string[] = [];
    for (const ws of ctx.stations) {
      const db = new Database(ws.file, { readonly: true, fileMustExist: true });
      try {
        const diffs: string[] = [];
        for (const t of ctx.tables) {
          const cols = t.columns.filter((c) => c.name !== 'deleted').map((c) => `"${c.name}"`);
          const local = db.prepare(`SELECT ${cols.join(', ')} FROM "${t.name}" ORDER BY id`).all() as Row[];
          const expected = liveByTable.get(t.name)!;
          const localById = new Map(local.map((r) => [r.id as string, r]));
          const expectedById = new Map(expected.map((r) => [r.id as string, r]));
          for (const [id, r] of expectedById) {
            const l = localById.get(id);
            if (!l) diffs.push(`${t.name} ${id} missing`);
            else if (JSON.stringify(l) !== JSON.stringify(r))
              diffs.push(`${t.name} ${id} differs: ${JSON.stringify(l)} vs master ${JSON.stringify(r)}`);
          }
          for (const id of localById.keys()) {
            if (expectedById.has(id)) continue;
            const m = rows.get(key(t.name, id));
            diffs.push(`${t.name} ${id} ${m ? 'is deleted in the master but held' : 'is not in the master'}`);
          }
        }
        for (const tomb of db.prepare('SELECT table_name, row_id FROM _sync_tombstones').all() as {
          table_name: string;
          row_id: string;
        }[]) {
          if (rows.get(key(tomb.table_name, tomb.row_id))?.deleted !== 1)
            diffs.push(`tombstone ${tomb.table_name} ${tomb.row_id} is not deleted in the master`);
        }
        if (diffs.length > 0) mismatches.push(`${ws.name}: ${diffs.length} differences, e.g. ${diffs.slice(0, 3).join(' | ')}`);
      } finally {
        db.close();
      }
    }

    // Values kept by conflicts: both versions of each, per row and column.
    const kept = new Set<string>();
    const deleteConflicts = new Set<string>();
    for (const c of master
      .prepare('SELECT table_name, row_id, kind, client_id, server_version, client_version FROM sync_conflicts')
      .all() as {
      table_name: string;
      row_id: string;
      kind: string;
      client_id: string;
      server_version: string | null;
      client_version: string | null;
    }[]) {
      for (const v of [c.server_version, c.client_version]) {
        if (!v) continue;
        for (const [col, value] of Object.entries(JSON.parse(v) as Row)) kept.add(key(c.table_name, c.row_id, col, JSON.stringify(value)));
      }
      if (c.kind === 'delete-vs-update') deleteConflicts.add(key(c.table_name, c.row_id, c.client_id));
    }
    // What later edits saw and replaced: an edit made on top of a value knowingly supersedes it.
    const seen = new Set<string>();
    for (const e of ctx.ledger) if (e.kind !== 'insert') seen.add(key(e.table, e.id, e.column, JSON.stringify(e.old ?? null)));
    const insertedBy = new Set(ctx.ledger.filter((e) => e.kind === 'insert').map((e) => key(e.table, e.id, e.ws)));

    const lost: string[] = [];
    const deletesChecked = new Set<string>();
    for (const e of ctx.ledger) {
      const row = rows.get(key(e.table, e.id));
      if (e.kind === 'delete') {
        const k = key(e.table, e.id, e.ws);
        if (deletesChecked.has(k)) continue;
        deletesChecked.add(k);
        // Deleted in the master, or refused as a recorded conflict, or created and deleted before it was ever pushed.
        const ok = row?.deleted === 1 || deleteConflicts.has(k) || (!row && insertedBy.has(k));
        if (!ok) lost.push(`delete of ${e.table} ${e.id} by ${e.ws}: the row is ${row ? 'live' : 'missing'} and no conflict was recorded`);
        continue;
      }
      const v = JSON.stringify(e.value ?? null);
      const ok =
        (row !== undefined && same(row[e.column], e.value)) ||
        seen.has(key(e.table, e.id, e.column, v)) ||
        kept.has(key(e.table, e.id, e.column, v));
      if (!ok)
        lost.push(
          `${e.kind} of ${e.table} ${e.id}.${e.column} = ${v} by ${e.ws}: master holds ${row ? JSON.stringify(row[e.column]) : 'no such row'}, no conflict keeps it, no later edit replaced it`,
        );
    }

    // Numbers: each one handed out once, and each in the numbers file.
    const counts = new Map<string, number>();
    for (const n of ctx.numbers) counts.set(n, (counts.get(n) ?? 0) + 1);
    const duplicateNumbers = [...counts].filter(([, n]) => n > 1).map(([number, n]) => `${number} handed out ${n} times`);
    const inFile = new Map(
      (
        numbersDb.prepare('SELECT number, COUNT(*) AS n FROM generated_numbers GROUP BY number').all() as { number: string; n: number }[]
      ).map((r) => [r.number, r.n]),
    );
    for (const [number, n] of inFile) if (n > 1) duplicateNumbers.push(`${number} is in generated_numbers ${n} times`);
    const missingNumbers = [...counts.keys()].filter((n) => !inFile.has(n));

    return {
      mismatches,
      lost,
      pendingLeft: ctx.pendingLeft,
      duplicateNumbers,
      missingNumbers,
      integrity,
      masterLiveRows,
      masterTombstones,
      editsChecked: ctx.ledger.length,
      serverAliveAtEnd: ctx.serverAliveAtEnd,
    };
  } finally {
    master.close();
    numbersDb.close();
  }
}

/** Whether a result shows nothing failed and nothing lost. */
export function loadPassed(result: LoadResult): boolean {
  const { figures: f, verdict: v } = result;
  return (
    f.failedSyncs === 0 &&
    v.mismatches.length === 0 &&
    v.lost.length === 0 &&
    v.pendingLeft.length === 0 &&
    v.duplicateNumbers.length === 0 &&
    v.missingNumbers.length === 0 &&
    v.integrity === 'ok' &&
    v.serverAliveAtEnd
  );
}

/** The figures as lines for a person (the bench prints them; the e2e suite writes them to its artifacts). */
export function describeLoad(result: LoadResult): string[] {
  const { figures: f, verdict: v } = result;
  const n = (x: number) => x.toLocaleString('en-US');
  const statuses = Object.entries(f.errorStatuses)
    .map(([s, c]) => `${s}: ${c}`)
    .join(', ');
  return [
    `  syncs: ${n(f.syncs)} in ${f.seconds} s and ${f.drainRounds} final rounds (${f.syncsPerSecond}/s; ${n(f.timedSyncs)} on the workstations' schedule${f.pokes ? ', the rest after a poke' : ''}); failed ${f.failedSyncs}; retried ${f.syncRetries} (requests ${n(f.requests)}, retried by the SDK ${f.requestRetries}; non-2xx ${statuses || 'none'})`,
    `  sync latency (workstation side, first try to success): p50 ${f.latencyMs.p50} ms, p95 ${f.latencyMs.p95} ms, p99 ${f.latencyMs.p99} ms, max ${f.latencyMs.max} ms`,
    `  requests (to the answer's headers): ${Object.entries(f.requestMs)
      .map(([k, r]) => `${k} ${n(r.count)} × p50 ${r.p50} / p95 ${r.p95} / p99 ${r.p99} ms`)
      .join('; ')}`,
    `  sync duration (server's sync_log): p50 ${f.serverDurationMs.p50} ms, p95 ${f.serverDurationMs.p95} ms, p99 ${f.serverDurationMs.p99} ms, max ${f.serverDurationMs.max} ms`,
    `  edits: ${n(f.edits.updates)} updates (${n(f.edits.hotRowEdits)} of shared hot rows, ${n(f.edits.duringSync)} made while a sync ran), ${n(f.edits.inserts)} inserts, ${n(f.edits.deletes)} deletes; ${n(f.numbersAllocated)} numbers allocated`,
    `  rows pushed ${n(f.pushed)}, pulled ${n(f.pulled)}; conflicts reported to workstations ${n(f.conflictsReported)}, recorded with both versions ${n(f.conflictsRecorded)}`,
    `  server process: RSS ${f.server.rssStartMb} MB at start, peak ${f.server.rssPeakMb} MB, mean ${f.server.rssMeanMb} MB, ${f.server.rssEndMb} MB at the end; CPU mean ${f.server.cpuMeanPct} %, peak ${f.server.cpuPeakPct} % of one core (${f.server.samples} samples)`,
    ...(f.server.rssByMinuteMb.length > 1 ? [`  server RSS, highest of each minute: ${f.server.rssByMinuteMb.join(', ')} MB`] : []),
    `  master after the run: server.db ${f.master.fileMb} MB; sync_log ${n(f.master.syncLogRows)} rows; sync_batches (push idempotency records) ${n(f.master.syncBatches)} rows, ${f.master.syncBatchesMb} MB`,
    `  the workstations' process: CPU ${f.workstationsProcess.cpuPct} % of one core, event-loop delay p50 ${f.workstationsProcess.eventLoopDelayP50Ms} ms, p99 ${f.workstationsProcess.eventLoopDelayP99Ms} ms; machine load average ${f.machine.loadStart} → ${f.machine.loadEnd} on ${f.machine.cores} cores`,
    `  final state: ${f.workstations - v.mismatches.length}/${f.workstations} workstations equal to the master (${n(v.masterLiveRows)} live rows, ${n(v.masterTombstones)} tombstones); ${n(v.editsChecked)} edited values checked, lost ${v.lost.length}; numbers duplicated ${v.duplicateNumbers.length}, missing ${v.missingNumbers.length}; left pending ${v.pendingLeft.length}; integrity ${v.integrity}; server alive ${v.serverAliveAtEnd ? 'yes' : 'NO'}`,
    ...[...v.mismatches, ...v.lost, ...v.pendingLeft, ...v.duplicateNumbers, ...v.missingNumbers].slice(0, 10).map((x) => `  ! ${x}`),
    ...(f.errors.length ? [`  errors retried (first ${f.errors.length}): ${f.errors.slice(0, 5).join(' | ')}`] : []),
  ];
}

/** `cacpq bench load`: starts a server on a temporary data directory and runs {@link runLoad} against it. */
export async function benchLoad(opts: {
  workstations: number;
  seconds: number;
  pokes?: boolean;
  out: (line: string) => void;
}): Promise<LoadResult> {
  const root = repoRoot();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cacpq-bench-load-'));
  try {
    const dataDir = path.join(dir, 'data');
    const started = await startBenchServer(root, dataDir, 60_000);
    opts.out(
      `cacpq bench load: ${opts.workstations} workstations (SyncClients in this process, each its own SQLite file and device token) against one server process on loopback, ${opts.seconds} s${opts.pokes ? ', sockets connected (pokes)' : ''}`,
    );
    let result: LoadResult;
    try {
      result = await runLoad(
        { url: started.url, pid: started.proc.pid!, dataDir, adminPassword: BENCH_ADMIN_PASSWORD, stop: () => started.stop() },
        { workstations: opts.workstations, seconds: opts.seconds, pokes: opts.pokes, dir: path.join(dir, 'workstations'), out: opts.out },
      );
    } finally {
      await started.stop();
    }
    for (const line of describeLoad(result)) opts.out(line);
    opts.out(
      loadPassed(result) ? '  PASS: every sync succeeded, nothing lost, every workstation equal to the master' : '  FAIL: see above',
    );
    return result;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
