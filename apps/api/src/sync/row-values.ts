import { ID_COLUMN, SYNC_COLUMNS, parseSqlTime, sqlTime, type ColumnDef } from '@cacpq/db';
import type { ErrorCode, PushValue } from '@cacpq/sync-protocol';
import { ApiException } from '../common/api-exception';
import { NOT_SYNCED, TABLE_SPECS, type TableSpec } from '../schema/table-specs';

export { TABLE_SPECS, type TableSpec };

/** What SQLite stores: text, numbers, null, and (legacy data, or given back exactly) integers beyond 2^53 and BLOBs. */
export type StoredValue = string | number | null | bigint | Buffer;
export type StoredRow = Record<string, StoredValue>;

const SYNC_COLUMN_NAMES = new Set([ID_COLUMN.name, ...SYNC_COLUMNS.map((c) => c.name)]);

/**
 * A change refused for what it is: a column rule, an unknown table or column. `overridable` says
 * whether an admin may take the value anyway (a rule on the column, such as its allowed values or
 * length; never its type).
 */
export class RuleError extends ApiException {
  constructor(
    code: ErrorCode,
    message: string,
    readonly column: string | null,
    readonly overridable = false,
  ) {
    super(code, message);
  }
}

export function tableSpec(name: string, where: string): TableSpec {
  const spec = TABLE_SPECS.get(name);
  if (!spec) {
    const why = NOT_SYNCED.get(name);
    if (why !== undefined) throw new RuleError('UNKNOWN_TABLE', `${where}: the master's table "${name}" does not sync. ${why}`, null);
    // A table the master does not have: the workstation's app is newer than the master's schema.
    throw new RuleError(
      'SCHEMA_AHEAD',
      `${where}: the master has no table "${name}" yet; the workstation's app is newer than the master's schema. The change waits in its outbox until an admin applies the app's migration on the server (synced tables: ${[...TABLE_SPECS.keys()].join(', ')}).`,
      null,
    );
  }
  return spec;
}

const CLIENT_TIME = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:\.\d{1,9})?)?(?:Z|[+-](\d\d):?(\d\d))?$/;

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/**
 * Parses a workstation timestamp (ISO 8601 or SQLite format); null when it is not one. A date or
 * time that does not exist (30 February, 29 February of a common year, 24:00, an offset beyond
 * ±14:00) is refused: the JavaScript date parser would roll it over into another day.
 */
