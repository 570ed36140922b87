import Database from 'better-sqlite3';
import type { TableInfo } from '@cacpq/sync-protocol';
import { installLocalSchema } from './local-schema';

const TABLE: TableInfo = {
  name: 'items',
  label: 'Items',
  ddl: 'CREATE TABLE "items" (id TEXT PRIMARY KEY, price REAL, big INTEGER, note TEXT, pic BLOB, updated_at TEXT, updated_by TEXT, synced_at TEXT, server_seq INTEGER, deleted INTEGER)',
  indexes: [],
  columns: ['id', 'price', 'big', 'note', 'pic', 'updated_at', 'updated_by', 'synced_at', 'server_seq', 'deleted'].map((name) => ({
    name,
    type: 'text' as const,
    nullable: true,
  })),
};

describe('the update trigger records each changed column’s previous value exactly', () => {
  let db: Database.Database;
  beforeEach(() => {
    db = new Database(':memory:');
    installLocalSchema(db, [TABLE]);
    db.prepare('INSERT INTO items (id, price, big, note, pic, server_seq) VALUES (?, ?, ?, ?, ?, 4)').run(
      'a',
      0.1 + 0.2,
      9223372036854775807n,
      'before\u0000after',
      Buffer.from([0, 1, 255]),
    );
    db.exec('DELETE FROM _sync_outbox');
  });
  afterEach(() => db.close());

  function bases(): Record<string, unknown> {
    const rows = db.prepare('SELECT col, value FROM _sync_outbox_base').safeIntegers(true).all() as { col: string; value: unknown }[];
    return Object.fromEntries(rows.map((r) => [r.col, r.value]));
  }

  it('every REAL double, integers beyond 2^53, text with NUL and BLOBs round-trip bit for bit', () => {
    db.exec(`UPDATE items SET price = 1, big = 1, note = 'x', pic = NULL`);
    expect(bases()).toEqual({
      price: 0.30000000000000004,
      big: 9223372036854775807n,
      note: 'before\u0000after',
      pic: Buffer.from([0, 1, 255]),
    });
    const [entry] = db.prepare('SELECT seq, op, changed, base_version FROM _sync_outbox').all() as { seq: number; changed: string }[];
    expect(entry).toMatchObject({ op: 'update', changed: 'price,big,note,pic', base_version: 4 });
    expect(db.prepare('SELECT DISTINCT seq FROM _sync_outbox_base').pluck().all()).toEqual([entry.seq]);
  });

  it('records only the columns that changed, and an update of a row with a BLOB still works', () => {
    db.exec(`UPDATE items SET note = 'y'`);
    expect(bases()).toEqual({ note: 'before\u0000after' });
  });

  it('records nothing while the SDK applies the server’s rows', () => {
    db.exec(
      `INSERT INTO _sync_state (key, value) VALUES ('applying', '1'); UPDATE items SET price = 2; DELETE FROM _sync_state WHERE key = 'applying'`,
    );
    expect(db.prepare('SELECT COUNT(*) FROM _sync_outbox').pluck().get()).toBe(0);
    expect(bases()).toEqual({});
  });
});
