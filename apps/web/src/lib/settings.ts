import { RETENTION_SETTINGS, SCHEDULE_SETTINGS, type SettingDescriptor } from '@cacpq/sync-protocol';
import { ApiError, CSRF_COOKIE, CSRF_HEADER, readCookie } from './api';

/** How a setting is edited. */
export type FieldKind = 'cron' | 'number' | 'text' | 'checkbox' | 'password' | 'time';

export interface FieldDef {
  key: string;
  label: string;
  kind: FieldKind;
  /** Shown under the input (and tied to it with aria-describedby). */
  hint?: string;
  unit?: string;
  step?: string;
}

export type SettingValue = string | number | boolean;
export type SettingValues = Record<string, SettingValue>;
/** What the inputs hold: text for every input, booleans for checkboxes. */
export type Draft = Record<string, string | boolean>;

/** Said once above the schedules. */
export const CRON_HINT = 'Each is a five-field cron in the server’s local time (minute hour day-of-month month weekday), or "off".';

/** A form field from the contract's setting descriptor (labels, units and ranges are written there once). */
function field(d: SettingDescriptor): FieldDef {
  return { key: d.key, label: d.label, kind: d.kind, ...(d.unit ? { unit: d.unit } : {}), ...(d.hint ? { hint: d.hint } : {}) };
}

/** `schedule.*` of `GET/PATCH /api/v1/settings`. */
export const SCHEDULE_FIELDS: FieldDef[] = SCHEDULE_SETTINGS.map(field);

/** Retention and maintenance limits of `GET/PATCH /api/v1/settings`. */
export const RETENTION_FIELDS: FieldDef[] = RETENTION_SETTINGS.map(field);

export const SYNC_INTERVAL_FIELD: FieldDef = {
  key: 'intervalMinutes',
  label: 'Workstations sync every',
  kind: 'number',
  unit: 'minutes',
  hint: '5 to 1440 minutes; workstations pick it up at their next sync.',
};

export const BUSINESS_HOURS_FIELDS: FieldDef[] = [
  { key: 'alerts.businessHours.days', label: 'Business days', kind: 'text', hint: 'ISO weekdays, 1 = Monday … 7 = Sunday, e.g. "1-5".' },
  { key: 'alerts.businessHours.start', label: 'Opens at', kind: 'time' },
  { key: 'alerts.businessHours.end', label: 'Closes at', kind: 'time' },
  { key: 'alerts.businessHours.timeZone', label: 'Time zone', kind: 'text', hint: 'IANA name, e.g. America/Toronto.' },
  { key: 'alerts.rates.windowHours', label: 'Rates are judged over', kind: 'number', unit: 'hours' },
  { key: 'alerts.rates.minSyncs', label: 'Rates need at least', kind: 'number', unit: 'syncs' },
];

export const NOTIFICATION_FIELDS: FieldDef[] = [
  { key: 'alerts.webhook.url', label: 'Webhook URL', kind: 'text', hint: 'POSTed a JSON body on every open and resolve; empty for none.' },
  { key: 'alerts.smtp.host', label: 'SMTP host', kind: 'text', hint: 'Empty for no e-mail.' },
  { key: 'alerts.smtp.port', label: 'SMTP port', kind: 'number' },
  { key: 'alerts.smtp.secure', label: 'TLS from the start (port 465)', kind: 'checkbox' },
  { key: 'alerts.smtp.user', label: 'SMTP user', kind: 'text' },
  { key: 'alerts.smtp.password', label: 'SMTP password', kind: 'password' },
  { key: 'alerts.smtp.from', label: 'From', kind: 'text' },
  { key: 'alerts.smtp.to', label: 'To', kind: 'text', hint: 'E-mail addresses separated by commas.' },
];

export function toDraft(fields: FieldDef[], values: SettingValues): Draft {
  const draft: Draft = {};
  for (const f of fields) {
    const v = values[f.key];
    if (f.kind === 'checkbox') draft[f.key] = v === true;
    else if (f.kind === 'password') draft[f.key] = '';
    else draft[f.key] = v === undefined || v === null ? '' : String(v);
  }
  return draft;
}

/**
 * The changed settings as the API takes them. Numbers go as numbers; text that is no number goes
 * as typed, so the API's sentence says what is wrong. A password goes only when one was typed
 * (it is write-only: the API never returns it).
 */
export function patchOf(fields: FieldDef[], values: SettingValues, draft: Draft): Record<string, SettingValue> {
  const patch: Record<string, SettingValue> = {};
  for (const f of fields) {
    const d = draft[f.key];
    if (f.kind === 'checkbox') {
      if (d !== (values[f.key] === true)) patch[f.key] = d === true;
    } else if (f.kind === 'password') {
      if (typeof d === 'string' && d !== '') patch[f.key] = d;
    } else if (f.kind === 'number') {
      const text = String(d).trim();
      const n = text === '' ? NaN : Number(text);
      const value = Number.isFinite(n) ? n : text;
      if (value !== values[f.key]) patch[f.key] = value;
    } else {
      const text = f.kind === 'cron' ? String(d).trim() : String(d);
      if (text !== String(values[f.key] ?? '')) patch[f.key] = text;
    }
  }
  return patch;
}

interface IssueDetail {
  path?: unknown;
  message?: unknown;
}

/**
 * Per field, what the API said about it: its field details when given (`[{path, message}]`),
 * else its sentence when the sentence names the field (`retention.daily.days must be …`).
 */
export function fieldErrors(error: ApiError | null | undefined, keys: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!error) return out;
  if (Array.isArray(error.details)) {
    for (const d of error.details as IssueDetail[]) {
      if (typeof d?.path === 'string' && keys.includes(d.path) && typeof d.message === 'string') out[d.path] = d.message;
    }
  }
  if (Object.keys(out).length === 0) {
    const named = keys.find((k) => error.message.startsWith(`${k} `) || error.message.startsWith(`${k}:`));
    if (named) out[named] = error.message;
  }
  return out;
}

/** "3 settings saved." */
export function savedSentence(n: number): string {
  return n === 1 ? 'Saved 1 setting.' : `Saved ${n} settings.`;
}

/**
 * `PUT` for the one endpoint that takes it (`/api/v1/sync/settings`): lib/api has get, post, patch
 * and delete only. Same-origin, the CSRF cookie echoed, the API's sentence kept on failure.
 */
export async function put<T>(path: string, body: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', 'Content-Type': 'application/json' };
  const csrf = readCookie(CSRF_COOKIE);
  if (csrf) headers[CSRF_HEADER] = csrf;
  let res: Response;
  try {
    res = await fetch(path, { method: 'PUT', headers, body: JSON.stringify(body), credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'NETWORK', 'The server could not be reached. Check the connection and try again.');
  }
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const message =
      typeof json?.message === 'string' && json.message ? json.message : `The server answered with an error (HTTP ${res.status}).`;
    const code = typeof json?.code === 'string' ? json.code : 'HTTP_ERROR';
    const requestId = typeof json?.requestId === 'string' ? json.requestId : (res.headers.get('x-request-id') ?? undefined);
    throw new ApiError(res.status, code, message, requestId, json?.details);
  }
  return json as T;
}
