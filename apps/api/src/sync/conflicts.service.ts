import { MasterStore, SqliteConflictsRepository, sqlTime, type ConflictRow, type ConflictsRepository } from '@cacpq/db';
import type { ConflictQuery, ConflictView, ResolveConflictRequest, WireValue } from '@cacpq/sync-protocol';
import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { ApiException } from '../common/api-exception';
import type { AppRequest } from '../common/request-context';
import type { StoredValue } from './row-values';
import { TABLE_SPECS } from './row-values';
import { AdminWritesService } from './admin-writes.service';

/** Both versions of every conflict, for review; an admin's resolution syncs as a normal change. */
@Injectable()
export class ConflictsService {
  constructor(
    store: MasterStore,
    private readonly writes: AdminWritesService,
    private readonly audit: AuditService,
  ) {
    this.conflicts = new SqliteConflictsRepository(() => store.serverDb);
  }

  private readonly conflicts: ConflictsRepository;

  /** Conflicts no admin has resolved yet. */
  openCount(): number {
    return this.conflicts.openCount();
  }

  list(q: ConflictQuery): ConflictView[] {
    return this.conflicts.list(q).map(view);
  }

  get(id: number): ConflictView {
    const row = this.conflicts.get(id);
    if (!row) throw new ApiException('NOT_FOUND', `There is no conflict ${id}.`);
    return view(row);
  }

  async resolve(req: AppRequest, id: number, body: ResolveConflictRequest): Promise<ConflictView> {
    const who = req.principal!;
    const result = this.writes.transaction(() => {
      const c = this.get(id);
      if (c.resolvedAt) throw new ApiException('ALREADY_RESOLVED', `Conflict ${id} was resolved by ${c.resolvedBy} at ${c.resolvedAt}.`);
      const spec = TABLE_SPECS.get(c.table)!;
      const dataColumns = new Set(spec.dataColumns.map((col) => col.name));
      const pick = (version: Record<string, WireValue> | null, columns: string[]) =>
        Object.fromEntries(columns.filter((k) => dataColumns.has(k)).map((k) => [k, (version?.[k] ?? null) as StoredValue]));
      let seq: number | null = null;
      if (body.keep === 'loser') {
        const loser = c.winner === 'server' ? c.clientVersion : c.serverVersion;
        if (c.kind === 'delete-vs-update' && c.winner === 'client') {
          // The loser is the edit the delete removed: bring the row back as it was.
          seq = this.writes.applyResolution(c.table, c.rowId, pick(c.serverVersion, [...dataColumns]), true, who);
        } else if (c.kind === 'delete-vs-update') {
          throw new ApiException(
            'VALIDATION_FAILED',
            `Conflict ${id}: the losing side is a delete; delete the row through a workstation instead.`,
          );
        } else {
          const columns = c.kind === 'update-vs-delete' ? [...dataColumns] : c.columns;
          seq = this.writes.applyResolution(c.table, c.rowId, pick(loser, columns), c.kind === 'update-vs-delete', who);
        }
      } else if (body.keep === 'merged') {
        const values = this.writes.validateValues(c.table, body.values, 'values');
        seq = this.writes.applyResolution(c.table, c.rowId, values, c.kind === 'update-vs-delete', who);
      }
      const resolution = JSON.stringify({ keep: body.keep, ...(body.keep === 'merged' ? { values: body.values } : {}), seq });
      this.conflicts.resolve(id, sqlTime(), who.username, resolution);
      return { view: this.get(id), seq };
    });
    await this.audit.record(req, {
      action: 'conflict.resolve',
      target: `${result.view.table} ${result.view.rowId}`,
      details: { conflictId: id, keep: body.keep, seq: result.seq },
    });
    return result.view;
  }
}

function parse(v: string | null): Record<string, WireValue> | null {
  return v ? (JSON.parse(v) as Record<string, WireValue>) : null;
}

function view(r: ConflictRow): ConflictView {
  return {
    id: r.id,
    table: r.table_name,
    rowId: r.row_id,
    detectedAt: r.detected_at,
    kind: r.kind,
    columns: JSON.parse(r.columns) as string[],
    winner: r.winner,
    serverVersion: parse(r.server_version),
    clientVersion: parse(r.client_version),
    serverUpdatedBy: r.server_updated_by,
    serverUpdatedAt: r.server_updated_at,
    clientUser: r.client_user,
    clientId: r.client_id,
    clientUpdatedAt: r.client_updated_at,
    resolvedAt: r.resolved_at,
    resolvedBy: r.resolved_by,
    resolution: r.resolution,
  };
}
