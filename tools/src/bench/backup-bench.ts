import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SYNCED_TABLES, dataDirLayout, freeBytes, fsyncPath, sqlTime, syncState, tableColumns, uuidv7 } from '@cacpq/db';
import { PROTOCOL_VERSION, type CreatedToken, type JobView, type PushRequest, type SyncInfoResponse } from '@cacpq/sync-protocol';
import { ApiClient } from '../cli/client';
import { repoRoot, startBenchServer, type BenchServer } from './server-process';
import { CATEGORIES, VENDORS, componentRow, random } from './fixture';

export interface BackupBenchOptions {
  /** Size of the master to build, in MB. */
  mb: number;
  rounds: number;
  out: (line: string) => void;
}

export interface BackupRound {
  plainMBps: number;
  /** Copy phase and whole verified backup against the plain copy of the same round. */
  copyRatio: number;
  verifiedRatio: number;
  copyMBps: number;
  verifiedMBps: number;
  copyMs: number;
  totalMs: number;
  bytesCopied: number;
  pushes: number;
  failedPushes: number;
}

export interface BackupBenchResult {
  masterBytes: number;
  rounds: BackupRound[];
  plainMBps: number;
  copyMBps: number;
  verifiedMBps: number;
  copyRatio: number;
  verifiedRatio: number;
  pushes: number;
  failedPushes: number;
  p50Ms: number;
  p95Ms: number;
  idleP95Ms: number;
  /** The SQLite online backup API alone on the same file (no server, no load), MB/s: the ceiling of the copy phase. */
  rawBackupMBps: number;
}

const MB = 1024 * 1024;
const PUSH_ROWS = 5;

const CITIES = ['Houston', 'Chicago', 'Toronto', 'Denver', 'Monterrey', 'Atlanta', 'Calgary', 'Phoenix'];
const LINES = ['Skid Systems', 'Control Panels', 'Pump Stations', 'Dosing Systems', 'Filtration'];
const STATUS = ['draft', 'sent', 'sent', 'won', 'lost', 'revised'];
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin'];

/**
 * Fills the (stopped) server's master with realistic rows until it holds about `targetBytes`:
 * customers, projects, components, templates, manual quotes, sync history, then quotes whose
 * line items (JSON, 8-60 lines each) make up most of the file. Big transactions, no fsync.
 */
