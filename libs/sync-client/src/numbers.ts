import { randomUUID } from 'node:crypto';
import { SYNC_LIMITS, type NumberKind } from '@cacpq/sync-protocol';
import { SyncError } from './errors';
import type { LocalStore } from './local-store';
import type { Remote } from './remote';
import type { SyncSummary } from './types';

/** Quote and project numbers: from the server, or offline from a block reserved in the file (registered later). */
export class Numbers {
  constructor(
    private readonly store: LocalStore,
    private readonly remote: Remote,
    private readonly now: () => Date,
  ) {}

  /** Numbers taken offline from the reserved block are registered with the server, with the record using each. */
  async registerNumbers(summary: SyncSummary): Promise<void> {
    const used = this.store
      .stmt(
        'SELECT number, kind, used_at, record_table, record_id FROM _sync_numbers WHERE used_at IS NOT NULL AND registered_at IS NULL LIMIT ?',
      )
      .all(SYNC_LIMITS.maxNumberUses) as {
      number: string;
      kind: NumberKind;
      used_at: string;
      record_table: string | null;
      record_id: string | null;
    }[];
    if (used.length === 0 || !this.store.serverHas('number-uses')) return;
    const answer = await this.remote.registerNumbers({
      clientId: this.store.getState('client_id'),
      uses: used.map((u) => ({
        number: u.number,
        kind: u.kind,
        usedAt: u.used_at,
        ...(u.record_table && u.record_id ? { table: u.record_table, id: u.record_id } : {}),
      })),
    });
    const mark = this.store.stmt('UPDATE _sync_numbers SET registered_at = ? WHERE number = ?');
    const at = new Date().toISOString();
    this.store.db.transaction(() => used.forEach((u) => mark.run(at, u.number)))();
    summary.duplicateNumbers.push(...answer.duplicates);
  }

  /**
   * The next quote or project number from the server; offline, one from a reserved block. Name the
   * record it is for: a number used offline is registered with it at the next sync, so a number two
   * records use (two copies of this file) is caught.
   */
  async allocateNumber(kind: NumberKind, record?: { table: string; id: string }): Promise<{ number: string; offline: boolean }> {
    try {
      // One request id for every attempt: a retry after a lost answer gets the same number, not another.
      // Two attempts: offline, the reserved block is the answer, and the person is waiting for it.
      const issued = await this.remote.allocateNumber(
        kind,
        { clientId: this.store.getState('client_id'), requestId: randomUUID() },
        Math.min(2, this.remote.maxAttempts),
      );
      return { number: issued.number, offline: false };
    } catch (err) {
      if (!(err instanceof SyncError) || (err.code !== 'NETWORK' && err.code !== 'SERVICE_UNAVAILABLE')) throw err;
      const reserved = this.store
        .stmt('SELECT number FROM _sync_numbers WHERE kind = ? AND used_at IS NULL ORDER BY number LIMIT 1')
        .get(kind) as { number: string } | undefined;
      if (!reserved)
        throw new SyncError('OFFLINE_NO_NUMBERS', `The server is unreachable and no ${kind} numbers are reserved on this workstation.`);
      this.store
        .stmt('UPDATE _sync_numbers SET used_at = ?, record_table = ?, record_id = ? WHERE number = ?')
        .run(this.now().toISOString(), record?.table ?? null, record?.id ?? null, reserved.number);
      return { number: reserved.number, offline: true };
    }
  }

  async reserveNumbers(kind: NumberKind, count: number): Promise<string[]> {
    const issued = await this.remote.reserveNumbers(kind, {
      count,
      clientId: this.store.getState('client_id'),
      requestId: randomUUID(),
    });
    const insert = this.store.stmt('INSERT OR IGNORE INTO _sync_numbers (number, kind, reserved_at) VALUES (?, ?, ?)');
    this.store.db.transaction(() => issued.forEach((n) => insert.run(n.number, kind, n.issuedAt)))();
    return issued.map((n) => n.number);
  }
}
