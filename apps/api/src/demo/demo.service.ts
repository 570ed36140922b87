import { Injectable } from '@nestjs/common';
import { DEMO_USERS, MasterStore, SqliteMasterRowsRepository, SYNCED_TABLES, seedDemoData, seedDemoGrowth } from '@cacpq/db';
import type { DemoSeedRequest, DemoSeedResponse, Role } from '@cacpq/sync-protocol';
import { AuditService } from '../audit/audit.service';
import { generatePassword } from '../auth/passwords';
import { ApiException } from '../common/api-exception';
import type { AppRequest, Principal } from '../common/request-context';
import { GrowthService } from '../monitoring/growth.service';
import { PushService } from '../sync/push.service';
import { UsersService } from '../users/users.service';
import { seedDemoConflicts } from './demo-conflicts';

const DEMO_ACCOUNTS: { username: string; role: Role }[] = [
  ...DEMO_USERS.map((username) => ({ username, role: 'user' as Role })),
  { username: 'morgan', role: 'manager' },
];

@Injectable()
export class DemoService {
  constructor(
    private readonly store: MasterStore,
    private readonly users: UsersService,
    private readonly audit: AuditService,
    private readonly pushes: PushService,
    private readonly growth: GrowthService,
  ) {}

  async seed(req: AppRequest, body: DemoSeedRequest): Promise<DemoSeedResponse> {
    const db = this.store.serverDb;
    const rows = new SqliteMasterRowsRepository(() => this.store.serverDb);
    const holding = SYNCED_TABLES.filter((t) => rows.hasRows(t.name));
    if (holding.length > 0) {
      throw new ApiException(
        'NOT_EMPTY',
        `The master already holds data (${holding.map((t) => t.name).join(', ')}); demo data goes only into an empty one.`,
      );
    }
    const scale = body.scale ?? 1;
    const summary = seedDemoData(db, this.store.numbersDb, {
      months: body.months ?? 6,
      components: Math.round(3000 * scale),
      customers: Math.round(300 * scale),
      projects: Math.round(400 * scale),
      quotes: Math.round(1200 * scale),
    });
    const created: DemoSeedResponse['users'] = [];
    const existing = new Set((await this.users.list()).map((u) => u.username));
    for (const account of DEMO_ACCOUNTS) {
      if (existing.has(account.username)) continue;
      const password = generatePassword();
      await this.users.create(req, { ...account, password });
      created.push({ ...account, password });
    }
    // A few open conflicts, recorded by the sync engine from two users' edits of the same rows.
    const principals = new Map<string, Principal>();
    for (const username of DEMO_USERS) {
      const user = await this.users.get(username);
      principals.set(username, { kind: 'token', userId: user.id, username, role: user.role });
    }
    const conflicts = seedDemoConflicts(this.pushes, rows, this.store.generation, principals);
    // Growth history leading up to a sample of the files as they are now (fresh data directories only).
    // The seed is written into the files first, as the periodic checkpoint would, so that the last
    // sample shows the files as they stay.
    for (const handle of [db, this.store.numbersDb]) handle.pragma('wal_checkpoint(TRUNCATE)');
    this.growth.sample();
    const sizeSamples = seedDemoGrowth(this.store.hubDb, { days: 90 });
    await this.audit.record(req, {
      action: 'demo.seed',
      details: { rows: summary.rows, syncLogRows: summary.syncLogRows, conflicts: conflicts.length, sizeSamples },
    });
    return { rows: summary.rows, syncLogRows: summary.syncLogRows, numbersIssued: summary.numbersIssued, users: created };
  }
}
