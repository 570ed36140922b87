import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LEGACY_FIXTURE_DIR, writeLegacyDataDir } from '@cacpq/db';
import type { JobView, MigrationPreview, PullResponse, PushChange, SchemaView, SyncInfoResponse } from '@cacpq/sync-protocol';
import { JobsService } from '../src/jobs/jobs.service';
import { ADMIN_PASSWORD, makeUser, sessionCaller, startTestServer, type Caller, type TestServer } from './harness';

/** A legacy desktop-app master with what the guide never names: a column, a table, and a table without a key. */
function legacyWithExtras(dataDir: string): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cacpq-fixture-'));
  fs.copyFileSync(path.join(LEGACY_FIXTURE_DIR, 'generated_numbers.sql'), path.join(dir, 'generated_numbers.sql'));
  const extra = `
CREATE TABLE price_lists (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, currency TEXT DEFAULT 'USD', validFrom DATETIME, factor REAL);
INSERT INTO price_lists (name, currency, validFrom, factor) VALUES ('Standard', 'USD', '2024-01-01 00:00:00', 1.0), ('Distributor', 'EUR', '2024-06-01 00:00:00', 0.85);
CREATE INDEX idx_price_lists_name ON price_lists(name);
CREATE TABLE app_settings (key TEXT, value TEXT);
INSERT INTO app_settings VALUES ('theme', 'dark');
ALTER TABLE components ADD COLUMN warrantyMonths INTEGER;
UPDATE components SET warrantyMonths = 24 WHERE id = 1;
`;
  const server = fs.readFileSync(path.join(LEGACY_FIXTURE_DIR, 'server.sql'), 'utf8').replace(/COMMIT;\s*$/, `${extra}\nCOMMIT;\n`);
  fs.writeFileSync(path.join(dir, 'server.sql'), server);
  writeLegacyDataDir(dataDir, dir);
  fs.rmSync(dir, { recursive: true, force: true });
}

let server: TestServer;
let admin: Caller;
let alice: Caller;
let manager: Caller;

beforeAll(async () => {
  server = await startTestServer({}, { prepare: legacyWithExtras });
  admin = await sessionCaller(server, 'admin', ADMIN_PASSWORD);
  alice = (await makeUser(server, admin, 'alice', 'user')).token;
  manager = (await makeUser(server, admin, 'mona', 'manager')).session;
});
afterAll(() => server.close());

const info = async () => (await alice.auth(server.http.get('/api/v1/sync/info'), 'GET').expect(200)).body as SyncInfoResponse;
const schema = async (who: Caller = admin) => (await who.auth(server.http.get('/api/v1/schema'), 'GET').expect(200)).body as SchemaView;

function push(changes: PushChange[], generation: string, clientId = 'ws-new-app') {
  return alice.auth(server.http.post('/api/v1/sync/push'), 'POST').send({
    protocolVersion: 1,
    clientId,
    batchId: randomUUID(),
    generation,
    clientTime: new Date().toISOString(),
    changes,
  });
}

/** Every table's DDL and rows, in order (read on the server's own connection): equal before and after means the master did not change. */
function logicalDump(): string {
  const db = server.store.serverDb;
  const objects = db.prepare(`SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name`).all() as {
    type: string;
    name: string;
    sql: string;
  }[];
  const rows = objects
    .filter((o) => o.type === 'table')
    .map((o) => JSON.stringify((db.prepare(`SELECT * FROM "${o.name}"`).all() as unknown[]).map((r) => JSON.stringify(r)).sort()));
  return JSON.stringify([objects, rows]);
}

/** The master's version of a row (its base for an edit). */
function version(table: string, id: string): number {
  return (server.store.serverDb.prepare(`SELECT server_seq FROM "${table}" WHERE id = ?`).get(id) as { server_seq: number }).server_seq;
}

async function waitJob(job: JobView): Promise<JobView> {
  return server.app.get(JobsService).waitFor(job.id);
}

