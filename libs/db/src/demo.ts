import type Database from 'better-sqlite3';
import { SYNCED_TABLES, tableColumns } from './registry';
import { uuidv7 } from './ids';
import { parseSqlTime, sqlTime } from './time';
import type { SizeSampleRow } from './repositories/growth.repository';
import { syncState } from './repositories/sync-state.repository';

export interface DemoOptions {
  /** Seed of the pseudo-random generator: the same seed gives the same data. */
  seed?: number;
  components?: number;
  customers?: number;
  projects?: number;
  quotes?: number;
  /** Months of sync_log history ending now. */
  months?: number;
  users?: readonly string[];
  now?: Date;
}

export interface DemoSummary {
  rows: Record<string, number>;
  syncLogRows: number;
  numbersIssued: number;
  users: string[];
}

const CATEGORIES = ['Pumps', 'Valves', 'Motors', 'Sensors', 'PLCs', 'Drives', 'Enclosures', 'Cables', 'HMIs', 'Fittings'];
const VENDORS = [
  'Grundfos',
  'Siemens',
  'Allen-Bradley',
  'ABB',
  'Schneider Electric',
  'Festo',
  'SMC',
  'Endress+Hauser',
  'Parker',
  'Phoenix Contact',
  'Omron',
  'Rittal',
];
const CITIES: [string, string, string][] = [
  ['Houston', 'TX', 'USA'],
  ['Chicago', 'IL', 'USA'],
  ['Toronto', 'ON', 'Canada'],
  ['Denver', 'CO', 'USA'],
  ['Monterrey', 'NL', 'Mexico'],
  ['Atlanta', 'GA', 'USA'],
  ['Calgary', 'AB', 'Canada'],
  ['Phoenix', 'AZ', 'USA'],
];
const COMPANY_A = [
  'Apex',
  'Summit',
  'Prairie',
  'Delta',
  'Keystone',
  'Northern',
  'Granite',
  'Blue River',
  'Ironwood',
  'Lakeside',
  'Pioneer',
  'Redline',
];
const COMPANY_B = [
  'Foods',
  'Water Authority',
  'Packaging',
  'Brewing',
  'Chemicals',
  'Plastics',
  'Pharma',
  'Mining',
  'Energy',
  'Automation',
  'Dairy',
  'Paper',
];
const PRODUCT_LINES = ['Skid Systems', 'Control Panels', 'Pump Stations', 'Dosing Systems', 'Filtration'];
const QUOTE_STATUS = ['draft', 'sent', 'sent', 'won', 'lost', 'revised'];
const PROJECT_STATUS = ['planning', 'active', 'active', 'on hold', 'completed'];
export const DEMO_USERS = ['alice', 'bob', 'carol', 'dave', 'erin'] as const;

/** Small deterministic PRNG (mulberry32) so demo data and fixtures are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Fills an empty master with realistic CPQ data: thousands of components across categories
 * and vendors, hundreds of customers, projects and quotes with server-allocated numbers, and
 * months of sync_log history. One transaction: all of it or none of it.
 */