export function parseClientTime(value: string): Date | null {
  const m = CLIENT_TIME.exec(value);
  if (!m) return null;
  // Seconds and offset may be absent: 0.
  const [, year, month, day, hour, minute, second, offsetHours, offsetMinutes] = m.map((g) => (g === undefined ? 0 : Number(g)));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 14 || offsetMinutes > 59) return null;
  const d = parseSqlTime(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** A tagged wire value as SQLite holds it: an integer beyond ±2^53 as a bigint, a BLOB as a Buffer. */
function untag(value: object): bigint | Buffer {
  if ('$int' in value) return BigInt((value as { $int: string }).$int);
  return Buffer.from((value as { $blob: string }).$blob, 'base64');
}

function preview(value: PushValue): string {
  if (value !== null && typeof value === 'object') {
    return '$int' in value ? value.$int : `binary data of ${Buffer.from(value.$blob, 'base64').length} bytes`;
  }
  return JSON.stringify(value).slice(0, 40);
}

/** The refused value as an admin reads it: text cut to 200 characters, binary data described. */
export function describeValue(value: PushValue | undefined): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'object') {
    if ('$int' in value && typeof value.$int === 'string') return value.$int;
    if ('$blob' in value && typeof value.$blob === 'string') return `(binary data, ${Buffer.from(value.$blob, 'base64').length} bytes)`;
    return null;
  }
  const text = String(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** A value may only be one of the protocol's data columns: sync columns and unknown names are refused whatever the mode. */
function column(spec: TableSpec, name: string, where: string): ColumnDef {
  if (SYNC_COLUMN_NAMES.has(name)) {
    throw new RuleError(
      'FORBIDDEN_FIELD',
      `${where}: "${name}" is set by the server (updated_by and synced_at from the signed-in user and the server clock; the id and time travel as the change's id and updatedAt), not sent in values.`,
      name,
    );
  }
  const col = spec.byName.get(name);
  if (!col) {
    throw new RuleError(
      'SCHEMA_AHEAD',
      `${where}: the master's ${spec.name} has no column "${name}" yet; the workstation's app is newer than the master's schema. The change waits in its outbox until an admin applies the app's migration on the server.`,
      name,
    );
  }
  return col;
}

/**
 * Checks one column value against the column's rules and converts it to what SQLite stores:
 * booleans as 0/1, datetimes in SQLite format (UTC), json as its text. With `override` (an admin
 * accepting a refused value) only the type is checked: allowed values, lengths, date formats and
 * JSON syntax give way, and the value is stored as sent.
 */
export function toStored(spec: TableSpec, name: string, value: PushValue, where: string, override = false): StoredValue {
  const col = column(spec, name, where);
  const bad = (expected: string, overridable = false) =>
    new RuleError('VALIDATION_FAILED', `${where}: ${spec.name}.${name} must be ${expected} (got ${preview(value)}).`, name, overridable);
  if (value === null) {
    if (!col.nullable) throw bad('a value (it may not be null)');
    return null;
  }
  if (typeof value === 'object') {
    if ('$blob' in value) {
      throw new RuleError(
        'VALIDATION_FAILED',
        `${where}: ${spec.name}.${name} holds binary data (a BLOB of ${Buffer.from(value.$blob, 'base64').length} bytes); the sync carries text and numbers only: store the file elsewhere and keep its name here.`,
        name,
      );
    }
    throw bad('a whole number between -9007199254740991 and 9007199254740991 (larger ones cannot be synced exactly)');
  }
  switch (col.type) {
    case 'text': {
      if (typeof value !== 'string') throw bad('text');
      if (override) return value;
      if (col.maxLength !== undefined && value.length > col.maxLength) throw bad(`at most ${col.maxLength} characters`, true);
      if (col.values && !col.values.includes(value)) throw bad(`one of ${col.values.map((v) => `"${v}"`).join(', ')}`, true);
      return value;
    }
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw bad('a whole number');
      return value;
    case 'real':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw bad('a number');
      return value;
    case 'boolean':
      if (value === true || value === 1) return 1;
      if (value === false || value === 0) return 0;
      throw bad('true or false');
    case 'datetime': {
      if (typeof value !== 'string') throw bad('a date-time text');
      const d = parseClientTime(value);
      if (d) return sqlTime(d);
      if (override) return value;
      throw bad('a date-time such as 2026-11-24 09:30:00 or 2026-11-24T09:30:00Z', true);
    }
    case 'any':
      if (typeof value === 'boolean') return value ? 1 : 0;
      // A whole number stays an INTEGER in a column without a declared type (a JS number binds as REAL).
      if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
      if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) return value;
      throw bad('text or a number');
    case 'json': {
      if (typeof value !== 'string') throw bad('JSON text');
      if (override) return value;
      if (col.maxLength !== undefined && value.length > col.maxLength) throw bad(`at most ${col.maxLength} characters`, true);
      try {
        JSON.parse(value);
      } catch {
        throw bad('valid JSON text', true);
      }
      return value;
    }
  }
}

/**
 * A value that is not judged by the column rules (an unchanged column of an edit, a base value,
 * a version given back after a restore): converted as SQLite stores it where it can be, else kept
 * as it is, exactly. Only sync columns and unknown names are refused.
 */
export function toStoredAsIs(spec: TableSpec, name: string, value: PushValue, where: string): StoredValue {
  const col = column(spec, name, where);
  if (value === null) return null;
  if (typeof value === 'object') return untag(value);
  if (col.type === 'boolean' && typeof value === 'boolean') return value ? 1 : 0;
  if (col.type === 'datetime' && typeof value === 'string') {
    const d = parseClientTime(value);
    return d ? sqlTime(d) : value;
  }
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

/** Exact equality of two stored values: bit for bit for REALs, integers of any size, text with NUL and BLOBs. */
export function sameValue(a: StoredValue | undefined, b: StoredValue | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    const x = typeof a === 'bigint' ? a : typeof a === 'number' && Number.isInteger(a) ? BigInt(a) : null;
    const y = typeof b === 'bigint' ? b : typeof b === 'number' && Number.isInteger(b) ? BigInt(b) : null;
    return x !== null && y !== null && x === y;
  }
  // A REAL that holds a whole number and the same INTEGER are the same value to the app.
  return false;
}

/** JSON for a stored row (conflict versions, refusal records): bigints as digits, BLOBs as base64. */
export function rowJson(row: Record<string, unknown>): string {
  return JSON.stringify(row, (_k, v: unknown) => {
    if (typeof v === 'bigint') return { $int: v.toString() };
    if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data))
      return { $blob: Buffer.from((v as { data: number[] }).data).toString('base64') };
    return v;
  });
}