describe('the schema is learned from the master', () => {
  test('a legacy column and a legacy table the guide never names sync; a table without a key is listed with its reason', async () => {
    const i = await info();
    expect(i.schemaVersion).toBeGreaterThanOrEqual(1);
    const components = i.tables.find((t) => t.name === 'components')!;
    expect(components.columns.map((c) => c.name)).toContain('warrantyMonths');
    expect(components.columns.find((c) => c.name === 'warrantyMonths')).toMatchObject({ type: 'integer', nullable: true });
    const prices = i.tables.find((t) => t.name === 'price_lists')!;
    expect(prices.columns.map((c) => c.name)).toEqual(
      expect.arrayContaining(['id', 'name', 'currency', 'validFrom', 'factor', 'updated_at', 'server_seq', 'deleted']),
    );
    expect(prices.indexes.join('\n')).toMatch(/idx_price_lists_name/);
    expect(i.tables.some((t) => t.name === 'app_settings')).toBe(false);
    expect(i.tables.some((t) => t.name.startsWith('sync_'))).toBe(false);

    const view = await schema(manager);
    const keyless = view.tables.find((t) => t.name === 'app_settings')!;
    expect(keyless).toMatchObject({ synced: false, rowCount: 1 });
    expect(keyless.reason).toMatch(/no primary key/);
    expect(view.tables.find((t) => t.name === 'price_lists')).toMatchObject({ synced: true, rowCount: 2 });
    expect(view.history[0].changes.join(' ')).toMatch(/synced tables/);
  });

  test('the legacy rows of a converted table keep their ids as text and are pulled like any row', async () => {
    const i = await info();
    const res = await alice
      .auth(server.http.get('/api/v1/sync/pull'), 'GET')
      .query({ generation: i.generation, clientId: 'ws-1', cursor: 0, limit: 5000 })
      .expect(200);
    const page = res.body as PullResponse;
    expect(page.schemaVersion).toBe(i.schemaVersion);
    const prices = page.changes.filter((c) => c.table === 'price_lists');
    expect(prices.map((c) => c.id).sort()).toEqual(['1', '2']);
    expect(prices.find((c) => c.id === '2')!.values).toMatchObject({ name: 'Distributor', currency: 'EUR', factor: 0.85 });
    const c1 = page.changes.find((c) => c.table === 'components' && c.id === '1')!;
    expect(c1.values.warrantyMonths).toBe(24);
  });

  test('a change to a learned column and a learned table is taken like any other', async () => {
    const { generation } = await info();
    const res = await push(
      [
        {
          table: 'price_lists',
          op: 'upsert',
          id: 'pl-3',
          baseVersion: 0,
          updatedAt: new Date().toISOString(),
          values: { name: 'OEM', factor: 0.7 },
        },
        {
          table: 'components',
          op: 'upsert',
          id: '1',
          baseVersion: version('components', '1'),
          updatedAt: new Date().toISOString(),
          values: { warrantyMonths: 36 },
          changed: ['warrantyMonths'],
        },
      ],
      generation,
    ).expect(200);
    expect((res.body as { results: { outcome: string }[] }).results.map((r) => r.outcome)).toEqual([
      'applied',
      expect.stringMatching(/applied|merged/),
    ]);
    expect((await schema()).tables.find((t) => t.name === 'price_lists')!.rowCount).toBe(3);
  });
});

