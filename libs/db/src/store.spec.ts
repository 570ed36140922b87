import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataDirInUseError } from './lock';
import { writeLegacyDataDir } from './legacy-fixture';
import { SYNCED_TABLES, SYNC_LOG_COLUMNS, SYNC_LOG_INDEXES, sqliteType, tableColumns, tableIndexes } from './registry';
import { MasterStore, SERVER_MIGRATIONS } from './store';
import { seedDemoData } from './demo';

let dir: string;
const stores: MasterStore[] = [];

async function open(dataDir = dir): Promise<MasterStore> {
  const store = await MasterStore.open({ dataDir, busyTimeoutMs: 200 });
  stores.push(store);
  return store;
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cacpq-db-'));
});

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('MasterStore on a new data directory', () => {
  it('creates the three files with WAL, synchronous=FULL, foreign keys and a generation', async () => {
    const store = await open();
    for (const f of store.files()) expect(fs.existsSync(f.path)).toBe(true);
    for (const db of [store.serverDb, store.numbersDb, store.hubDb]) {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(2);
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(db.pragma('locking_mode', { simple: true })).toBe('exclusive');
    }
    expect(store.generation).toMatch(/^[0-9a-f-]{36}$/);
    expect(store.sqliteVersion).toMatch(/^3\.\d+\.\d+$/);
  });

  it.each(SYNCED_TABLES.map((t) => [t.name, t] as const))(
    'table %s has exactly the registry columns, types and indexes',
    async (_name, table) => {
      const store = await open();
      const cols = store.serverDb.prepare(`PRAGMA table_info("${table.name}")`).all() as {
        name: string;
        type: string;
        notnull: number;
        pk: number;
      }[];
      expect(cols.map((c) => c.name)).toEqual(tableColumns(table).map((c) => c.name));
      for (const def of tableColumns(table)) {
        const col = cols.find((c) => c.name === def.name)!;
        expect({ name: def.name, type: col.type }).toEqual({ name: def.name, type: sqliteType(def.type) });
        if (!def.nullable) expect({ name: def.name, notnull: col.notnull || col.pk }).toEqual({ name: def.name, notnull: 1 });
      }
      const indexes = (store.serverDb.prepare(`PRAGMA index_list("${table.name}")`).all() as { name: string }[])
        .map((i) => i.name)
        .filter((n) => !n.startsWith('sqlite_autoindex'));
      expect(indexes.sort()).toEqual(
        tableIndexes(table)
          .map((i) => i.name)
          .sort(),
      );
    },
  );

  it('has sync_log with the guide columns plus user, client id and error, and its indexes', async () => {
    const store = await open();
    const cols = (store.serverDb.prepare(`PRAGMA table_info(sync_log)`).all() as { name: string }[]).map((c) => c.name);
    expect(cols).toEqual([...SYNC_LOG_COLUMNS]);
    const indexes = (store.serverDb.prepare(`PRAGMA index_list(sync_log)`).all() as { name: string }[]).map((i) => i.name);
    expect(indexes.sort()).toEqual(SYNC_LOG_INDEXES.map((i) => i.name).sort());
  });

  it('keeps its generation and data across a close and reopen, without re-running migrations', async () => {
    const first = await open();
    const generation = first.generation;
    first.serverDb
      .prepare(`INSERT INTO customers (id, name, type, updated_at, server_seq) VALUES ('c1', 'Acme', 'OEM', '2026-01-01 00:00:00.000', 1)`)
      .run();
    await first.close();
    const second = await open();
    expect(second.generation).toBe(generation);
    expect(second.serverDb.prepare(`SELECT name FROM customers WHERE id = 'c1'`).get()).toEqual({ name: 'Acme' });
    const migrations = second.serverDb.prepare(`SELECT COUNT(*) AS n FROM _cacpq_migrations`).get() as { n: number };
    expect(migrations.n).toBe(SERVER_MIGRATIONS.length);
  });

  it('leaves no -wal file behind after close (checkpointed) and passes integrity_check', async () => {
    const store = await open();
    const files = store.files();
    await store.close();
    for (const f of files) {
      expect(fs.existsSync(`${f.path}-wal`)).toBe(false);
      const db = new Database(f.path, { readonly: true });
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      db.close();
    }
  });
});

