import { MasterStore, SqliteMasterRowsRepository, syncState, type MasterRowsRepository } from '@cacpq/db';
import type { PulledChange, PullQuery, PullResponse } from '@cacpq/sync-protocol';
import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApiException } from '../common/api-exception';
import type { Principal } from '../common/request-context';
import { AppConfig } from '../config/app-config';
import { TABLE_SPECS, type StoredRow } from './row-values';
import { SchemaService } from '../schema/schema.service';
import { SyncLogService } from './sync-log.service';
import { SyncService } from './sync.service';

/**
 * What workstations read: pull pages (commit-ordered by `server_seq`, a fixed `until` per pull)
 * and the first sync's snapshot file. Writes go through {@link SyncService}; this only reads the
 * master, and asks the sync service for the sequence and for re-initialisation answers.
 */
@Injectable()
export class PullService {
  private readonly rows: MasterRowsRepository;

  constructor(
    private readonly store: MasterStore,
    private readonly config: AppConfig,
    private readonly log: SyncLogService,
    private readonly sync: SyncService,
    private readonly schema: SchemaService,
  ) {
    this.rows = new SqliteMasterRowsRepository(() => store.serverDb);
  }

  pull(q: PullQuery, who: Principal): PullResponse {
    const started = Date.now();
    this.schema.inForce();
    try {
      const answer = this.pullInner(q);
      this.log.recordPull({
        user: who.username,
        clientId: q.clientId,
        syncId: q.syncId,
        page: String(q.cursor),
        pulled: answer.changes.length,
        startedAt: started,
        done: !answer.hasMore,
      });
      return answer;
    } catch (err) {
      this.log.recordError({ user: who.username, clientId: q.clientId, syncId: q.syncId, startedAt: started, error: err });
      throw err;
    }
  }

  private pullInner(q: PullQuery): PullResponse {
    const generation = this.store.generation;
    if (q.generation !== generation) {
      throw this.sync.reinitialize(
        'generation',
        `This cursor belongs to generation ${q.generation} but the master is now generation ${generation} (it was restored); re-initialise: push what the master lacks, then pull everything.`,
        q.generation,
      );
    }
    const last = this.sync.lastSeq;
    const until = q.until ?? last;
    if (until > last) throw new ApiException('VALIDATION_FAILED', `Invalid query: until (${until}) is beyond the newest change (${last}).`);
    if (q.cursor > until) throw new ApiException('VALIDATION_FAILED', `Invalid query: cursor (${q.cursor}) is after until (${until}).`);
    const purged = Number(syncState(this.store.serverDb).get('purged_seq') ?? 0);
    if (q.cursor < purged) {
      throw this.sync.reinitialize(
        'cursor-expired',
        `This workstation has not synced since before deletions older than ${this.config.tombstoneRetentionDays} days were purged; re-initialise: push what you hold, then pull everything.`,
      );
    }
    const run = this.store.serverDb.transaction(() => {
      const rows: PulledChange[] = [];
      let full = false;
      for (const spec of TABLE_SPECS.values()) {
        // The protocol's columns only: an adopted legacy table may hold extra columns of the old app.
        const found = this.rows.changesAfter(spec.name, spec.columnNames, q.cursor, until, q.limit) as StoredRow[];
        if (found.length === q.limit) full = true;
        for (const r of found) {
          rows.push({
            table: spec.name,
            id: r.id as string,
            seq: r.server_seq as number,
            deleted: r.deleted === 1,
            values: r as PulledChange['values'],
          });
        }
      }
      rows.sort((a, b) => a.seq - b.seq);
      const page = rows.slice(0, q.limit);
      const hasMore = rows.length > q.limit || full;
      const cursor = hasMore ? (page.length > 0 ? page[page.length - 1].seq : q.cursor) : until;
      return { generation, changes: page, cursor, until, hasMore, schemaVersion: this.schema.version };
    });
    return run.deferred();
  }

  /**
   * A consistent copy of every synced table (live rows only) as an SQLite file, for a new
   * workstation's first sync: one file instead of row-by-row pages. Written through ATTACH on the
   * owning connection inside one read transaction, so it matches `lastSeq` exactly.
   */
  snapshot(dir: string): { file: string; lastSeq: number; generation: string; rows: number } {
    this.schema.inForce();
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `snapshot-${randomUUID()}.db`);
    // Read in the same synchronous turn as the copy (one read transaction): no write comes between, so
    // the rows, lastSeq and generation match exactly.
    const lastSeq = this.sync.lastSeq;
    const generation = this.store.generation;
    try {
      const rows = this.rows.writeSnapshot(
        file,
        [...TABLE_SPECS.values()].map((spec) => ({ name: spec.name, createSql: spec.table.ddl, columns: spec.columnNames })),
        { last_seq: String(lastSeq), generation },
      );
      return { file, lastSeq, generation, rows };
    } catch (err) {
      fs.rmSync(file, { force: true });
      throw err;
    }
  }
}
