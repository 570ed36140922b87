import {
  describeSchemaChange,
  isEngineTable,
  learnSchema,
  MasterStore,
  schemaFingerprint,
  sqlTime,
  SqliteSchemaAheadRepository,
  SqliteSchemaRepository,
  type LearnedSchema,
  type SchemaAheadRecord,
  type SchemaAheadRepository,
  type SchemaExclusion,
  type SchemaRepository,
} from '@cacpq/db';
import type { SchemaColumnView, SchemaTableView, SchemaView } from '@cacpq/sync-protocol';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { ApiException } from '../common/api-exception';
import { LOGGER } from '../common/tokens';
import { loadTableSpecs } from './table-specs';

const SYSTEM_COLUMNS = new Set(['id', 'updated_at', 'updated_by', 'synced_at', 'server_seq', 'deleted']);

/**
 * The sync schema's one owner: learns it from the master (at start, after a migration or an
 * exclusion, and when a restore or VACUUM put another file in place), records a new version when it
 * changed, and puts it in force for the sync engine ({@link loadTableSpecs}).
 */
@Injectable()
export class SchemaService implements OnModuleInit {
  private readonly repo: SchemaRepository;
  private readonly ahead: SchemaAheadRepository;
  private current: { handle: Database.Database; version: number; schema: LearnedSchema } | null = null;

  constructor(
    private readonly store: MasterStore,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.repo = new SqliteSchemaRepository(() => this.store.serverDb);
    this.ahead = new SqliteSchemaAheadRepository(() => this.store.hubDb);
  }

  onModuleInit(): void {
    this.refresh('server start');
  }

  /** The schema in force, learned again first if the master file was replaced (a restore, a VACUUM). */
  inForce(): { version: number; schema: LearnedSchema } {
    const handle = this.store.serverDb;
    if (this.current?.handle !== handle) return this.refresh('the master file was reopened');
    return this.current;
  }

  get version(): number {
    return this.inForce().version;
  }

  /**
   * Learns the schema from the master and puts it in force; records a new version when it differs
   * from the last recorded one. `by` says who or what changed it (for the history).
   */
  refresh(by: string): { version: number; schema: LearnedSchema } {
    const db = this.store.serverDb;
    const schema = learnSchema(db, this.repo.exclusions());
    const latest = this.repo.latest();
    let version = latest?.version ?? 0;
    if (!latest || schemaFingerprint(latest.schema) !== schemaFingerprint(schema)) {
      const changes = describeSchemaChange(latest?.schema ?? null, schema);
      version = this.repo.record({ recordedAt: sqlTime(), recordedBy: by, change: changes.join('\n'), schema });
      if (latest) this.logger.info({ version, changes }, 'sync schema changed');
    }
    loadTableSpecs(schema);
    this.current = { handle: db, version, schema };
    return this.current;
  }

  /** What the "Sync schema" page shows: every table with its columns, row count and sync state, and the history. */
  view(): SchemaView {
    const { version, schema } = this.inForce();
    const tables: SchemaTableView[] = schema.tables.map((t) => ({
      name: t.name,
      label: t.label,
      synced: t.synced,
      ...(t.reason ? { reason: t.reason } : {}),
      excluded: t.excluded,
      rowCount: this.repo.rowCount(t.name),
      columns: t.columns.map((c): SchemaColumnView => {
        const rule = [
          c.maxLength !== undefined ? `at most ${c.maxLength} characters` : null,
          c.values ? `one of ${c.values.map((v) => `"${v}"`).join(', ')}` : null,
          c.serverOwned ? 'set by the server' : null,
        ].filter((r): r is string => r !== null);
        return {
          name: c.name,
          declaredType: c.declaredType,
          type: c.type,
          nullable: c.nullable,
          system: SYSTEM_COLUMNS.has(c.name),
          synced: t.synced && !c.excluded,
          excluded: c.excluded === true,
          ...(rule.length > 0 ? { rule: rule.join('; ') } : {}),
        };
      }),
    }));
    const history = this.repo.history(50).map((h) => ({
      version: h.version,
      recordedAt: h.recordedAt,
      recordedBy: h.recordedBy,
      changes: h.change.split('\n').filter((l) => l.length > 0),
    }));
    return { version, tables, history };
  }

  /** Keeps a table or a column out of the sync (an app-local setting, say). Returns the new version. */
  exclude(e: SchemaExclusion, by: string): { version: number; changed: boolean } {
    this.check(e);
    const changed = this.repo.exclude(e, sqlTime(), by);
    return { version: changed ? this.refresh(by).version : this.version, changed };
  }

  /** Syncs an excluded table or column again. */
  include(e: SchemaExclusion, by: string): { version: number; changed: boolean } {
    this.check(e);
    const changed = this.repo.include(e);
    return { version: changed ? this.refresh(by).version : this.version, changed };
  }

  /** A workstation pushed a table or column the master lacks (its app is newer): kept for the alert that names it. */
  noteAhead(clientId: string, user: string, table: string, column: string | null): void {
    this.ahead.noteAhead(clientId, user, table, column, sqlTime());
  }

  /**
   * What workstations pushed ahead of the master since `since` and the master still lacks: each
   * names the workstation, its user, and the table or column.
   */
  stillAhead(since: string): SchemaAheadRecord[] {
    const { schema } = this.inForce();
    return this.ahead.aheadSince(since).filter((r) => {
      const t = schema.tables.find((x) => x.name === r.table);
      if (!t) return true;
      return r.column !== null && !t.columns.some((c) => c.name === r.column);
    });
  }

  private check(e: SchemaExclusion): void {
    const { schema } = this.inForce();
    const table = schema.tables.find((t) => t.name === e.table);
    if (!table) {
      const why = isEngineTable(e.table) ? ' (it is the sync engine’s own table)' : '';
      throw new ApiException(
        'NOT_FOUND',
        `The master has no app table "${e.table}"${why}; the tables are: ${schema.tables.map((t) => t.name).join(', ')}.`,
      );
    }
    if (e.column === null) return;
    const column = table.columns.find((c) => c.name === e.column);
    if (!column) throw new ApiException('NOT_FOUND', `The table ${e.table} has no column "${e.column}".`);
    if (SYSTEM_COLUMNS.has(column.name)) {
      throw new ApiException(
        'VALIDATION_FAILED',
        `${e.table}.${e.column} is the key or a sync column: it cannot be excluded (exclude the whole table instead).`,
      );
    }
  }
}
