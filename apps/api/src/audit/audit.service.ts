import { Injectable } from '@nestjs/common';
import { AuditEntryEntity, MasterStore, sqlTime } from '@cacpq/db';
import type { AuditEntryView, AuditQuery } from '@cacpq/sync-protocol';
import { And, LessThan, MoreThanOrEqual, type FindOperator, type Repository } from 'typeorm';
import type { AppRequest } from '../common/request-context';

export interface AuditRecord {
  action: string;
  target?: string | null;
  outcome?: 'ok' | 'denied' | 'failed';
  details?: Record<string, unknown>;
  /** Overrides the request's principal (failed logins have none). */
  actor?: string;
  actorRole?: string | null;
}

/** The audit log in hub.db: account and admin actions, who, when, from where, and the outcome. */
@Injectable()
export class AuditService {
  private readonly repo: Repository<AuditEntryEntity>;

  constructor(store: MasterStore) {
    this.repo = store.hub.getRepository(AuditEntryEntity);
  }

  async record(req: AppRequest | null, entry: AuditRecord): Promise<void> {
    await this.repo.insert({
      timestamp: sqlTime(),
      actor: entry.actor ?? req?.principal?.username ?? 'anonymous',
      actorRole: entry.actorRole !== undefined ? entry.actorRole : (req?.principal?.role ?? null),
      action: entry.action,
      target: entry.target ?? null,
      outcome: entry.outcome ?? 'ok',
      details: entry.details ? JSON.stringify(entry.details) : null,
      ip: req?.ip ?? null,
      requestId: req?.id ?? null,
    });
  }

  async list(q: AuditQuery): Promise<AuditEntryView[]> {
    // Timestamps are stored as sqlTime() text (UTC), which sorts and compares like the instants.
    const time: FindOperator<string>[] = [];
    if (q.from) time.push(MoreThanOrEqual(sqlTime(new Date(q.from))));
    if (q.to) time.push(LessThan(sqlTime(new Date(q.to))));
    const rows = await this.repo.find({
      where: {
        ...(q.before ? { id: LessThan(q.before) } : {}),
        ...(q.actor ? { actor: q.actor } : {}),
        ...(q.action ? { action: q.action } : {}),
        ...(q.outcome ? { outcome: q.outcome } : {}),
        ...(time.length > 0 ? { timestamp: time.length === 1 ? time[0] : And(...time) } : {}),
      },
      order: { id: 'DESC' },
      take: q.limit,
    });
    return rows.map((r) => ({ ...r, details: r.details ? (JSON.parse(r.details) as unknown) : null }));
  }
}
