import { Inject, Injectable } from '@nestjs/common';
import { MasterStore, sqlTime } from '@cacpq/db';
import type { Logger } from 'pino';
import { LOGGER } from '../common/tokens';

/** The clock skew measured on each workstation's last push (hub.db `workstation_clocks`), for the clock alert. */
@Injectable()
export class WorkstationClocks {
  constructor(
    private readonly store: MasterStore,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Never throws: a push must not fail for want of this bookkeeping. */
  record(clientId: string, user: string, skewMs: number, at: Date = new Date()): void {
    try {
      this.store.hubDb
        .prepare(
          `INSERT INTO workstation_clocks (client_id, user, skew_ms, measured_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(client_id) DO UPDATE SET user = excluded.user, skew_ms = excluded.skew_ms, measured_at = excluded.measured_at`,
        )
        .run(clientId, user, Math.round(skewMs), sqlTime(at));
    } catch (err) {
      this.logger.warn({ err, clientId }, 'workstation clock skew not recorded');
    }
  }

  all(): { clientId: string; user: string | null; skewMs: number; measuredAt: string }[] {
    return (
      this.store.hubDb.prepare('SELECT client_id, user, skew_ms, measured_at FROM workstation_clocks ORDER BY client_id').all() as {
        client_id: string;
        user: string | null;
        skew_ms: number;
        measured_at: string;
      }[]
    ).map((r) => ({ clientId: r.client_id, user: r.user, skewMs: r.skew_ms, measuredAt: r.measured_at }));
  }
}
