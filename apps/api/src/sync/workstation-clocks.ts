import { MasterStore, SqliteWorkstationsRepository, sqlTime, type WorkstationsRepository } from '@cacpq/db';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../common/tokens';

interface Measurement {
  user: string | null;
  skewMs: number;
  measuredAt: Date;
}

/** A measurement is written to hub.db when it moved by this much, or this long after the last write. */
const WRITE_IF_MOVED_MS = 1000;
const WRITE_EVERY_MS = 60_000;

/**
 * Each workstation's clock offset from the server's (positive: ahead), measured on every request
 * that carries the workstation's clock, and kept in hub.db `workstation_clocks` for the dashboard
 * and the clock alert. Measurements are held in memory and written when they move or once a minute,
 * so a pull page pays no write.
 */
@Injectable()
export class WorkstationClocks {
  private readonly latest = new Map<string, Measurement>();
  private readonly written = new Map<string, Measurement>();

  constructor(
    store: MasterStore,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.workstations = new SqliteWorkstationsRepository(() => store.hubDb);
  }

  private readonly workstations: WorkstationsRepository;

  /** Never throws: a sync must not fail for want of this bookkeeping. */
  record(clientId: string, user: string | null, skewMs: number, at: Date = new Date()): void {
    const m: Measurement = { user, skewMs: Math.round(skewMs), measuredAt: at };
    this.latest.set(clientId, m);
    const last = this.written.get(clientId);
    if (last && Math.abs(last.skewMs - m.skewMs) < WRITE_IF_MOVED_MS && at.getTime() - last.measuredAt.getTime() < WRITE_EVERY_MS) return;
    try {
      this.workstations.saveClock(clientId, user, m.skewMs, sqlTime(at));
      this.written.set(clientId, m);
    } catch (err) {
      this.logger.warn({ err, clientId }, 'workstation clock skew not recorded');
    }
  }

  all(): { clientId: string; user: string | null; skewMs: number; measuredAt: string }[] {
    const stored = this.workstations.clocks();
    // The newest measurement of this process, where it has not been written yet.
    return stored.map((r) => {
      const m = this.latest.get(r.clientId);
      return m && sqlTime(m.measuredAt) > r.measuredAt ? { ...r, skewMs: m.skewMs, measuredAt: sqlTime(m.measuredAt) } : r;
    });
  }
}
