import { Injectable } from '@nestjs/common';
import { DEMO_USERS, MasterStore, SYNCED_TABLES, seedDemoData } from '@cacpq/db';
import type { DemoSeedRequest, DemoSeedResponse, Role } from '@cacpq/sync-protocol';
import { AuditService } from '../audit/audit.service';
import { generatePassword } from '../auth/passwords';
import { ApiException } from '../common/api-exception';
import type { AppRequest } from '../common/request-context';
import { UsersService } from '../users/users.service';

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
  ) {}

  async seed(req: AppRequest, body: DemoSeedRequest): Promise<DemoSeedResponse> {
    const db = this.store.serverDb;
    const holding = SYNCED_TABLES.filter((t) => (db.prepare(`SELECT COUNT(*) AS n FROM "${t.name}"`).get() as { n: number }).n > 0);
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
    await this.audit.record(req, { action: 'demo.seed', details: { rows: summary.rows, syncLogRows: summary.syncLogRows } });
    return { rows: summary.rows, syncLogRows: summary.syncLogRows, numbersIssued: summary.numbersIssued, users: created };
  }
}
