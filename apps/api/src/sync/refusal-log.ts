import { MasterStore, SqliteRefusalsRepository, sqlTime, type RefusalRow, type RefusalsRepository } from '@cacpq/db';
import type { RefusalQuery, RefusalStatus, RefusalView } from '@cacpq/sync-protocol';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../common/tokens';
import { DomainEvents } from '../events/domain-events';

/** One refused change as the sync engine hands it over. */
export interface RefusalRecord {
  table: string;
  rowId: string;
  op: 'upsert' | 'delete';
  column: string | null;
  code: string;
  message: string;
  value: string | null;
  overridable: boolean;
  /** The change as sent (with the time the server gave it), to take or fix later; null when too large to keep. */
  change: Record<string, unknown> | null;
}

/**
 * The record of every change a push was refused for (hub.db `sync_refusals`, so no restore rewrites
 * it): one open refusal per workstation and row, updated when the row is refused again, closed as
 * `fixed` when the workstation sends the row again and it goes through, or by an admin.
 */
@Injectable()
export class RefusalLog {
  /** Workstation, table and row of every open refusal: a push asks this for each row it applied. */
  private open: Set<string> | null = null;

  private readonly refusals: RefusalsRepository;

  constructor(
    store: MasterStore,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly events: DomainEvents,
  ) {
    this.refusals = new SqliteRefusalsRepository(() => store.hubDb);
  }

  private openKeys(): Set<string> {
    this.open ??= new Set(this.refusals.openRows().map((r) => key(r.client_id, r.table_name, r.row_id)));
    return this.open;
  }

  /** Records each refusal (or updates the open one for the same workstation and row); returns their ids. */
  record(user: string, clientId: string, records: RefusalRecord[]): (number | null)[] {
    try {
      const at = sqlTime();
      const ids = this.refusals.transaction(() =>
        records.map((r) => {
          const write = {
            user,
            op: r.op,
            column: r.column,
            code: r.code,
            message: r.message,
            value: r.value,
            overridable: r.overridable,
            change: r.change ? JSON.stringify(r.change) : null,
            at,
          };
          const existing = this.refusals.openId(clientId, r.table, r.rowId);
          if (existing !== undefined) {
            this.refusals.update(existing, write);
            return existing;
          }
          const id = this.refusals.insert(clientId, r.table, r.rowId, write);
          this.openKeys().add(key(clientId, r.table, r.rowId));
          return id;
        }),
      );
      this.changed();
      return ids;
    } catch (err) {
      // The answer still lists every refused change: the workstation holds them back either way.
      this.logger.warn({ err, clientId }, 'refused changes not recorded');
      return records.map(() => null);
    }
  }

  /** Rows of a push that went through: an open refusal of the same workstation and row was fixed there. */
  markFixed(clientId: string, rows: readonly { table: string; id: string }[], user: string): void {
    const open = this.openKeys();
    if (open.size === 0) return;
    const fixed = rows.filter((r) => open.has(key(clientId, r.table, r.id))).map((r): [string, string] => [r.table, r.id]);
    if (fixed.length === 0) return;
    try {
      const at = sqlTime();
      this.refusals.transaction(() => {
        for (const [t, id] of fixed) {
          this.refusals.closeFixed(clientId, t, id, at, user, 'Fixed on the workstation: the row was sent again and went through.');
          open.delete(key(clientId, t, id));
        }
      });
      this.changed();
    } catch (err) {
      this.logger.warn({ err, clientId }, 'fixed refusals not recorded');
    }
  }

  list(q: RefusalQuery): RefusalView[] {
    return this.refusals.list(q).map(view);
  }

  get(id: number): RefusalView | null {
    const row = this.refusals.get(id);
    return row ? view(row) : null;
  }

  /** The change as the workstation sent it, with the time the server gave it. */
  change(id: number): Record<string, unknown> | null {
    const text = this.refusals.change(id);
    return text ? (JSON.parse(text) as Record<string, unknown>) : null;
  }

  countOpen(): number {
    return this.openKeys().size;
  }

  /** Closes an open refusal; false when it was no longer open. */
  close(id: number, status: Exclude<RefusalStatus, 'open'>, by: string, resolution: string): boolean {
    const row = this.refusals.get(id);
    const closed = this.refusals.close(id, status, sqlTime(), by, resolution);
    if (closed && row) {
      this.openKeys().delete(key(row.client_id, row.table_name, row.row_id));
      this.changed();
    }
    return closed;
  }

  private changed(): void {
    this.events.publish('refusals.changed', { open: this.openKeys().size });
  }
}

function key(clientId: string, table: string, id: string): string {
  return `${clientId}\u0000${table}\u0000${id}`;
}

function view(r: RefusalRow): RefusalView {
  const change = r.change ? (JSON.parse(r.change) as { values?: Record<string, unknown> }) : null;
  return {
    id: r.id,
    clientId: r.client_id,
    user: r.user,
    table: r.table_name,
    rowId: r.row_id,
    op: r.op,
    column: r.column_name,
    code: r.code,
    message: r.message,
    value: r.value,
    overridable: r.overridable === 1,
    values: change?.values ?? null,
    firstSeenAt: r.first_seen_at,
    lastSeenAt: r.last_seen_at,
    times: r.times,
    status: r.status as RefusalStatus,
    resolvedAt: r.resolved_at,
    resolvedBy: r.resolved_by,
    resolution: r.resolution,
  };
}
