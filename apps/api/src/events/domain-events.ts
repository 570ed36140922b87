import { Injectable } from '@nestjs/common';
import type { OpsServerEvents } from '@cacpq/sync-protocol';
import { EventEmitter } from 'node:events';

/** Events the dashboards see live on `/ops` (everything but the connection's own snapshot and revocation). */
export type LiveEventName = Exclude<keyof OpsServerEvents, 'snapshot' | 'revoked'>;

/** Every live event, for the gateway that forwards them (a type-checked list: adding one to the contract fails the build until it is listed). */
export const LIVE_EVENTS = [
  'job.updated',
  'maintenance.changed',
  'backups.changed',
  'sync.finished',
  'conflict.recorded',
  'workstation.connected',
  'workstation.gone',
  'refusals.changed',
  'alert.opened',
  'alert.resolved',
] as const satisfies readonly LiveEventName[];
type Missing = Exclude<LiveEventName, (typeof LIVE_EVENTS)[number]>;
const everyLiveEventListed: Missing extends never ? true : Missing = true;
void everyLiveEventListed;

/** In-process facts with no live audience: the sync's figures, for the metrics. */
export interface InternalEvents {
  /** A sync ended (its `sync_log` row has its final status): milliseconds as in `duration_ms`. */
  'sync.ended': [{ status: 'success' | 'error'; durationMs: number }];
  /** Rows received (with the conflicts they met) or sent, as counted into `sync_log`. */
  'sync.rows': [{ direction: 'pushed' | 'pulled'; rows: number; conflicts: number }];
}

export type DomainEventMap = Pick<OpsServerEvents, LiveEventName> & InternalEvents;

/**
 * The server's domain events. Features publish what happened (a sync ended, a conflict was
 * recorded, a job moved on); metrics, alerts and the live `/ops` feed subscribe. Publishers do
 * not know their listeners, so the sync path depends on none of them. Listeners run
 * synchronously in the publisher's turn and must not throw.
 */
@Injectable()
export class DomainEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Listeners are features (a handful each) and tests.
    this.emitter.setMaxListeners(100);
  }

  publish<E extends keyof DomainEventMap>(event: E, ...args: DomainEventMap[E]): void {
    this.emitter.emit(event, ...args);
  }

  on<E extends keyof DomainEventMap>(event: E, listener: (...args: DomainEventMap[E]) => void): this {
    this.emitter.on(event, listener as (...a: unknown[]) => void);
    return this;
  }

  off<E extends keyof DomainEventMap>(event: E, listener: (...args: DomainEventMap[E]) => void): this {
    this.emitter.off(event, listener as (...a: unknown[]) => void);
    return this;
  }
}
