import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LEGACY_FIXTURE_DIR, writeLegacyDataDir } from '@cacpq/db';
import type { SchemaView, SyncInfoResponse } from '@cacpq/sync-protocol';
import { ADMIN_PASSWORD, adminSession, startServer, tempDir, type ServerProcess } from './harness';
import { Workstation, cacpq } from './workstations';

/**
 * The users' own schema: legacy masters the registry never described sync every keyed table and
 * column both ways between real workstation processes; an additive migration applied with the CLI
 * while three workstations (new app, old app, one already writing the new column) sync in a loop.
 */

/** The old app's files with what the guide never names: a column, a table with an integer key, a table without a key. */
const FIXTURE_A = `
CREATE TABLE price_lists (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, currency TEXT DEFAULT 'USD', validFrom DATETIME, factor REAL);
INSERT INTO price_lists (name, currency, validFrom, factor) VALUES ('Standard', 'USD', '2024-01-01 00:00:00', 1.0), ('Distributor', 'EUR', '2024-06-01 00:00:00', 0.85);
CREATE TABLE app_settings (key TEXT, value TEXT);
INSERT INTO app_settings VALUES ('theme', 'dark');
ALTER TABLE components ADD COLUMN warrantyMonths INTEGER;
UPDATE components SET warrantyMonths = 24 WHERE id = 1;
`;

/** Another app's layout: a few of the guide's tables, line items with an untyped column, a WITHOUT ROWID table, keys the sync cannot use. */
const FIXTURE_B = `PRAGMA journal_mode=DELETE;
BEGIN;
CREATE TABLE customers (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, type TEXT NOT NULL DEFAULT 'End User', city TEXT, createdAt DATETIME, loyaltyTier TEXT);
INSERT INTO customers (name, type, city, createdAt, loyaltyTier) VALUES ('Acme Pumps', 'OEM', 'Houston', '2023-01-02 00:00:00', 'gold'), ('Borealis Ltd', 'End User', 'Calgary', '2023-02-02 00:00:00', NULL);
CREATE TABLE quotes (id INTEGER PRIMARY KEY AUTOINCREMENT, quoteNumber TEXT, customerId INTEGER REFERENCES customers(id), title TEXT, status TEXT, total REAL, createdAt DATETIME);
INSERT INTO quotes (quoteNumber, customerId, title, status, total, createdAt) VALUES ('Q-1001', 1, 'Skid', 'Draft', 1200.5, '2024-03-01 00:00:00'), ('Q-1002', 2, 'Spares', 'Won', 310, '2024-03-02 00:00:00');
CREATE TABLE quote_lines (id INTEGER PRIMARY KEY, quoteId INTEGER REFERENCES quotes(id), sku TEXT NOT NULL, qty REAL, unitPrice NUMERIC, lineNotes);
INSERT INTO quote_lines VALUES (1, 1, 'PUM-1', 2, 500, 'main pump'), (2, 1, 'VAL-9', 4, 50.125, 7), (3, 2, 'SEAL-2', 10, 31, NULL);
CREATE TABLE currencies (id TEXT PRIMARY KEY, rate REAL, symbol TEXT) WITHOUT ROWID;
INSERT INTO currencies VALUES ('EUR', 1.08, '€'), ('CAD', 0.73, '$');
CREATE TABLE labels (code TEXT PRIMARY KEY, text TEXT);
INSERT INTO labels VALUES ('draft', 'Draft');
CREATE TABLE user_prefs (user TEXT, key TEXT, value TEXT, PRIMARY KEY (user, key));
COMMIT;
`;

function legacyDataDir(dir: string, name: string, serverSql: string): string {
  const fixture = path.join(dir, `fixture-${name}`);
  fs.mkdirSync(fixture, { recursive: true });
  fs.copyFileSync(path.join(LEGACY_FIXTURE_DIR, 'generated_numbers.sql'), path.join(fixture, 'generated_numbers.sql'));
  fs.writeFileSync(path.join(fixture, 'server.sql'), serverSql);
  const dataDir = path.join(dir, `data-${name}`);
  writeLegacyDataDir(dataDir, fixture);
  return dataDir;
}

