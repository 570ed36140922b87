import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  SYNCED_TABLES,
  dataDirLayout,
  freeBytes,
  sqlTime,
  tableColumns,
  uuidv7,
  GUIDE_SQL,
  MONITORING_SQL,
  refreshActivityRollup,
} from '@cacpq/db';
import type { CreatedToken } from '@cacpq/sync-protocol';
import { ApiClient } from '../cli/client';
import { repoRoot, startBenchServer, type BenchServer } from './server-process';
import { CATEGORIES, VENDORS, componentRow, random } from './fixture';

export interface MonitoringBenchOptions {
  /** `sync_log` rows to build (spread over two years). */
  rows: number;
  /** Timed requests (and baseline runs) per case. */
  samples: number;
  /** Planner statistics on the filled master: none, the daily PRAGMA optimize's, or a full ANALYZE. */
  stats: PlannerStats;
  out: (line: string) => void;
}

export interface MonitoringCaseResult {
  endpoint: string;
  label: string;
  /** Outside the issue's realistic cases: reported, not counted in `passed`. */
  stress: boolean;
  baselineMs: number;
  baselineP95Ms: number;
  endpointMs: number;
  endpointP95Ms: number;
  /** The service's own statement (the rollups) in this process, when it is not the guide's query itself. */
  serviceMs: number | null;
  ratio: number;
  pass: boolean;
}

export interface MonitoringBenchResult {
  rows: number;
  masterBytes: number;
  /** GET /api/health (no authentication, no database) and GET /api/v1/auth/me (device token): the HTTP floor. */
  healthMs: number;
  authMs: number;
  cases: MonitoringCaseResult[];
  passed: number;
  counted: number;
}

const DAY_MS = 86_400_000;
/** Targets of issue 5: the endpoint within twice the raw SQL measured in the same run, and under 100 ms. */
const MAX_RATIO = 2;
const MAX_MS = 100;

/** Fifteen people, the first few syncing much more than the rest; 25 workstations (ten people have two). */
const USERS = [
  'alice',
  'bob',
  'carol',
  'dave',
  'erin',
  'frank',
  'grace',
  'heidi',
  'ivan',
  'judy',
  'mallory',
  'niaj',
  'olivia',
  'peggy',
  'rupert',
];
const WORKSTATIONS: { user: string; clientId: string; weight: number }[] = USERS.flatMap((user, i) => {
  const weight = 1 / (1 + i * 0.25);
  return i < 10
    ? [
        { user, clientId: `${user}-laptop`, weight: weight * 0.7 },
        { user, clientId: `${user}-office`, weight: weight * 0.3 },
      ]
    : [{ user, clientId: `${user}-laptop`, weight }];
});
const ERRORS = [
  'INVALID_TOKEN: This device token has been revoked.',
  'VALIDATION_FAILED: components.sku: must be at most 100 characters.',
  'SERVICE_UNAVAILABLE: The server is in maintenance mode (backup restore); try again in a few minutes.',
  'GENERATION_MISMATCH: The master was restored from a backup; this workstation must resynchronise.',
  'INTERNAL: SQLITE_BUSY: database is locked',
];
const LINES = ['Skid Systems', 'Control Panels', 'Pump Stations', 'Dosing Systems', 'Filtration'];
const STATUS = ['draft', 'sent', 'sent', 'won', 'lost', 'revised'];

export interface FillCounts {
  sync_log: number;
  components: number;
  quotes: number;
  projects: number;
}

/**
 * Fills a (closed) master with two years of history ending now: `rows` sync_log rows, mostly in
 * working hours on weekdays, from 25 workstations of 15 people (~3 % errors, ~5 % with
 * conflicts), and components, projects and quotes whose updated_at/updated_by spread over the
 * same two years. Big transactions, no fsync; checkpointed at the end.
 */