export function seedDemoData(server: Database.Database, numbers: Database.Database, opts: DemoOptions = {}): DemoSummary {
  const rnd = prng(opts.seed ?? 20251113);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const money = (lo: number, hi: number) => Math.round((lo + rnd() * (hi - lo)) * 100) / 100;
  const now = opts.now ?? new Date();
  const months = opts.months ?? 6;
  const start = new Date(now.getTime() - months * 30 * 86400_000);
  const at = (from: Date = start) => new Date(from.getTime() + rnd() * (now.getTime() - from.getTime()));
  const users = [...(opts.users ?? DEMO_USERS)];

  const state = syncState(server);
  let seq = state.lastSeq();
  const inserters = new Map<string, (row: Record<string, unknown>) => void>();
  for (const table of SYNCED_TABLES) {
    const cols = tableColumns(table).map((c) => c.name);
    const stmt = server.prepare(
      `INSERT INTO "${table.name}" (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`,
    );
    inserters.set(table.name, (row) => {
      const full: Record<string, unknown> = Object.fromEntries(cols.map((c) => [c, null]));
      Object.assign(full, row);
      const when = (row.updated_at as string | undefined) ?? sqlTime(at());
      full.id = full.id ?? uuidv7();
      full.updated_at = when;
      full.updated_by = row.updated_by ?? pick(users);
      full.synced_at = when;
      full.server_seq = ++seq;
      full.deleted = 0;
      stmt.run(full);
    });
  }
  const insert = (table: string, row: Record<string, unknown>) => inserters.get(table)!(row);
  const issueNumber = numbers.prepare(
    `INSERT INTO generated_numbers (type, number, year, sequence, created_at, created_by, status)
     VALUES (?, ?, ?, ?, ?, ?, 'issued')`,
  );
  const counters: Record<string, number> = {};
  const nextNumber = (type: 'quote' | 'project', when: Date, by: string) => {
    const year = when.getUTCFullYear();
    const key = `${type}-${year}`;
    counters[key] = (counters[key] ?? 0) + 1;
    const number = `${type === 'quote' ? 'Q' : 'P'}${year}-${String(counters[key]).padStart(4, '0')}`;
    issueNumber.run(type, number, year, counters[key], sqlTime(when), by);
    return number;
  };

  const counts = {
    components: opts.components ?? 3000,
    customers: opts.customers ?? 300,
    projects: opts.projects ?? 400,
    quotes: opts.quotes ?? 1200,
  };
  let syncLogRows = 0;
  const run = server.transaction(() => {
    numbers.exec('BEGIN');
    try {
      for (let i = 0; i < counts.components; i++) {
        const category = pick(CATEGORIES);
        const vendor = pick(VENDORS);
        const cost = money(5, 4000);
        insert('components', {
          sku: `${category.slice(0, 3).toUpperCase()}-${String(10000 + i)}`,
          name: `${vendor} ${category.replace(/s$/, '')} ${int(10, 990)}${pick(['', 'A', 'B', 'X'])}`,
          description: `${category.replace(/s$/, '')} for industrial process skids`,
          category,
          vendor,
          manufacturer: vendor,
          partNumber: `${vendor.slice(0, 2).toUpperCase()}${int(100000, 999999)}`,
          unitCost: cost,
          listPrice: Math.round(cost * (1.25 + rnd() * 0.5) * 100) / 100,
          unit: pick(['ea', 'ea', 'ea', 'm', 'set']),
          leadTimeDays: int(1, 90),
          active: rnd() < 0.93 ? 1 : 0,
          createdAt: sqlTime(at()),
        });
      }
      const customerNames: string[] = [];
      for (let i = 0; i < counts.customers; i++) {
        const [city, state, country] = pick(CITIES);
        const name = `${pick(COMPANY_A)} ${pick(COMPANY_B)}${i >= COMPANY_A.length * COMPANY_B.length ? ` ${i}` : ''}`;
        customerNames.push(name);
        insert('customers', {
          name,
          type: rnd() < 0.35 ? 'OEM' : 'End User',
          contactName: `${pick(['Sam', 'Alex', 'Jordan', 'Taylor', 'Morgan', 'Casey'])} ${pick(['Lee', 'Patel', 'Nguyen', 'Garcia', 'Smith', 'Brown'])}`,
          email: `purchasing${i}@example.com`,
          phone: `+1-555-${String(int(1000000, 9999999))}`,
          address: `${int(10, 9999)} Industrial Pkwy`,
          city,
          state,
          country,
          createdAt: sqlTime(at()),
        });
      }
      const projectIds: string[] = [];
      for (let i = 0; i < counts.projects; i++) {
        const when = at();
        const by = pick(users);
        const id = uuidv7();
        projectIds.push(id);
        insert('projects', {
          id,
          projectNumber: nextNumber('project', when, by),
          name: `${pick(PRODUCT_LINES)} for ${pick(customerNames)}`,
          customer: pick(customerNames),
          status: pick(PROJECT_STATUS),
          salesperson: by,
          startDate: sqlTime(when),
          dueDate: sqlTime(new Date(when.getTime() + int(30, 180) * 86400_000)),
          createdAt: sqlTime(when),
          updated_at: sqlTime(when),
          updated_by: by,
        });
      }
      for (let i = 0; i < counts.quotes; i++) {
        const when = at();
        const by = pick(users);
        const lines = Array.from({ length: int(2, 8) }, () => ({
          sku: `${pick(CATEGORIES).slice(0, 3).toUpperCase()}-${int(10000, 10000 + counts.components - 1)}`,
          quantity: int(1, 12),
          unitPrice: money(20, 5000),
        }));
        const subtotal = Math.round(lines.reduce((s, l) => s + l.quantity * l.unitPrice, 0) * 100) / 100;
        const discountPct = pick([0, 0, 5, 7.5, 10]);
        insert('quotes', {
          quoteNumber: nextNumber('quote', when, by),
          projectId: pick(projectIds),
          customer: pick(customerNames),
          title: `${pick(PRODUCT_LINES)} quote`,
          status: pick(QUOTE_STATUS),
          revision: int(0, 3),
          currency: 'USD',
          subtotal,
          discountPct,
          total: Math.round(subtotal * (1 - discountPct / 100) * 100) / 100,
          validUntil: sqlTime(new Date(when.getTime() + 30 * 86400_000)),
          lineItems: JSON.stringify(lines),
          createdBy: by,
          createdAt: sqlTime(when),
          updated_at: sqlTime(at(when)),
          updated_by: pick(users),
        });
      }
      for (let i = 0; i < Math.ceil(counts.quotes / 8); i++) {
        const when = at();
        insert('manual_quotes', {
          quoteNumber: `MQ-${String(1000 + i)}`,
          customer: pick(customerNames),
          description: `Field service and spares, ${pick(CATEGORIES).toLowerCase()}`,
          amount: money(300, 25000),
          status: pick(QUOTE_STATUS),
          preparedBy: pick(users),
          createdAt: sqlTime(when),
        });
      }
      for (let i = 0; i < 60; i++) {
        insert('sub_assemblies', {
          name: `${pick(PRODUCT_LINES)} module ${i + 1}`,
          category: pick(CATEGORIES),
          items: JSON.stringify(
            Array.from({ length: int(3, 10) }, () => ({
              sku: `${pick(CATEGORIES).slice(0, 3).toUpperCase()}-${int(10000, 12000)}`,
              quantity: int(1, 6),
            })),
          ),
          laborHours: money(2, 60),
          totalCost: money(500, 40000),
          createdAt: sqlTime(at()),
        });
      }
      for (let i = 0; i < 25; i++) {
        insert('product_templates', {
          name: `${pick(PRODUCT_LINES)} ${pick(['Standard', 'Compact', 'Heavy Duty', 'Sanitary'])} ${i + 1}`,
          productLine: pick(PRODUCT_LINES),
          configuration: JSON.stringify({ options: int(3, 12), voltage: pick([208, 480, 600]) }),
          basePrice: money(8000, 250000),
          active: 1,
          createdAt: sqlTime(at()),
        });
      }
      // Sync history: each user syncs every ~2 h through business hours, with a few conflicts
      // and failures, the way the guide's monitoring queries expect to find it.
      const log = server.prepare(
        `INSERT INTO sync_log (timestamp, status, records_pulled, records_pushed, conflicts, duration_ms, user, client_id, error)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (let day = months * 30; day >= 0; day--) {
        const date = new Date(now.getTime() - day * 86400_000);
        if (date.getUTCDay() === 0 || date.getUTCDay() === 6) continue;
        for (const user of users) {
          for (let hour = 8 + int(0, 1); hour < 18; hour += 2) {
            const ts = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate(), hour, int(0, 59), int(0, 59)));
            if (ts > now) continue;
            const failed = rnd() < 0.03;
            log.run(
              sqlTime(ts),
              failed ? 'error' : 'success',
              failed ? 0 : int(0, 40),
              failed ? 0 : int(0, 15),
              failed ? 0 : rnd() < 0.04 ? int(1, 3) : 0,
              int(120, failed ? 30000 : 4000),
              user,
              `${user}-laptop`,
              failed ? pick(['Network timeout after 30 s', 'Server answered 503: maintenance in progress']) : null,
            );
            syncLogRows++;
          }
        }
      }
      state.setLastSeq(seq);
      numbers.exec('COMMIT');
    } catch (err) {
      numbers.exec('ROLLBACK');
      throw err;
    }
  });
  run();
  const rows = Object.fromEntries(
    SYNCED_TABLES.map((t) => [t.name, (server.prepare(`SELECT COUNT(*) AS n FROM "${t.name}"`).get() as { n: number }).n]),
  );
  const numbersIssued = Object.values(counters).reduce((a, b) => a + b, 0);
  return { rows, syncLogRows, numbersIssued, users };
}

export interface DemoGrowthOptions {
  /** Days of history before the latest sample (one sample a day). */
  days?: number;
  now?: Date;
  seed?: number;
}

/** Share of today's size each file had at the start of the demo history (the master grows most). */
const GROWTH_START: Record<string, number> = { 'server.db': 0.55, 'generated_numbers.db': 0.6, 'hub.db': 0.85 };

/**
 * Growth history for the demo: one size sample a day per database file for `days` days before the
 * latest sample of each (take one just before: it is the end point). Sizes rise from a share of
 * today's to today's, mostly on weekdays (when people work), WAL and big tables with them. Only on
 * a fresh data directory: when hub.db holds a sample older than a day, real history exists and
 * nothing is written (returns 0); otherwise the few samples of the still-empty master taken since
 * the server started are replaced by the history. Returns the number of samples written.
 */
export function seedDemoGrowth(hub: Database.Database, opts: DemoGrowthOptions = {}): number {
  const now = opts.now ?? new Date();
  const days = opts.days ?? 90;
  const rnd = prng(opts.seed ?? 20251124);
  const samples = hub.prepare('SELECT * FROM size_samples ORDER BY taken_at, id').all() as SizeSampleRow[];
  if (samples.length === 0) return 0;
  if (samples.some((s) => now.getTime() - parseSqlTime(s.taken_at).getTime() > 86_400_000)) return 0;
  const latest = new Map<string, SizeSampleRow>();
  for (const s of samples) latest.set(s.file, s);

  // One weight per day: the size grows by a weekday's work, barely at weekends.
  const weights = Array.from({ length: days }, (_, i) => {
    const day = new Date(now.getTime() - (days - 1 - i) * 86_400_000).getUTCDay();
    return day === 0 || day === 6 ? 0.05 * rnd() : 0.6 + 0.8 * rnd();
  });
  const total = weights.reduce((a, b) => a + b, 0);
  const insert = hub.prepare(
    `INSERT INTO size_samples (taken_at, file, bytes, wal_bytes, page_size, page_count, freelist_count, tables) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  let written = 0;
  hub.transaction(() => {
    const keep = [...latest.values()].map((s) => s.id);
    hub.prepare(`DELETE FROM size_samples WHERE id NOT IN (${keep.map(() => '?').join(', ')})`).run(...keep);
    for (const last of latest.values()) {
      const start = GROWTH_START[last.file] ?? 0.7;
      const lastAt = parseSqlTime(last.taken_at).getTime();
      const tables = JSON.parse(last.tables) as { table: string; rows: number; bytes: number }[];
      let done = 0;
      for (let d = days; d >= 1; d--) {
        // d days before the latest sample the file held `start` of its size plus the work done since.
        const f = start + (1 - start) * (done / total);
        done += weights[days - d];
        const pages = Math.max(1, Math.round(last.page_count * f));
        insert.run(
          sqlTime(new Date(lastAt - d * 86_400_000)),
          last.file,
          Math.round((last.bytes * f) / last.page_size) * last.page_size,
          Math.round((last.wal_bytes * f) / 1024) * 1024,
          last.page_size,
          pages,
          Math.round(last.freelist_count * f),
          JSON.stringify(
            tables.map((t) => ({
              table: t.table,
              // Small lookup tables (users, settings, migrations) do not grow with the data.
              rows: t.rows > 100 ? Math.round(t.rows * f) : t.rows,
              bytes: t.rows > 100 ? Math.max(last.page_size, Math.round((t.bytes * f) / last.page_size) * last.page_size) : t.bytes,
            })),
          ),
        );
        written++;
      }
    }
  })();
  return written;
}
