import { MasterStore, sqlTime } from '@cacpq/db';
import type { PulledChange } from '@cacpq/sync-protocol';
import { Injectable } from '@nestjs/common';
import { ApiException } from '../common/api-exception';
import type { Principal } from '../common/request-context';
import { sameValue, TABLE_SPECS, tableSpec, toStored, type StoredValue } from './row-values';
import { RowWriter, wireRow } from './row-writer';
import { SyncEvents } from './sync-events';

/**
 * An admin's writes to master rows, each an ordinary change that syncs to everyone: a conflict's
 * resolution, a selective restore's rows, the retention deletes. The caller decides what to write;
 * here it is written through {@link RowWriter} in one sequenced transaction, and the workstations
 * are poked.
 */
@Injectable()
export class AdminWritesService {
  constructor(
    private readonly store: MasterStore,
    private readonly writer: RowWriter,
    private readonly events: SyncEvents,
  ) {}

  /**
   * Applies an admin's decision on a row as an ordinary change, so it syncs to everyone. A row the
   * master no longer has (its delete was purged, or the restore lost it) is written anew.
   */
  applyResolution(table: string, id: string, values: Record<string, StoredValue>, undelete: boolean, who: Principal): number | null {
    const spec = tableSpec(table, 'resolution');
    const row = this.writer.getRow(table, id);
    const now = new Date();
    if (!row) {
      const missing = spec.required.filter((c) => values[c] === undefined || values[c] === null);
      if (missing.length > 0) {
        throw new ApiException(
          'VALIDATION_FAILED',
          `The row ${table} ${id} is no longer in the master, and the version kept lacks ${missing.join(', ')}; choose the values field by field.`,
        );
      }
      const seq = this.writer.nextSeq();
      this.writer.insertRow(spec, id, values, {
        updated_at: sqlTime(now),
        updated_by: who.username,
        synced_at: sqlTime(now),
        server_seq: seq,
        deleted: 0,
      });
      this.events.changesAvailable(this.store.generation, seq);
      return seq;
    }
    const columns = Object.keys(values).filter((c) => !sameValue(values[c], row[c]));
    if (columns.length === 0 && !(undelete && row.deleted === 1)) return null;
    const seq = this.writer.nextSeq();
    this.writer.updateRow(
      spec,
      row,
      this.writer.getMeta(table, id),
      columns,
      values,
      sqlTime(now),
      who.username,
      sqlTime(now),
      seq,
      undelete ? 0 : (row.deleted as 0 | 1),
    );
    this.events.changesAvailable(this.store.generation, seq);
    return seq;
  }

  /**
   * Puts one row back to the given version (selective restore) as an ordinary change by `who`:
   * inserted if the master lacks it, the differing columns updated (undeleting it) if it is there,
   * or marked deleted when `values` is null. Returns the new server sequence, or null when the
   * master already holds exactly that. Call inside {@link transaction}.
   */
  applyServerVersion(table: string, id: string, values: Record<string, StoredValue> | null, who: Principal): number | null {
    const spec = tableSpec(table, 'restore');
    const row = this.writer.getRow(table, id);
    const now = sqlTime();
    if (values === null) {
      if (!row || row.deleted === 1) return null;
      const seq = this.writer.nextSeq();
      this.writer.markDeleted(row, table, id, now, who.username, now, seq);
      return seq;
    }
    if (!row) {
      const seq = this.writer.nextSeq();
      this.writer.insertRow(spec, id, values, { updated_at: now, updated_by: who.username, synced_at: now, server_seq: seq, deleted: 0 });
      return seq;
    }
    const columns = Object.keys(values).filter((c) => !sameValue(values[c], row[c]));
    if (columns.length === 0 && row.deleted === 0) return null;
    const seq = this.writer.nextSeq();
    this.writer.updateRow(spec, row, this.writer.getMeta(table, id), columns, values, now, who.username, now, seq, 0);
    return seq;
  }

  /** The master's row now, as a pull would carry it (null when it has none). */
  currentRow(table: string, id: string): { row: PulledChange['values'] | null; version: number; deleted: boolean } {
    const row = TABLE_SPECS.has(table) ? this.writer.getRow(table, id) : undefined;
    if (!row) return { row: null, version: 0, deleted: true };
    return { row: wireRow(row), version: row.server_seq as number, deleted: row.deleted === 1 };
  }

  /** After a batch of {@link applyServerVersion} calls: pokes the workstations once. */
  announce(seq: number): void {
    this.events.changesAvailable(this.store.generation, seq);
  }

  /** A write transaction in which `applyResolution` may be called. */
  transaction<T>(fn: () => T): T {
    return this.writer.sequenced(fn);
  }

  validateValues(table: string, values: Record<string, unknown>, where: string): Record<string, StoredValue> {
    const spec = tableSpec(table, where);
    return Object.fromEntries(Object.entries(values).map(([c, v]) => [c, toStored(spec, c, v as never, where)]));
  }
}