function fillMaster(serverDb: string, targetBytes: number): Record<string, number> {
  const db = new Database(serverDb);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  const random_ = random(20261124);
  const { rnd, pick, int, money } = random_;
  const now = Date.now();
  const when = (daysBack = 730) => sqlTime(new Date(now - rnd() * daysBack * 86_400_000));
  const state = syncState(db);
  let seq = state.lastSeq();
  const counts: Record<string, number> = {};
  const inserters = new Map<string, (row: Record<string, unknown>) => void>();
  for (const table of SYNCED_TABLES) {
    const cols = tableColumns(table).map((c) => c.name);
    const stmt = db.prepare(
      `INSERT INTO "${table.name}" (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
    );
    inserters.set(table.name, (row) => {
      const at = (row.createdAt as string | undefined) ?? when();
      const full: Record<string, unknown> = {
        id: uuidv7(),
        updated_at: at,
        updated_by: pick(USERS),
        synced_at: at,
        server_seq: ++seq,
        deleted: 0,
        ...row,
      };
      stmt.run(cols.map((c) => (full[c] ?? null) as string | number | null));
      counts[table.name] = (counts[table.name] ?? 0) + 1;
    });
  }
  const insert = (table: string, row: Record<string, unknown>) => inserters.get(table)!(row);
  const customers: string[] = [];
  const projects: string[] = [];
  db.transaction(() => {
    for (let i = 0; i < 3000; i++) {
      const name = `${pick(['Apex', 'Summit', 'Prairie', 'Delta', 'Keystone', 'Granite'])} ${pick(['Foods', 'Brewing', 'Chemicals', 'Pharma', 'Mining'])} ${i}`;
      customers.push(name);
      insert('customers', {
        name,
        type: rnd() < 0.35 ? 'OEM' : 'End User',
        contactName: `${pick(['Sam', 'Alex', 'Jordan', 'Taylor'])} ${pick(['Lee', 'Patel', 'Nguyen', 'Garcia'])}`,
        email: `purchasing${i}@example.com`,
        phone: `+1-555-${int(1_000_000, 9_999_999)}`,
        address: `${int(10, 9999)} Industrial Pkwy`,
        city: pick(CITIES),
        country: 'USA',
        createdAt: when(),
      });
    }
    for (let i = 0; i < 40_000; i++) {
      insert('components', { ...componentRow(i, random_), createdAt: when() });
    }
    for (let i = 0; i < 10_000; i++) {
      const id = uuidv7();
      projects.push(id);
      insert('projects', {
        id,
        projectNumber: `P2025-${String(i + 1).padStart(5, '0')}`,
        name: `${pick(LINES)} for ${pick(customers)}`,
        customer: pick(customers),
        status: pick(['planning', 'active', 'on hold', 'completed']),
        salesperson: pick(USERS),
        createdAt: when(),
      });
    }
    for (let i = 0; i < 300; i++) {
      insert('sub_assemblies', {
        name: `${pick(LINES)} module ${i + 1}`,
        category: pick(CATEGORIES),
        items: JSON.stringify(
          Array.from({ length: int(3, 12) }, () => ({
            sku: `${pick(CATEGORIES).slice(0, 3).toUpperCase()}-${int(100_000, 139_999)}`,
            quantity: int(1, 6),
          })),
        ),
        laborHours: money(2, 60),
        totalCost: money(500, 40_000),
      });
    }
    for (let i = 0; i < 60; i++) {
      insert('product_templates', {
        name: `${pick(LINES)} ${i + 1}`,
        productLine: pick(LINES),
        configuration: JSON.stringify({ options: int(3, 12), voltage: pick([208, 480, 600]) }),
        basePrice: money(8000, 250_000),
        active: 1,
      });
    }
    for (let i = 0; i < 6000; i++) {
      insert('manual_quotes', {
        quoteNumber: `MQ-${10_000 + i}`,
        customer: pick(customers),
        description: `Field service and spares, ${pick(CATEGORIES).toLowerCase()}`,
        amount: money(300, 25_000),
        status: pick(STATUS),
        preparedBy: pick(USERS),
      });
    }
    const log = db.prepare(
      `INSERT INTO sync_log (timestamp, status, records_pulled, records_pushed, conflicts, duration_ms, user, client_id) VALUES (?, 'success', ?, ?, 0, ?, ?, ?)`,
    );
    for (let i = 0; i < 10_000; i++) {
      const user = pick(USERS);
      log.run(when(90), int(0, 40), int(0, 15), int(120, 4000), user, `${user}-laptop`);
    }
  })();
  const bytesNow = () => (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);
  let quote = 0;
  while (bytesNow() < targetBytes) {
    db.transaction(() => {
      for (let i = 0; i < 2000; i++) {
        const items = Array.from({ length: int(8, 60) }, (_, line) => {
          const category = pick(CATEGORIES);
          const unitPrice = money(20, 5000);
          return {
            line: line + 1,
            sku: `${category.slice(0, 3).toUpperCase()}-${int(100_000, 139_999)}`,
            description: `${pick(VENDORS)} ${category.replace(/s$/, '').toLowerCase()}, ${int(1, 200)} ${pick(['kW', 'bar', 'mm', 'A'])}`,
            quantity: int(1, 12),
            unit: 'ea',
            unitPrice,
            discountPct: pick([0, 0, 5, 10]),
            leadTimeDays: int(1, 90),
          };
        });
        const subtotal = Math.round(items.reduce((s, l) => s + l.quantity * l.unitPrice, 0) * 100) / 100;
        const createdAt = when();
        insert('quotes', {
          quoteNumber: `Q2025-${String(++quote).padStart(6, '0')}`,
          projectId: pick(projects),
          customer: pick(customers),
          title: `${pick(LINES)} quote`,
          status: pick(STATUS),
          revision: int(0, 3),
          currency: 'USD',
          subtotal,
          discountPct: 0,
          total: subtotal,
          validUntil: createdAt,
          lineItems: JSON.stringify(items),
          notes: 'Prices valid 30 days. Freight and installation quoted separately.',
          createdBy: pick(USERS),
          createdAt,
        });
      }
    })();
  }
  state.setLastSeq(seq);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return counts;
}

/**
 * Writes every dirty page of the machine to disk (sync(1)), so that each timed copy starts from
 * the same state and does not pay for the writeback of the one before. Skipped where there is no sync.
 */
function flushDisk(): void {
  if (process.platform !== 'win32') spawnSync('sync', { stdio: 'ignore' });
}

/** The baseline: the file copied as a file (copyFileSync) and made durable (fsync). MB/s. */
function plainCopy(src: string, dest: string): number {
  flushDisk();
  const started = process.hrtime.bigint();
  fs.copyFileSync(src, dest);
  fsyncPath(dest);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const size = fs.statSync(dest).size;
  fs.rmSync(dest, { force: true });
  return size / MB / seconds;
}

/**
 * The ceiling of the copy phase: SQLite's online backup API on the same file in this process, with
 * the master's pragmas, no server and no load, the whole file in one step, then fsync. MB/s.
 */
async function rawBackup(src: string, dest: string): Promise<number> {
  flushDisk();
  const db = new Database(src);
  db.pragma('locking_mode = EXCLUSIVE');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  try {
    const started = process.hrtime.bigint();
    await db.backup(dest, { progress: () => 0x7fffffff });
    fsyncPath(dest);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return fs.statSync(dest).size / MB / seconds;
  } finally {
    db.close();
    for (const f of [dest, `${dest}-journal`]) fs.rmSync(f, { force: true });
  }
}

/** One workstation pushing small batches of new components, back to back, until stopped. */
class Pusher {
  private running: Promise<void> | null = null;
  private stopping = false;
  latencies: number[] = [];
  failures: string[] = [];
  private n = 0;

  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly generation: string,
  ) {}

  start(): void {
    this.latencies = [];
    this.failures = [];
    this.stopping = false;
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      const now = new Date().toISOString();
      const body: PushRequest = {
        protocolVersion: PROTOCOL_VERSION,
        clientId: 'bench-workstation',
        batchId: randomUUID(),
        generation: this.generation,
        clientTime: now,
        changes: Array.from({ length: PUSH_ROWS }, () => {
          const i = ++this.n;
          return {
            table: 'components',
            op: 'upsert' as const,
            id: uuidv7(),
            baseVersion: 0,
            updatedAt: now,
            values: {
              sku: `WS-${i}`,
              name: `Workstation component ${i}`,
              description: 'Added while a backup runs',
              category: CATEGORIES[i % CATEGORIES.length],
              vendor: VENDORS[i % VENDORS.length],
              unitCost: (i % 1000) + 0.5,
              listPrice: (i % 1000) * 1.4 + 0.5,
              unit: 'ea',
              leadTimeDays: i % 60,
              active: true,
            },
          };
        }),
      };
      const t0 = process.hrtime.bigint();
      try {
        const res = await fetch(`${this.url}/api/v1/sync/push`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        });
        const text = await res.text();
        if (res.status !== 200) this.failures.push(`HTTP ${res.status}: ${text.slice(0, 200)}`);
        else this.latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      } catch (err) {
        this.failures.push((err as Error).message);
      }
    }
  }
}

function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const median = (values: number[]) => percentile(values, 50);

async function backupWhilePushing(api: ApiClient, pusher: Pusher): Promise<{ job: JobView; latencies: number[]; failures: string[] }> {
  flushDisk();
  pusher.start();
  try {
    let job = await api.request<JobView>('POST', '/api/v1/backups', { kind: 'manual' });
    while (job.status === 'queued' || job.status === 'running') {
      await new Promise((resolve) => setTimeout(resolve, 200));
      job = await api.request<JobView>('GET', `/api/v1/jobs/${job.id}`);
    }
    return { job, latencies: pusher.latencies, failures: pusher.failures };
  } finally {
    await pusher.stop();
  }
}

/**
 * `cacpq bench backup`: builds a master of about N MB on a temporary data directory, runs the
 * server on it as a real process on loopback, then in rounds (order alternating) times a plain
 * file copy of server.db and a backup through the API while one workstation pushes continuously.
 */
export async function benchBackup(opts: BackupBenchOptions): Promise<BackupBenchResult> {
  const root = repoRoot();
  const { out } = opts;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cacpq-bench-backup-'));
  const dataDir = path.join(dir, 'data');
  const layout = dataDirLayout(dataDir);
  const need = opts.mb * MB * (opts.rounds + 3.5);
  let server: BenchServer | null = null;
  try {
    if (freeBytes(dir) < need)
      throw new Error(
        `the benchmark needs about ${Math.ceil(need / MB)} MB free in ${os.tmpdir()} (${Math.floor(freeBytes(dir) / MB)} MB are).`,
      );
    out(
      `cacpq bench backup: a ~${opts.mb} MB master, server on loopback (${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(2)}), ${opts.rounds} rounds, medians`,
    );

    // The schema is the server's own: start it once on the empty directory, stop it, fill the files.
    const buildStarted = Date.now();
    server = await startBenchServer(root, dataDir);
    const code = await server.stop();
    server = null;
    if (code !== 0) throw new Error(`the server stopped with ${code} after creating the schema`);
    const counts = fillMaster(layout.serverDb, opts.mb * MB);
    const masterBytes = fs.statSync(layout.serverDb).size;
    const raw: number[] = [];
    const rawPlain: number[] = [];
    for (let i = 0; i < Math.min(3, opts.rounds); i++) {
      rawPlain.push(plainCopy(layout.serverDb, path.join(dir, 'raw-copy.db')));
      raw.push(await rawBackup(layout.serverDb, path.join(dir, 'raw-backup.db')));
    }
    const rawBackupMBps = median(raw);
    out(
      `  built the master in ${((Date.now() - buildStarted) / 1000).toFixed(0)} s: server.db ${(masterBytes / MB).toFixed(0)} MB (${Object.entries(
        counts,
      )
        .map(([t, n]) => `${t} ${n}`)
        .join(', ')})`,
    );

    server = await startBenchServer(root, dataDir);
    const api = new ApiClient({ url: server.url, dataDir });
    await api.request('POST', '/api/v1/users', { username: 'bench-ws', role: 'user' });
    const { token } = await api.request<CreatedToken>('POST', '/api/v1/users/bench-ws/tokens', { device: 'bench-workstation' });
    const info = (await (
      await fetch(`${server.url}/api/v1/sync/info`, { headers: { Authorization: `Bearer ${token}` } })
    ).json()) as SyncInfoResponse;
    const pusher = new Pusher(server.url, token, info.generation);

    // The pushes' latency without a backup, for comparison (also warms the connection and the server).
    pusher.start();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await pusher.stop();
    const idle = [...pusher.latencies];
    if (pusher.failures.length) throw new Error(`pushes fail even without a backup: ${pusher.failures[0]}`);

    const rounds: BackupRound[] = [];
    const latencies: number[] = [];
    const failures: string[] = [];
    for (let r = 1; r <= opts.rounds; r++) {
      let plainMBps = 0;
      const copy = () => (plainMBps = plainCopy(layout.serverDb, path.join(dir, `plain-copy-${r}.db`)));
      if (r % 2 === 1) copy();
      const b = await backupWhilePushing(api, pusher);
      if (r % 2 === 0) copy();
      if (b.job.status !== 'succeeded') throw new Error(`the backup of round ${r} ${b.job.status}: ${b.job.error}`);
      const result = b.job.result as { timings?: { copyMs: number; totalMs: number }; bytesCopied?: number } | null;
      if (!result?.timings || !result.bytesCopied)
        throw new Error(`the backup job's result has no timings (result.timings, result.bytesCopied): ${JSON.stringify(result)}`);
      const { copyMs, totalMs } = result.timings;
      const copyMBps = result.bytesCopied / MB / (copyMs / 1000);
      const verifiedMBps = result.bytesCopied / MB / (totalMs / 1000);
      const round: BackupRound = {
        plainMBps,
        copyRatio: copyMBps / plainMBps,
        verifiedRatio: verifiedMBps / plainMBps,
        copyMBps,
        verifiedMBps,
        copyMs,
        totalMs,
        bytesCopied: result.bytesCopied,
        pushes: b.latencies.length + b.failures.length,
        failedPushes: b.failures.length,
      };
      rounds.push(round);
      latencies.push(...b.latencies);
      failures.push(...b.failures);
      out(
        `  round ${r}: plain copy ${plainMBps.toFixed(0)} MB/s; backup copy ${round.copyMBps.toFixed(0)} MB/s (${(copyMs / 1000).toFixed(1)} s, ${round.copyRatio.toFixed(2)}), verified ${round.verifiedMBps.toFixed(0)} MB/s (${(totalMs / 1000).toFixed(1)} s, ${round.verifiedRatio.toFixed(2)}); ${round.pushes} pushes, ${round.failedPushes} failed`,
      );
    }

    const plain = median(rounds.map((x) => x.plainMBps));
    const copyMBps = median(rounds.map((x) => x.copyMBps));
    const verifiedMBps = median(rounds.map((x) => x.verifiedMBps));
    const result: BackupBenchResult = {
      masterBytes,
      rounds,
      plainMBps: plain,
      copyMBps,
      verifiedMBps,
      // Each round's backup against the plain copy of the same round (the machine's disk drifts between rounds).
      copyRatio: median(rounds.map((x) => x.copyRatio)),
      verifiedRatio: median(rounds.map((x) => x.verifiedRatio)),
      pushes: latencies.length + failures.length,
      failedPushes: failures.length,
      p50Ms: percentile(latencies, 50),
      p95Ms: percentile(latencies, 95),
      idleP95Ms: percentile(idle, 95),
      rawBackupMBps,
    };
    const fmt = (n: number) => `${n.toFixed(0).padStart(6)} MB/s`;
    out('');
    out(`  ratios: the median of each round's backup against the plain copy of the same round; load average ${os.loadavg()[0].toFixed(2)}`);
    out(`  plain copy of server.db (copyFileSync + fsync)                        ${fmt(plain)}   1.00 (baseline)`);
    out(
      `  backup, copy phase (online backup API, workstation pushing)           ${fmt(copyMBps)}   ${result.copyRatio.toFixed(2)} of baseline (target >= 0.80)`,
    );
    out(
      `  backup, verified (copy + quick_check + row counts + sha256 + fsync)   ${fmt(verifiedMBps)}   ${result.verifiedRatio.toFixed(2)} of baseline`,
    );
    out(
      `  pushes of ${PUSH_ROWS} rows during the backups: ${result.pushes}, p50 ${result.p50Ms.toFixed(1)} ms, p95 ${result.p95Ms.toFixed(1)} ms (without a backup: p95 ${result.idleP95Ms.toFixed(1)} ms, ${idle.length} pushes in 3 s); failed ${result.failedPushes}`,
    );
    for (const f of failures.slice(0, 5)) out(`    failed push: ${f}`);
    out(
      `  for reference, before the server started: SQLite's backup API alone on this file (no server, no load, one step + fsync) ${rawBackupMBps.toFixed(0)} MB/s, ${(rawBackupMBps / median(rawPlain)).toFixed(2)} of a plain copy measured beside it (${median(rawPlain).toFixed(0)} MB/s)`,
    );
    return result;
  } finally {
    if (server) await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
