import { ID_COLUMN, SYNC_COLUMNS, SYNCED_TABLES, parseSqlTime, sqlTime, type ColumnDef, type SyncedTableDef } from '@cacpq/db';
import type { WireValue } from '@cacpq/sync-protocol';
import { ApiException } from '../common/api-exception';

export type StoredValue = string | number | null;
export type StoredRow = Record<string, StoredValue>;

export interface TableSpec {
  def: SyncedTableDef;
  name: string;
  dataColumns: ColumnDef[];
  byName: Map<string, ColumnDef>;
  required: string[];
}

const SYNC_COLUMN_NAMES = new Set([ID_COLUMN.name, ...SYNC_COLUMNS.map((c) => c.name)]);

export const TABLE_SPECS: Map<string, TableSpec> = new Map(
  SYNCED_TABLES.map((def) => [
    def.name,
    {
      def,
      name: def.name,
      dataColumns: [...def.dataColumns],
      byName: new Map(def.dataColumns.map((c) => [c.name, c])),
      required: def.dataColumns.filter((c) => !c.nullable).map((c) => c.name),
    },
  ]),
);

export function tableSpec(name: string, where: string): TableSpec {
  const spec = TABLE_SPECS.get(name);
  if (!spec) {
    throw new ApiException('UNKNOWN_TABLE', `${where}: "${name}" is not a synced table (synced: ${[...TABLE_SPECS.keys()].join(', ')}).`);
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

/**
 * Checks one column value against the registry and converts it to what SQLite stores:
 * booleans as 0/1, datetimes in SQLite format (UTC), json as its text.
 */
export function toStored(spec: TableSpec, column: string, value: WireValue, where: string): StoredValue {
  if (SYNC_COLUMN_NAMES.has(column)) {
    throw new ApiException(
      'FORBIDDEN_FIELD',
      `${where}: "${column}" is set by the server (updated_by and synced_at from the signed-in user and the server clock; the id and time travel as the change's id and updatedAt), not sent in values.`,
    );
  }
  const col = spec.byName.get(column);
  if (!col) throw new ApiException('UNKNOWN_COLUMN', `${where}: ${spec.name} has no column "${column}".`);
  if (value === null) {
    if (!col.nullable) throw new ApiException('VALIDATION_FAILED', `${where}: ${spec.name}.${column} may not be null.`);
    return null;
  }
  const bad = (expected: string) =>
    new ApiException(
      'VALIDATION_FAILED',
      `${where}: ${spec.name}.${column} must be ${expected} (got ${JSON.stringify(value).slice(0, 40)}).`,
    );
  switch (col.type) {
    case 'text': {
      if (typeof value !== 'string') throw bad('text');
      if (col.maxLength !== undefined && value.length > col.maxLength) throw bad(`at most ${col.maxLength} characters`);
      if (col.values && !col.values.includes(value)) throw bad(`one of ${col.values.map((v) => `"${v}"`).join(', ')}`);
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
      if (!d) throw bad('a date-time such as 2026-11-24 09:30:00 or 2026-11-24T09:30:00Z');
      return sqlTime(d);
    }
    case 'json': {
      if (typeof value !== 'string') throw bad('JSON text');
      if (col.maxLength !== undefined && value.length > col.maxLength) throw bad(`at most ${col.maxLength} characters`);
      try {
        JSON.parse(value);
      } catch {
        throw bad('valid JSON text');
      }
      return value;
    }
  }
}
