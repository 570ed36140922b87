/**
 * Every route of the API with what each role gets: the one table both the in-process test
 * (routes.spec.ts) and the real-process access suite (e2e/src/reliability-access.e2e-spec.ts)
 * check, and both compare with the server's OpenAPI description. No imports: e2e reads it as is.
 */

export type Role = 'anonymous' | 'user' | 'manager' | 'admin';
export interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  body?: unknown;
  /** Expected status per caller role. */
  expect: Record<Role, number>;
}

const ANY_SIGNED_IN = (ok: number) => ({ anonymous: 401, user: ok, manager: ok, admin: ok });
const ADMIN_ONLY = (ok: number) => ({ anonymous: 401, user: 403, manager: 403, admin: ok });
const PUBLIC = (ok: number) => ({ anonymous: ok, user: ok, manager: ok, admin: ok });
const MANAGERS = (ok: number) => ({ anonymous: 401, user: 403, manager: ok, admin: ok });

let seq = 0;
const unique = () => `u${Date.now().toString(36)}${seq++}`;

/** Every route of the API, with what each role gets. A new route must be added here. */
export const ROUTES: (() => Route)[] = [
  () => ({ method: 'GET', path: '/api/health', expect: PUBLIC(200) }),
  () => ({ method: 'GET', path: '/api/health/ready', expect: PUBLIC(200) }),
  () => ({ method: 'GET', path: '/api/docs/openapi.json', expect: ANY_SIGNED_IN(200) }),
  () => ({ method: 'GET', path: '/api/docs/openapi.yaml', expect: ANY_SIGNED_IN(200) }),
  () => ({ method: 'GET', path: '/api/docs/', expect: ANY_SIGNED_IN(200) }),
  () => ({ method: 'GET', path: '/api/docs-yaml', expect: ANY_SIGNED_IN(404) }),
  () => ({ method: 'GET', path: '/api/docs-json', expect: ANY_SIGNED_IN(404) }),
  () => ({ method: 'POST', path: '/api/v1/auth/login', body: { username: unique(), password: 'wrong-password' }, expect: PUBLIC(401) }),
  () => ({ method: 'GET', path: '/api/v1/auth/me', expect: ANY_SIGNED_IN(200) }),
  () => ({ method: 'GET', path: '/api/v1/server/tls', expect: ANY_SIGNED_IN(200) }),
  () => ({ method: 'POST', path: '/api/v1/auth/password', body: {}, expect: ANY_SIGNED_IN(400) }),
  () => ({ method: 'GET', path: '/api/v1/users', expect: MANAGERS(200) }),
  () => ({ method: 'POST', path: '/api/v1/users', body: { username: unique(), role: 'user' }, expect: ADMIN_ONLY(201) }),
  () => ({ method: 'PATCH', path: '/api/v1/users/target', body: { disabled: false }, expect: ADMIN_ONLY(200) }),
  () => ({ method: 'GET', path: '/api/v1/users/target/tokens', expect: MANAGERS(200) }),
  () => ({ method: 'POST', path: '/api/v1/users/target/tokens', body: { device: 'bench' }, expect: ADMIN_ONLY(201) }),
  () => ({ method: 'DELETE', path: '/api/v1/tokens/0b5e0f7e-0000-4000-8000-000000000000', expect: ADMIN_ONLY(404) }),
  () => ({ method: 'GET', path: '/api/v1/audit', expect: MANAGERS(200) }),
  () => ({ method: 'POST', path: '/api/v1/demo/seed', body: {}, expect: ADMIN_ONLY(400) }),
  () => ({ method: 'GET', path: '/api/v1/sync/info', expect: ANY_SIGNED_IN(200) }),
  () => ({ method: 'GET', path: '/api/v1/schema', expect: MANAGERS(200) }),
  () => ({ method: 'POST', path: '/api/v1/schema/exclude', body: { table: 'no_such_table' }, expect: ADMIN_ONLY(404) }),
  () => ({ method: 'POST', path: '/api/v1/schema/include', body: { table: 'no_such_table' }, expect: ADMIN_ONLY(404) }),
  () => ({ method: 'POST', path: '/api/v1/schema/migrations/preview', body: { sql: 'DROP TABLE quotes' }, expect: ADMIN_ONLY(400) }),
  () => ({
    method: 'POST',
    path: '/api/v1/schema/migrations',
    body: { sql: 'ALTER TABLE quotes ADD COLUMN x TEXT' },
    expect: ADMIN_ONLY(400),
  }),
  () => ({ method: 'POST', path: '/api/v1/sync/push', body: {}, expect: ANY_SIGNED_IN(400) }),
  () => ({ method: 'GET', path: '/api/v1/sync/pull', expect: ANY_SIGNED_IN(400) }),
  () => ({ method: 'GET', path: '/api/v1/sync/snapshot', expect: ANY_SIGNED_IN(200) }),
  () => ({ method: 'PUT', path: '/api/v1/sync/settings', body: { intervalMinutes: 120 }, expect: ADMIN_ONLY(200) }),
  () => ({ method: 'GET', path: '/api/v1/sync/refusals', expect: ANY_SIGNED_IN(400) }),
  () => ({
    method: 'POST',
    path: '/api/v1/sync/refusals',
    body: {
      clientId: 'ws-routes',
      refused: [{ table: 'quotes', id: 'q-routes', op: 'upsert', code: 'PAYLOAD_TOO_LARGE', message: 'Too large.' }],
    },
    expect: ANY_SIGNED_IN(200),
  }),
  () => ({ method: 'GET', path: '/api/v1/refusals', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/refusals/999999', expect: MANAGERS(404) }),
  () => ({ method: 'POST', path: '/api/v1/refusals/999999/accept', expect: ADMIN_ONLY(404) }),
  () => ({ method: 'POST', path: '/api/v1/refusals/999999/resubmit', body: { values: { name: 'x' } }, expect: ADMIN_ONLY(404) }),
  () => ({ method: 'POST', path: '/api/v1/refusals/999999/discard', expect: ADMIN_ONLY(404) }),
  () => ({ method: 'GET', path: '/api/v1/conflicts', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/conflicts/999', expect: MANAGERS(404) }),
  () => ({ method: 'POST', path: '/api/v1/conflicts/999/resolve', body: { keep: 'winner' }, expect: ADMIN_ONLY(404) }),
  () => ({ method: 'GET', path: '/api/v1/numbers', expect: ANY_SIGNED_IN(200) }),
  () => ({ method: 'POST', path: '/api/v1/numbers/quote', expect: ANY_SIGNED_IN(201) }),
  () => ({ method: 'POST', path: '/api/v1/numbers/quote/reserve', body: { count: 2 }, expect: ANY_SIGNED_IN(201) }),
  () => ({
    method: 'POST',
    path: '/api/v1/numbers/uses',
    body: { clientId: 'ws-routes', uses: [{ number: `Q-ROUTES-${unique()}`, kind: 'quote', usedAt: '2026-12-01T10:00:00Z' }] },
    expect: ANY_SIGNED_IN(201),
  }),
  () => ({ method: 'PUT', path: '/api/v1/numbers/quote/format', body: { format: 'Q{YYYY}-{SEQ:4}' }, expect: ADMIN_ONLY(200) }),
  () => ({ method: 'POST', path: '/api/v1/backups', body: { kind: 'hourly' }, expect: ADMIN_ONLY(400) }),
  () => ({ method: 'GET', path: '/api/v1/backups', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/backups/999', expect: MANAGERS(404) }),
  () => ({ method: 'GET', path: '/api/v1/backups/999/preview', expect: ADMIN_ONLY(404) }),
  () => ({ method: 'GET', path: '/api/v1/backups/999/download', expect: ADMIN_ONLY(404) }),
  () => ({ method: 'POST', path: '/api/v1/backups/999/restore', body: { confirm: 'restore nothing' }, expect: ADMIN_ONLY(404) }),
  () => ({ method: 'GET', path: '/api/v1/jobs', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/jobs/999', expect: MANAGERS(404) }),
  () => ({ method: 'POST', path: '/api/v1/maintenance/optimize', expect: ADMIN_ONLY(202) }),
  () => ({ method: 'GET', path: '/api/v1/maintenance/runs', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/maintenance/schedules', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/maintenance/state', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/settings', expect: MANAGERS(200) }),
  () => ({ method: 'PATCH', path: '/api/v1/settings', body: { 'retention.daily.days': 30 }, expect: ADMIN_ONLY(200) }),
  () => ({ method: 'GET', path: '/api/v1/monitoring/sync-activity', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/monitoring/conflict-summary', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/monitoring/active-users', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/monitoring/sync-stats', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/monitoring/workstations', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/monitoring/health', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/monitoring/growth', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/monitoring/sync-timeline', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/monitoring/user-days', expect: MANAGERS(200) }),
  () => ({ method: 'GET', path: '/api/v1/alerts', expect: MANAGERS(200) }),
  () => ({ method: 'POST', path: '/api/v1/alerts/999999/acknowledge', expect: ADMIN_ONLY(404) }),
  () => ({ method: 'POST', path: '/api/v1/alerts/evaluate', expect: ADMIN_ONLY(200) }),
  () => ({ method: 'GET', path: '/api/v1/alerts/settings', expect: ADMIN_ONLY(200) }),
  () => ({ method: 'PATCH', path: '/api/v1/alerts/settings', body: { 'alerts.growth.pct': 50 }, expect: ADMIN_ONLY(200) }),
  () => ({ method: 'GET', path: '/metrics', expect: MANAGERS(200) }),
  // Logout last: it ends the caller's session.
  () => ({ method: 'POST', path: '/api/v1/auth/logout', expect: ANY_SIGNED_IN(204) }),
];

export const ROLES: Role[] = ['anonymous', 'user', 'manager', 'admin'];

/** `METHOD /template` of every operation in an OpenAPI document that no route of the table matches. */
export function missingFromTable(
  doc: { paths: Record<string, Record<string, unknown>> },
  table: Route[] = ROUTES.map((r) => r()),
): string[] {
  const missing: string[] = [];
  for (const [template, methods] of Object.entries(doc.paths)) {
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    for (const method of Object.keys(methods)) {
      if (!table.some((r) => r.method === method.toUpperCase() && pattern.test(r.path)))
        missing.push(`${method.toUpperCase()} ${template}`);
    }
  }
  return missing;
}
