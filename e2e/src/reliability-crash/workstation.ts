import * as path from 'node:path';
import { SyncClient, type SyncSummary } from '@cacpq/sync-client';
import type { Ledger } from './ledger';

/** Retries generous enough to wait out a server restart (about 2 s) and a run of cut connections. */
export const RETRY = { maxAttempts: 12, backoffBaseMs: 50, requestTimeoutMs: 30_000 };

export interface LocalRow {
  id: string;
  amount: number;
  notes: string;
  server_seq: number;
}

/**
 * A workstation in this process: a SyncClient over its own file, whose "desktop app" writes
 * manual_quotes rows it alone owns — inserts and updates, each edit stamped with the next value of
 * its own counter (`notes` = `<name>#<counter>`, `amount` = counter), so a change applied twice or
 * half a batch shows in the master.
 */
export class StormWorkstation {
  counter = 0;
  readonly rows: string[] = [];
  /** Successful syncs, and per sync how many batches were first sent during it. */
  readonly syncs: { batches: number; pulled: number }[] = [];
  readonly errors: string[] = [];

  private constructor(
    readonly name: string,
    readonly user: string,
    readonly client: SyncClient,
    private readonly ledger: Ledger,
  ) {}

  static async create(
    name: string,
    user: string,
    dir: string,
    server: string,
    token: string,
    ledger: Ledger,
  ): Promise<{ ws: StormWorkstation; snapshotRows: number }> {
    const client = await SyncClient.init({
      file: path.join(dir, `${name}.db`),
      server,
      token,
      clientId: name,
      fetch: ledger.fetchFor(name),
      ...RETRY,
    });
    let snapshotRows = 0;
    client.on('progress', (p) => {
      if (p.phase === 'snapshot' && p.total !== undefined) snapshotRows = p.total;
    });
    return { ws: new StormWorkstation(name, user, client, ledger), snapshotRows };
  }

  /** One local transaction of the desktop app: 1–3 new quotes and 0–3 edits of its own. */
  edit(random: () => number): void {
    const insert = this.client.db.prepare('INSERT INTO manual_quotes (id, quoteNumber, customer, amount, notes) VALUES (?, ?, ?, ?, ?)');
    const update = this.client.db.prepare('UPDATE manual_quotes SET amount = ?, notes = ? WHERE id = ?');
    this.client.db.transaction(() => {
      for (let i = 1 + Math.floor(random() * 3); i > 0; i--) {
        const id = `${this.name}-${this.rows.length}`;
        const c = ++this.counter;
        insert.run(id, `MQ-${id}`, this.name, c, `${this.name}#${c}`);
        this.rows.push(id);
      }
      for (let i = Math.floor(random() * 4); i > 0 && this.rows.length > 0; i--) {
        const c = ++this.counter;
        update.run(c, `${this.name}#${c}`, this.rows[Math.floor(random() * this.rows.length)]);
      }
    })();
  }

  async sync(): Promise<SyncSummary> {
    const before = this.sentBatches();
    const s = await this.client.syncNow();
    this.syncs.push({ batches: this.sentBatches() - before, pulled: s.pulled });
    return s;
  }

  private sentBatches(): number {
    let n = 0;
    for (const b of this.ledger.sent.values()) if (b.ws === this.name) n++;
    return n;
  }

  local(): LocalRow[] {
    return this.client.db.prepare('SELECT id, amount, notes, server_seq FROM manual_quotes ORDER BY id').all() as LocalRow[];
  }

  pending(): number {
    return this.client.status().pendingChanges;
  }
}
