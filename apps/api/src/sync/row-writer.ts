import { MasterStore, SqliteMasterRowsRepository, sqlTime, syncState, type MasterRowsRepository, type RowMeta } from '@cacpq/db';
import type { PulledChange, PushRequest, PushResult } from '@cacpq/sync-protocol';
import { Injectable } from '@nestjs/common';
import type Database from 'better-sqlite3';
import type { Principal } from '../common/request-context';
import type { PreparedChange } from './prepare-change';
import { rowJson, type StoredRow, type StoredValue, type TableSpec } from './row-values';

export interface ConflictRecord {
  kind: 'update' | 'delete-vs-update' | 'update-vs-delete';
  columns: string[];
  winner: 'server' | 'client';
  serverRow: StoredRow | null;
  clientValues: Record<string, StoredValue> | null;
}

/**
 * Every write to the master's rows goes through here, whoever decides it (a push, a give-back, an
 * admin's resolution, a selective restore): sequenced transactions that hand out `server_seq`, rows
 * inserted, updated and deleted with their per-column bookkeeping, the version a restore left kept
 * before its first change, and conflicts recorded. Decisions live in the callers; this writes them.
 */
@Injectable()
export class RowWriter {
  /** The master's rows and the engine's bookkeeping (its SQL lives in libs/db). */
  readonly rows: MasterRowsRepository;
  /** `restored_seq` and `restore_floor_seq` of the open file, read once per handle. */
  private restore: { handle: Database.Database; seq: number; floor: number } | null = null;
  /** Server sequence handed out inside the current write transaction; written back once at its end. */
  private pendingSeq: number | null = null;

  constructor(private readonly store: MasterStore) {
    this.rows = new SqliteMasterRowsRepository(() => this.store.serverDb);
  }

  /** The live server.db handle (a restore or VACUUM reopens the file): for transactions. */
  private get db(): Database.Database {
    return this.store.serverDb;
  }

  state(key: string): string {
    return syncState(this.db).get(key) ?? '0';
  }

  setState(key: string, value: string): void {
    syncState(this.db).set(key, value);
  }

  get lastSeq(): number {
    return Number(this.state('last_seq'));
  }

  /** The last sequence handed out in the open sequenced transaction (the master's last otherwise). */
  get currentSeq(): number {
    return this.pendingSeq ?? this.lastSeq;
  }

  /** The last restore: rows at or below `seq` are as it left them; versions above `floor` were written since. */
  get restorePoint(): { seq: number; floor: number } {
    const handle = this.db;
    if (this.restore?.handle !== handle) {
      const seq = Number(this.state('restored_seq'));
      const floor = Number(this.state('restore_floor_seq'));
      this.restore = { handle, seq, floor: floor > 0 ? floor : seq };
    }
    return this.restore;
  }

  /** The last change a workstation of generation `from` shares with the master. */
  sharedHistory(from: string | undefined): number {
    const common = from !== undefined ? this.store.commonHistory(from) : null;
    return common !== null && Number.isFinite(common) ? common : Number(this.state('restored_seq'));
  }

  nextSeq(): number {
    if (this.pendingSeq === null) throw new Error('nextSeq outside a sequenced transaction');
    return ++this.pendingSeq;
  }

  /** Runs `fn` in one IMMEDIATE transaction that may hand out server sequence numbers. */
  sequenced<T>(fn: () => T): T {
    return this.db
      .transaction(() => {
        this.pendingSeq = this.lastSeq;
        try {
          const result = fn();
          this.setState('last_seq', String(this.pendingSeq));
          return result;
        } finally {
          this.pendingSeq = null;
        }
      })
      .immediate();
  }

  /** Runs `fn` in one IMMEDIATE transaction that hands out no sequence numbers. */
  immediate<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  getRow(table: string, id: string): StoredRow | undefined {
    return this.rows.getRow(table, id) as StoredRow | undefined;
  }

  getMeta(table: string, id: string): RowMeta | null {
    return this.rows.getMeta(table, id);
  }

  /** A row the master does not have, as the change gives it: its first version. */
  insertNew(p: PreparedChange, who: Principal, synced: string): number {
    const seq = this.nextSeq();
    this.insertRow(p.spec, p.change.id, p.values, {
      updated_at: p.time,
      updated_by: who.username,
      synced_at: synced,
      server_seq: seq,
      deleted: 0,
    });
    return seq;
  }

