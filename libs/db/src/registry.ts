import { sqliteDeclaredType } from '@cacpq/sync-protocol';
/**
 * The table registry: which tables of `server.db` sync, their columns and types.
 *
 * This is the one source that request validation, the sync protocol (`/api/v1/sync/info`),
 * the TypeORM entity schemas and the dashboard read. The migrations are frozen SQL; a test
 * checks that a migrated database has exactly the columns and indexes listed here.
 */

/** `any`: a column the master declares without a type SQLite maps (none, BLOB): any text or number. */
export type ColumnType = 'text' | 'integer' | 'real' | 'datetime' | 'json' | 'boolean' | 'any';

export interface ColumnDef {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable: boolean;
  /** Longest accepted text, in characters (validation). */
  readonly maxLength?: number;
  /** Allowed values for a text column. */
  readonly values?: readonly string[];
  /** Set by the server only: a workstation's value is ignored. */
  readonly serverOwned?: boolean;
}

export interface IndexDef {
  readonly name: string;
  readonly columns: readonly string[];
}

export interface SyncedTableDef {
  readonly name: string;
  readonly label: string;
  /** Columns of the application data, without `id` and the sync columns. */
  readonly dataColumns: readonly ColumnDef[];
  readonly indexes: readonly IndexDef[];
}

const text = (name: string, opts: Partial<ColumnDef> = {}): ColumnDef => ({
  name,
  type: 'text',
  nullable: true,
  maxLength: 4000,
  ...opts,
});
const required = (name: string, maxLength = 500): ColumnDef => text(name, { nullable: false, maxLength });
const real = (name: string): ColumnDef => ({ name, type: 'real', nullable: true });
const integer = (name: string): ColumnDef => ({ name, type: 'integer', nullable: true });
const bool = (name: string): ColumnDef => ({ name, type: 'boolean', nullable: true });
const datetime = (name: string): ColumnDef => ({ name, type: 'datetime', nullable: true });
const json = (name: string): ColumnDef => ({ name, type: 'json', nullable: true, maxLength: 1_000_000 });

/** Primary key of every synced table: text, so a workstation can create ids offline (UUIDv7). */
export const ID_COLUMN: ColumnDef = { name: 'id', type: 'text', nullable: false, maxLength: 64 };

/**
 * Sync metadata on every synced table. `updated_at`, `updated_by` and `synced_at` are the
 * guide's columns; `server_seq` is the server sequence of the row's last change (pull cursor
 * and base version for conflict detection); `deleted` is the tombstone marker.
 */
export const SYNC_COLUMNS: readonly ColumnDef[] = [
  { name: 'updated_at', type: 'datetime', nullable: false },
  { name: 'updated_by', type: 'text', nullable: true, maxLength: 100, serverOwned: true },
  { name: 'synced_at', type: 'datetime', nullable: true, serverOwned: true },
  { name: 'server_seq', type: 'integer', nullable: false, serverOwned: true },
  { name: 'deleted', type: 'boolean', nullable: false, serverOwned: true },
];

