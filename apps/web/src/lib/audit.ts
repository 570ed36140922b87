/* The audit log (GET /api/v1/audit): filters, paging and how an entry reads. */

import type { AuditEntryView } from '@cacpq/sync-protocol';
import { parseServerTime } from './format';

export type { AuditEntryView };

export const AUDIT_PAGE_SIZE = 50;

export const OUTCOMES = ['ok', 'denied', 'failed'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Actions the server records (for the filter's suggestions; the filter takes any text). */
export const KNOWN_ACTIONS = [
  'access.denied',
  'alert.acknowledge',
  'alerts.settings.change',
  'auth.login',
  'auth.logout',
  'auth.password',
  'backup.download',
  'backup.preview',
  'backup.restore',
  'backup.start',
  'conflict.resolve',
  'demo.seed',
  'maintenance.run',
  'numbers.format',
  'refusal.accept',
  'refusal.discard',
  'refusal.resubmit',
  'settings.change',
  'sync.settings',
  'token.issue',
  'token.revoke',
  'user.create',
  'user.update',
] as const;

export interface AuditFilters {
  actor: string;
  action: string;
  outcome: '' | Outcome;
  /** Local calendar days, `YYYY-MM-DD` as a date input gives them; both ends included. */
  fromDate: string;
  toDate: string;
}

export const NO_FILTERS: AuditFilters = { actor: '', action: '', outcome: '', fromDate: '', toDate: '' };

/** Local midnight at the start of a `YYYY-MM-DD` day, `days` later; undefined for anything else. */
export function localDayStart(day: string, days = 0): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return undefined;
  const date = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + days);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export function checkFilters(f: AuditFilters): string | undefined {
  if (f.fromDate && f.toDate && f.fromDate > f.toDate) return 'The “from” day is after the “to” day.';
  return undefined;
}

/**
 * The request for one page: `limit` one more than shown, so a full page knows whether an older
 * one exists; `before` is the id of the last entry of the previous page.
 */
export function auditPath(f: AuditFilters, before?: number): string {
  const q = new URLSearchParams({ limit: String(AUDIT_PAGE_SIZE + 1) });
  if (before !== undefined) q.set('before', String(before));
  if (f.actor.trim()) q.set('actor', f.actor.trim());
  if (f.action.trim()) q.set('action', f.action.trim());
  if (f.outcome) q.set('outcome', f.outcome);
  const from = localDayStart(f.fromDate);
  const to = localDayStart(f.toDate, 1);
  if (from) q.set('from', from.toISOString());
  if (to) q.set('to', to.toISOString());
  return `/api/v1/audit?${q.toString()}`;
}

export function hasFilters(f: AuditFilters): boolean {
  return Object.values(f).some((v) => v !== '');
}

/** `role: manager, disabled: true` — an entry's particulars on one line. */
export function describeDetails(details: unknown): string {
  if (details === null || details === undefined) return '';
  if (typeof details !== 'object') return String(details);
  return Object.entries(details as Record<string, unknown>)
    .map(
      ([k, v]) =>
        `${k}: ${Array.isArray(v) ? v.map(String).join(' or ') : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`,
    )
    .join(', ');
}

/** Local date and time to the second, e.g. "25 Nov 2026, 04:04:31". */
export function formatAuditTime(value: string): string {
  const date = parseServerTime(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}
