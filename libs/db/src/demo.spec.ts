import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { seedDemoGrowth } from './demo';
import { MasterStore } from './store';
import { sqlTime } from './time';

let dir: string;
let store: MasterStore;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cacpq-demo-'));
  store = await MasterStore.open({ dataDir: dir, busyTimeoutMs: 200 });
});

afterEach(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const NOW = new Date('2026-03-02T15:00:00Z');
const tables = JSON.stringify([
  { table: 'components', rows: 3000, bytes: 900 * 4096 },
  { table: 'settings', rows: 12, bytes: 4096 },
]);

function sample(at: Date, file: string, pages: number, wal = 0): void {
  store.hubDb
    .prepare(
      `INSERT INTO size_samples (taken_at, file, bytes, wal_bytes, page_size, page_count, freelist_count, tables) VALUES (?, ?, ?, ?, 4096, ?, 0, ?)`,
    )
    .run(sqlTime(at), file, pages * 4096, wal, pages, tables);
}

interface Row {
  taken_at: string;
  file: string;
  bytes: number;
  page_count: number;
  tables: string;
}

describe('demo growth history', () => {
  it('writes a rising daily history up to the latest sample of each file, replacing the empty master samples', () => {
    sample(new Date(NOW.getTime() - 3_600_000), 'server.db', 10);
    sample(NOW, 'server.db', 1000, 8192);
    sample(NOW, 'hub.db', 100);
    expect(seedDemoGrowth(store.hubDb, { days: 90, now: NOW })).toBe(180);
    const rows = store.hubDb.prepare('SELECT * FROM size_samples ORDER BY file, taken_at').all() as Row[];
    const server = rows.filter((r) => r.file === 'server.db');
    expect(server).toHaveLength(91);
    // The sample of the empty master (10 pages) is gone; the real latest one ends the history.
    expect(server.some((r) => r.page_count === 10)).toBe(false);
    expect(server.at(-1)).toMatchObject({ taken_at: sqlTime(NOW), page_count: 1000 });
    expect(server[0]).toMatchObject({ taken_at: sqlTime(new Date(NOW.getTime() - 90 * 86_400_000)), page_count: 550 });
    for (let i = 1; i < server.length; i++) expect(server[i].bytes).toBeGreaterThanOrEqual(server[i - 1].bytes);
    // Weekends barely grow: the master grows mostly on weekdays.
    const grewOn = (day: (d: number) => boolean) =>
      server
        .slice(1)
        .reduce((sum, r, i) => (day(new Date(`${r.taken_at.replace(' ', 'T')}Z`).getUTCDay()) ? sum + r.bytes - server[i].bytes : sum), 0);
    expect(grewOn((d) => d === 0 || d === 6)).toBeLessThan(grewOn((d) => d > 0 && d < 6) / 10);
    // Big tables grow with the file; small lookup tables stay as they are.
    const first = JSON.parse(server[0].tables) as { table: string; rows: number }[];
    expect(first.find((t) => t.table === 'components')!.rows).toBe(1650);
    expect(first.find((t) => t.table === 'settings')!.rows).toBe(12);
    expect(rows.filter((r) => r.file === 'hub.db')[0].page_count).toBe(85);
  });

  it('never rewrites real history: nothing is written when a sample is older than a day', () => {
    sample(new Date(NOW.getTime() - 2 * 86_400_000), 'server.db', 900);
    sample(NOW, 'server.db', 1000);
    expect(seedDemoGrowth(store.hubDb, { days: 90, now: NOW })).toBe(0);
    expect(store.hubDb.prepare('SELECT COUNT(*) FROM size_samples').pluck().get()).toBe(2);
  });

  it('writes nothing without a latest sample to end on', () => {
    expect(seedDemoGrowth(store.hubDb, { now: NOW })).toBe(0);
  });
});
