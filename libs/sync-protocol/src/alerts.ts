import { z } from 'zod';

/** Alerts (`/api/v1/alerts`): rules evaluated on a schedule, opened and resolved with timestamps. */

export const ALERT_RULES = [
  'growth',
  'no-sync',
  'conflict-rate',
  'failure-rate',
  'backup-age',
  'integrity',
  'stale-user',
  'clock-skew',
  'workstation-copy',
  'duplicate-number',
  'refused-changes',
  'schema-ahead',
] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

export const ALERT_SEVERITIES = ['warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export interface AlertView {
  id: number;
  rule: AlertRule;
  /** What the alert is about: `file:server.db`, `user:alice`, `workstation:alice-pc`; '' for the whole server. */
  subject: string;
  severity: AlertSeverity;
  status: 'open' | 'resolved';
  /** UTC, `YYYY-MM-DD HH:MM:SS.sss` like every stored timestamp. */
  openedAt: string;
  resolvedAt: string | null;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  /** The finding as a sentence naming the figure (kept up to date while the alert is open). */
  message: string;
  /** Why it resolved, as a sentence; null while open. */
  resolution: string | null;
  details: Record<string, unknown>;
  lastEvaluatedAt: string;
  notifiedAt: string | null;
}

export const ALERT_STATUSES = ['open', 'resolved', 'all'] as const;

export const AlertsQuery = z.strictObject({
  status: z.enum(ALERT_STATUSES).default('all'),
  rule: z.enum(ALERT_RULES).optional(),
  limit: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(500, 'must be at most 500').default(50),
  /** Paging: alerts with an id below this (the last id of the previous page). */
  before: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').optional(),
});
export type AlertsQuery = z.infer<typeof AlertsQuery>;

/** What one evaluation changed. */
export interface AlertEvaluation {
  evaluatedAt: string;
  opened: AlertView[];
  resolved: AlertView[];
  /** Open alerts after this evaluation. */
  open: number;
}

/** The guide's thresholds, each configurable (`GET/PATCH /api/v1/alerts/settings`). */
export const ALERT_SETTING_DEFAULTS = {
  'alerts.growth.enabled': true,
  /** Day-over-day growth of a file, percent. */
  'alerts.growth.pct': 50,
  'alerts.no-sync.enabled': true,
  /** Business hours without any sync. */
  'alerts.no-sync.hours': 4,
  /** ISO weekdays, 1 = Monday ... 7 = Sunday: lists and ranges, e.g. "1-5" or "1-5,6". */
  'alerts.businessHours.days': '1-5',
  'alerts.businessHours.start': '08:00',
  'alerts.businessHours.end': '18:00',
  /** IANA time zone the business hours are in (not necessarily the server's). */
  'alerts.businessHours.timeZone': 'America/Toronto',
  'alerts.conflict-rate.enabled': true,
  /** Percent of syncs with conflicts over the window. */
  'alerts.conflict-rate.pct': 5,
  'alerts.failure-rate.enabled': true,
  /** Percent of failed syncs over the window. */
  'alerts.failure-rate.pct': 10,
  /** The window of both rates, and the fewest syncs in it before a rate is judged. */
  'alerts.rates.windowHours': 24,
  'alerts.rates.minSyncs': 20,
  'alerts.backup-age.enabled': true,
  'alerts.backup-age.hours': 24,
  'alerts.integrity.enabled': true,
  'alerts.stale-user.enabled': true,
  'alerts.stale-user.days': 7,
  'alerts.clock-skew.enabled': true,
  'alerts.clock-skew.toleranceMinutes': 5,
  /** A second copy of a workstation file was noticed (and re-identified): open for this many days. */
  'alerts.workstation-copy.enabled': true,
  'alerts.workstation-copy.days': 7,
  /** A number from a reserved block that two records use: open for this many days after it was registered. */
  'alerts.duplicate-number.enabled': true,
  'alerts.duplicate-number.days': 30,
  /** Changes the server refused wait for an admin (Refused changes page). */
  'alerts.refused-changes.enabled': true,
  /** A workstation sends a table or column the master lacks (its app is newer): open while the master lacks it, for this many days after it was last sent. */
  'alerts.schema-ahead.enabled': true,
  'alerts.schema-ahead.days': 7,
  /** POSTed a JSON body on every open and resolve; '' for none. */
  'alerts.webhook.url': '',
  /** E-mail on every open and resolve; '' for none. */
  'alerts.smtp.host': '',
  'alerts.smtp.port': 587,
  /** true: TLS from the start (port 465); false: STARTTLS when the server offers it. */
  'alerts.smtp.secure': false,
  'alerts.smtp.user': '',
  /** Write-only: never returned; `alerts.smtp.passwordSet` says whether one is stored. */
  'alerts.smtp.password': '',
  'alerts.smtp.from': '',
  /** Comma-separated recipients. */
  'alerts.smtp.to': '',
};
export type AlertSettingKey = keyof typeof ALERT_SETTING_DEFAULTS;
export type AlertSettings = { [K in AlertSettingKey]: (typeof ALERT_SETTING_DEFAULTS)[K] };
/** What `GET /api/v1/alerts/settings` answers: every setting but the SMTP password, and whether one is set. */
export type AlertSettingsView = Omit<AlertSettings, 'alerts.smtp.password'> & { 'alerts.smtp.passwordSet': boolean };

