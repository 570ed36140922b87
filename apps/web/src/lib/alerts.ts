import type { AlertRule, AlertView } from '@cacpq/sync-protocol';

export const RULE_LABELS: Record<AlertRule, string> = {
  growth: 'Database growth',
  'no-sync': 'No sync',
  'conflict-rate': 'Conflict rate',
  'failure-rate': 'Sync failure rate',
  'backup-age': 'Backup age',
  integrity: 'Integrity',
  'stale-user': 'User not syncing',
  'clock-skew': 'Workstation clock',
  'workstation-copy': 'Copied workstation file',
  'duplicate-number': 'Number used twice',
  'refused-changes': 'Refused changes',
  'schema-ahead': 'App newer than the master',
};

export function ruleLabel(rule: string): string {
  return RULE_LABELS[rule as AlertRule] ?? rule;
}

/** `user:alice` → "user alice"; '' → "the server". */
export function subjectLabel(subject: string): string {
  if (!subject) return 'the server';
  const i = subject.indexOf(':');
  return i < 0 ? subject : `${subject.slice(0, i)} ${subject.slice(i + 1)}`;
}

/** Alerts by id with `next` put in (a later view of one alert replaces the earlier), newest first. */
export function mergeAlerts(list: AlertView[], next: AlertView): AlertView[] {
  const rest = list.filter((a) => a.id !== next.id);
  const old = list.find((a) => a.id === next.id);
  // A resolved view never goes back to open; an acknowledgement is kept.
  const merged: AlertView =
    old && old.status === 'resolved' && next.status === 'open'
      ? old
      : {
          ...next,
          acknowledgedAt: next.acknowledgedAt ?? old?.acknowledgedAt ?? null,
          acknowledgedBy: next.acknowledgedBy ?? old?.acknowledgedBy ?? null,
        };
  return [...rest, merged].sort((a, b) => b.id - a.id);
}

/** The rules with an on/off switch and a threshold in `GET/PATCH /api/v1/alerts/settings`. */
export const ALERT_RULE_SETTINGS: { rule: AlertRule; threshold?: { key: string; label: string; unit: string; step?: string } }[] = [
  { rule: 'growth', threshold: { key: 'alerts.growth.pct', label: 'Growth in a day over', unit: '%', step: 'any' } },
  { rule: 'no-sync', threshold: { key: 'alerts.no-sync.hours', label: 'No sync for over', unit: 'business hours' } },
  { rule: 'conflict-rate', threshold: { key: 'alerts.conflict-rate.pct', label: 'Syncs with conflicts over', unit: '%', step: 'any' } },
  { rule: 'failure-rate', threshold: { key: 'alerts.failure-rate.pct', label: 'Failed syncs over', unit: '%', step: 'any' } },
  { rule: 'backup-age', threshold: { key: 'alerts.backup-age.hours', label: 'No verified backup for over', unit: 'hours' } },
  { rule: 'stale-user', threshold: { key: 'alerts.stale-user.days', label: 'A user not syncing for over', unit: 'days' } },
  { rule: 'clock-skew', threshold: { key: 'alerts.clock-skew.toleranceMinutes', label: 'Clock off by over', unit: 'minutes' } },
  { rule: 'workstation-copy', threshold: { key: 'alerts.workstation-copy.days', label: 'Keep a copied file open for', unit: 'days' } },
  {
    rule: 'duplicate-number',
    threshold: { key: 'alerts.duplicate-number.days', label: 'Keep a number used twice open for', unit: 'days' },
  },
  { rule: 'schema-ahead', threshold: { key: 'alerts.schema-ahead.days', label: 'Keep a newer app’s column open for', unit: 'days' } },
  // Last: they have no threshold, so the switch/threshold pairs before them stay aligned.
  { rule: 'integrity', threshold: undefined },
  { rule: 'refused-changes', threshold: undefined },
];