describe('admins exclude and include tables and columns', () => {
  test('excluding a column bumps the version, takes it out of /sync/info, and a workstation still sending it is not refused', async () => {
    const before = await info();
    const res = await admin
      .auth(server.http.post('/api/v1/schema/exclude'), 'POST')
      .send({ table: 'components', column: 'warrantyMonths' })
      .expect(200);
    const view = res.body as SchemaView;
    expect(view.version).toBe(before.schemaVersion! + 1);
    expect(view.history[0].changes).toContain('Column components.warrantyMonths excluded.');
    const after = await info();
    const components = after.tables.find((t) => t.name === 'components')!;
    expect(components.columns.map((c) => c.name)).not.toContain('warrantyMonths');
    expect(components.excluded).toEqual(['warrantyMonths']);
    // An older outbox entry still carrying it: the value stays on the workstation, the rest is applied.
    const pushRes = await push(
      [
        {
          table: 'components',
          op: 'upsert',
          id: '2',
          baseVersion: version('components', '2'),
          updatedAt: new Date().toISOString(),
          values: { notes: 'x', warrantyMonths: 99 },
          changed: ['notes', 'warrantyMonths'],
        },
      ],
      after.generation,
    ).expect(200);
    expect((pushRes.body as { results: { outcome: string }[] }).results[0]).toMatchObject({ outcome: 'applied' });

    await admin
      .auth(server.http.post('/api/v1/schema/include'), 'POST')
      .send({ table: 'components', column: 'warrantyMonths' })
      .expect(200);
    expect((await info()).tables.find((t) => t.name === 'components')!.columns.map((c) => c.name)).toContain('warrantyMonths');
    const audit = (await admin.auth(server.http.get('/api/v1/audit'), 'GET').query({ action: 'schema.exclude' }).expect(200)).body as {
      target: string;
    }[];
    expect(audit[0].target).toBe('components.warrantyMonths');
  });

  test.each([
    ['a table that does not exist', { table: 'nope' }, 404, 'NOT_FOUND', /no app table "nope"/],
    ["the sync engine's own table", { table: 'sync_log' }, 404, 'NOT_FOUND', /sync engine/],
    ['a column that does not exist', { table: 'components', column: 'colour' }, 404, 'NOT_FOUND', /no column "colour"/],
    ['the key', { table: 'components', column: 'id' }, 400, 'VALIDATION_FAILED', /key or a sync column/],
    ['an empty name', { table: '' }, 400, 'VALIDATION_FAILED', /table/],
  ])('excluding %s is refused with a sentence, nothing changed', async (_label, body, status, code, message) => {
    const before = (await schema()).version;
    const res = await admin.auth(server.http.post('/api/v1/schema/exclude'), 'POST').send(body).expect(status);
    expect(res.body).toMatchObject({ code, message: expect.stringMatching(message) });
    expect((await schema()).version).toBe(before);
  });

  test('managers read the schema but cannot change it; workstations cannot read it', async () => {
    await manager.auth(server.http.post('/api/v1/schema/exclude'), 'POST').send({ table: 'quotes' }).expect(403);
    await alice.auth(server.http.get('/api/v1/schema'), 'GET').expect(403);
  });
});

/** What the app's next version writes: a column and a table the master gets only from its migration. */
const newAppChanges = (): PushChange[] => [
  {
    table: 'quotes',
    op: 'upsert',
    id: 'q-new-1',
    baseVersion: 0,
    updatedAt: new Date().toISOString(),
    values: { title: 'Pump skid', discountReason: 'volume' },
  },
  {
    table: 'freight_rates',
    op: 'upsert',
    id: 'fr-1',
    baseVersion: 0,
    updatedAt: new Date().toISOString(),
    values: { region: 'EU', rate: 1.2 },
  },
];

