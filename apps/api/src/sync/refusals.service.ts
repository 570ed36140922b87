import { Injectable } from '@nestjs/common';
import type {
  PushChange,
  PushResult,
  RefusalOutcome,
  RefusalStatusQuery,
  RefusalView,
  ReportRefusalRequest,
  ResubmitRefusalRequest,
} from '@cacpq/sync-protocol';
import { AuditService } from '../audit/audit.service';
import { ApiException } from '../common/api-exception';
import type { AppRequest, Principal } from '../common/request-context';
import { RefusalLog } from './refusal-log';
import { RuleError, TABLE_SPECS } from './row-values';
import { AdminWritesService } from './admin-writes.service';
import { PushService } from './push.service';

/**
 * What admins do with refused changes (the dashboard's Refused changes page): take the value anyway
 * where only a rule of the column refused it, fix it and send it on the workstation's behalf, or
 * discard it. Each goes through the sync engine with the same conflict rules as any push, is
 * audited with the values involved, and reaches the workstation at its next sync, which then lets
 * go of the change it held back.
 */
@Injectable()
export class RefusalsService {
  constructor(
    private readonly log: RefusalLog,
    private readonly pushes: PushService,
    private readonly writes: AdminWritesService,
    private readonly audit: AuditService,
  ) {}

  get(id: number): RefusalView {
    const r = this.log.get(id);
    if (!r) throw new ApiException('NOT_FOUND', `There is no refused change ${id}.`);
    return r;
  }

  private assertOpen(refusal: RefusalView): void {
    if (refusal.status === 'open') return;
    throw new ApiException(
      'ALREADY_RESOLVED',
      `Refused change ${refusal.id} was already closed (${refusal.status}${refusal.resolvedBy ? ` by ${refusal.resolvedBy}` : ''}${refusal.resolvedAt ? ` at ${refusal.resolvedAt}` : ''}).`,
    );
  }

  /** An open refusal with the change the server kept, to take or fix. */
  private openOne(id: number): { refusal: RefusalView; change: PushChange & { time?: string } } {
    const refusal = this.get(id);
    this.assertOpen(refusal);
    const change = this.log.change(id) as (PushChange & { time?: string }) | null;
    if (!change || change.op !== 'upsert' || !change.values) {
      throw new ApiException(
        'VALIDATION_FAILED',
        `Refused change ${id} (${refusal.code}) carries no values the server kept (${refusal.code === 'PAYLOAD_TOO_LARGE' ? 'the row was too large to send' : 'it was a delete'}); discard it, or fix the row on the workstation ${refusal.clientId}.`,
      );
    }
    return { refusal, change };
  }

  /** Closes the refusal with what was done, as a sentence, and audits it with the values involved. */
  private async close(
    req: AppRequest,
    refusal: RefusalView,
    status: 'accepted' | 'resubmitted' | 'discarded',
    sentence: string,
    details: Record<string, unknown>,
  ): Promise<RefusalView> {
    this.log.close(refusal.id, status, req.principal!.username, sentence);
    await this.audit.record(req, {
      action: `refusal.${status === 'accepted' ? 'accept' : status === 'resubmitted' ? 'resubmit' : 'discard'}`,
      target: `${refusal.table} ${refusal.rowId}`,
      details: { refusalId: refusal.id, clientId: refusal.clientId, user: refusal.user, ...details },
    });
    return this.get(refusal.id);
  }

  private apply(refusal: RefusalView, change: PushChange & { time?: string }, override: string[]) {
    try {
      return this.pushes.applyRefused(change, refusal.clientId, refusal.user, override).result;
    } catch (err) {
      if (err instanceof RuleError) {
        const { message } = err.getResponse() as { message: string };
        throw new ApiException(err.code, `${message.replace(/^change: /, '')} Nothing was changed; the refused change stays open.`);
      }
      throw err;
    }
  }

