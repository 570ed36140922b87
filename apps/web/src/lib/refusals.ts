/* Refused changes (GET/POST /api/v1/refusals…): shapes, paths, how one reads, and the fix form's values. */

import {
  SYNC_COLUMN_NAMES,
  type ColumnInfo,
  type RefusalStatus,
  type RefusalView,
  type ResubmitRefusalRequest,
  type SyncInfoResponse,
  type TableInfo,
  type WireValue,
} from '@cacpq/sync-protocol';

export type { ColumnInfo, RefusalStatus, RefusalView, ResubmitRefusalRequest, SyncInfoResponse, TableInfo, WireValue };

/** The page's filter: the open refusals (the default), the closed ones, or every one. */
export const REFUSAL_FILTERS = [
  { value: 'open', label: 'Open' },
  { value: 'resolved', label: 'Resolved' },
  { value: 'all', label: 'All' },
] as const;
export type RefusalFilter = (typeof REFUSAL_FILTERS)[number]['value'];

/** The list shows at most this many refusals (the newest). */
export const LIST_LIMIT = 200;

export function refusalsPath(filter: RefusalFilter): string {
  return `/api/v1/refusals?status=${filter}&limit=${LIST_LIMIT}`;
}

export function refusalPath(id: number, action?: 'accept' | 'resubmit' | 'discard'): string {
  return `/api/v1/refusals/${id}${action ? `/${action}` : ''}`;
}

/** The synced tables and their columns (types, allowed values, lengths): what a fixed value must be. */
export const SYNC_INFO_PATH = '/api/v1/sync/info';

/** Columns the server keeps itself: never part of a fix. */
const SYNC_COLUMNS: ReadonlySet<string> = new Set(SYNC_COLUMN_NAMES);

export const STATUS_LABELS: Record<RefusalStatus, string> = {
  open: 'open',
  accepted: 'taken as sent',
  resubmitted: 'fixed and sent',
  discarded: 'discarded',
  fixed: 'fixed on the workstation',
};

export function statusLabel(status: RefusalStatus): string {
  return STATUS_LABELS[status] ?? status;
}

/** The server's sentence without the batch position it was found at ("changes[2]: "), which means nothing here. */
export function reasonText(r: RefusalView): string {
  return r.message.replace(/^changes\[\d+\]: /, '');
}

/** Where the change went: "customers.type" or, without a column, the table. */
export function targetLabel(r: RefusalView): string {
  return r.column ? `${r.table}.${r.column}` : r.table;
}

/** A sent value as text for an input or a title: '' for null, JSON for anything that is not a scalar. */
export function valueText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

/** The refused value in full: from the values the workstation sent when the server kept them (its `value` is cut to 200 characters). */
export function fullValue(r: RefusalView): string | null {
  if (r.values && r.column && Object.prototype.hasOwnProperty.call(r.values, r.column)) {
    const v = r.values[r.column];
    return v === null || v === undefined ? null : valueText(v);
  }
  return r.value;
}

/** An admin may take the value anyway only where a rule of the column refused it (not its type). */
export function canTakeAsSent(r: RefusalView): boolean {
  return r.status === 'open' && r.overridable && r.column !== null;
}

/** A fix needs the values the workstation sent (not kept for a delete or a row too large to send). */
export function canFix(r: RefusalView): boolean {
  return r.status === 'open' && r.op === 'upsert' && r.values !== null;
}

/** The table's columns a fix may set, in the registry's order; without the registry, the columns the workstation sent. */
export function fixableColumns(r: RefusalView, table: TableInfo | undefined): string[] {
  if (table) return table.columns.filter((c) => !c.serverOwned && !SYNC_COLUMNS.has(c.name)).map((c) => c.name);
  return Object.keys(r.values ?? {}).filter((n) => !SYNC_COLUMNS.has(n));
}

