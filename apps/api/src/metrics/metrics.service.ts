import { Injectable } from '@nestjs/common';
import {
  MasterStore,
  parseSqlTime,
  SqliteBackupCatalogueRepository,
  SqliteConflictsRepository,
  StoreSuspendedError,
  type BackupCatalogueRepository,
  type ConflictsRepository,
} from '@cacpq/db';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { JobsService } from '../jobs/jobs.service';
import { MaintenanceMode } from '../maintenance/maintenance-mode';
import { SyncEvents } from '../sync/sync-events';
import { SyncMetrics } from './sync-metrics';

let processRegistry: Registry | null = null;

/**
 * prom-client's process metrics (CPU, memory, event loop lag, GC, handles) describe the Node
 * process, not one server in it: they are collected once per process, in a registry of their own,
 * so that several servers in one process (the tests) do not each add GC observers and event-loop
 * monitors.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * The Prometheus text exposition at `/metrics`: the sync counters and histogram (kept as syncs
 * end), gauges read at scrape time from the master store, the operations state and the socket
 * server, and the process metrics. Base units (seconds, bytes); counters end in `_total`.
 */
@Injectable()
export class MetricsService {
  private readonly backups: BackupCatalogueRepository;
  private readonly conflicts: ConflictsRepository;

  constructor(
    private readonly sync: SyncMetrics,
    private readonly store: MasterStore,
    private readonly maintenance: MaintenanceMode,
    private readonly jobs: JobsService,
    private readonly events: SyncEvents,
  ) {
    this.backups = new SqliteBackupCatalogueRepository(() => store.hubDb);
    this.conflicts = new SqliteConflictsRepository(() => store.serverDb);
    // Started with the server, so that the first scrape already has event-loop samples.
    processMetrics();
  }

  async exposition(): Promise<{ contentType: string; text: string }> {
    const registry = Registry.merge([this.sync.registry, this.scrapeGauges(), processMetrics()]);
    return { contentType: registry.contentType, text: await registry.metrics() };
  }

  /** A fresh registry per scrape: a gauge whose source cannot be read right now is left out rather than shown as 0. */
  private scrapeGauges(): Registry {
    const registry = new Registry();
    const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [registry] });

    const backupAt = this.backups.newestVerifiedAt();
    gauge(
      'cacpq_last_verified_backup_timestamp_seconds',
      'When the newest verified backup was taken (Unix time, seconds); 0 when there is none.',
    ).set(backupAt ? parseSqlTime(backupAt).getTime() / 1000 : 0);

    const size = gauge('cacpq_database_size_bytes', 'Size of each master database file.', ['file']);
    const wal = gauge('cacpq_database_wal_size_bytes', 'Size of the write-ahead log of each master database file.', ['file']);
    for (const f of this.store.files()) {
      size.set({ file: f.name }, f.bytes);
      wal.set({ file: f.name }, f.walBytes);
    }

    gauge('cacpq_maintenance_mode', '1 while a restore or VACUUM holds the master (sync requests get 503), else 0.').set(
      this.maintenance.active ? 1 : 0,
    );
    gauge('cacpq_jobs_running', 'Operations jobs (backup, restore, maintenance) running now: 0 or 1.').set(
      this.jobs.runningJob === null ? 0 : 1,
    );

    // server.db is closed during a restore or VACUUM: the conflict count is left out then.
    const open = this.openConflicts();
    if (open !== null) gauge('cacpq_open_conflicts', 'Conflicts not resolved yet (sync_conflicts.resolved_at is null).').set(open);

    gauge(
      'cacpq_workstations_connected',
      'Sockets connected to the /sync namespace (workstations and dashboards listening for pokes).',
    ).set(this.events.connected);
    return registry;
  }

  private openConflicts(): number | null {
    if (this.store.suspended) return null;
    try {
      return this.conflicts.openCount();
    } catch (err) {
      if (err instanceof StoreSuspendedError) return null;
      throw err;
    }
  }
}
