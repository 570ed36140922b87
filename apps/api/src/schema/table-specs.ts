import { ID_COLUMN, SYNC_COLUMNS, syncedDataColumns, type LearnedColumn, type LearnedSchema, type LearnedTable } from '@cacpq/db';

/** A synced table as the sync engine checks and writes it: built from the learned schema. */
export interface TableSpec {
  table: LearnedTable;
  name: string;
  /** The data columns that sync (not the key, not the sync columns, not the excluded ones). */
  dataColumns: LearnedColumn[];
  byName: Map<string, LearnedColumn>;
  /** Data columns a new row needs (NOT NULL without a default). */
  required: string[];
  /** Every column the protocol syncs (id, data, sync columns), in table order: what pulls and snapshots read. */
  columnNames: string[];
  /** Columns an admin excluded: a workstation's values for them are left out, never refused. */
  excluded: Set<string>;
}

/**
 * The synced tables of the schema in force, by name. One map, replaced in place when the schema
 * changes (start, a migration, an exclusion, a restore): the sync path reads it as it read the
 * registry, with no lookup more per change.
 */
export const TABLE_SPECS: Map<string, TableSpec> = new Map();

/** Tables of the master that do not sync, with the sentence saying why. */
export const NOT_SYNCED: Map<string, string> = new Map();

const SYNC_NAMES = new Set([ID_COLUMN.name, ...SYNC_COLUMNS.map((c) => c.name)]);

export function specOf(table: LearnedTable): TableSpec {
  const dataColumns = syncedDataColumns(table);
  return {
    table,
    name: table.name,
    dataColumns,
    byName: new Map(dataColumns.map((c) => [c.name, c])),
    required: dataColumns.filter((c) => !c.nullable && !c.hasDefault).map((c) => c.name),
    columnNames: table.columns.filter((c) => SYNC_NAMES.has(c.name) || !c.excluded).map((c) => c.name),
    excluded: new Set(table.columns.filter((c) => c.excluded).map((c) => c.name)),
  };
}

/** Puts a schema in force for the sync engine. */
export function loadTableSpecs(schema: LearnedSchema): void {
  TABLE_SPECS.clear();
  NOT_SYNCED.clear();
  for (const t of schema.tables) {
    if (t.synced) TABLE_SPECS.set(t.name, specOf(t));
    else NOT_SYNCED.set(t.name, t.reason ?? 'Not synced.');
  }
}