  insertRow(spec: TableSpec, id: string, values: Record<string, StoredValue>, sync: Record<string, StoredValue>): void {
    this.rows.insertRow(spec.name, id, values, sync);
  }

  /** Before the first change of a row the restore left as it was: keeps that version, the base a give-back is judged against. */
  private keepRestoreBase(table: string, row: StoredRow): void {
    const { seq } = this.restorePoint;
    if (seq === 0 || (row.server_seq as number) > seq) return;
    this.rows.keepRestoreBase(table, row.id, rowJson(row));
  }

  writeMeta(table: string, id: StoredValue, m: RowMeta): void {
    this.rows.writeMeta(table, id, m);
  }

  updateRow(
    spec: TableSpec,
    row: StoredRow,
    meta: RowMeta | null,
    columns: string[],
    values: Record<string, StoredValue>,
    time: string,
    user: string,
    synced: string,
    seq: number,
    deleted: 0 | 1,
    /** A give-back: the lost version these columns come from. */
    givenFrom?: number,
  ): void {
    this.keepRestoreBase(spec.name, row);
    const rowTime = row.updated_at as string;
    this.rows.updateRow(
      spec.name,
      row.id,
      columns,
      columns.map((c) => values[c]),
      { updatedAt: time > rowTime ? time : rowTime, user, syncedAt: synced, seq, deleted },
    );
    const next: RowMeta = meta ?? {
      base_seq: row.server_seq as number,
      base_time: rowTime,
      field_seqs: {},
      field_times: {},
      field_given: {},
    };
    for (const c of columns) {
      next.field_seqs[c] = seq;
      next.field_times[c] = time;
      if (givenFrom === undefined) delete next.field_given[c];
      else next.field_given[c] = givenFrom;
    }
    this.writeMeta(spec.name, row.id, next);
  }

  markDeleted(row: StoredRow, table: string, id: string, time: string, user: string, synced: string, seq: number): void {
    this.keepRestoreBase(table, row);
    this.rows.markDeleted(table, id, time, user, synced, seq);
  }

  recordConflict(p: PreparedChange, req: Pick<PushRequest, 'clientId' | 'batchId'>, who: Principal, now: Date, c: ConflictRecord): number {
    return this.rows.insertConflict({
      table: p.spec.name,
      rowId: p.change.id,
      detectedAt: sqlTime(now),
      kind: c.kind,
      columns: c.columns,
      winner: c.winner,
      serverVersion: c.serverRow ? rowJson(c.serverRow) : null,
      clientVersion: c.clientValues
        ? rowJson({ ...(c.serverRow ?? { id: p.change.id }), ...c.clientValues, updated_at: p.time, updated_by: who.username })
        : null,
      serverUpdatedBy: (c.serverRow?.updated_by ?? null) as string | null,
      serverUpdatedAt: (c.serverRow?.updated_at ?? null) as string | null,
      clientUser: who.username,
      clientId: req.clientId,
      clientUpdatedAt: p.time,
      batchId: req.batchId,
    });
  }
}

/** A change written as sent: its new version, and the values stored in another form than sent. */
export function appliedResult(p: PreparedChange, seq: number): PushResult {
  return {
    table: p.spec.name,
    id: p.change.id,
    outcome: 'applied',
    version: seq,
    deleted: false,
    ...(p.normalized ? { stored: p.normalized as PushResult['stored'] } : {}),
  };
}

/** The row as the master now holds it, with the outcome for the change that touched it. */
export function rowResult(table: string, row: StoredRow, outcome: PushResult['outcome']): PushResult {
  return {
    table,
    id: row.id as string,
    outcome,
    version: row.server_seq as number,
    deleted: row.deleted === 1,
    row: wireRow(row),
  };
}

/** A stored row as JSON carries it to a workstation (a BLOB or a huge integer of legacy data as its tagged form). */
export function wireRow(row: StoredRow): PulledChange['values'] {
  for (const v of Object.values(row)) {
    if (typeof v === 'bigint' || Buffer.isBuffer(v)) return JSON.parse(rowJson(row)) as PulledChange['values'];
  }
  return { ...row } as PulledChange['values'];
}
