import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { MaintenanceState } from '@cacpq/sync-protocol';
import type { NextFunction, Response } from 'express';
import type { AppRequest } from '../common/request-context';
import { DomainEvents } from '../events/domain-events';

/** Seconds a workstation is asked to wait before trying again while the master is held. */
export const MAINTENANCE_RETRY_AFTER_SECONDS = 15;

/**
 * Maintenance mode: while a restore (or a VACUUM) holds the master, sync and number requests are
 * answered 503 with Retry-After, which the workstation SDK honours; the dashboard is told at once.
 */
@Injectable()
export class MaintenanceMode {
  private current: MaintenanceState = {
    active: false,
    reason: null,
    since: null,
    jobId: null,
    retryAfterSeconds: MAINTENANCE_RETRY_AFTER_SECONDS,
  };

  constructor(private readonly events: DomainEvents) {}

  get state(): MaintenanceState {
    return { ...this.current };
  }

  get active(): boolean {
    return this.current.active;
  }

  enter(reason: string, jobId: number | null): void {
    this.current = { active: true, reason, since: new Date().toISOString(), jobId, retryAfterSeconds: MAINTENANCE_RETRY_AFTER_SECONDS };
    this.events.publish('maintenance.changed', this.state);
  }

  exit(): void {
    if (!this.current.active) return;
    this.current = { active: false, reason: null, since: null, jobId: null, retryAfterSeconds: MAINTENANCE_RETRY_AFTER_SECONDS };
    this.events.publish('maintenance.changed', this.state);
  }

  /** The answer body and headers for a request refused while in maintenance. */
  refusal(requestId: string | undefined): { status: number; headers: Record<string, string>; body: Record<string, unknown> } {
    return {
      status: 503,
      headers: { 'Retry-After': String(this.current.retryAfterSeconds) },
      body: {
        statusCode: 503,
        code: 'MAINTENANCE',
        message: `The master database is in maintenance (${this.current.reason ?? 'maintenance'}); nothing was changed. Try again in ${this.current.retryAfterSeconds} seconds.`,
        requestId,
        details: this.state,
      },
    };
  }
}

/** Refuses sync, numbers, conflict and demo requests while in maintenance mode. */
@Injectable()
export class MaintenanceMiddleware implements NestMiddleware {
  constructor(private readonly mode: MaintenanceMode) {}

  use(req: AppRequest, res: Response, next: NextFunction): void {
    if (!this.mode.active) return next();
    const r = this.mode.refusal(req.id);
    for (const [k, v] of Object.entries(r.headers)) res.setHeader(k, v);
    res.status(r.status).json(r.body);
  }
}
