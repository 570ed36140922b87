import { Inject, Injectable, Optional } from '@nestjs/common';
import { MasterStore, sqlTime } from '@cacpq/db';
import type { RefusalQuery, RefusalStatus, RefusalView } from '@cacpq/sync-protocol';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { LOGGER } from '../common/tokens';
import { OpsEvents } from '../operations/ops-events';

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

interface RefusalRow {
  id: number;
  client_id: string;
  user: string;
  table_name: string;
  row_id: string;
  op: 'upsert' | 'delete';
  column_name: string | null;
  code: string;
  message: string;
  value: string | null;
  overridable: number;
  change: string | null;
  first_seen_at: string;
  last_seen_at: string;
  times: number;
  status: RefusalStatus;
  resolved_at: string | null;
  resolved_by: string | null;
  resolution: string | null;
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

  constructor(
    private readonly store: MasterStore,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() private readonly ops?: OpsEvents,
  ) {}

  private get hub(): Database.Database {
    return this.store.hubDb;
  }

  private openKeys(): Set<string> {
    this.open ??= new Set(
      (this.hub.prepare(`SELECT client_id, table_name, row_id FROM sync_refusals WHERE status = 'open'`).all() as RefusalRow[]).map((r) =>
        key(r.client_id, r.table_name, r.row_id),
      ),
    );
    return this.open;
  }

  /** Records each refusal (or updates the open one for the same workstation and row); returns their ids. */
  record(user: string, clientId: string, records: RefusalRecord[]): (number | null)[] {
    try {
      const at = sqlTime();
      const find = this.hub.prepare(
        `SELECT id FROM sync_refusals WHERE client_id = ? AND table_name = ? AND row_id = ? AND status = 'open'`,
      );
      const insert = this.hub.prepare(
        `INSERT INTO sync_refusals (client_id, user, table_name, row_id, op, column_name, code, message, value, overridable, change, first_seen_at, last_seen_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const update = this.hub.prepare(
        `UPDATE sync_refusals SET user = ?, op = ?, column_name = ?, code = ?, message = ?, value = ?, overridable = ?, change = ?,
           last_seen_at = ?, times = times + 1 WHERE id = ?`,
      );
      const ids = this.hub.transaction(() =>
        records.map((r) => {
          const change = r.change ? JSON.stringify(r.change) : null;
          const existing = find.pluck().get(clientId, r.table, r.rowId) as number | undefined;
          if (existing !== undefined) {
            update.run(user, r.op, r.column, r.code, r.message, r.value, r.overridable ? 1 : 0, change, at, existing);
            return existing;
          }
          const id = Number(
            insert.run(clientId, user, r.table, r.rowId, r.op, r.column, r.code, r.message, r.value, r.overridable ? 1 : 0, change, at, at)
              .lastInsertRowid,
          );
          this.openKeys().add(key(clientId, r.table, r.rowId));
          return id;
        }),
      )();
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
      const close = this.hub.prepare(
        `UPDATE sync_refusals SET status = 'fixed', resolved_at = ?, resolved_by = ?, resolution = ?
         WHERE client_id = ? AND table_name = ? AND row_id = ? AND status = 'open'`,
      );
      const at = sqlTime();
      this.hub.transaction(() => {
        for (const [t, id] of fixed) {
          close.run(at, user, 'Fixed on the workstation: the row was sent again and went through.', clientId, t, id);
          open.delete(key(clientId, t, id));
        }
      })();
      this.changed();
    } catch (err) {
      this.logger.warn({ err, clientId }, 'fixed refusals not recorded');
    }
  }

  list(q: RefusalQuery): RefusalView[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.status === 'open') where.push(`status = 'open'`);
    if (q.status === 'resolved') where.push(`status <> 'open'`);
    if (q.before) {
      where.push('id < ?');
      args.push(q.before);
    }
    const rows = this.hub
      .prepare(`SELECT * FROM sync_refusals ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`)
      .all(...args, q.limit) as RefusalRow[];
    return rows.map(view);
  }

  get(id: number): RefusalView | null {
    const row = this.hub.prepare('SELECT * FROM sync_refusals WHERE id = ?').get(id) as RefusalRow | undefined;
    return row ? view(row) : null;
  }

  /** The change as the workstation sent it, with the time the server gave it. */
  change(id: number): Record<string, unknown> | null {
    const text = this.hub.prepare('SELECT change FROM sync_refusals WHERE id = ?').pluck().get(id) as string | null | undefined;
    return text ? (JSON.parse(text) as Record<string, unknown>) : null;
  }

  countOpen(): number {
    return this.openKeys().size;
  }

  /** Closes an open refusal; false when it was no longer open. */
  close(id: number, status: Exclude<RefusalStatus, 'open'>, by: string, resolution: string): boolean {
    const row = this.hub.prepare('SELECT client_id, table_name, row_id FROM sync_refusals WHERE id = ?').get(id) as RefusalRow | undefined;
    const changes = this.hub
      .prepare(`UPDATE sync_refusals SET status = ?, resolved_at = ?, resolved_by = ?, resolution = ? WHERE id = ? AND status = 'open'`)
      .run(status, sqlTime(), by, resolution, id).changes;
    if (changes > 0 && row) {
      this.openKeys().delete(key(row.client_id, row.table_name, row.row_id));
      this.changed();
    }
    return changes > 0;
  }

  private changed(): void {
    this.ops?.refusalsChanged({ open: this.openKeys().size });
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
    status: r.status,
    resolvedAt: r.resolved_at,
    resolvedBy: r.resolved_by,
    resolution: r.resolution,
  };
}