const flag = z.boolean({ error: 'must be true or false' });
const whole = (min: number, max: number, what: string) =>
  z
    .number({ error: `must be a whole number of ${what} from ${min} to ${max}` })
    .int(`must be a whole number of ${what} from ${min} to ${max}`)
    .min(min, `must be a whole number of ${what} from ${min} to ${max}`)
    .max(max, `must be a whole number of ${what} from ${min} to ${max}`);
const pct = z
  .number({ error: 'must be a percentage from 0 to 10000' })
  .min(0, 'must be a percentage from 0 to 10000')
  .max(10_000, 'must be a percentage from 0 to 10000');
const clock = z
  .string({ error: 'must be a time of day as HH:MM, e.g. "08:00"' })
  .regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'must be a time of day as HH:MM, e.g. "08:00"');
const text = (max: number) => z.string({ error: 'must be a string' }).max(max, `must be at most ${max} characters`);

export const AlertSettingsPatch = z
  .strictObject({
    'alerts.growth.enabled': flag,
    'alerts.growth.pct': pct,
    'alerts.no-sync.enabled': flag,
    'alerts.no-sync.hours': whole(1, 168, 'hours'),
    'alerts.businessHours.days': z
      .string({ error: 'must be ISO weekdays (1 = Monday ... 7 = Sunday) as a list or ranges, e.g. "1-5"' })
      .regex(/^[1-7](-[1-7])?(,[1-7](-[1-7])?)*$/, 'must be ISO weekdays (1 = Monday ... 7 = Sunday) as a list or ranges, e.g. "1-5"'),
    'alerts.businessHours.start': clock,
    'alerts.businessHours.end': clock,
    'alerts.businessHours.timeZone': z
      .string({ error: 'must be an IANA time zone name, e.g. "America/Toronto"' })
      .refine(isTimeZone, 'must be an IANA time zone name, e.g. "America/Toronto"'),
    'alerts.conflict-rate.enabled': flag,
    'alerts.conflict-rate.pct': pct,
    'alerts.failure-rate.enabled': flag,
    'alerts.failure-rate.pct': pct,
    'alerts.rates.windowHours': whole(1, 720, 'hours'),
    'alerts.rates.minSyncs': whole(1, 1_000_000, 'syncs'),
    'alerts.backup-age.enabled': flag,
    'alerts.backup-age.hours': whole(1, 8760, 'hours'),
    'alerts.integrity.enabled': flag,
    'alerts.stale-user.enabled': flag,
    'alerts.stale-user.days': whole(1, 3650, 'days'),
    'alerts.clock-skew.enabled': flag,
    'alerts.clock-skew.toleranceMinutes': whole(1, 1440, 'minutes'),
    'alerts.workstation-copy.enabled': flag,
    'alerts.workstation-copy.days': whole(1, 365, 'days'),
    'alerts.duplicate-number.enabled': flag,
    'alerts.duplicate-number.days': whole(1, 365, 'days'),
    'alerts.refused-changes.enabled': flag,
    'alerts.schema-ahead.enabled': flag,
    'alerts.schema-ahead.days': whole(1, 365, 'days'),
    'alerts.webhook.url': text(2000).refine(
      (v) => v === '' || /^https?:\/\/[^\s]+$/.test(v),
      'must be an http:// or https:// URL, or "" for no webhook',
    ),
    'alerts.smtp.host': text(255),
    'alerts.smtp.port': z
      .number()
      .int('must be a port number from 1 to 65535')
      .min(1, 'must be a port number from 1 to 65535')
      .max(65535, 'must be a port number from 1 to 65535'),
    'alerts.smtp.secure': flag,
    'alerts.smtp.user': text(255),
    'alerts.smtp.password': text(1000),
    'alerts.smtp.from': text(320).refine((v) => v === '' || EMAIL.test(v), 'must be an e-mail address, or ""'),
    'alerts.smtp.to': text(2000).refine(
      (v) =>
        v === '' ||
        v
          .split(',')
          .map((s) => s.trim())
          .every((s) => EMAIL.test(s)),
      'must be e-mail addresses separated by commas, or ""',
    ),
  })
  .partial()
  .refine((o) => Object.keys(o).length > 0, 'give at least one setting');
export type AlertSettingsPatch = z.infer<typeof AlertSettingsPatch>;

const EMAIL = /^[^\s@<>,]+@[^\s@<>,]+$/;

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone.length > 0;
  } catch {
    return false;
  }
}

/** The body POSTed to `alerts.webhook.url` on every open and resolve. */
export interface AlertWebhookBody {
  event: 'alert.opened' | 'alert.resolved';
  alert: AlertView;
}
