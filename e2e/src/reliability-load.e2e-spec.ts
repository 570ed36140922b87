import * as fs from 'node:fs';
import * as path from 'node:path';
import { ARTIFACTS } from './browser';
import { ADMIN_PASSWORD, startServer, tempDir, type ServerProcess } from './harness';
import { readMaster, readWorkstation } from './reliability/master-state';
import { describeLoad, runLoad, type LoadResult } from '../../tools/src/bench/load-bench';

/*
 * Reliability under load (issue 7): 50 simulated workstations — real SyncClients in this process,
 * each with its own SQLite file and device token — edit and sync concurrently against one real
 * server process for a bounded time. Short in `npm test` (15 s of load); RELIABILITY_LONG=1 runs
 * 300 s (LOAD_SECONDS and LOAD_WORKSTATIONS override both). `npx cacpq bench load` is the same run
 * as a command that prints the figures.
 */
const LONG = process.env.RELIABILITY_LONG === '1';
const SECONDS = Number(process.env.LOAD_SECONDS ?? (LONG ? 300 : 15));
const WORKSTATIONS = Number(process.env.LOAD_WORKSTATIONS ?? 50);

describe('reliability: 50 workstations syncing concurrently', () => {
  let dir: string;
  let dataDir: string;
  let server: ServerProcess;
  let result: LoadResult;
  let exitCode: number | null;

  beforeAll(
    async () => {
      dir = tempDir('load');
      dataDir = path.join(dir, 'data');
      server = await startServer({ dataDir });
      result = await runLoad(
        { url: server.url, pid: server.proc.pid!, dataDir, adminPassword: ADMIN_PASSWORD, stop: () => server.stop() },
        { workstations: WORKSTATIONS, seconds: SECONDS, dir: path.join(dir, 'workstations') },
      );
      exitCode = await server.stop();
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      const lines = describeLoad(result);
      fs.writeFileSync(path.join(ARTIFACTS, 'reliability-load.json'), JSON.stringify({ ...result, lines }, null, 2));
      process.stdout.write(`reliability load, ${WORKSTATIONS} workstations, ${SECONDS} s:\n${lines.join('\n')}\n`);
    },
    (SECONDS + 240) * 1000,
  );

  afterAll(async () => {
    await server?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('every sync succeeded or retried to success, with no error answer and the server alive throughout', () => {
    const f = result.figures;
    expect(f.failedSyncs).toBe(0);
    // No hostile input here: any answer other than 2xx (a 500, a SQLITE_BUSY, a 409) is a defect.
    expect({ statuses: f.errorStatuses, errors: f.errors }).toEqual({ statuses: {}, errors: [] });
    // Each workstation synced many times (one every few hundred ms of the run).
    expect(f.syncs).toBeGreaterThanOrEqual(WORKSTATIONS * 5);
    expect(f.latencyMs.p50).toBeGreaterThan(0);
    expect(f.latencyMs.p99).toBeGreaterThanOrEqual(f.latencyMs.p95);
    expect(f.serverDurationMs.p99).toBeGreaterThanOrEqual(f.serverDurationMs.p50);
    expect(result.verdict.serverAliveAtEnd).toBe(true);
    expect(exitCode).toBe(0);
    // Memory and CPU were sampled every second from /proc.
    expect(f.server.samples).toBeGreaterThanOrEqual(Math.floor(SECONDS / 2));
    expect(f.server.rssPeakMb).toBeGreaterThan(0);
    expect(f.server.rssPeakMb).toBeLessThan(1024);
  });

  it('ran the realistic mix: updates, inserts, deletes, shared rows edited by many, numbers from the server', () => {
    const f = result.figures;
    expect(f.edits.updates).toBeGreaterThan(f.edits.inserts);
    expect(f.edits.inserts).toBeGreaterThan(f.edits.deletes);
    expect(f.edits.deletes).toBeGreaterThan(0);
    expect(f.edits.hotRowEdits).toBeGreaterThan(0);
    expect(f.edits.duringSync).toBeGreaterThan(0);
    expect(f.numbersAllocated).toBeGreaterThan(0);
    // Several workstations edited the same fields of the same rows: conflicts, each recorded.
    expect(f.conflictsRecorded).toBeGreaterThan(0);
    expect(f.conflictsRecorded).toBe(f.conflictsReported);
  });

  it('lost nothing: every edit is in the master, kept by a recorded conflict, or knowingly replaced; every number distinct', () => {
    const v = result.verdict;
    expect(v.editsChecked).toBeGreaterThan(0);
    expect(v.lost).toEqual([]);
    expect(v.pendingLeft).toEqual([]);
    expect(v.duplicateNumbers).toEqual([]);
    expect(v.missingNumbers).toEqual([]);
    expect(v.mismatches).toEqual([]);
  });

  it('every workstation file equals the master file, tombstones included (read from both files after the server stopped)', () => {
    const tables = result.tables.map((t) => t.name);
    const master = readMaster(dataDir, tables);
    expect(master.integrity).toBe('ok');
    expect(result.files).toHaveLength(WORKSTATIONS);
    for (const file of result.files) {
      const ws = readWorkstation(file, tables);
      const name = path.basename(file);
      expect({ name, outbox: ws.outbox, pending: ws.pending }).toEqual({ name, outbox: 0, pending: 0 });
      for (const t of tables) expect({ name, table: t, rows: ws.rows[t] }).toEqual({ name, table: t, rows: master.live[t] });
      // A delete a workstation pulled is a tombstone in the master.
      for (const tomb of ws.tombstones)
        expect({ name, tomb, deleted: master.tombstones[tomb.table_name].has(tomb.row_id) }).toEqual({ name, tomb, deleted: true });
    }
  });
});