export function fillMonitoringHistory(serverDb: string, rows: number, now = Date.now()): FillCounts {
  const db = new Database(serverDb);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  const random_ = random(20261126);
  const { rnd, pick, int, money } = random_;
  const span = 730 * DAY_MS;
  const start = now - span;
  // Working hours (UTC 07-19, Monday to Friday) carry most syncs; the rest of the week a trickle.
  const busy = (t: number) => {
    const d = new Date(t);
    const day = d.getUTCDay();
    const hour = d.getUTCHours();
    return day !== 0 && day !== 6 && hour >= 7 && hour < 19;
  };
  const when = () => {
    for (;;) {
      const t = start + rnd() * span;
      if (busy(t) || rnd() < 0.08) return t;
    }
  };
  const times = new Float64Array(rows);
  for (let i = 0; i < rows; i++) times[i] = when();
  times.sort();
  const wsTotal = WORKSTATIONS.reduce((a, w) => a + w.weight, 0);
  const workstation = () => {
    let x = rnd() * wsTotal;
    for (const w of WORKSTATIONS) if ((x -= w.weight) <= 0) return w;
    return WORKSTATIONS[WORKSTATIONS.length - 1];
  };
  const userTotal = USERS.reduce((a, _u, i) => a + 1 / (1 + i * 0.25), 0);
  const editor = () => {
    let x = rnd() * userTotal;
    for (let i = 0; i < USERS.length; i++) if ((x -= 1 / (1 + i * 0.25)) <= 0) return USERS[i];
    return USERS[USERS.length - 1];
  };

  const log = db.prepare(
    `INSERT INTO sync_log (timestamp, status, records_pulled, records_pushed, conflicts, duration_ms, user, client_id, error)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (let from = 0; from < rows; from += 50_000) {
    db.transaction(() => {
      for (let i = from; i < Math.min(rows, from + 50_000); i++) {
        const ws = workstation();
        const failed = rnd() < 0.03;
        const conflicts = !failed && rnd() < 0.05 ? int(1, rnd() < 0.8 ? 2 : 12) : 0;
        const pulled = failed ? 0 : rnd() < 0.4 ? 0 : Math.floor(rnd() ** 3 * 400);
        const pushed = failed ? 0 : conflicts ? int(1, 40) : rnd() < 0.5 ? 0 : Math.floor(rnd() ** 3 * 120);
        log.run(
          sqlTime(new Date(times[i])),
          failed ? 'error' : 'success',
          pulled,
          pushed,
          conflicts,
          failed ? int(40, 30_000) : int(60, 400) + (pulled + pushed) * int(2, 12),
          ws.user,
          ws.clientId,
          failed ? pick(ERRORS) : null,
        );
      }
    })();
  }

  let seq = Number((db.prepare(`SELECT value FROM sync_state WHERE key = 'last_seq'`).get() as { value: string }).value);
  const inserters = new Map<string, (row: Record<string, unknown>) => void>();
  for (const table of SYNCED_TABLES.filter((t) => ['components', 'projects', 'quotes'].includes(t.name))) {
    const cols = tableColumns(table).map((c) => c.name);
    const stmt = db.prepare(
      `INSERT INTO "${table.name}" (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
    );
    inserters.set(table.name, (row) => {
      const updated = start + rnd() * span;
      const created = updated - rnd() * (updated - start);
      const full: Record<string, unknown> = {
        id: uuidv7(created),
        createdAt: sqlTime(new Date(created)),
        updated_at: sqlTime(new Date(updated)),
        updated_by: editor(),
        synced_at: sqlTime(new Date(updated + int(1_000, 600_000))),
        server_seq: ++seq,
        deleted: rnd() < 0.01 ? 1 : 0,
        ...row,
      };
      stmt.run(cols.map((c) => (full[c] ?? null) as string | number | null));
    });
  }
  const counts: FillCounts = { sync_log: rows, components: 150_000, projects: 30_000, quotes: 120_000 };
  const insert = (table: string, row: Record<string, unknown>) => inserters.get(table)!(row);
  const projects: string[] = [];
  db.transaction(() => {
    for (let i = 0; i < counts.components; i++) {
      insert('components', { ...componentRow(i, random_) });
    }
    for (let i = 0; i < counts.projects; i++) {
      const id = uuidv7();
      projects.push(id);
      insert('projects', {
        id,
        projectNumber: `P-${String(i + 1).padStart(6, '0')}`,
        name: `${pick(LINES)} ${i + 1}`,
        customer: `Customer ${int(1, 3000)}`,
        status: pick(['planning', 'active', 'on hold', 'completed']),
        salesperson: pick(USERS),
      });
    }
  })();
  for (let from = 0; from < counts.quotes; from += 20_000) {
    db.transaction(() => {
      for (let i = from; i < Math.min(counts.quotes, from + 20_000); i++) {
        const items = Array.from({ length: int(3, 20) }, (_, line) => ({
          line: line + 1,
          sku: `${pick(CATEGORIES).slice(0, 3).toUpperCase()}-${int(100_000, 249_999)}`,
          description: `${pick(VENDORS)} ${pick(CATEGORIES).replace(/s$/, '').toLowerCase()}`,
          quantity: int(1, 12),
          unitPrice: money(20, 5000),
        }));
        const subtotal = Math.round(items.reduce((s, l) => s + l.quantity * l.unitPrice, 0) * 100) / 100;
        insert('quotes', {
          quoteNumber: `Q-${String(i + 1).padStart(6, '0')}`,
          projectId: pick(projects),
          customer: `Customer ${int(1, 3000)}`,
          title: `${pick(LINES)} quote`,
          status: pick(STATUS),
          revision: int(0, 3),
          currency: 'USD',
          subtotal,
          discountPct: 0,
          total: subtotal,
          lineItems: JSON.stringify(items),
          createdBy: editor(),
        });
      }
    })();
  }
  db.prepare(`UPDATE sync_state SET value = ? WHERE key = 'last_seq'`).run(String(seq));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return counts;
}