describe('exclusive ownership', () => {
  it('refuses a second owner of the same data directory with a sentence naming the holder', async () => {
    await open();
    const err = await MasterStore.open({ dataDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirInUseError);
    expect((err as Error).message).toContain(`pid ${process.pid}`);
    expect((err as Error).message).toContain(`host ${os.hostname()}`);
    expect((err as Error).message).toMatch(/since \d{4}-\d\d-\d\dT/);
  });

  it('keeps other processes and connections out of the master files while open', async () => {
    const store = await open();
    const other = new Database(store.layout.serverDb, { timeout: 100 });
    expect(() => other.prepare('SELECT COUNT(*) FROM components').get()).toThrow(/locked|busy/i);
    other.close();
  });

  it('lets the next owner in once the first has closed', async () => {
    const first = await open();
    await first.close();
    const second = await open();
    expect(second.isOpen).toBe(true);
    expect(fs.existsSync(second.layout.ownerFile)).toBe(true);
  });
});

describe('legacy adoption', () => {
  function legacyCounts(file: string): Record<string, number> {
    const db = new Database(file, { readonly: true });
    const names = (
      db.prepare(`SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'`).all() as {
        name: string;
      }[]
    ).map((r) => r.name);
    const counts = Object.fromEntries(names.map((n) => [n, (db.prepare(`SELECT COUNT(*) AS n FROM "${n}"`).get() as { n: number }).n]));
    db.close();
    return counts;
  }

  it('backs up the old app files, then migrates them in place keeping every row and column', async () => {
    writeLegacyDataDir(dir);
    const serverFile = path.join(dir, 'database', 'server.db');
    const before = legacyCounts(serverFile);
    const legacyComponent = (() => {
      const db = new Database(serverFile, { readonly: true });
      const row = db.prepare('SELECT * FROM components WHERE id = 7').get();
      expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
      db.close();
      return row as Record<string, unknown>;
    })();

    const store = await open();
    expect(store.adopted.map((a) => path.basename(a.file)).sort()).toEqual(['generated_numbers.db', 'server.db']);
    for (const a of store.adopted) {
      expect(fs.existsSync(a.backup)).toBe(true);
      expect(legacyCounts(a.backup)).toEqual(a.rowCounts);
    }
    const db = store.serverDb;
    for (const [table, n] of Object.entries(before)) {
      expect([table, (db.prepare(`SELECT COUNT(*) AS n FROM "${table}"`).get() as { n: number }).n]).toEqual([table, n]);
    }
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');

    // The integer id is kept as its text form, matched both ways; values and the unknown column survive.
    const adopted = db.prepare('SELECT * FROM components WHERE id = 7').get() as Record<string, unknown>;
    expect(adopted.id).toBe('7');
    expect(db.prepare(`SELECT id FROM components WHERE id = '7'`).get()).toEqual({ id: '7' });
    for (const [k, v] of Object.entries(legacyComponent)) if (k !== 'id') expect([k, adopted[k]]).toEqual([k, v]);
    expect(adopted.updated_by).toBe('legacy-import');
    expect(adopted.updated_at).toBe(legacyComponent.createdAt);

    // Every adopted row has its own server sequence so a new workstation's first pull sees all.
    const synced = SYNCED_TABLES.map((t) => t.name);
    const seqs = synced.flatMap((t) =>
      (db.prepare(`SELECT server_seq FROM "${t}"`).all() as { server_seq: number }[]).map((r) => r.server_seq),
    );
    const totalRows = synced.reduce((s, t) => s + (before[t] ?? 0), 0);
    expect(new Set(seqs).size).toBe(totalRows);
    expect(Math.min(...seqs)).toBe(1);
    expect(db.prepare(`SELECT value FROM sync_state WHERE key = 'last_seq'`).get()).toEqual({ value: String(totalRows) });

    // sync_log gained user, client_id and error; its history is kept.
    const logCols = (db.prepare('PRAGMA table_info(sync_log)').all() as { name: string }[]).map((c) => c.name);
    expect(logCols).toEqual(expect.arrayContaining([...SYNC_LOG_COLUMNS]));
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');

    // generated_numbers: the number the old sync issued twice is kept and marked.
    const dupes = store.numbersDb.prepare(`SELECT number, duplicate_of FROM generated_numbers WHERE duplicate_of IS NOT NULL`).all();
    expect(dupes).toEqual([{ number: 'Q2023-0042', duplicate_of: 42 }]);
    expect(() =>
      store.numbersDb.prepare(`INSERT INTO generated_numbers (type, number, status) VALUES ('quote', 'Q2023-0001', 'issued')`).run(),
    ).toThrow(/UNIQUE/);
  });

  it('adopts only once: a restart does not back up or migrate again', async () => {
    writeLegacyDataDir(dir);
    const first = await open();
    expect(first.adopted).toHaveLength(2);
    await first.close();
    const second = await open();
    expect(second.adopted).toHaveLength(0);
    expect((second.serverDb.prepare('SELECT COUNT(*) AS n FROM components').get() as { n: number }).n).toBe(250);
  });

  function legacyFile(ddl: string, rows: string[]): string {
    fs.mkdirSync(path.join(dir, 'database'), { recursive: true });
    const file = path.join(dir, 'database', 'server.db');
    const db = new Database(file);
    db.pragma('journal_mode = DELETE');
    db.exec(ddl);
    for (const r of rows) db.exec(r);
    db.close();
    return file;
  }

  test.each([
    [
      'no sku column',
      'CREATE TABLE components (id INTEGER PRIMARY KEY, name TEXT, vendor TEXT)',
      ["INSERT INTO components (name, vendor) VALUES ('Pump', 'ABB')"],
      { id: '1', sku: '', name: 'Pump', vendor: 'ABB' },
    ],
    [
      'a NULL in a now required column',
      'CREATE TABLE components (id INTEGER PRIMARY KEY, sku TEXT, name TEXT)',
      ["INSERT INTO components (sku, name) VALUES ('S1', NULL)"],
      { id: '1', sku: 'S1', name: '' },
    ],
    [
      'its own deleted and synced_at',
      'CREATE TABLE components (id INTEGER PRIMARY KEY, sku TEXT, name TEXT, deleted INTEGER, synced_at DATETIME)',
      ["INSERT INTO components VALUES (1, 'S1', 'Gone', 1, '2024-01-01 00:00:00')"],
      { id: '1', deleted: 1, synced_at: '2024-01-01 00:00:00' },
    ],
    [
      'upper-case column names',
      'CREATE TABLE components (id INTEGER PRIMARY KEY, SKU TEXT, Name TEXT)',
      ["INSERT INTO components (SKU, Name) VALUES ('S1', 'x')"],
      { id: '1', sku: 'S1', name: 'x' },
    ],
    [
      'a view and a trigger on the table',
      'CREATE TABLE components (id INTEGER PRIMARY KEY, sku TEXT, name TEXT); CREATE VIEW v_comp AS SELECT sku FROM components; CREATE TRIGGER trg AFTER INSERT ON components BEGIN SELECT 1; END;',
      ["INSERT INTO components (sku, name) VALUES ('a', 'b')"],
      { id: '1', sku: 'a' },
    ],
    [
      'a non-unique real id',
      'CREATE TABLE components (id REAL, sku TEXT, name TEXT)',
      ["INSERT INTO components VALUES (1.0, 'a', 'b')", "INSERT INTO components VALUES (1.0, 'c', 'd')"],
      { id: '1.0', sku: 'a' },
    ],
    [
      'a table of its own called migrations',
      'CREATE TABLE migrations (id INTEGER PRIMARY KEY, timestamp INTEGER, name TEXT); CREATE TABLE components (id INTEGER PRIMARY KEY, sku TEXT, name TEXT)',
      ["INSERT INTO components (sku, name) VALUES ('a', 'b')", "INSERT INTO migrations (timestamp, name) VALUES (1, 'old')"],
      { id: '1', sku: 'a' },
    ],
  ])('adopts a legacy file with %s, keeping every row', async (_label, ddl, rows, firstRow) => {
    const file = legacyFile(ddl, rows);
    const store = await open();
    expect(store.adopted).toHaveLength(1);
    const adopted = store.serverDb.prepare('SELECT * FROM components ORDER BY rowid').all() as Record<string, unknown>[];
    expect(adopted).toHaveLength(rows.filter((r) => r.includes('INTO components')).length);
    expect(adopted[0]).toMatchObject(firstRow);
    expect(new Set(adopted.map((r) => r.id)).size).toBe(adopted.length);
    expect(store.serverDb.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(fs.existsSync(`${file}.adopting`)).toBe(false);
  });

  it('leaves the legacy file byte for byte as it was when the migration fails half-way, and tries again next time', async () => {
    // A table the master schema creates itself makes the migration fail after some tables were rebuilt.
    const file = legacyFile('CREATE TABLE components (id INTEGER PRIMARY KEY, sku TEXT, name TEXT); CREATE TABLE sync_state (x)', [
      "INSERT INTO components (sku, name) VALUES ('a', 'b')",
    ]);
    const before = fs.readFileSync(file);
    const err = (await MasterStore.open({ dataDir: dir }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(
      /^Adopting the legacy database .*server\.db failed: .*sync_state.* The legacy file was left exactly as it was; its verified backup is .*pre-adoption/,
    );
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    for (const leftover of ['-wal', '-shm', '.adopting', '.adopting-wal']) expect(fs.existsSync(file + leftover)).toBe(false);
    // Nothing half-done is mistaken for an adopted file: the next start backs up and tries again.
    const again = (await MasterStore.open({ dataDir: dir }).catch((e: unknown) => e)) as Error;
    expect(again.message).toMatch(/^Adopting the legacy database/);
    expect(fs.readdirSync(path.join(dir, 'backups', 'pre-adoption')).length).toBeGreaterThanOrEqual(1);
  });

  it('refuses a damaged legacy file and leaves it untouched', async () => {
    writeLegacyDataDir(dir);
    const file = path.join(dir, 'database', 'server.db');
    const bytes = fs.readFileSync(file);
    // Scribble over the middle pages (not the header), the way a torn SMB write would.
    const damaged = Buffer.from(bytes);
    damaged.fill(0x5a, 4096 * 3, 4096 * 6);
    fs.writeFileSync(file, damaged);
    // The refusal is checked by its message, not `instanceof Error`: better-sqlite3's native binding keeps the
    // SqliteError class of the first test file that loaded it in this jest worker, another realm's Error.
    const outcome = await MasterStore.open({ dataDir: dir }).then(
      async (st) => {
        await st.close();
        return { opened: true, message: '' };
      },
      (e: { message?: unknown }) => ({ opened: false, message: String(e?.message) }),
    );
    expect(outcome).toEqual({ opened: false, message: expect.stringMatching(/damaged|malformed|corrupt/i) });
    expect(fs.readFileSync(file).equals(damaged)).toBe(true);
    // The lock was released: the next attempt is refused for the same reason, not for "in use".
    await expect(MasterStore.open({ dataDir: dir })).rejects.not.toBeInstanceOf(DataDirInUseError);
  });
});

describe('demo data', () => {
  it('fills the master with realistic volumes, numbers and sync history in one go', async () => {
    const store = await open();
    const summary = seedDemoData(store.serverDb, store.numbersDb, { components: 500, customers: 50, projects: 40, quotes: 120, months: 2 });
    expect(summary.rows).toMatchObject({ components: 500, customers: 50, projects: 40, quotes: 120 });
    expect(summary.syncLogRows).toBeGreaterThan(100);
    const numbers = store.numbersDb.prepare(`SELECT COUNT(*) AS n, COUNT(DISTINCT number) AS d FROM generated_numbers`).get();
    expect(numbers).toEqual({ n: 160, d: 160 });
    const seq = store.serverDb.prepare(`SELECT value FROM sync_state WHERE key = 'last_seq'`).get() as { value: string };
    const total = Object.values(summary.rows).reduce((a, b) => a + b, 0);
    expect(Number(seq.value)).toBe(total);
  });
});
