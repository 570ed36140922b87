import { sqlTime, uuidv7, type MasterRowsRepository } from '@cacpq/db';
import { PROTOCOL_VERSION, type WireValue } from '@cacpq/sync-protocol';
import type { Principal } from '../common/request-context';
import type { PushService } from '../sync/push.service';

type Row = Record<string, WireValue>;

interface DemoEdit {
  user: string;
  /** When the edit was made on the laptop. */
  hoursAgo: number;
  edit: (row: Row) => Row;
}

interface DemoConflict {
  table: string;
  /** Picks a row whose current values differ from both edits. */
  where: string;
  /** Synced first: applied. */
  first: DemoEdit;
  /** Made offline on the original row, synced second: the conflict (the later edit wins each column both changed). */
  second: DemoEdit;
}

const money = (n: WireValue, factor: number) => Math.round(Number(n) * factor * 100) / 100;
const laterDate = (value: WireValue, days: number) =>
  sqlTime(new Date(new Date(`${String(value).replace(' ', 'T')}Z`).getTime() + days * 86_400_000));

/** Two people editing the same row on two laptops, the way it happens in a CPQ team. */
export const DEMO_CONFLICTS: readonly DemoConflict[] = [
  {
    table: 'quotes',
    where: `status NOT IN ('won', 'revised') AND total > 0`,
    first: { user: 'alice', hoursAgo: 3, edit: (r) => ({ status: 'won', total: money(r.total, 1.05) }) },
    second: {
      user: 'bob',
      hoursAgo: 5,
      edit: (r) => ({ status: 'revised', total: money(r.total, 0.97), notes: 'Customer asked for a 3 % discount on the skid.' }),
    },
  },
  {
    table: 'customers',
    where: `phone NOT IN ('+1-555-0142', '+1-555-0199')`,
    first: { user: 'carol', hoursAgo: 26, edit: () => ({ phone: '+1-555-0142', contactName: 'Jordan Lee' }) },
    second: { user: 'dave', hoursAgo: 20, edit: () => ({ phone: '+1-555-0199', email: 'buyer@example.com' }) },
  },
  {
    table: 'components',
    where: `listPrice > 0 AND leadTimeDays NOT IN (21, 35)`,
    first: { user: 'erin', hoursAgo: 8, edit: (r) => ({ listPrice: money(r.listPrice, 1.08), leadTimeDays: 21 }) },
    second: { user: 'alice', hoursAgo: 30, edit: (r) => ({ listPrice: money(r.listPrice, 1.02), leadTimeDays: 35 }) },
  },
  {
    table: 'projects',
    where: `status NOT IN ('on hold', 'active') AND dueDate IS NOT NULL`,
    first: { user: 'bob', hoursAgo: 50, edit: (r) => ({ status: 'on hold', dueDate: laterDate(r.dueDate, 30) }) },
    second: { user: 'carol', hoursAgo: 4, edit: (r) => ({ status: 'active', dueDate: laterDate(r.dueDate, 14) }) },
  },
];

const SYNC_COLUMNS = new Set(['id', 'updated_at', 'updated_by', 'synced_at', 'server_seq', 'deleted']);

/**
 * Open conflicts for the demo, recorded by the sync engine itself: for each scenario, one user's
 * edit is pushed, then another user's offline edit of the same row made from the version before
 * it (with its base values, as the workstation SDK sends them). Returns the conflict ids.
 */
export function seedDemoConflicts(
  pushes: PushService,
  rows: MasterRowsRepository,
  generation: string,
  principals: Map<string, Principal>,
): number[] {
  const ids: number[] = [];
  const now = Date.now();
  for (const scenario of DEMO_CONFLICTS) {
    const original = rows.nthLiveRow(scenario.table, scenario.where, 2) as Row | undefined;
    if (!original) continue;
    const data = Object.fromEntries(Object.entries(original).filter(([c]) => !SYNC_COLUMNS.has(c)));
    for (const step of [scenario.first, scenario.second]) {
      const who = principals.get(step.user);
      if (!who) continue;
      const edits = step.edit(original);
      const changed = Object.keys(edits);
      const { response } = pushes.push(
        {
          invalid: new Map(),
          request: {
            protocolVersion: PROTOCOL_VERSION,
            clientId: `${step.user}-laptop`,
            batchId: `demo-${uuidv7()}`,
            generation,
            clientTime: new Date().toISOString(),
            changes: [
              {
                table: scenario.table,
                op: 'upsert',
                id: String(original.id),
                // Both laptops last saw the original row.
                baseVersion: Number(original.server_seq),
                updatedAt: new Date(now - step.hoursAgo * 3_600_000).toISOString(),
                values: { ...data, ...edits },
                changed,
                base: Object.fromEntries(changed.map((c) => [c, original[c] ?? null])),
              },
            ],
          },
        },
        who,
      );
      const conflictId = response.results[0]?.conflictId;
      if (conflictId !== undefined) ids.push(conflictId);
    }
  }
  return ids;
}