/** One keep-alive connection to the server; the body is read in full. */
class Http {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  constructor(
    private readonly url: string,
    private readonly token: string | null,
  ) {}

  get(urlPath: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.get(
        `${this.url}${urlPath}`,
        { agent: this.agent, headers: this.token ? { Authorization: `Bearer ${this.token}`, Accept: 'application/json' } : {} },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

/** A statement as the service runs it: its text, its arguments, `all` or `get`. */
interface Run {
  sql: string;
  args: unknown[];
  one?: boolean;
}

/** The guide's query for the same question (`GUIDE_SQL`, on the raw history): the baseline. `before` looked up first, as in the service. */
const SQL = {
  activity(
    db: Baseline,
    q: { from: string; to: string; user?: string; clientId?: string; status?: string; limit: number; before?: number },
  ): Run {
    const after =
      q.before === undefined
        ? undefined
        : {
            id: q.before,
            timestamp: (db.run({ sql: GUIDE_SQL.activityCursor, args: [q.before], one: true }) as { timestamp: string }).timestamp,
          };
    return GUIDE_SQL.activity({ ...q, after });
  },
  conflictSummary: (days: number): Run => GUIDE_SQL.conflictSummary(days),
  activeUsers: (days: number): Run => GUIDE_SQL.activeUsers(days),
  syncStats: (from: string, to: string): Run => ({ ...GUIDE_SQL.syncStats(from, to), one: true }),
  workstations: (): Run => GUIDE_SQL.workstations(),
};

/** What the service runs for the same question (`MONITORING_SQL`: the rollups), timed in this process for reference. */
const SERVICE: Partial<Record<string, (n: number) => Run>> = {
  'conflict-summary': (days) => MONITORING_SQL.conflictSummary(days),
  'active-users': (days) => MONITORING_SQL.activeUsers(days),
  'sync-stats': (span) => ({ ...MONITORING_SQL.syncStats(sqlTime(new Date(Date.now() - span)), sqlTime(new Date())), one: true }),
  workstations: () => MONITORING_SQL.workstations(),
};

/** The baseline connection: statements prepared once (the fastest way to run them), kept by text. */
class Baseline {
  private readonly stmts = new Map<string, Database.Statement>();

  constructor(readonly db: Database.Database) {}

  run(r: Run): unknown {
    let st = this.stmts.get(r.sql);
    if (!st) this.stmts.set(r.sql, (st = this.db.prepare(r.sql)));
    return r.one ? st.get(...r.args) : st.all(...r.args);
  }

  plan(r: Run): string {
    return (this.db.prepare(`EXPLAIN QUERY PLAN ${r.sql}`).all(...r.args) as { detail: string }[]).map((p) => p.detail).join('; ');
  }
}

interface Case {
  endpoint: string;
  label: string;
  stress?: boolean;
  /** Builds the query string and the service's statement for the same instant (both sides use "now"). */
  next: () => { query: string; run: () => Run };
  /** The service's statement for the same question, when it differs from the guide's (rollups). */
  service?: () => Run;
  /** Whether the endpoint's answer agrees with the statement's rows. */
  check: (answer: unknown, raw: unknown) => string | null;
}

export type PlannerStats = 'none' | 'optimize' | 'analyze';

/**
 * `cacpq bench monitoring`: builds a master with N sync_log rows over two years (and a few
 * hundred thousand components, projects and quotes), runs the server on it as a real process on
 * loopback, and for each monitoring endpoint (defaults and realistic parameters) times the HTTP
 * request against the service's own SQL run with better-sqlite3 on a copy of the same file in
 * this process (the baseline), interleaved, median and p95 of each.
 */
export async function benchMonitoring(opts: MonitoringBenchOptions): Promise<MonitoringBenchResult> {
  const root = repoRoot();
  const { out } = opts;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cacpq-bench-monitoring-'));
  const dataDir = path.join(dir, 'data');
  const layout = dataDirLayout(dataDir);
  let server: BenchServer | null = null;
  let client: Http | null = null;
  let base: Baseline | null = null;
  try {
    const need = 2.5 * ((opts.rows / 1_000_000) * 320 + 200) * 1024 ** 2;
    if (freeBytes(dir) < need) throw new Error(`the benchmark needs about ${Math.ceil(need / 1024 ** 2)} MB free in ${os.tmpdir()}.`);
    out(
      `cacpq bench monitoring: ${opts.rows.toLocaleString('en-US')} sync_log rows over two years, server on loopback (${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(2)}), ${opts.samples} samples per case`,
    );

    // The schema (every migration, indexes included) is the server's own: start it once, stop it, fill the file.
    const buildStarted = Date.now();
    server = await startBenchServer(root, dataDir);
    const code = await server.stop();
    server = null;
    if (code !== 0) throw new Error(`the server stopped with ${code} after creating the schema`);
    const counts = fillMonitoringHistory(layout.serverDb, opts.rows);
    {
      // A running server keeps the activity rollup current (the sync_log rollups are kept by triggers as the rows go in).
      const db = new Database(layout.serverDb);
      refreshActivityRollup(db);
      db.close();
    }
    const statsNote = plannerStats(layout.serverDb, opts.stats);
    const masterBytes = fs.statSync(layout.serverDb).size;
    const copy = path.join(dir, 'baseline-server.db');
    fs.copyFileSync(layout.serverDb, copy);
    out(
      `  built the master in ${((Date.now() - buildStarted) / 1000).toFixed(0)} s: server.db ${(masterBytes / 1024 ** 2).toFixed(0)} MB (${Object.entries(
        counts,
      )
        .map(([t, n]) => `${t} ${n.toLocaleString('en-US')}`)
        .join(', ')}); planner statistics: ${statsNote}`,
    );

    server = await startBenchServer(root, dataDir);
    const api = new ApiClient({ url: server.url, dataDir });
    await api.request('POST', '/api/v1/users', { username: 'bench-manager', role: 'manager' });
    const { token } = await api.request<CreatedToken>('POST', '/api/v1/users/bench-manager/tokens', { device: 'bench' });
    client = new Http(server.url, token);

    // The baseline: the same file as the server's (copied before it reopened it), read-only in this process.
    // (A read-only connection cannot use the server's exclusive locking mode on a WAL file: it reads the WAL index from -shm.)
    base = new Baseline(new Database(copy, { readonly: true, fileMustExist: true }));
    const baseline = base;

    const iso = (t: number) => new Date(t).toISOString();
    const dbTime = (t: number) => sqlTime(new Date(t));
    const busiest = WORKSTATIONS[0];
    const other = WORKSTATIONS[7];

    const rowsOf = (a: unknown) => (Array.isArray(a) ? a : (a as { rows: unknown[] }).rows);
    const sameCount = (answer: unknown, raw: unknown, limit = Infinity) => {
      const n = rowsOf(answer).length;
      const m = Math.min(limit, (raw as unknown[]).length);
      // "now" moves between the two: a row may cross the edge of the range.
      return Math.abs(n - m) <= 1 ? null : `the endpoint answered ${n} rows, the SQL ${m}`;
    };
    const sameIds = (answer: unknown, raw: unknown, limit: number) => {
      const a = rowsOf(answer).map((r) => (r as { id: number }).id);
      const b = (raw as { id: number }[]).slice(0, limit).map((r) => r.id);
      return JSON.stringify(a) === JSON.stringify(b)
        ? null
        : `the endpoint's rows differ from the SQL's (${a.length} and ${b.length} rows)`;
    };

    const cases: Case[] = [];
    /** sync-activity: `span` before now, or a fixed range; the default case sends no range at all. */
    const activity = (
      label: string,
      q: { user?: string; clientId?: string; status?: string; limit?: number; before?: number },
      span: number | { from: number; to: number },
    ) => {
      const limit = q.limit ?? 100;
      cases.push({
        endpoint: 'sync-activity',
        label,
        next: () => {
          const to = typeof span === 'number' ? Date.now() : span.to;
          const from = typeof span === 'number' ? to - span : span.from;
          const params = new URLSearchParams();
          for (const [k, v] of Object.entries(q)) if (v !== undefined) params.set(k, String(v));
          if (span !== DAY_MS) {
            params.set('from', iso(from));
            params.set('to', iso(to));
          }
          const query = params.size ? `?${params.toString()}` : '';
          return { query, run: () => SQL.activity(baseline, { ...q, from: dbTime(from), to: dbTime(to), limit }) };
        },
        check: (a, r) => (span === DAY_MS ? sameCount(a, r, limit) : sameIds(a, r, limit)),
      });
    };
    activity('defaults: last 24 h, 100 rows', {}, DAY_MS);
    activity(`user=${busiest.user}, last 30 days`, { user: busiest.user }, 30 * DAY_MS);
    {
      // Page 2 of a workstation's last 30 days: `before` is page 1's last row.
      const to = Date.now();
      const from = to - 30 * DAY_MS;
      const page1 = base.run(SQL.activity(base, { from: dbTime(from), to: dbTime(to), clientId: other.clientId, limit: 100 })) as {
        id: number;
      }[];
      const before = page1[Math.min(99, page1.length - 1)]?.id;
      if (before !== undefined)
        activity(`clientId=${other.clientId}, last 30 days, page 2`, { clientId: other.clientId, before }, { from, to });
    }
    activity('status=error, last 7 days, limit=1000', { status: 'error', limit: 1000 }, 7 * DAY_MS);
    activity('status=error, all two years, limit=1000', { status: 'error', limit: 1000 }, 731 * DAY_MS);

    const days = (endpoint: string, label: string, n: number, dflt: number, run: (n: number) => Run, stress = false) =>
      cases.push({
        endpoint,
        label,
        stress,
        next: () => ({ query: n === dflt ? '' : `?days=${n}`, run: () => run(n) }),
        service: () => SERVICE[endpoint]!(n),
        check: (a, r) => sameCount(a, r),
      });
    days('conflict-summary', 'defaults: days=7', 7, 7, SQL.conflictSummary);
    days('conflict-summary', 'days=30', 30, 7, SQL.conflictSummary);
    days('conflict-summary', 'days=365', 365, 7, SQL.conflictSummary, true);
    days('active-users', 'defaults: days=30', 30, 30, SQL.activeUsers);
    days('active-users', 'days=90', 90, 30, SQL.activeUsers);
    days('active-users', 'days=365', 365, 30, SQL.activeUsers, true);

    for (const [span, label, stress] of [
      [DAY_MS, 'defaults: last 24 h', false],
      [30 * DAY_MS, 'last 30 days', false],
      [365 * DAY_MS, 'last 365 days', true],
    ] as const) {
      cases.push({
        endpoint: 'sync-stats',
        label,
        stress,
        next: () => {
          const to = Date.now();
          const from = to - span;
          return {
            query: span === DAY_MS ? '' : `?from=${iso(from)}&to=${iso(to)}`,
            run: () => SQL.syncStats(dbTime(from), dbTime(to)),
          };
        },
        service: () => SERVICE['sync-stats']!(span),
        check: (a, r) => {
          const n = (a as { syncs: number }).syncs;
          const m = (r as { syncs: number }).syncs;
          return Math.abs(n - m) <= 2 ? null : `the endpoint counted ${n} syncs, the SQL ${m}`;
        },
      });
    }
    cases.push({
      endpoint: 'workstations',
      label: 'all (no parameters)',
      next: () => ({ query: '', run: SQL.workstations }),
      service: () => SERVICE.workstations!(0),
      check: (a, r) =>
        JSON.stringify(rowsOf(a)) === JSON.stringify(mapWorkstations(r)) ? null : `the endpoint's rows differ from the SQL's`,
    });

    // The HTTP floor, for reference: an answer without authentication or database, and the cheapest authenticated one.
    const floor = async (c: Http, p: string) => {
      const t: number[] = [];
      for (let i = 0; i < 20 + Math.max(50, opts.samples); i++) {
        const t0 = process.hrtime.bigint();
        const r = await c.get(p);
        if (i >= 20) t.push(ms(t0));
        if (r.status !== 200) throw new Error(`GET ${p}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
      }
      return t;
    };
    const anonymous = new Http(server.url, null);
    const health = await floor(anonymous, '/api/health');
    anonymous.close();
    const auth = await floor(client, '/api/v1/auth/me');

    const results: MonitoringCaseResult[] = [];
    const plans: string[] = [];
    out('');
    out(
      `  ${'endpoint'.padEnd(17)} ${'case'.padEnd(46)} ${'SQL p50/p95 ms'.padStart(15)} ${'HTTP p50/p95 ms'.padStart(16)} ${'ratio'.padStart(6)}  verdict  (the service's own SQL, p50)`,
    );
    for (const c of cases) {
      const once = async (baseFirst: boolean) => {
        const { query, run } = c.next();
        const p = `/api/v1/monitoring/${c.endpoint}${query}`;
        const side = {
          base: () => {
            const t0 = process.hrtime.bigint();
            const raw = baseline.run(run());
            return { t: ms(t0), raw };
          },
          http: async () => {
            const t0 = process.hrtime.bigint();
            const r = await client!.get(p);
            const t = ms(t0);
            if (r.status !== 200) throw new Error(`GET ${p}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
            return { t, body: r.body };
          },
        };
        if (baseFirst) {
          const b = side.base();
          return { b, e: await side.http(), run };
        }
        const e = await side.http();
        return { b: side.base(), e, run };
      };
      // Warm both sides (statements, pages) and check that they answer the same.
      for (let i = 0; i < 3; i++) {
        const { b, e, run } = await once(i % 2 === 0);
        const problem = c.check(JSON.parse(e.body) as unknown, b.raw);
        if (problem) throw new Error(`${c.endpoint} (${c.label}): ${problem}`);
        if (i === 0) plans.push(`  ${c.endpoint} (${c.label}): ${baseline.plan(run())}`);
      }
      const eT: number[] = [];
      const bT: number[] = [];
      for (let i = 0; i < opts.samples; i++) {
        // Alternate which side goes first, so the shared machine's drift hits both.
        const { b, e } = await once(i % 2 === 0);
        bT.push(b.t);
        eT.push(e.t);
      }
      let serviceMs: number | null = null;
      if (c.service) {
        const sT: number[] = [];
        for (let i = 0; i < opts.samples + 3; i++) {
          const run = c.service();
          const t0 = process.hrtime.bigint();
          baseline.run(run);
          if (i >= 3) sT.push(ms(t0));
        }
        serviceMs = percentile(sT, 50);
      }
      const baselineMs = percentile(bT, 50);
      const endpointMs = percentile(eT, 50);
      const ratio = endpointMs / baselineMs;
      const r: MonitoringCaseResult = {
        endpoint: c.endpoint,
        label: c.label,
        stress: c.stress ?? false,
        baselineMs,
        baselineP95Ms: percentile(bT, 95),
        endpointMs,
        endpointP95Ms: percentile(eT, 95),
        serviceMs,
        ratio,
        pass: ratio <= MAX_RATIO && endpointMs < MAX_MS,
      };
      results.push(r);
      const why = [ratio > MAX_RATIO ? `ratio > ${MAX_RATIO}` : '', endpointMs >= MAX_MS ? `>= ${MAX_MS} ms` : '']
        .filter(Boolean)
        .join(', ');
      out(
        `  ${c.endpoint.padEnd(17)} ${(c.label + (r.stress ? ' (stress)' : '')).padEnd(46)} ${`${fmt(baselineMs)} / ${fmt(r.baselineP95Ms)}`.padStart(15)} ${`${fmt(endpointMs)} / ${fmt(r.endpointP95Ms)}`.padStart(16)} ${ratio.toFixed(2).padStart(6)}  ${r.pass ? 'PASS' : `FAIL (${why})`}${serviceMs === null ? '' : `  (rollups: ${fmt(serviceMs)} ms)`}`,
      );
    }
    const counted = results.filter((r) => !r.stress);
    const result: MonitoringBenchResult = {
      rows: opts.rows,
      masterBytes,
      healthMs: percentile(health, 50),
      authMs: percentile(auth, 50),
      cases: results,
      passed: counted.filter((r) => r.pass).length,
      counted: counted.length,
    };
    out('');
    out(
      `  HTTP floor, for reference (not subtracted): GET /api/health p50 ${fmt(result.healthMs)} ms; GET /api/v1/auth/me with a device token p50 ${fmt(result.authMs)} ms`,
    );
    out(
      `  targets: endpoint p50 <= ${MAX_RATIO} x the SQL's p50 and < ${MAX_MS} ms; ${result.passed} of ${result.counted} cases meet both (stress cases not counted); load average ${os.loadavg()[0].toFixed(2)}`,
    );
    out('');
    out('  query plans (baseline connection):');
    for (const p of plans) out(`  ${p}`);
    return result;
  } finally {
    client?.close();
    base?.db.close();
    if (server) await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The service's mapping of a workstations row (to compare the answers exactly). */
function mapWorkstations(raw: unknown): unknown[] {
  return (raw as { user: string | null; client_id: string | null; last_sync: string; last_status: string; syncs: number }[]).map((r) => ({
    user: r.user,
    clientId: r.client_id,
    lastSync: r.last_sync,
    lastStatus: r.last_status,
    syncs: r.syncs,
    // The bench's workstations never sent a request to this server: no clock measured yet.
    clockOffsetMs: null,
    clockMeasuredAt: null,
  }));
}

function fmt(n: number): string {
  return n < 10 ? n.toFixed(2) : n.toFixed(1);
}

/**
 * The planner's statistics on the filled file, as a server would have them: none (a new server),
 * `PRAGMA optimize` (the daily job's, after the monitoring queries ran once) or a full ANALYZE
 * (the monthly VACUUM job's).
 */
function plannerStats(serverDb: string, stats: PlannerStats): string {
  if (stats === 'none') return 'none (as on a new server)';
  const db = new Database(serverDb);
  try {
    db.pragma('journal_mode = WAL');
    if (stats === 'analyze') {
      db.exec('ANALYZE');
    } else {
      const now = sqlTime();
      for (const r of [
        SQL.activity(new Baseline(db), { from: now, to: now, limit: 1 }),
        SQL.conflictSummary(1),
        SQL.activeUsers(1),
        SQL.workstations(),
      ])
        new Baseline(db).run(r);
      db.pragma('optimize');
    }
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  return stats === 'analyze' ? 'full ANALYZE (as the monthly VACUUM job leaves them)' : 'PRAGMA optimize (as the daily job leaves them)';
}
