import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MasterStore } from '../store';
import { SqliteAlertsRepository } from './alerts.repository';
import { SqliteBackupCatalogueRepository } from './backup-catalogue.repository';
import { SqliteJobsRepository } from './jobs.repository';
import { SqliteNumberUsesRepository } from './number-uses.repository';
import { SqliteServerMaintenanceRepository } from './maintenance.repository';
import { SqliteSyncLogRepository } from './sync-log.repository';

let dir: string;
let store: MasterStore;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cacpq-repos-'));
  store = await MasterStore.open({ dataDir: dir, busyTimeoutMs: 200 });
});

afterEach(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('SqliteJobsRepository', () => {
  it('marks what a stop cut off, finds the last finished run of a type and the last run per type and params', () => {
    const jobs = new SqliteJobsRepository(() => store.hubDb);
    const who = { trigger: 'manual' as const, requestedBy: 'test' };
    const a = jobs.insert('integrity', {}, who, '2026-01-01 00:00:00');
    jobs.finish(a, {
      status: 'failed',
      finishedAt: '2026-01-01 00:01:00',
      durationMs: 60_000,
      progress: 0.5,
      phase: null,
      result: {},
      error: 'bad',
    });
    const b = jobs.insert('backup', { kind: 'daily' }, who, '2026-01-01 00:02:00');
    const c = jobs.insert('restore', { backupId: 1 }, who, '2026-01-01 00:03:00');
    jobs.saveResult(c, { newGeneration: 'g2' });
    expect(jobs.cutOff('restore', 'stopped')).toEqual([{ id: c, result: { newGeneration: 'g2' } }]);
    expect(
      jobs
        .interruptUnfinished('2026-01-01 00:04:00', 'stopped')
        .map((j) => j.id)
        .sort(),
    ).toEqual([b, c]);
    expect(jobs.cutOff('restore', 'stopped').map((j) => j.id)).toEqual([c]);
    jobs.markInterrupted(c, '2026-01-01 00:05:00', 'after the swap');
    expect(jobs.get(c)).toMatchObject({ status: 'interrupted', finishedAt: '2026-01-01 00:04:00', error: 'after the swap' });
    expect(jobs.lastFinished('integrity')).toEqual({ id: a, finishedAt: '2026-01-01 00:01:00', status: 'failed', error: 'bad' });
    expect(jobs.lastFinished('restore')).toBeNull();
    expect(jobs.lastRuns().map((j) => [j.type, j.params])).toEqual(
      expect.arrayContaining([
        ['integrity', {}],
        ['backup', { kind: 'daily' }],
      ]),
    );
    expect(jobs.list({ limit: 10 }, ['backup', 'restore']).map((j) => j.id)).toEqual([c, b]);
  });
});

describe('SqliteAlertsRepository', () => {
  it('rolls an evaluation back whole when it throws', () => {
    const alerts = new SqliteAlertsRepository(() => store.hubDb);
    const finding = { rule: 'no-sync' as const, subject: '', severity: 'warning' as const, message: 'm', details: { x: 1 } };
    expect(() =>
      alerts.transaction(() => {
        alerts.insert(finding, '2026-01-01 00:00:00');
        throw new Error('stop');
      }),
    ).toThrow('stop');
    expect(alerts.countOpen()).toBe(0);
    const id = alerts.transaction(() => alerts.insert(finding, '2026-01-01 00:00:00'));
    expect(alerts.open()).toEqual([expect.objectContaining({ id, status: 'open', details: { x: 1 } })]);
    expect(alerts.acknowledge(id, 'admin', '2026-01-01 00:01:00')).toBe(true);
    expect(alerts.acknowledge(id, 'admin', '2026-01-01 00:02:00')).toBe(false);
    alerts.resolve(id, 'calm', '2026-01-01 00:03:00');
    expect(alerts.list({ status: 'resolved', limit: 5 })).toEqual([
      expect.objectContaining({ id, resolution: 'calm', acknowledgedBy: 'admin', acknowledgedAt: '2026-01-01 00:01:00' }),
    ]);
  });
});

describe('SqliteBackupCatalogueRepository', () => {
  it('judges backup age by verified backups other than pre-restore snapshots; the metric counts every verified one', () => {
    const backups = new SqliteBackupCatalogueRepository(() => store.hubDb);
    const entry = (name: string, kind: 'daily' | 'pre-restore', createdAt: string) => ({
      name,
      kind,
      createdAt,
      check: 'quick_check' as const,
      verifiedAt: createdAt,
      bytes: 1,
      files: [],
      fingerprint: name,
      jobId: null,
    });
    expect(backups.lastVerified()).toBeNull();
    backups.add(entry('daily/a', 'daily', '2026-01-01 00:00:00'));
    backups.add(entry('pre-restore/b', 'pre-restore', '2026-01-02 00:00:00'));
    backups.upsertFound({ ...entry('daily/c', 'daily', '2026-01-03 00:00:00'), problem: 'damaged', origin: 'found' }, 'failed');
    expect(backups.lastVerified()).toEqual({ name: 'daily/a', createdAt: '2026-01-01 00:00:00', check: 'quick_check' });
    expect(backups.newestVerifiedAt()).toBe('2026-01-02 00:00:00');
    expect(backups.nameTaken('daily/c')).toBe(true);
    expect(backups.list('daily').map((b) => b.name)).toEqual(['daily/c', 'daily/a']);
    expect(backups.all().find((b) => b.name === 'daily/c')).toMatchObject({ origin: 'found', status: 'failed', fingerprint: 'daily/c' });
  });
});

describe('sync_log reads and pruning', () => {
  it('gives the last sync overall and per user and workstation, and prunes by age then by count in one go', () => {
    const insert = store.serverDb.prepare(
      `INSERT INTO sync_log (timestamp, status, records_pulled, records_pushed, conflicts, duration_ms, user, client_id) VALUES (?, 'success', 0, 0, 0, 5, ?, ?)`,
    );
    insert.run('2026-01-01 10:00:00', 'ann', 'ws-1');
    insert.run('2026-01-02 10:00:00', 'ann', 'ws-2');
    insert.run('2026-01-03 10:00:00', 'bob', null);
    const log = new SqliteSyncLogRepository(() => store.serverDb);
    expect(log.lastSyncAt()).toBe('2026-01-03 10:00:00');
    expect(log.lastSeenBy('user')).toEqual(
      expect.arrayContaining([
        { who: 'ann', last: '2026-01-02 10:00:00' },
        { who: 'bob', last: '2026-01-03 10:00:00' },
      ]),
    );
    expect(log.lastSeenBy('client_id')).toHaveLength(2);
    const maintenance = new SqliteServerMaintenanceRepository(() => store.serverDb);
    expect(maintenance.pruneSyncLog('2026-01-01 12:00:00', 1)).toEqual({ removedOld: 1, removedExcess: 1, rowsLeft: 1 });
    expect(log.lastSyncAt()).toBe('2026-01-03 10:00:00');
  });
});

describe('SqliteNumberUsesRepository', () => {
  it('finds numbers two records use, registered within the period', () => {
    const cols = (store.hubDb.prepare(`PRAGMA table_info("number_uses")`).all() as { name: string; notnull: number; dflt_value: unknown }[])
      .filter((c) => c.notnull && c.dflt_value === null && c.name !== 'id')
      .map((c) => c.name);
    const use = (number: string, client: string, recordId: string, at: string) => {
      const values: Record<string, unknown> = {
        number,
        client_id: client,
        user: 'ann',
        record_table: 'quotes',
        record_id: recordId,
        used_at: at,
        registered_at: at,
      };
      const names = [...new Set([...Object.keys(values), ...cols])];
      store.hubDb
        .prepare(`INSERT INTO number_uses (${names.map((n) => `"${n}"`).join(', ')}) VALUES (${names.map(() => '?').join(', ')})`)
        .run(...names.map((n) => values[n] ?? ''));
    };
    use('Q-1', 'ws-1', 'r1', '2026-01-01 00:00:00');
    use('Q-1', 'ws-2', 'r1', '2026-01-01 00:00:00'); // the same record on two copies: one user
    use('Q-2', 'ws-1', 'r2', '2026-01-01 00:00:00');
    use('Q-2', 'ws-2', 'r3', '2026-01-05 00:00:00');
    const uses = new SqliteNumberUsesRepository(() => store.hubDb);
    expect(uses.usedMoreThanOnceSince('2026-01-04 00:00:00')).toEqual(['Q-2']);
    expect(uses.usedMoreThanOnceSince('2026-01-06 00:00:00')).toEqual([]);
    expect(uses.usesOf('Q-2').map((u) => u.record_id)).toEqual(['r2', 'r3']);
  });
});
