import { Injectable } from '@nestjs/common';
import { Counter, Histogram, Registry } from 'prom-client';
import { DomainEvents } from '../events/domain-events';

export type SyncStatus = 'success' | 'error';

/**
 * This application's own Prometheus registry (not prom-client's global one, so that several
 * servers in one process, as in the tests, keep their own figures) and the sync instruments,
 * fed by the sync's domain events (`sync.rows`, `sync.ended`) as `sync_log` is written.
 */
@Injectable()
export class SyncMetrics {
  readonly registry = new Registry();

  /** One observation per sync (a `sync_log` row), when the sync ends: a push and its pull pages, a pull or a snapshot. */
  readonly duration = new Histogram({
    name: 'cacpq_sync_duration_seconds',
    help: 'Duration of each sync (a push and the pull pages after it, a pull, or a snapshot), observed when it ends.',
    labelNames: ['status'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly syncs = new Counter({
    name: 'cacpq_syncs_total',
    help: 'Syncs that ended, by outcome (the final status of their sync_log row).',
    labelNames: ['status'],
    registers: [this.registry],
  });

  readonly records = new Counter({
    name: 'cacpq_sync_records_total',
    help: 'Rows received from workstations (direction="pushed") and sent to them (direction="pulled").',
    labelNames: ['direction'],
    registers: [this.registry],
  });

  readonly conflicts = new Counter({
    name: 'cacpq_sync_conflicts_total',
    help: 'Conflicts detected while applying pushes.',
    registers: [this.registry],
  });

  constructor(events: DomainEvents) {
    events.on('sync.rows', (e) => (e.direction === 'pushed' ? this.pushed(e.rows, e.conflicts) : this.pulled(e.rows)));
    events.on('sync.ended', (e) => this.ended(e.status, e.durationMs));
    // Present from the first scrape, so that rate() and increase() see the first sync.
    for (const status of ['success', 'error'] as const) {
      this.syncs.inc({ status }, 0);
      this.duration.zero({ status });
    }
    for (const direction of ['pushed', 'pulled']) this.records.inc({ direction }, 0);
  }

  pushed(rows: number, conflicts: number): void {
    this.records.inc({ direction: 'pushed' }, rows);
    if (conflicts > 0) this.conflicts.inc(conflicts);
  }

  pulled(rows: number): void {
    this.records.inc({ direction: 'pulled' }, rows);
  }

  /** A sync ended: its duration in milliseconds, as written to `sync_log.duration_ms`. */
  ended(status: SyncStatus, durationMs: number): void {
    this.syncs.inc({ status });
    this.duration.observe({ status }, Math.max(0, durationMs) / 1000);
  }
}
