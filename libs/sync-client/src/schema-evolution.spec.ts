import Database from 'better-sqlite3';
import type { TableInfo } from '@cacpq/sync-protocol';
import { installLocalSchema } from './local-schema';
import { applySchemaPlan, planSchema } from './schema-evolution';

const SYNC = `updated_at DATETIME NOT NULL DEFAULT '', updated_by TEXT, synced_at DATETIME, server_seq INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0`;
const sync = [
  { name: 'updated_at', type: 'datetime', nullable: false },
  { name: 'updated_by', type: 'text', nullable: true, serverOwned: true },
  { name: 'synced_at', type: 'datetime', nullable: true, serverOwned: true },
  { name: 'server_seq', type: 'integer', nullable: false, serverOwned: true },
  { name: 'deleted', type: 'boolean', nullable: false, serverOwned: true },
] as TableInfo['columns'];

function quotes(extra: TableInfo['columns'] = [], excluded?: string[]): TableInfo {
  return {
    name: 'quotes',
    label: 'Quotes',
    columns: [{ name: 'id', type: 'text', nullable: false }, { name: 'title', type: 'text', nullable: true }, ...extra, ...sync],
    ...(excluded ? { excluded } : {}),
    ddl: `CREATE TABLE "quotes" (id TEXT PRIMARY KEY NOT NULL, title TEXT, ${extra.map((c) => `"${c.name}" TEXT, `).join('')}${SYNC})`,
    indexes: ['CREATE INDEX IF NOT EXISTS idx_quotes_title ON quotes(title)'],
  };
}
const freight: TableInfo = {
  name: 'freight_rates',
  label: 'freight_rates',
  columns: [{ name: 'id', type: 'text', nullable: false }, { name: 'rate', type: 'real', nullable: true }, ...sync],
  ddl: `CREATE TABLE "freight_rates" (id TEXT PRIMARY KEY NOT NULL, rate REAL, ${SYNC})`,
  indexes: ['CREATE INDEX IF NOT EXISTS idx_freight_rates_server_seq ON freight_rates(server_seq)'],
};

function file(tables: TableInfo[]): Database.Database {
  const db = new Database(':memory:');
  installLocalSchema(db, tables);
  return db;
}
const columns = (db: Database.Database, t: string) =>
  (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(t) as { name: string }[]).map((r) => r.name);
const outbox = (db: Database.Database) => db.prepare(`SELECT op, changed FROM _sync_outbox ORDER BY seq`).all();

describe("a workstation follows the master's schema", () => {
  const v2 = { schemaVersion: 2, tables: [quotes([{ name: 'discountReason', type: 'text', nullable: true }]), freight] };

  test('a new column and a new table are added before anything is pulled, and the triggers capture them', () => {
    const db = file([quotes()]);
    db.exec(`INSERT INTO quotes (id, title) VALUES ('q1', 'Skid')`);
    const plan = planSchema(db, v2, true);
    expect(plan.ddl).toEqual(['ALTER TABLE "quotes" ADD COLUMN "discountReason" TEXT', freight.ddl]);
    applySchemaPlan(db, plan);
    expect(columns(db, 'quotes')).toContain('discountReason');
    expect(columns(db, 'freight_rates')).toContain('rate');
    // The master's pull cursor index is not made here.
    expect(db.prepare(`SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'idx_freight_rates_server_seq'`).get()).toEqual({ n: 0 });
    db.exec(`UPDATE quotes SET discountReason = 'volume' WHERE id = 'q1'`);
    db.exec(`INSERT INTO freight_rates (id, rate) VALUES ('f1', 1.5)`);
    expect(outbox(db)).toEqual([
      { op: 'insert', changed: 'title' },
      { op: 'update', changed: 'discountReason' },
      { op: 'insert', changed: 'rate' },
    ]);
    // The same schema again: nothing to do.
    expect(planSchema(db, v2, true)).toMatchObject({ ddl: [], fingerprint: plan.fingerprint });
  });

  test('a file the app already migrated gets no DDL (idempotent)', () => {
    const db = file([quotes()]);
    db.exec(`ALTER TABLE quotes ADD COLUMN discountReason TEXT`);
    db.exec(freight.ddl);
    expect(planSchema(db, v2, true).ddl).toEqual([]);
  });

  test('an app that migrates its own file (applySchemaChanges false) syncs the columns it has and skips the new table', () => {
    const db = file([quotes()]);
    const plan = planSchema(db, v2, false);
    expect(plan.ddl).toEqual([]);
    expect(plan.tables.map((t) => [t.name, t.columns.map((c) => c.name).filter((c) => !sync.some((s) => s.name === c))])).toEqual([
      ['quotes', ['id', 'title']],
    ]);
  });

  test("a column only this file has (a newer app's) is sent, so the master can answer SCHEMA_AHEAD; an excluded one is not", () => {
    const db = file([quotes()]);
    db.exec(`ALTER TABLE quotes ADD COLUMN vatNumber TEXT`);
    db.exec(`ALTER TABLE quotes ADD COLUMN uiColour TEXT`);
    const plan = planSchema(db, { schemaVersion: 3, tables: [quotes([], ['uiColour'])] }, true);
    applySchemaPlan(db, plan);
    const names = plan.tables[0].columns.map((c) => c.name);
    expect(names).toContain('vatNumber');
    expect(names).not.toContain('uiColour');
    db.exec(`INSERT INTO quotes (id, title, vatNumber, uiColour) VALUES ('q2', 'T', 'DE1', 'red')`);
    expect(outbox(db)).toEqual([{ op: 'insert', changed: 'title,vatNumber' }]);
  });
});
