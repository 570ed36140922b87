import { Injectable } from '@nestjs/common';
import type { RevokedEvent, Role } from '@cacpq/sync-protocol';
import { EventEmitter } from 'node:events';
import type { Principal } from '../common/request-context';

/** Access that ended while connections made with it may still be open (socket.io). */
export interface Revocation {
  reason: RevokedEvent['reason'];
  /** A sentence for the person or workstation whose connection ends. */
  message: string;
  /** Whether a connection authenticated as this principal is concerned. */
  matches(p: Principal): boolean;
  /** `role-changed`: the account's new role; a stream that needs another role ends. */
  role?: Role;
}

const KEEP = 1000;

/**
 * Published by the token, session and account services once a revocation is committed; the
 * socket.io gateways end the matching connections at once. The last revocations are kept with a
 * sequence number, so a socket authenticated just before one (its handshake still in flight) is
 * checked again when it joins.
 */
@Injectable()
export class Revocations {
  private readonly emitter = new EventEmitter();
  private seq = 0;
  private readonly recent: { seq: number; revocation: Revocation }[] = [];

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  /** The sequence number of the latest revocation: take it before authenticating. */
  get mark(): number {
    return this.seq;
  }

  publish(revocation: Revocation): void {
    this.seq++;
    this.recent.push({ seq: this.seq, revocation });
    if (this.recent.length > KEEP) this.recent.splice(0, this.recent.length - KEEP);
    this.emitter.emit('revoked', revocation);
  }

  /** Revocations published after `mark` (of the last thousand). */
  since(mark: number): Revocation[] {
    if (mark === this.seq) return [];
    return this.recent.filter((r) => r.seq > mark).map((r) => r.revocation);
  }

  subscribe(listener: (r: Revocation) => void): () => void {
    this.emitter.on('revoked', listener);
    return () => this.emitter.off('revoked', listener);
  }
}