export const SYNCED_TABLES: readonly SyncedTableDef[] = [
  {
    name: 'customers',
    label: 'Customers (OEMs and End Users)',
    dataColumns: [
      required('name', 200),
      text('type', { nullable: false, maxLength: 20, values: ['OEM', 'End User'] }),
      text('contactName', { maxLength: 200 }),
      text('email', { maxLength: 254 }),
      text('phone', { maxLength: 50 }),
      text('address', { maxLength: 500 }),
      text('city', { maxLength: 100 }),
      text('state', { maxLength: 100 }),
      text('country', { maxLength: 100 }),
      text('notes'),
      datetime('createdAt'),
    ],
    indexes: [{ name: 'idx_customers_name', columns: ['name'] }],
  },
  {
    name: 'components',
    label: 'Components (price list)',
    dataColumns: [
      required('sku', 100),
      required('name', 300),
      text('description'),
      text('category', { maxLength: 100 }),
      text('vendor', { maxLength: 200 }),
      text('manufacturer', { maxLength: 200 }),
      text('partNumber', { maxLength: 100 }),
      real('unitCost'),
      real('listPrice'),
      text('unit', { maxLength: 20 }),
      integer('leadTimeDays'),
      bool('active'),
      text('notes'),
      datetime('createdAt'),
    ],
    indexes: [
      { name: 'idx_components_sku', columns: ['sku'] },
      { name: 'idx_components_category', columns: ['category'] },
      { name: 'idx_components_vendor', columns: ['vendor'] },
      { name: 'idx_components_updated_at', columns: ['updated_at'] },
    ],
  },
  {
    name: 'sub_assemblies',
    label: 'Sub-assembly templates',
    dataColumns: [
      required('name', 300),
      text('description'),
      text('category', { maxLength: 100 }),
      json('items'),
      real('laborHours'),
      real('totalCost'),
      datetime('createdAt'),
    ],
    indexes: [],
  },
  {
    name: 'product_templates',
    label: 'Product configuration templates',
    dataColumns: [
      required('name', 300),
      text('productLine', { maxLength: 100 }),
      text('description'),
      json('configuration'),
      real('basePrice'),
      bool('active'),
      datetime('createdAt'),
    ],
    indexes: [],
  },
  {
    name: 'projects',
    label: 'Projects',
    dataColumns: [
      text('projectNumber', { maxLength: 50 }),
      required('name', 300),
      text('customer', { maxLength: 200 }),
      text('customerId', { maxLength: 64 }),
      text('status', { maxLength: 30 }),
      text('salesperson', { maxLength: 100 }),
      datetime('startDate'),
      datetime('dueDate'),
      text('notes'),
      datetime('createdAt'),
    ],
    indexes: [
      { name: 'idx_projects_customer', columns: ['customer'] },
      { name: 'idx_projects_updated_at', columns: ['updated_at'] },
    ],
  },
  {
    name: 'quotes',
    label: 'Quotes',
    dataColumns: [
      text('quoteNumber', { maxLength: 50 }),
      text('projectId', { maxLength: 64 }),
      text('customer', { maxLength: 200 }),
      text('customerId', { maxLength: 64 }),
      text('title', { maxLength: 300 }),
      text('status', { maxLength: 30 }),
      integer('revision'),
      text('currency', { maxLength: 3 }),
      real('subtotal'),
      real('discountPct'),
      real('total'),
      datetime('validUntil'),
      json('lineItems'),
      text('notes'),
      text('createdBy', { maxLength: 100 }),
      datetime('createdAt'),
    ],
    indexes: [
      { name: 'idx_quotes_customer', columns: ['customer'] },
      { name: 'idx_quotes_created_at', columns: ['createdAt'] },
      { name: 'idx_quotes_updated_at', columns: ['updated_at'] },
    ],
  },
  {
    name: 'manual_quotes',
    label: 'Manual quotes',
    dataColumns: [
      text('quoteNumber', { maxLength: 50 }),
      text('customer', { maxLength: 200 }),
      text('description'),
      real('amount'),
      text('status', { maxLength: 30 }),
      text('preparedBy', { maxLength: 100 }),
      text('notes'),
      datetime('createdAt'),
    ],
    indexes: [],
  },
];

/** Every column of a synced table, in table order: id, data columns, sync columns. */
/** Names of a synced table's data columns (everything but id and the sync columns). */
export function dataColumnNames(table: string): string[] {
  const def = SYNCED_TABLES.find((t) => t.name === table);
  if (!def) throw new Error(`${table} is not a synced table`);
  return def.dataColumns.map((c) => c.name);
}

export function tableColumns(table: SyncedTableDef): ColumnDef[] {
  return [ID_COLUMN, ...table.dataColumns, ...SYNC_COLUMNS];
}

/** Indexes of a synced table: the guide's, plus the pull cursor index on `server_seq`. */
export function tableIndexes(table: SyncedTableDef): IndexDef[] {
  return [...table.indexes, { name: `idx_${table.name}_server_seq`, columns: ['server_seq'] }];
}

/** SQLite declared type for a registry column type (what `PRAGMA table_info` shows): the contract's mapping. */
export function sqliteType(type: ColumnType): string {
  return sqliteDeclaredType(type);
}

/** The guide's `sync_log` columns plus user, client id and error. Not synced; server.db. */
export const SYNC_LOG_COLUMNS = [
  'id',
  'timestamp',
  'status',
  'records_pulled',
  'records_pushed',
  'conflicts',
  'duration_ms',
  'user',
  'client_id',
  'error',
] as const;

export const SYNC_LOG_INDEXES: readonly IndexDef[] = [
  { name: 'idx_sync_log_timestamp', columns: ['timestamp'] },
  { name: 'idx_sync_log_status', columns: ['status'] },
  { name: 'idx_sync_log_status_timestamp', columns: ['status', 'timestamp'] },
  // The monitoring endpoints' (migration 1764300000000): filtered activity pages and the workstation list.
  { name: 'idx_sync_log_user_timestamp', columns: ['user', 'timestamp'] },
  { name: 'idx_sync_log_client_id_timestamp', columns: ['client_id', 'timestamp'] },
  { name: 'idx_sync_log_workstations', columns: ['user', 'client_id', 'timestamp', 'status'] },
];
