import { MasterStore, sqlTime } from '@cacpq/db';
import { PROTOCOL_VERSION, SERVER_FEATURES, SYNC_LIMITS, type ReinitializeDetails, type SyncInfoResponse } from '@cacpq/sync-protocol';
import { Injectable } from '@nestjs/common';
import { ApiException } from '../common/api-exception';
import { AppConfig } from '../config/app-config';
import { SettingsService } from '../settings/settings.service';
import { SchemaService } from '../schema/schema.service';
import { TABLE_SPECS, type TableSpec } from './row-values';
import { RowWriter } from './row-writer';

/**
 * The sync engine's face: what `/sync/info` tells workstations, the 409 REINITIALIZE answer push
 * and pull give when a workstation's history no longer meets the master's, and the retention purge
 * of tombstones. The work itself is split by responsibility: {@link PushService} (with give-backs
 * and the pure {@link merge}), {@link PullService} (pages and the snapshot), {@link AdminWritesService}
 * (resolutions and selective restore), all writing through {@link RowWriter}.
 */
@Injectable()
export class SyncService {
  constructor(
    private readonly store: MasterStore,
    private readonly config: AppConfig,
    private readonly settings: SettingsService,
    private readonly writer: RowWriter,
    private readonly schema: SchemaService,
  ) {}

  get lastSeq(): number {
    return this.writer.lastSeq;
  }

  info(): SyncInfoResponse {
    const { version } = this.schema.inForce();
    return {
      protocolVersion: PROTOCOL_VERSION,
      generation: this.store.generation,
      serverTime: new Date().toISOString(),
      lastSeq: this.lastSeq,
      syncIntervalMinutes: this.settings.get('sync.intervalMinutes'),
      tombstoneRetentionDays: this.config.tombstoneRetentionDays,
      maxPushRows: SYNC_LIMITS.maxPushRows,
      maxPullPage: SYNC_LIMITS.maxPullPage,
      maxBodyBytes: this.config.maxBodyBytes,
      features: [...SERVER_FEATURES],
      schemaVersion: version,
      tables: [...TABLE_SPECS.values()].map(tableInfo),
    };
  }

  /**
   * The 409 REINITIALIZE answer. `restoredSeq` is how far the history of the workstation's generation
   * agrees with the master's, through every restore since (the last restore's point when the lineage
   * does not know that generation).
   */
  reinitialize(reason: ReinitializeDetails['reason'], message: string, fromGeneration?: string): ApiException {
    const details: ReinitializeDetails = {
      reason,
      generation: this.store.generation,
      lastSeq: this.lastSeq,
      restoredSeq: this.writer.sharedHistory(fromGeneration),
    };
    return new ApiException('REINITIALIZE', message, details);
  }

  /** Deletes tombstones and push replay records older than the retention period; a cursor from before them must re-initialise. */
  purgeTombstones(now: Date = new Date()): number {
    const cutoff = sqlTime(new Date(now.getTime() - this.config.tombstoneRetentionDays * 86400_000));
    return this.writer.immediate(() => {
      let removed = 0;
      let maxSeq = Number(this.writer.state('purged_seq'));
      for (const spec of TABLE_SPECS.values()) {
        const purged = this.writer.rows.purgeTombstones(spec.name, cutoff);
        removed += purged.removed;
        maxSeq = Math.max(maxSeq, purged.maxSeq);
      }
      this.writer.setState('purged_seq', String(maxSeq));
      // The first answers kept for replays go with them, so the table does not grow forever: a batch
      // resent after that long is judged afresh (its values are there already; where the row moved on
      // since, its older edit loses as a recorded conflict).
      this.writer.rows.purgeBookkeeping(cutoff);
      return removed;
    });
  }
}

/** A synced table as `/sync/info` tells workstations: its synced columns with their rules, and the master's DDL and indexes. */
function tableInfo(spec: TableSpec) {
  return {
    name: spec.name,
    label: spec.table.label,
    columns: spec.table.columns
      .filter((c) => !c.excluded)
      .map((c) => ({
        name: c.name,
        type: c.type,
        nullable: c.nullable,
        ...(c.maxLength !== undefined ? { maxLength: c.maxLength } : {}),
        ...(c.values ? { values: [...c.values] } : {}),
        ...(c.serverOwned ? { serverOwned: true } : {}),
      })),
    ...(spec.excluded.size > 0 ? { excluded: [...spec.excluded] } : {}),
    ddl: spec.table.ddl,
    indexes: [...spec.table.indexes],
  };
}