describe('additive migrations', () => {
  const migration = `-- app 2.4: discounts per quote line
BEGIN;
ALTER TABLE quotes ADD COLUMN discountReason TEXT;
CREATE TABLE IF NOT EXISTS freight_rates (id TEXT PRIMARY KEY, region TEXT NOT NULL, rate REAL);
CREATE INDEX IF NOT EXISTS idx_quotes_status ON quotes(status);
PRAGMA user_version = 24;
COMMIT;`;

  test('a newer workstation pushing a column the master lacks gets SCHEMA_AHEAD (409) naming it; nothing is applied or listed as refused', async () => {
    const { generation } = await info();
    const res = await push(newAppChanges(), generation).expect(409);
    expect(res.body.code).toBe('SCHEMA_AHEAD');
    expect(res.body.message).toMatch(/quotes has no column "discountReason"/);
    const refused = (res.body.details as { refused: { code: string; column: string | null; refusalId: number | null }[] }).refused;
    expect(refused.map((r) => [r.code, r.column, r.refusalId])).toEqual([
      ['SCHEMA_AHEAD', 'discountReason', null],
      ['SCHEMA_AHEAD', null, null],
    ]);
    const listed = (await admin.auth(server.http.get('/api/v1/refusals'), 'GET').expect(200)).body as { table?: string }[];
    expect(JSON.stringify(listed)).not.toMatch(/freight_rates|discountReason/);
  });

  test('the preview says what will be added and how many rows it touches; nothing changes', async () => {
    const dump = logicalDump();
    const res = await admin.auth(server.http.post('/api/v1/schema/migrations/preview'), 'POST').send({ sql: migration }).expect(200);
    const preview = res.body as MigrationPreview;
    expect(preview.steps.map((s) => [s.kind, s.table, s.column ?? s.index ?? null, s.alreadyApplied])).toEqual([
      ['add-column', 'quotes', 'discountReason', false],
      ['create-table', 'freight_rates', null, false],
      ['create-index', 'quotes', 'idx_quotes_status', false],
    ]);
    expect(preview.steps[0].rowsAffected).toBeGreaterThan(0);
    expect(preview.nothingToDo).toBe(false);
    expect(logicalDump()).toBe(dump);
  });

  test('applying needs confirm: true', async () => {
    const res = await admin.auth(server.http.post('/api/v1/schema/migrations'), 'POST').send({ sql: migration }).expect(400);
    expect(res.body.code).toBe('CONFIRMATION_REQUIRED');
  });

  test.each([
    ['a drop', 'ALTER TABLE quotes DROP COLUMN notes;', 'SCHEMA_CHANGE_REFUSED', /drops a column of quotes.*two steps/],
    ['a dropped table', 'DROP TABLE manual_quotes;', 'SCHEMA_CHANGE_REFUSED', /drops something.*two steps/],
    ['a rename', 'ALTER TABLE customers RENAME COLUMN city TO town;', 'SCHEMA_CHANGE_REFUSED', /renames customers.*two steps/],
    [
      'a type change (the 12-step rebuild)',
      'CREATE TABLE components_new (id TEXT PRIMARY KEY, sku TEXT, unitCost TEXT); INSERT INTO components_new SELECT id, sku, unitCost FROM components; DROP TABLE components; ALTER TABLE components_new RENAME TO components;',
      'SCHEMA_CHANGE_REFUSED',
      /Statement 2 .*changes data/,
    ],
    [
      'a type change by CREATE TABLE IF NOT EXISTS',
      'CREATE TABLE IF NOT EXISTS price_lists (id TEXT PRIMARY KEY, name TEXT, factor TEXT);',
      'SCHEMA_CHANGE_REFUSED',
      /change a column's type/,
    ],
    ['a syntax error', 'ALTER TABLE quotes ADD COLUMN ;', 'SCHEMA_INVALID', /Statement 1/],
    [
      'a table that does not exist',
      'ALTER TABLE quotes ADD COLUMN x TEXT; ALTER TABLE quote_lines ADD COLUMN y TEXT;',
      'SCHEMA_INVALID',
      /Statement 2 could not be applied: no such table: quote_lines/,
    ],
    ['an engine table', 'ALTER TABLE sync_log ADD COLUMN x TEXT;', 'SCHEMA_CHANGE_REFUSED', /sync engine/],
    ['data changes', "UPDATE quotes SET status = 'Won';", 'SCHEMA_CHANGE_REFUSED', /changes data/],
    ['nothing', '-- just a comment', 'SCHEMA_INVALID', /no SQL statement/],
  ])('%s is refused with a sentence and the master is unchanged (logical dump)', async (_label, sql, code, message) => {
    const dump = logicalDump();
    for (const [url, body] of [
      ['/api/v1/schema/migrations/preview', { sql }],
      ['/api/v1/schema/migrations', { sql, confirm: true }],
    ] as const) {
      const res = await admin.auth(server.http.post(url), 'POST').send(body).expect(400);
      expect(res.body).toMatchObject({ code, message: expect.stringMatching(message) });
    }
    expect(logicalDump()).toBe(dump);
  });

  test('applied: a verified backup first, then the columns, table and index; the version goes up and the held change goes through', async () => {
    const before = await info();
    const backupsBefore = ((await admin.auth(server.http.get('/api/v1/backups'), 'GET').expect(200)).body as unknown[]).length;
    const res = await admin
      .auth(server.http.post('/api/v1/schema/migrations'), 'POST')
      .send({ sql: migration, confirm: true, fileName: 'app-2.4.sql' })
      .expect(202);
    const job = await waitJob(res.body as JobView);
    expect(job.status).toBe('succeeded');
    expect(job.result).toMatchObject({ applied: 3, converted: ['freight_rates'] });
    const backups = (await admin.auth(server.http.get('/api/v1/backups'), 'GET').expect(200)).body as {
      verified?: boolean;
      status?: string;
    }[];
    expect(backups.length).toBe(backupsBefore + 1);

    const after = await info();
    expect(after.schemaVersion).toBe(before.schemaVersion! + 1);
    expect(after.tables.find((t) => t.name === 'quotes')!.columns.map((c) => c.name)).toContain('discountReason');
    expect(after.tables.find((t) => t.name === 'freight_rates')!.columns.map((c) => c.name)).toEqual(
      expect.arrayContaining(['id', 'region', 'rate', 'updated_at', 'server_seq', 'deleted']),
    );
    const view = await schema();
    expect(view.history[0]).toMatchObject({ recordedBy: 'migration app-2.4.sql by admin' });
    expect(view.history[0].changes).toEqual(
      expect.arrayContaining(['Column quotes.discountReason added (TEXT).', expect.stringMatching(/^Table freight_rates added/)]),
    );

    const ok = await push(newAppChanges(), after.generation).expect(200);
    expect((ok.body as { results: { outcome: string }[]; schemaVersion: number }).schemaVersion).toBe(after.schemaVersion);

    // Applying the same file again changes nothing: every step is there already.
    const again = (await admin.auth(server.http.post('/api/v1/schema/migrations/preview'), 'POST').send({ sql: migration }).expect(200))
      .body as MigrationPreview;
    expect(again.nothingToDo).toBe(true);
  });

  test('the alert names the workstation and column until the master has it', async () => {
    const { generation } = await info();
    await push(
      [
        {
          table: 'customers',
          op: 'upsert',
          id: 'c-new',
          baseVersion: 0,
          updatedAt: new Date().toISOString(),
          values: { name: 'N', type: 'OEM', vatNumber: 'DE1' },
        },
      ],
      generation,
      'ws-sales-07',
    ).expect(409);
    const evaluation = (await admin.auth(server.http.post('/api/v1/alerts/evaluate'), 'POST').expect(200)).body as unknown;
    void evaluation;
    const alerts = (await admin.auth(server.http.get('/api/v1/alerts'), 'GET').expect(200)).body as {
      rule: string;
      message: string;
      status: string;
    }[];
    const ahead = alerts.filter((a) => a.rule === 'schema-ahead' && a.status === 'open');
    expect(ahead.map((a) => a.message).join('\n')).toMatch(/ws-sales-07.*customers\.vatNumber/);
    // The discountReason note of the earlier push is resolved: the master has that column now.
    expect(ahead.map((a) => a.message).join('\n')).not.toMatch(/discountReason/);
  });
});