  /** Takes the refused value as the workstation sent it: only where a rule of the column refused it, not its type. */
  async accept(req: AppRequest, id: number): Promise<RefusalView> {
    const { refusal, change } = this.openOne(id);
    if (!refusal.overridable || !refusal.column) {
      throw new ApiException(
        'VALIDATION_FAILED',
        `Refused change ${id} cannot be taken as it is: ${refusal.message.replace(/^changes\[\d+\]: /, '')} Fix the value instead, or discard it.`,
      );
    }
    const result = this.apply(refusal, change, [refusal.column]);
    return this.close(
      req,
      refusal,
      'accepted',
      `Taken as sent by ${req.principal!.username}: ${refusal.table}.${refusal.column} = ${JSON.stringify(refusal.value)}${outcomeOf(result)}.`,
      { column: refusal.column, value: refusal.value, outcome: result.outcome },
    );
  }

  /** Sends the change again with fixed values, checked by the column rules like any push. */
  async resubmit(req: AppRequest, id: number, body: ResubmitRefusalRequest): Promise<RefusalView> {
    const { refusal, change } = this.openOne(id);
    const columns = Object.keys(body.values);
    if (columns.length === 0)
      throw new ApiException('VALIDATION_FAILED', 'Invalid request body: values must name at least one column to fix.');
    const spec = TABLE_SPECS.get(refusal.table);
    const unknown = columns.filter((c) => !spec?.byName.has(c));
    if (unknown.length > 0) {
      throw new ApiException(
        'UNKNOWN_COLUMN',
        `Invalid request body: ${refusal.table} has no column ${unknown.map((c) => `"${c}"`).join(', ')}.`,
      );
    }
    const changed = [...new Set([...(change.changed ?? Object.keys(change.values!)), ...columns])];
    const fixed = { ...change, values: { ...change.values, ...body.values }, changed };
    const result = this.apply(refusal, fixed, []);
    const before = Object.fromEntries(columns.map((c) => [c, change.values![c] ?? null]));
    return this.close(
      req,
      refusal,
      'resubmitted',
      `Fixed and sent by ${req.principal!.username}: ${columns.map((c) => `${refusal.table}.${c} = ${JSON.stringify(body.values[c])}`).join(', ')}${outcomeOf(result)}.`,
      { before, after: body.values, outcome: result.outcome },
    );
  }

  /** Drops the refused change: the master keeps its row; both versions go into the audit log. */
  async discard(req: AppRequest, id: number): Promise<RefusalView> {
    const refusal = this.get(id);
    this.assertOpen(refusal);
    const master = this.writes.currentRow(refusal.table, refusal.rowId);
    return this.close(
      req,
      refusal,
      'discarded',
      `Discarded by ${req.principal!.username}: the master keeps ${master.row ? 'its version of the row' : 'no such row'}; the workstation's version is in the audit log.`,
      {
        column: refusal.column,
        code: refusal.code,
        refused: refusal.values ?? { [refusal.column ?? 'row']: refusal.value },
        master: master.row,
      },
    );
  }

  /** For a workstation: what became of the changes it holds back; resolved ones come with the master's row. */
  outcomes(who: Principal, q: RefusalStatusQuery): RefusalOutcome[] {
    const out: RefusalOutcome[] = [];
    for (const id of q.ids) {
      const r = this.log.get(id);
      if (!r || r.clientId !== q.clientId || (r.user !== who.username && who.role !== 'admin')) continue;
      if (r.status === 'open') {
        out.push({ id, status: r.status, table: r.table, rowId: r.rowId });
        continue;
      }
      const current = this.writes.currentRow(r.table, r.rowId);
      out.push({
        id,
        status: r.status,
        table: r.table,
        rowId: r.rowId,
        row: current.row,
        version: current.version,
        deleted: current.deleted,
      });
    }
    return out;
  }

  /** A workstation holds back a change the server never saw (a row too large to send): recorded for the admins. */
  report(who: Principal, body: ReportRefusalRequest): { ids: (number | null)[] } {
    const ids = this.log.record(
      who.username,
      body.clientId,
      body.refused.map((r) => ({
        table: r.table,
        rowId: r.id,
        op: r.op,
        column: null,
        code: r.code,
        message: r.message,
        value: null,
        overridable: false,
        change: null,
      })),
    );
    return { ids };
  }
}

/** " (merged, conflict 12 recorded)": how the change went in. */
function outcomeOf(r: PushResult): string {
  return ` (${r.outcome}${r.conflictId ? `, conflict ${r.conflictId} recorded` : ''})`;
}
