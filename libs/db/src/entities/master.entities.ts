import { EntitySchema, type EntitySchemaColumnOptions } from 'typeorm';
import { SYNCED_TABLES, tableColumns, type ColumnDef } from '../registry';

/** A row of a synced table as TypeORM returns it: registry column name → value. */
export type SyncedRow = Record<string, string | number | boolean | null>;

function columnOptions(col: ColumnDef): EntitySchemaColumnOptions {
  const type = col.type === 'json' || col.type === 'any' ? 'text' : col.type === 'boolean' ? 'boolean' : col.type;
  return { type, nullable: col.nullable, primary: col.name === 'id' };
}

/**
 * TypeORM entity schemas of the synced tables, built from the table registry so that the ORM,
 * the protocol and validation can never disagree about a column.
 */
export const MASTER_ENTITIES: EntitySchema<SyncedRow>[] = SYNCED_TABLES.map(
  (table) =>
    new EntitySchema<SyncedRow>({
      name: table.name,
      tableName: table.name,
      columns: Object.fromEntries(tableColumns(table).map((c) => [c.name, columnOptions(c)])),
    }),
);

export interface SyncLogRow {
  id: number;
  timestamp: string;
  status: string;
  records_pulled: number;
  records_pushed: number;
  conflicts: number;
  duration_ms: number;
  user: string | null;
  client_id: string | null;
  error: string | null;
}

export const SyncLogEntity = new EntitySchema<SyncLogRow>({
  name: 'sync_log',
  tableName: 'sync_log',
  columns: {
    id: { type: 'integer', primary: true, generated: 'increment' },
    timestamp: { type: 'datetime' },
    status: { type: 'text' },
    records_pulled: { type: 'integer' },
    records_pushed: { type: 'integer' },
    conflicts: { type: 'integer' },
    duration_ms: { type: 'integer' },
    user: { type: 'text', nullable: true },
    client_id: { type: 'text', nullable: true },
    error: { type: 'text', nullable: true },
  },
});

export interface GeneratedNumberRow {
  id: number;
  type: string;
  number: string;
  year: number | null;
  sequence: number | null;
  created_at: string | null;
  created_by: string | null;
  client_id: string | null;
  status: string;
  duplicate_of: number | null;
  request_id: string | null;
}

export const GeneratedNumberEntity = new EntitySchema<GeneratedNumberRow>({
  name: 'generated_numbers',
  tableName: 'generated_numbers',
  columns: {
    id: { type: 'integer', primary: true, generated: 'increment' },
    type: { type: 'text' },
    number: { type: 'text' },
    year: { type: 'integer', nullable: true },
    sequence: { type: 'integer', nullable: true },
    created_at: { type: 'datetime', nullable: true },
    created_by: { type: 'text', nullable: true },
    client_id: { type: 'text', nullable: true },
    status: { type: 'text' },
    duplicate_of: { type: 'integer', nullable: true },
    request_id: { type: 'text', nullable: true },
  },
});