type Call = Awaited<ReturnType<typeof adminSession>>;

async function token(call: Call, username: string, device: string): Promise<string> {
  const users = (await (await call('GET', '/api/v1/users')).json()) as { username: string }[];
  if (!users.some((u) => u.username === username))
    expect((await call('POST', '/api/v1/users', { username, role: 'user' })).status).toBe(201);
  const res = await call('POST', `/api/v1/users/${username}/tokens`, { device });
  return ((await res.json()) as { token: string }).token;
}

function columnsOf(file: string, table: string): string[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[]).map((r) => r.name);
  } finally {
    db.close();
  }
}

/** The synced tables of two files, row by row, over the columns both have: equal means they agree. */
function agree(a: Workstation, b: Workstation, tables: string[]): void {
  for (const t of tables) {
    const cols = columnsOf(a.file, t).filter((c) => columnsOf(b.file, t).includes(c) && c !== 'synced_at');
    const pick = (rows: Record<string, unknown>[]) => rows.map((r) => Object.fromEntries(cols.map((c) => [c, r[c]])));
    expect({ table: t, rows: pick(b.dump([t])[t]) }).toEqual({ table: t, rows: pick(a.dump([t])[t]) });
  }
}

describe.each([
  {
    name: 'the guide’s app with an extra column, table and keyless table',
    sql: () => fs.readFileSync(path.join(LEGACY_FIXTURE_DIR, 'server.sql'), 'utf8').replace(/COMMIT;\s*$/, `${FIXTURE_A}\nCOMMIT;\n`),
    keyless: { app_settings: /no primary key/ },
    // table, id, column, value written on the first workstation, value written back on the second
    edits: [
      ['components', '1', 'warrantyMonths', '48', '60'],
      ['price_lists', '2', 'factor', '0.8', '0.75'],
      ['customers', '3', 'city', "'Dallas'", "'Austin'"],
    ],
    inserts: [
      ['price_lists', "INSERT INTO price_lists (id, name, currency, factor) VALUES ('pl-new', 'Project', 'CAD', 0.9)"],
      ['components', "INSERT INTO components (id, sku, name, warrantyMonths) VALUES ('c-new', 'NEW-1', 'New pump', 12)"],
    ],
  },
  {
    name: 'another app’s layout (line items, an untyped column, WITHOUT ROWID, unusable keys)',
    sql: () => FIXTURE_B,
    keyless: { labels: /primary key is "code"/, user_prefs: /spans 2 columns/ },
    edits: [
      ['customers', '2', 'loyaltyTier', "'silver'", "'gold'"],
      ['quote_lines', '2', 'lineNotes', "'valve, spare'", '8'],
      ['quote_lines', '3', 'qty', '12.5', '14.5'],
      ['currencies', 'EUR', 'rate', '1.1', '1.09'],
      ['quotes', '1', 'total', '1300.25', '1250.75'],
    ],
    inserts: [
      [
        'quote_lines',
        "INSERT INTO quote_lines (id, quoteId, sku, qty, unitPrice, lineNotes) VALUES ('ql-new', '2', 'GSK-4', 3, 12.5, 'gasket')",
      ],
      ['currencies', "INSERT INTO currencies (id, rate, symbol) VALUES ('GBP', 1.27, '£')"],
    ],
  },
])('a legacy master: $name', ({ sql, keyless, edits, inserts }) => {
  let dir: string;
  let server: ServerProcess;
  let call: Call;

  beforeAll(async () => {
    dir = tempDir('schema-legacy');
    server = await startServer({ dataDir: legacyDataDir(dir, 'master', sql()) });
    call = await adminSession(server.url);
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('every table and column with a key syncs both ways between two workstations; a keyless table is listed with its reason', async () => {
    const schema = (await (await call('GET', '/api/v1/schema')).json()) as SchemaView;
    for (const [table, reason] of Object.entries(keyless)) {
      const t = schema.tables.find((x) => x.name === table)!;
      expect({ table, synced: t.synced }).toEqual({ table, synced: false });
      expect(t.reason).toMatch(reason);
    }
    const synced = schema.tables.filter((t) => t.synced);
    const ws1 = Workstation.init('ws-1', dir, server.url, await token(call, 'ana', 'ws-1'));
    const ws2 = Workstation.init('ws-2', dir, server.url, await token(call, 'ben', 'ws-2'));

    // Every column the master syncs is in the workstations' files, with the master's rows.
    for (const t of synced) {
      const masterCols = t.columns.map((c) => c.name);
      expect({
        table: t.name,
        columns: columnsOf(ws1.file, t.name)
          .filter((c) => masterCols.includes(c))
          .sort(),
      }).toEqual({
        table: t.name,
        columns: [...masterCols].sort(),
      });
      expect({ table: t.name, rows: ws1.dump([t.name])[t.name].length }).toEqual({ table: t.name, rows: t.rowCount });
    }

    // Workstation 1 edits a learned column of each table and adds rows; workstation 2 receives them.
    ws1.sql(
      [
        ...edits.map(([table, id, column, value]) => `UPDATE "${table}" SET "${column}" = ${value} WHERE id = '${id}';`),
        ...inserts.map(([, s]) => `${s};`),
      ].join('\n'),
    );
    expect(ws1.sync()).toMatch(/^synced: pushed \d+/);
    ws2.sync();
    for (const [table, id, column, value] of edits) {
      const got = ws2.sql(`SELECT quote("${column}") FROM "${table}" WHERE id = '${id}';`);
      expect({ table, id, column, value: got }).toEqual({ table, id, column, value: ws2.sql(`SELECT quote(${value});`) });
    }
    for (const [table, s] of inserts) {
      const id = /VALUES \('([^']+)'/.exec(s)![1];
      expect({ table, id, there: ws2.dump([table])[table].some((r) => r.id === id) }).toEqual({ table, id, there: true });
    }

    // And back: workstation 2 edits the same columns; workstation 1 receives them.
    ws2.sql(edits.map(([table, id, column, , back]) => `UPDATE "${table}" SET "${column}" = ${back} WHERE id = '${id}';`).join('\n'));
    ws2.sync();
    ws1.sync();
    for (const [table, id, column, , back] of edits) {
      const got = ws1.sql(`SELECT quote("${column}") FROM "${table}" WHERE id = '${id}';`);
      const want = ws1.sql(`SELECT quote(${back});`);
      expect({ table, id, column, value: got }).toEqual({ table, id, column, value: want });
    }
    agree(
      ws1,
      ws2,
      synced.map((t) => t.name),
    );

    // The master holds the same: a third workstation made from it now agrees with both.
    const ws3 = Workstation.init('ws-3', dir, server.url, await token(call, 'cleo', 'ws-3'));
    agree(
      ws1,
      ws3,
      synced.map((t) => t.name),
    );
  });
});

describe('an additive migration while three workstations sync in a loop', () => {
  let dir: string;
  let server: ServerProcess;
  let call: Call;
  const migration = `-- app 2.4
BEGIN;
ALTER TABLE quotes ADD COLUMN discountReason TEXT;
CREATE TABLE IF NOT EXISTS freight_rates (id TEXT PRIMARY KEY, region TEXT NOT NULL, rate REAL);
CREATE INDEX IF NOT EXISTS idx_quotes_status ON quotes(status);
PRAGMA user_version = 24;
COMMIT;
`;

  beforeAll(async () => {
    dir = tempDir('schema-migrate');
    const dataDir = path.join(dir, 'data');
    server = await startServer({ dataDir });
    call = await adminSession(server.url);
    expect((await call('POST', '/api/v1/demo/seed', { confirm: 'seed-demo', scale: 0.1, months: 1 })).status).toBe(201);
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the new app, the old app and the one ahead all agree with the master afterwards, and nothing is lost', async () => {
    const wsNew = Workstation.init('ws-new', dir, server.url, await token(call, 'nora', 'ws-new'));
    const wsOld = Workstation.init('ws-old', dir, server.url, await token(call, 'olaf', 'ws-old'));
    const wsAhead = Workstation.init('ws-ahead', dir, server.url, await token(call, 'abe', 'ws-ahead'));
    const syncOld = () => {
      const r = cacpq(['client', 'sync', '--db', wsOld.file, '--keep-schema']);
      if (r.status !== 0) throw new Error(`ws-old sync failed: ${r.stderr}${r.stdout}`);
      return r.stdout;
    };
    // The new app version migrated its own file at start; the SDK notices at its next sync.
    for (const ws of [wsNew, wsAhead]) ws.sql('ALTER TABLE quotes ADD COLUMN discountReason TEXT;');
    wsNew.sync();
    wsAhead.sync();
    const before = ((await (await call('GET', '/api/v1/schema')).json()) as SchemaView).version;

    const made: { ws: string; id: string; discount: string | null }[] = [];
    for (let round = 1; round <= 6; round++) {
      for (const [ws, name] of [
        [wsNew, 'ws-new'],
        [wsOld, 'ws-old'],
        [wsAhead, 'ws-ahead'],
      ] as const) {
        const id = `q-${name}-${round}`;
        // The workstation ahead writes the new column from the start; the new app once the master has it.
        const discount = name === 'ws-ahead' || (name === 'ws-new' && round > 3) ? `reason ${round}` : null;
        ws.sql(
          discount
            ? `INSERT INTO quotes (id, title, status, discountReason) VALUES ('${id}', 'Round ${round}', 'Draft', '${discount}');`
            : `INSERT INTO quotes (id, title, status) VALUES ('${id}', 'Round ${round}', 'Draft');`,
        );
        made.push({ ws: name, id, discount });
        const line = name === 'ws-old' ? syncOld() : ws.sync();
        if (name === 'ws-ahead' && round === 1) expect(line).toMatch(/held back/);
      }
      if (round === 1) {
        const held = cacpq(['client', 'status', '--db', wsAhead.file]).stdout;
        expect(held).toMatch(/SCHEMA_AHEAD: .*quotes has no column "discountReason"/);
      }
      if (round === 3) {
        const file = path.join(dir, 'app-2.4.sql');
        fs.writeFileSync(file, migration);
        const r = cacpq(['schema', 'apply', file, '--yes', '--url', server.url, '--user', 'admin', '--password', ADMIN_PASSWORD]);
        expect({ status: r.status, err: r.stderr.split('\n').filter((l) => /error|refused|failed/i.test(l)) }).toEqual({
          status: 0,
          err: [],
        });
        expect(r.stdout).toMatch(/new column\s+.*quotes.*discountReason/);
        expect(r.stdout).toMatch(/schema version \d+/);
      }
    }
    for (let i = 0; i < 2; i++) {
      wsNew.sync();
      syncOld();
      wsAhead.sync();
    }
    const info = (await (
      await fetch(`${server.url}/api/v1/sync/info`, { headers: { Authorization: `Bearer ${await token(call, 'nora', 'probe')}` } })
    ).json()) as SyncInfoResponse;
    expect(info.schemaVersion).toBe(before + 1);

    // The master, as a workstation made from it now holds it.
    const fresh = Workstation.init('ws-fresh', dir, server.url, await token(call, 'fay', 'ws-fresh'));
    const master = fresh.dump(['quotes']).quotes;
    for (const m of made) {
      const row = master.find((r) => r.id === m.id);
      expect({ id: m.id, there: !!row, discount: row?.discountReason ?? null }).toEqual({ id: m.id, there: true, discount: m.discount });
    }
    // Every workstation agrees with the master over the columns it has; the old one has no new column, the others have it and the new table.
    for (const ws of [wsNew, wsOld, wsAhead]) agree(fresh, ws, ['quotes', 'customers', 'components']);
    expect(columnsOf(wsOld.file, 'quotes')).not.toContain('discountReason');
    for (const ws of [wsNew, wsAhead, fresh]) {
      expect(columnsOf(ws.file, 'quotes')).toContain('discountReason');
      expect(ws.sql(`SELECT count(*) FROM sqlite_master WHERE name = 'freight_rates';`)).toBe('1');
    }
    for (const ws of [wsNew, wsOld, wsAhead]) expect(cacpq(['client', 'status', '--db', ws.file]).stdout).toMatch(/held back:\s+0 changes/);
  });
});