/** What the column takes, for the hint under its input. */
export function columnHint(col: ColumnInfo | undefined): string {
  if (!col) return '';
  let what: string;
  switch (col.type) {
    case 'integer':
      what = 'A whole number';
      break;
    case 'real':
      what = 'A number';
      break;
    case 'boolean':
      what = 'true or false';
      break;
    case 'datetime':
      what = 'A date and time, e.g. 2026-11-24 09:30:00';
      break;
    case 'json':
      what = 'JSON text';
      break;
    default:
      what = col.values?.length ? `One of ${col.values.map((v) => `“${v}”`).join(', ')}` : 'Text';
      if (!col.values?.length && col.maxLength !== undefined) what += `, at most ${col.maxLength.toLocaleString()} characters`;
  }
  return `${what}${col.nullable ? '; may be left empty' : '; required'}.`;
}

/** A multi-line input suits long text and JSON. */
export function isLongText(col: ColumnInfo | undefined, text: string): boolean {
  if (col?.type === 'json') return true;
  if (col && col.type !== 'text') return false;
  return text.length > 80 || text.includes('\n') || (col?.maxLength ?? 0) > 500;
}

/** A field of the fix form: a column and the text in its input. */
export interface FixField {
  column: string;
  text: string;
}

/** The form's first fields: the refused column, prefilled with the value the workstation sent. */
export function initialFields(r: RefusalView): FixField[] {
  return r.column ? [{ column: r.column, text: fullValue(r) ?? '' }] : [];
}

/** A field added by the admin, prefilled with what the workstation sent for that column. */
export function addedField(r: RefusalView, column: string): FixField {
  return { column, text: valueText(r.values?.[column]) };
}

const WHOLE = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * An input's text as the value the column takes: numbers for number columns, true/false for
 * booleans, null for an empty input of a column that may be empty. Text that is not such a value
 * is sent as it is, so the server's sentence says what is wrong with it. Without the column's type,
 * a number stays a number where the workstation sent one.
 */
export function toWireValue(text: string, col: ColumnInfo | undefined, sent: unknown): WireValue {
  const t = text.trim();
  const type = col?.type ?? (typeof sent === 'number' ? 'real' : typeof sent === 'boolean' ? 'boolean' : 'text');
  const nullable = col?.nullable ?? true;
  if (t === '' && (nullable || type !== 'text')) return type === 'text' && !nullable ? '' : null;
  switch (type) {
    case 'integer':
      return WHOLE.test(t) && Number.isSafeInteger(Number(t)) ? Number(t) : text;
    case 'real':
      return NUMBER.test(t) && Number.isFinite(Number(t)) ? Number(t) : text;
    case 'boolean':
      if (t === 'true' || t === '1') return true;
      if (t === 'false' || t === '0') return false;
      return text;
    default:
      return text;
  }
}

/** The body of POST /refusals/:id/resubmit: each field's value as its column takes it. */
export function fixBody(r: RefusalView, fields: FixField[], table: TableInfo | undefined): ResubmitRefusalRequest {
  const columns = new Map((table?.columns ?? []).map((c) => [c.name, c]));
  const values: Record<string, WireValue> = {};
  for (const f of fields) values[f.column] = toWireValue(f.text, columns.get(f.column), r.values?.[f.column]);
  return { values };
}

/** The field the server's sentence names ("components.leadTimeDays must be …"), to mark its input. */
export function fieldOfError(message: string, table: string, fields: FixField[]): string | undefined {
  return fields.find((f) => message.includes(`${table}.${f.column} `))?.column;
}

/**
 * The loaded list (newest first, as the server sends it) with the views the actions answered with
 * put in, keeping only what the filter shows: a refusal closed here leaves the open list at once,
 * before the list is read again.
 */
export function visibleRefusals(
  loaded: RefusalView[] | undefined,
  updated: ReadonlyMap<number, RefusalView>,
  filter: RefusalFilter,
): RefusalView[] {
  return (loaded ?? [])
    .map((r) => updated.get(r.id) ?? r)
    .filter((r) => (filter === 'open' ? r.status === 'open' : filter === 'resolved' ? r.status !== 'open' : true));
}
