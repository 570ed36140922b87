import { z } from 'zod';

/**
 * The learned sync schema as the dashboard's "Sync schema" page and the CLI see it, the admins'
 * exclusions, and additive migrations (preview, then apply). Browser-safe: values only.
 */

export const COLUMN_TYPES = ['text', 'integer', 'real', 'datetime', 'json', 'boolean', 'any'] as const;

export const SchemaColumnView = z.object({
  name: z.string(),
  /** As the master's DDL declares it (`TEXT`, `INTEGER`, empty). */
  declaredType: z.string(),
  type: z.enum(COLUMN_TYPES),
  nullable: z.boolean(),
  /** The key and the sync columns: always there, never excluded. */
  system: z.boolean(),
  synced: z.boolean(),
  excluded: z.boolean(),
  /** The rule on top of the type (lengths, allowed values), as a phrase. */
  rule: z.string().optional(),
});
export type SchemaColumnView = z.infer<typeof SchemaColumnView>;

export const SchemaTableView = z.object({
  name: z.string(),
  label: z.string(),
  synced: z.boolean(),
  /** Why it does not sync, as a sentence. */
  reason: z.string().optional(),
  excluded: z.boolean(),
  rowCount: z.number(),
  columns: z.array(SchemaColumnView),
});
export type SchemaTableView = z.infer<typeof SchemaTableView>;

export const SchemaHistoryEntry = z.object({
  version: z.number(),
  recordedAt: z.string(),
  recordedBy: z.string(),
  /** What changed, one sentence each. */
  changes: z.array(z.string()),
});
export type SchemaHistoryEntry = z.infer<typeof SchemaHistoryEntry>;

export const SchemaView = z.object({
  version: z.number(),
  tables: z.array(SchemaTableView),
  history: z.array(SchemaHistoryEntry),
});
export type SchemaView = z.infer<typeof SchemaView>;

const Ident = z.string().min(1, 'is required').max(128, 'must be at most 128 characters');

/** Exclude (or include again) a table, or one column of it. */
export const SchemaExclusionRequest = z.strictObject({
  table: Ident,
  column: Ident.optional(),
});
export type SchemaExclusionRequest = z.infer<typeof SchemaExclusionRequest>;

export const MIGRATION_STEP_KINDS = ['create-table', 'add-column', 'create-index'] as const;

export const MigrationStep = z.object({
  kind: z.enum(MIGRATION_STEP_KINDS),
  sql: z.string(),
  table: z.string(),
  column: z.string().optional(),
  index: z.string().optional(),
  /** Rows that get the new column (its default or null), or that the index covers. */
  rowsAffected: z.number(),
  /** The master has it already (the app migrated it, or the file was applied before): nothing to do. */
  alreadyApplied: z.boolean(),
});
export type MigrationStep = z.infer<typeof MigrationStep>;

/** An additive migration as the server will apply it; `confirm: true` applies it. */
export const MigrationRequest = z.strictObject({
  sql: z.string().min(1, 'is required: the migration file of the desktop app (SQL)').max(1_000_000, 'must be at most 1 MB of SQL'),
  /** Absent or false: preview only. */
  confirm: z.boolean().optional(),
  /** The file's name, for the history and the audit log. */
  fileName: z.string().max(255).optional(),
});
export type MigrationRequest = z.infer<typeof MigrationRequest>;

export const MigrationPreview = z.object({
  steps: z.array(MigrationStep),
  /** True when every step is applied already: applying changes nothing. */
  nothingToDo: z.boolean(),
  /** The schema version now, and the one applying would make. */
  version: z.number(),
});
export type MigrationPreview = z.infer<typeof MigrationPreview>;
