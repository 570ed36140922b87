import { applyMigration, MasterStore, MigrationProblem, planMigration, type PlannedStep } from '@cacpq/db';
import type { JobView, MigrationPreview, MigrationStep } from '@cacpq/sync-protocol';
import { Injectable } from '@nestjs/common';
import { BackupsService } from '../backups/backups.service';
import { ApiException } from '../common/api-exception';
import { JobsService } from '../jobs/jobs.service';
import { SchemaService } from '../schema/schema.service';

/**
 * The desktop app's migrations applied on the server: previewed, then (confirmed) applied as a job
 * that takes a verified backup first, applies the additive statements to the master in one
 * transaction, gives new tables the sync columns, and bumps the schema version. Workstations follow
 * at their next sync, before they pull.
 */
@Injectable()
export class SchemaMigrationsService {
  constructor(
    private readonly store: MasterStore,
    private readonly schema: SchemaService,
    private readonly backups: BackupsService,
    private readonly jobs: JobsService,
  ) {}

  /** What applying would do; a 4xx with the statement and the reason when it cannot be applied. */
  preview(sql: string): MigrationPreview {
    const steps = this.plan(sql);
    const nothingToDo = steps.every((s) => s.alreadyApplied);
    const version = this.schema.version;
    return { steps: steps.map(view), nothingToDo, version };
  }

  /** Checks again, then queues the job (backup, apply, new version). */
  apply(sql: string, fileName: string | undefined, who: string): JobView {
    const first = this.plan(sql);
    return this.jobs.enqueue(
      'schema-migration',
      { fileName: fileName ?? null, statements: first.length },
      { trigger: 'manual', requestedBy: who },
      async (ctx) => {
        ctx.progress(0.02, 'verified backup before the migration');
        const backup = await this.backups.take('manual', {
          ...ctx,
          progress: (f, p) => ctx.progress(0.02 + 0.78 * f, p && `backup before the migration: ${p}`),
        });
        ctx.note({ backup: backup.name });
        ctx.progress(0.85, 'applying');
        // Checked again against the master as it is now (it may have changed while the backup ran).
        const steps = this.plan(sql);
        const converted = applyMigration(this.store.serverDb, steps);
        const { version } = this.schema.refresh(`migration${fileName ? ` ${fileName}` : ''} by ${who}`);
        ctx.progress(1, 'applied');
        return {
          version,
          backup: backup.name,
          applied: steps.filter((s) => !s.alreadyApplied).length,
          alreadyApplied: steps.filter((s) => s.alreadyApplied).length,
          converted,
        };
      },
    );
  }

  private plan(sql: string): PlannedStep[] {
    try {
      return planMigration(this.store.serverDb, sql);
    } catch (err) {
      if (!(err instanceof MigrationProblem)) throw err;
      throw new ApiException(err.kind === 'invalid' ? 'SCHEMA_INVALID' : 'SCHEMA_CHANGE_REFUSED', err.message);
    }
  }
}

function view(s: PlannedStep): MigrationStep {
  return {
    kind: s.kind,
    sql: s.sql,
    table: s.table,
    ...(s.column ? { column: s.column } : {}),
    ...(s.index ? { index: s.index } : {}),
    rowsAffected: s.rowsAffected,
    alreadyApplied: s.alreadyApplied,
  };
}
