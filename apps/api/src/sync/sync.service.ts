import {
  MASTER_INDEXES_V1,
  MASTER_TABLES_V1,
  MasterStore,
  SqliteMasterRowsRepository,
  sqlTime,
  syncState,
  tableColumns,
  type MasterRowsRepository,
  type RowMeta,
  type SyncedTableDef,
} from '@cacpq/db';
import {
  PROTOCOL_VERSION,
  SERVER_FEATURES,
  SYNC_LIMITS,
  type PulledChange,
  type PushChange,
  type PushRequest,
  type PushResponse,
  type PushResult,
  type RefusedChange,
  type ReinitializeDetails,
  type SyncInfoResponse,
} from '@cacpq/sync-protocol';
import { Injectable } from '@nestjs/common';
import type Database from 'better-sqlite3';
import { createHash, randomUUID } from 'node:crypto';
import { ApiException } from '../common/api-exception';
import type { Principal } from '../common/request-context';
import { AppConfig } from '../config/app-config';
import { DomainEvents } from '../events/domain-events';
import { SettingsService } from '../settings/settings.service';
import { judgeGiveBack, type GivenRelation } from './give-back';
import { clientTimeOnServer, merge } from './merge';
import type { ParsedPush } from './push-validation';
import { RefusalLog, type RefusalRecord } from './refusal-log';
import {
  describeValue,
  parseClientTime,
  rowJson,
  RuleError,
  sameValue,
  TABLE_SPECS,
  tableSpec,
  toStored,
  toStoredAsIs,
  type StoredRow,
  type StoredValue,
  type TableSpec,
} from './row-values';
import { SyncEvents } from './sync-events';
import { SyncLogService } from './sync-log.service';
import { WorkstationClocks } from './workstation-clocks';

export interface PreparedChange {
  change: PushChange;
  spec: TableSpec;
  where: string;
  /** Every value sent, as SQLite stores it: the changed columns checked by the rules, the others as they are. */
  values: Record<string, StoredValue>;
  changed: string[];
  /** Each changed column's value before the workstation's edit, when it sent them (exact). */
  base: Record<string, StoredValue> | null;
  time: string;
  /** Columns the rules would refuse, left unchecked because the change does not touch them. */
  unchecked: RuleError[];
  /** Changed values stored in another form than sent (a datetime in SQLite's): the answer carries them. */
  normalized: Record<string, StoredValue> | null;
}

interface ConflictRecord {
  kind: 'update' | 'delete-vs-update' | 'update-vs-delete';
  columns: string[];
  winner: 'server' | 'client';
  serverRow: StoredRow | null;
  clientValues: Record<string, StoredValue> | null;
}

/** A change refused for what it is, found while preparing or applying a batch. */
interface Refusal {
  index: number;
  change: unknown;
  error: RuleError;
  time?: string;
}

/** Thrown inside the write transaction to roll back a batch with refused changes. */
class RefusedBatch extends Error {
  constructor(readonly refusals: Refusal[]) {
    super('refused changes');
  }
}

/** SQLite's own refusals of a row (a constraint of a legacy table, a value too big): the change's fault, not the server's. */
function sqliteRefusal(err: unknown, where: string): RuleError | null {
  const code = (err as { code?: string }).code;
  if (typeof code !== 'string') return null;
  if (code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_MISMATCH' || code === 'SQLITE_TOOBIG') {
    return new RuleError('VALIDATION_FAILED', `${where}: the master refused the row (${(err as Error).message}).`, null);
  }
  return null;
}

/**
 * The sync engine: push (all or nothing, idempotent, field-level last-write-wins with both
 * versions of every conflict kept) and pull (pages after a cursor up to a bound fixed at the
 * start). Runs on the raw better-sqlite3 handle of the master with cached statements: one
 * connection, synchronous transactions, so no two pushes interleave.
 *
 * A change refused for what it is never blocks the others: the batch is answered 4xx with every
 * refused change listed (`details.refused`), nothing applied, and each refusal recorded for the
 * admins; the workstation holds those back and sends the rest again at once.
 */
@Injectable()
export class SyncService {
  /** The master's rows and the engine's bookkeeping (its SQL lives in libs/db). */
  private readonly rows: MasterRowsRepository;
  /** `restored_seq` and `restore_floor_seq` of the open file, read once per handle. */
  private restore: { handle: Database.Database; seq: number; floor: number } | null = null;

  constructor(
    private readonly store: MasterStore,
    private readonly config: AppConfig,
    private readonly settings: SettingsService,
    private readonly log: SyncLogService,
    private readonly events: SyncEvents,
    private readonly refusals: RefusalLog,
    private readonly domainEvents: DomainEvents,
    private readonly clocks: WorkstationClocks,
  ) {
    this.rows = new SqliteMasterRowsRepository(() => this.store.serverDb);
  }

  /** The live server.db handle (a restore or VACUUM reopens the file): for transactions. */
  private get db(): Database.Database {
    return this.store.serverDb;
  }

  private state(key: string): string {
    return syncState(this.db).get(key) ?? '0';
  }

  private setState(key: string, value: string): void {
    syncState(this.db).set(key, value);
  }

  /** The last restore: rows at or below `seq` are as it left them; versions above `floor` were written since. */
  private get restorePoint(): { seq: number; floor: number } {
    const handle = this.db;
    if (this.restore?.handle !== handle) {
      const seq = Number(this.state('restored_seq'));
      const floor = Number(this.state('restore_floor_seq'));
      this.restore = { handle, seq, floor: floor > 0 ? floor : seq };
    }
    return this.restore;
  }

  get lastSeq(): number {
    return Number(this.state('last_seq'));
  }

  info(): SyncInfoResponse {
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
      tables: [...TABLE_SPECS.values()].map(({ def }) => tableInfo(def)),
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
      restoredSeq: this.sharedHistory(fromGeneration),
    };
    return new ApiException('REINITIALIZE', message, details);
  }

  /** The last change a workstation of generation `from` shares with the master. */
  private sharedHistory(from: string | undefined): number {
    const common = from !== undefined ? this.store.commonHistory(from) : null;
    return common !== null && Number.isFinite(common) ? common : Number(this.state('restored_seq'));
  }

  /**
   * A push; the answer comes back as the JSON text that is also kept for replays (serialised once).
   * `receivedAt` is when the request arrived (before its body was read): the workstation's clock is
   * measured against it.
   */
  push(parsed: ParsedPush, who: Principal, rawBody?: Buffer, receivedAt: number = Date.now()): { response: PushResponse; json: string } {
    const req = parsed.request;
    const syncId = req.syncId;
    const started = Date.now();
    try {
      // The sync_log row is written inside the push's own transaction: one commit, one fsync.
      const answer = this.pushInner(parsed, who, rawBody, receivedAt, (r) =>
        this.log.recordPush({
          user: who.username,
          clientId: req.clientId,
          syncId,
          pushed: req.changes.length,
          conflicts: r.conflicts,
          startedAt: started,
        }),
      );
      const { response } = answer;
      // The clock alert judges each workstation by the skew of its last push.
      if (!response.replayed) this.clocks.record(req.clientId, who.username, response.clockSkewMs);
      if (!response.replayed && response.results.some((r) => r.outcome !== 'unchanged' && r.outcome !== 'conflict_lost')) {
        this.events.changesAvailable(this.store.generation, response.lastSeq);
      }
      if (!response.replayed) {
        this.refusals.markFixed(req.clientId, response.results, who.username);
        for (const r of response.results) {
          if (r.conflictId !== undefined) {
            this.domainEvents.publish('conflict.recorded', {
              id: r.conflictId,
              table: r.table,
              rowId: r.id,
              user: who.username,
              clientId: req.clientId,
            });
          }
        }
      }
      return answer;
    } catch (err) {
      // A refused change is a failed push in the guide's sync_log (where its troubleshooting looks);
      // the workstation holds it back and the rest of its sync goes on.
      const error = err instanceof RefusedBatch ? this.refuse(err.refusals, req, who) : err;
      this.log.recordError({ user: who.username, clientId: req.clientId, syncId, startedAt: started, error });
      throw error;
    }
  }

  /**
   * Records each refused change for the admins and answers the batch with all of them: the code and
   * sentence of the first, and every one in `details.refused` for the workstation to hold back.
   */
  private refuse(refusals: Refusal[], req: PushRequest, who: Principal): ApiException {
    const records: RefusalRecord[] = refusals.map((r) => {
      const change = (typeof r.change === 'object' && r.change !== null ? r.change : {}) as Partial<PushChange>;
      const column = r.error.column;
      return {
        table: typeof change.table === 'string' ? change.table : '',
        rowId: typeof change.id === 'string' ? change.id : '',
        op: change.op === 'delete' ? 'delete' : 'upsert',
        column,
        code: r.error.code,
        message: (r.error.getResponse() as { message: string }).message,
        value: column && change.values && Object.hasOwn(change.values, column) ? describeValue(change.values[column]) : null,
        overridable: r.error.overridable,
        change: typeof change.table === 'string' && typeof change.id === 'string' ? { ...change, time: r.time } : null,
      };
    });
    const ids = this.refusals.record(who.username, req.clientId, records);
    const refused: RefusedChange[] = refusals.map((r, i) => ({
      index: r.index,
      table: records[i].table,
      id: records[i].rowId,
      column: records[i].column,
      code: records[i].code,
      message: records[i].message,
      refusalId: ids[i],
    }));
    const first = refused[0];
    const more =
      refused.length > 1
        ? ` ${refused.length - 1} more ${refused.length === 2 ? 'change was' : 'changes were'} refused too (details.refused); nothing of this batch was applied.`
        : '';
    return new ApiException(first.code as RuleError['code'], `${first.message}${more}`, { refused });
  }

  private pushInner(
    parsed: ParsedPush,
    who: Principal,
    rawBody: Buffer | undefined,
    receivedAt: number,
    beforeCommit: (r: PushResponse) => void,
  ): { response: PushResponse; json: string } {
    const req = parsed.request;
    const generation = this.store.generation;
    if (req.generation !== generation) {
      throw this.reinitialize(
        'generation',
        `This workstation holds generation ${req.generation} but the master is now generation ${generation} (it was restored); re-initialise: push what the master lacks, then pull everything.`,
        req.generation,
      );
    }
    // The bytes as sent: a retry of the same batch sends the same bytes.
    const hash = createHash('sha256')
      .update(rawBody ?? JSON.stringify(req))
      .digest('hex');
    const previous = this.rows.findBatch(req.clientId, req.batchId);
    if (previous) {
      if (previous.request_hash !== hash || previous.user !== who.username) {
        throw new ApiException(
          'BATCH_ID_REUSED',
          `Batch ${req.batchId} of client ${req.clientId} was already pushed with other contents; use a new batch id.`,
        );
      }
      const json = previous.response.replace(/"replayed":false\}$/, '"replayed":true}');
      return { response: JSON.parse(json) as PushResponse, json };
    }
    // Before anything is applied: a workstation that missed purged deletions could bring a deleted row back.
    if (req.cursor !== undefined && req.cursor < Number(this.state('purged_seq'))) {
      throw this.reinitialize(
        'cursor-expired',
        `This workstation has not synced since before deletions older than ${this.config.tombstoneRetentionDays} days were purged; re-initialise: push what you hold, then pull everything.`,
      );
    }

    const now = new Date();
    const clientNow = parseClientTime(req.clientTime);
    if (!clientNow) throw new ApiException('VALIDATION_FAILED', 'Invalid request body: clientTime must be a date-time.');
    const skewMs = clientNow.getTime() - receivedAt;
    // Ahead or behind: the workstation's times are moved by the offset measured on this request, so
    // the real order of edits decides. Within the tolerance (network delay, rounding) they stand.
    const corrected = Math.abs(skewMs) > this.config.clockSkewToleranceMs;
    const { prepared, refused } = this.prepareChanges(parsed, now, corrected ? skewMs : 0);
    if (refused.length > 0) throw new RefusedBatch(refused);

    const synced = sqlTime(now);
    return this.sequenced((): { response: PushResponse; json: string } => {
      let conflicts = 0;
      const results: PushResult[] = [];
      const failed: Refusal[] = [];
      for (const [index, p] of prepared) {
        let result: PushResult;
        try {
          result = this.applyChange(p, req, who, now, synced);
        } catch (err) {
          const rule = err instanceof RuleError ? err : sqliteRefusal(err, p.where);
          if (!rule) throw err;
          failed.push({ index, change: p.change, error: rule, time: p.time });
          continue;
        }
        if (result.conflictId !== undefined) conflicts++;
        results.push(result);
      }
      // Rolls the whole batch back: a batch is applied whole or not at all.
      if (failed.length > 0) throw new RefusedBatch(failed);
      const response: PushResponse = {
        generation,
        batchId: req.batchId,
        results,
        lastSeq: this.pendingSeq ?? this.lastSeq,
        conflicts,
        clockSkewMs: skewMs,
        clockCorrected: corrected,
        replayed: false,
      };
      const json = JSON.stringify(response);
      this.rows.saveBatch({
        clientId: req.clientId,
        batchId: req.batchId,
        requestHash: hash,
        response: json,
        user: who.username,
        createdAt: sqlTime(now),
      });
      beforeCommit(response);
      return { response, json };
    });
  }

  /** Checks every change of the batch before anything is written; each refused one is listed, none stops the others' checks. */
  private prepareChanges(parsed: ParsedPush, now: Date, skewMs: number): { prepared: [number, PreparedChange][]; refused: Refusal[] } {
    const seen = new Set<string>();
    // Workstation times repeat within a batch (one transaction, one millisecond): parsed once each.
    const times = new Map<string, string>();
    const prepared: [number, PreparedChange][] = [];
    const refused: Refusal[] = [];
    parsed.request.changes.forEach((change, i) => {
      const shape = parsed.invalid.get(i);
      if (shape !== undefined) {
        refused.push({ index: i, change, error: new RuleError('VALIDATION_FAILED', shape, null) });
        return;
      }
      try {
        const key = `${change.table}\u0000${change.id}`;
        if (seen.has(key))
          throw new RuleError(
            'DUPLICATE_ROW',
            `changes[${i}]: ${change.table} ${change.id} appears twice in this batch; send one change per row.`,
            null,
          );
        seen.add(key);
        let time: string | undefined;
        if (change.restore === true) {
          // A give-back's time is the master's own stamp from before the restore: not the workstation's clock.
          const t = parseClientTime(change.updatedAt);
          if (!t)
            throw new RuleError('VALIDATION_FAILED', `changes[${i}]: updatedAt must be a date-time such as 2026-11-24T09:30:00Z.`, null);
          time = sqlTime(new Date(Math.min(t.getTime(), now.getTime())));
        } else {
          time = times.get(change.updatedAt);
          if (time === undefined) {
            const t = parseClientTime(change.updatedAt);
            if (!t)
              throw new RuleError('VALIDATION_FAILED', `changes[${i}]: updatedAt must be a date-time such as 2026-11-24T09:30:00Z.`, null);
            // Corrected by the clock offset measured on this request, then clamped to the server's now:
            // a future time can never beat a later real edit.
            time = sqlTime(clientTimeOnServer(t, skewMs, now));
            times.set(change.updatedAt, time);
          }
        }
        prepared.push([i, this.prepareOne(change, `changes[${i}]`, time)]);
      } catch (err) {
        if (!(err instanceof RuleError)) throw err;
        refused.push({ index: i, change, error: err });
      }
    });
    return { prepared, refused };
  }

  /**
   * One change, checked: the changed columns against the column rules (with `override`, their type
   * only), the other values and the base as they are. A give-back's values are the master's own from
   * before a restore: taken as they are.
   */
  prepareOne(change: PushChange, where: string, time: string, override: readonly string[] = []): PreparedChange {
    const spec = tableSpec(change.table, where);
    const values: Record<string, StoredValue> = {};
    const unchecked: RuleError[] = [];
    let normalized: Record<string, StoredValue> | null = null;
    if (change.op === 'upsert') {
      if (!change.values) throw new RuleError('VALIDATION_FAILED', `${where}: an upsert needs values.`, null);
      const entries = Object.entries(change.values);
      // An insert (or a change that names no subset) changes every value: no lookups per column. A
      // `changed` naming something not in values is refused below either way.
      const changedSet = change.changed === undefined || change.changed.length >= entries.length ? null : new Set(change.changed);
      for (const [column, value] of entries) {
        if (change.restore === true) {
          values[column] = toStoredAsIs(spec, column, value, where);
        } else if (changedSet === null || changedSet.has(column)) {
          const stored = toStored(spec, column, value, where, override.length > 0 && override.includes(column));
          if (stored !== value && typeof value !== 'boolean') (normalized ??= {})[column] = stored;
          values[column] = stored;
        } else {
          // Not touched by this edit: an old value the rules now refuse must not block it.
          try {
            values[column] = toStored(spec, column, value, where);
          } catch (err) {
            if (!(err instanceof RuleError) || err.code !== 'VALIDATION_FAILED') throw err;
            unchecked.push(err);
            values[column] = toStoredAsIs(spec, column, value, where);
          }
        }
      }
    } else if (change.values && Object.keys(change.values).length > 0) {
      throw new RuleError('VALIDATION_FAILED', `${where}: a delete carries no values.`, null);
    }
    const changed = change.op === 'upsert' ? (change.changed ?? Object.keys(values)) : [];
    for (const c of changed) {
      if (!Object.hasOwn(values, c)) throw new RuleError('VALIDATION_FAILED', `${where}: changed names "${c}", which is not in values.`, c);
    }
    let base: Record<string, StoredValue> | null = null;
    if (change.base) {
      base = {};
      for (const [column, value] of Object.entries(change.base)) base[column] = toStoredAsIs(spec, column, value, `${where}.base`);
    }
    return { change, spec, where, values, changed, base, time, unchecked, normalized };
  }

  /** Server sequence handed out inside the current write transaction; written back once at its end. */
  private pendingSeq: number | null = null;

  private nextSeq(): number {
    if (this.pendingSeq === null) throw new Error('nextSeq outside a sequenced transaction');
    return ++this.pendingSeq;
  }

  /** Runs `fn` in one IMMEDIATE transaction that may hand out server sequence numbers. */
  private sequenced<T>(fn: () => T): T {
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

  private getRow(table: string, id: string): StoredRow | undefined {
    return this.rows.getRow(table, id) as StoredRow | undefined;
  }

  private getMeta(table: string, id: string): RowMeta | null {
    return this.rows.getMeta(table, id);
  }

  /** A new row needs every value valid and its required columns. */
  private assertInsertable(p: PreparedChange): void {
    if (p.unchecked.length > 0) throw p.unchecked[0];
    const missing = p.spec.required.filter((c) => p.values[c] === undefined || p.values[c] === null);
    if (missing.length > 0) {
      throw new RuleError('VALIDATION_FAILED', `${p.where}: a new ${p.spec.name} row needs ${missing.join(', ')}.`, missing[0]);
    }
  }

  private applyChange(p: PreparedChange, req: PushRequest, who: Principal, now: Date, synced: string): PushResult {
    const { change, spec } = p;
    const table = spec.name;
    const row = this.getRow(table, change.id);
    if (change.restore === true) return this.giveBack(p, row, req, who, now, synced);

    if (!row) {
      if (change.op === 'delete') {
        // After a restore, a row a workstation deletes may be one the restore lost: remembered, so
        // that another workstation's give-back of it does not bring it back.
        if (this.restorePoint.seq > 0) {
          this.rows.markGone(table, change.id, this.nextSeq(), p.time, who.username);
        }
        return { table, id: change.id, outcome: 'unchanged', version: 0, deleted: true, row: null };
      }
      if (change.baseVersion > 0) {
        // The workstation had this row from the master, which no longer has it: deleted elsewhere and
        // purged since. Never a silent undelete: the edit is kept as a conflict's losing version.
        const conflictId = this.recordConflict(p, req, who, now, {
          kind: 'update-vs-delete',
          columns: p.changed,
          winner: 'server',
          serverRow: null,
          clientValues: p.values,
        });
        return { table, id: change.id, outcome: 'conflict_lost', version: 0, deleted: true, row: null, conflictId };
      }
      this.assertInsertable(p);
      const seq = this.insertNew(p, who, synced);
      // Only a restore's aftermath leaves ids in sync_gone: a row made anew under one takes it out.
      if (this.restorePoint.seq > 0) this.rows.forgetGone(table, change.id);
      return this.applied(p, seq);
    }

    const meta = this.getMeta(table, change.id);
    const decision = merge({
      op: change.op,
      changed: p.changed,
      values: p.values,
      base: p.base,
      baseVersion: change.baseVersion,
      time: p.time,
      row: {
        values: row as Record<string, StoredValue>,
        seq: row.server_seq as number,
        deleted: row.deleted === 1,
        updatedAt: row.updated_at as string,
      },
      ...(meta
        ? { fieldSeqs: meta.field_seqs, fieldTimes: meta.field_times, trackedSince: { seq: meta.base_seq, time: meta.base_time } }
        : {}),
    });
    switch (decision.kind) {
      case 'unchanged':
        return this.result(table, row, 'unchanged');
      case 'delete': {
        const seq = this.nextSeq();
        this.markDeleted(row, table, change.id, p.time, who.username, synced, seq);
        return { table, id: change.id, outcome: 'applied', version: seq, deleted: true };
      }
      case 'apply': {
        if (decision.recreate) this.assertInsertable(p);
        const seq = this.nextSeq();
        this.updateRow(spec, row, meta, decision.columns, p.values, p.time, who.username, synced, seq, 0);
        return this.applied(p, seq);
      }
      case 'edit-of-deleted': {
        // A stale edit of a deleted row: kept as a conflict, never a silent undelete.
        const conflictId = this.recordConflict(p, req, who, now, {
          kind: 'update-vs-delete',
          columns: p.changed,
          winner: 'server',
          serverRow: row,
          clientValues: p.values,
        });
        return { ...this.result(table, row, 'conflict_lost'), conflictId };
      }
      case 'delete-vs-update': {
        const conflictId = this.recordConflict(p, req, who, now, {
          kind: 'delete-vs-update',
          columns: [],
          winner: decision.clientWins ? 'client' : 'server',
          serverRow: row,
          clientValues: null,
        });
        if (!decision.clientWins) return { ...this.result(table, row, 'conflict_lost'), conflictId };
        const seq = this.nextSeq();
        this.markDeleted(row, table, change.id, p.time, who.username, synced, seq);
        return { ...this.result(table, this.getRow(table, change.id)!, 'conflict_won'), conflictId };
      }
    }
    const { apply, clientWon, serverWon } = decision;
    let conflictId: number | undefined;
    const overlapped = [...clientWon, ...serverWon];
    if (overlapped.length > 0) {
      conflictId = this.recordConflict(p, req, who, now, {
        kind: 'update',
        columns: overlapped,
        winner: serverWon.length === 0 ? 'client' : 'server',
        serverRow: row,
        clientValues: p.values,
      });
    }
    let current = row;
    if (apply.length > 0) {
      const seq = this.nextSeq();
      this.updateRow(spec, row, meta, apply, p.values, p.time, who.username, synced, seq, 0);
      current = this.getRow(table, change.id)!;
    }
    const outcome =
      conflictId !== undefined ? (serverWon.length === 0 ? 'conflict_won' : 'conflict_lost') : apply.length > 0 ? 'merged' : 'unchanged';
    return { ...this.result(table, current, outcome), ...(conflictId !== undefined ? { conflictId } : {}) };
  }

  /**
   * A version the restored master lost, given back by a workstation that synced it before the
   * restore (see {@link judgeGiveBack}): what the master lacks goes back; what someone changed since
   * the restore stays, with the lost value recorded as a conflict; older copies are skipped.
   */
  private giveBack(p: PreparedChange, row: StoredRow | undefined, req: PushRequest, who: Principal, now: Date, synced: string): PushResult {
    const { change, spec } = p;
    const table = spec.name;
    const lost = change.baseVersion;
    const { seq: restoredSeq, floor } = this.restorePoint;
    // The last change the giving workstation's history shares with the master's: the last restore's
    // point, or an earlier one when the workstation has been away through several restores.
    const shared = req.giveBackFrom !== undefined ? Math.min(this.sharedHistory(req.giveBackFrom), restoredSeq) : restoredSeq;
    /** The row as the shared history left it: what a lost version is compared with. */
    const restoredRow = (): StoredRow | undefined => {
      if (row && (row.server_seq as number) <= shared) return row;
      // The base kept at the first change since the last restore is the row at that restore's point only.
      if (shared !== restoredSeq) return undefined;
      return this.rows.restoreBase(table, change.id) as StoredRow | undefined;
    };

    if (!row) {
      if (change.op === 'delete') return { table, id: change.id, outcome: 'unchanged', version: 0, deleted: true, row: null };
      const gone = this.rows.goneSeq(table, change.id);
      if (gone !== undefined && gone > floor) {
        // Deleted on a workstation since the restore, while the master did not have it yet: the delete stands.
        const conflictId = this.recordConflict(p, req, who, now, {
          kind: 'update-vs-delete',
          columns: Object.keys(p.values),
          winner: 'server',
          serverRow: null,
          clientValues: p.values,
        });
        return { table, id: change.id, outcome: 'conflict_lost', version: 0, deleted: true, row: null, conflictId };
      }
      const seq = this.insertNew(p, who, synced);
      this.writeMeta(table, change.id, {
        base_seq: seq,
        base_time: p.time,
        field_seqs: {},
        field_times: {},
        field_given: Object.fromEntries(Object.keys(p.values).map((c) => [c, lost])),
      });
      return { table, id: change.id, outcome: 'applied', version: seq, deleted: false };
    }

    const meta = this.getMeta(table, change.id);
    const colSeq = (c: string) => meta?.field_seqs[c] ?? meta?.base_seq ?? (row.server_seq as number);
    const rowSeq = row.server_seq as number;
    const restored = restoredRow();
    /** Someone other than a give-back wrote the row since the histories parted. */
    const editedSince = spec.dataColumns.some((c) => colSeq(c.name) > shared && meta?.field_given[c.name] === undefined);

    if (change.op === 'delete') {
      if (row.deleted === 1) return this.result(table, row, 'unchanged');
      if (editedSince) {
        const conflictId = this.recordConflict(p, req, who, now, {
          kind: 'delete-vs-update',
          columns: [],
          winner: 'server',
          serverRow: row,
          clientValues: null,
        });
        return { ...this.result(table, row, 'conflict_lost'), conflictId };
      }
      const seq = this.nextSeq();
      this.markDeleted(row, table, change.id, p.time, who.username, synced, seq);
      return { table, id: change.id, outcome: 'applied', version: seq, deleted: true };
    }

    const lostDiffers = Object.keys(p.values).some((c) => restored === undefined || !sameValue(p.values[c], restored[c]));
    if (row.deleted === 1) {
      if (rowSeq <= shared && restored?.deleted === 1) {
        // Deleted in the restored master, alive in the lost history (an undelete): it comes back as it was.
        const seq = this.nextSeq();
        this.updateRow(spec, row, meta, Object.keys(p.values), p.values, p.time, who.username, synced, seq, 0, lost);
        return this.result(table, this.getRow(table, change.id)!, 'applied');
      }
      if (!lostDiffers) return this.result(table, row, 'unchanged');
      const conflictId = this.recordConflict(p, req, who, now, {
        kind: 'update-vs-delete',
        columns: Object.keys(p.values),
        winner: 'server',
        serverRow: row,
        clientValues: p.values,
      });
      return { ...this.result(table, row, 'conflict_lost'), conflictId };
    }

    const colTime = (c: string) => meta?.field_times[c] ?? meta?.base_time ?? (row.updated_at as string);
    /** How the value an earlier give-back wrote relates to this lost version's history. */
    const relation = (given: number): GivenRelation => {
      if (req.giveBackFrom === undefined) return 'unknown';
      const mine = this.store.historyIncludes(req.giveBackFrom, given);
      if (mine !== false) return mine === null ? 'unknown' : 'in-my-history';
      const theirs = this.store.generationOf(given);
      const later = theirs !== null ? this.store.historyIncludes(theirs, lost) : null;
      return later === null ? 'unknown' : later ? 'after-me' : 'parallel';
    };
    const apply: string[] = [];
    const serverWon: string[] = [];
    const clientWon: string[] = [];
    for (const c of Object.keys(p.values)) {
      const given = meta?.field_given[c];
      const changedSinceRestore = colSeq(c) > shared;
      const verdict = judgeGiveBack(
        {
          lost: p.values[c],
          master: row[c],
          restored: restored && restored.deleted !== 1 ? restored[c] : undefined,
          changedSinceRestore,
          ...(given !== undefined && changedSinceRestore ? { given: { version: given, relation: relation(given) } } : {}),
          lostTime: p.time,
          masterTime: colTime(c),
        },
        lost,
      );
      if (verdict === 'apply' || verdict === 'conflict-apply') apply.push(c);
      if (verdict === 'conflict') serverWon.push(c);
      if (verdict === 'conflict-apply') clientWon.push(c);
    }
    let conflictId: number | undefined;
    if (serverWon.length + clientWon.length > 0) {
      conflictId = this.recordConflict(p, req, who, now, {
        kind: 'update',
        columns: [...clientWon, ...serverWon],
        winner: serverWon.length > 0 ? 'server' : 'client',
        serverRow: row,
        clientValues: p.values,
      });
    }
    let current = row;
    if (apply.length > 0) {
      const seq = this.nextSeq();
      this.updateRow(spec, row, meta, apply, p.values, p.time, who.username, synced, seq, 0, lost);
      current = this.getRow(table, change.id)!;
    }
    const outcome =
      conflictId !== undefined ? (serverWon.length > 0 ? 'conflict_lost' : 'conflict_won') : apply.length > 0 ? 'merged' : 'unchanged';
    return { ...this.result(table, current, outcome), ...(conflictId !== undefined ? { conflictId } : {}) };
  }

  /** A change written as sent: its new version, and the values stored in another form than sent. */
  private applied(p: PreparedChange, seq: number): PushResult {
    return {
      table: p.spec.name,
      id: p.change.id,
      outcome: 'applied',
      version: seq,
      deleted: false,
      ...(p.normalized ? { stored: p.normalized as PushResult['stored'] } : {}),
    };
  }

  private result(table: string, row: StoredRow, outcome: PushResult['outcome']): PushResult {
    return {
      table,
      id: row.id as string,
      outcome,
      version: row.server_seq as number,
      deleted: row.deleted === 1,
      row: wireRow(row),
    };
  }

  /** A row the master does not have, as the change gives it: its first version. */
  private insertNew(p: PreparedChange, who: Principal, synced: string): number {
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

  private insertRow(spec: TableSpec, id: string, values: Record<string, StoredValue>, sync: Record<string, StoredValue>): void {
    this.rows.insertRow(spec.name, id, values, sync);
  }

  /** Before the first change of a row the restore left as it was: keeps that version, the base a give-back is judged against. */
  private keepRestoreBase(table: string, row: StoredRow): void {
    const { seq } = this.restorePoint;
    if (seq === 0 || (row.server_seq as number) > seq) return;
    this.rows.keepRestoreBase(table, row.id, rowJson(row));
  }

  private writeMeta(table: string, id: StoredValue, m: RowMeta): void {
    this.rows.writeMeta(table, id, m);
  }

  private updateRow(
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

  private markDeleted(row: StoredRow, table: string, id: string, time: string, user: string, synced: string, seq: number): void {
    this.keepRestoreBase(table, row);
    this.rows.markDeleted(table, id, time, user, synced, seq);
  }

  private recordConflict(p: PreparedChange, req: PushRequest, who: Principal, now: Date, c: ConflictRecord): number {
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

  /** Deletes tombstones and push replay records older than the retention period; a cursor from before them must re-initialise. */
  purgeTombstones(now: Date = new Date()): number {
    const cutoff = sqlTime(new Date(now.getTime() - this.config.tombstoneRetentionDays * 86400_000));
    const run = this.db.transaction(() => {
      let removed = 0;
      let maxSeq = Number(this.state('purged_seq'));
      for (const spec of TABLE_SPECS.values()) {
        const purged = this.rows.purgeTombstones(spec.name, cutoff);
        removed += purged.removed;
        maxSeq = Math.max(maxSeq, purged.maxSeq);
      }
      this.setState('purged_seq', String(maxSeq));
      // The first answers kept for replays go with them, so the table does not grow forever: a batch
      // resent after that long is judged afresh (its values are there already; where the row moved on
      // since, its older edit loses as a recorded conflict).
      this.rows.purgeBookkeeping(cutoff);
      return removed;
    });
    return run.immediate();
  }

  /**
   * Applies an admin's decision on a row as an ordinary change, so it syncs to everyone. A row the
   * master no longer has (its delete was purged, or the restore lost it) is written anew.
   */
  applyResolution(table: string, id: string, values: Record<string, StoredValue>, undelete: boolean, who: Principal): number | null {
    const spec = tableSpec(table, 'resolution');
    const row = this.getRow(table, id);
    const now = new Date();
    if (!row) {
      const missing = spec.required.filter((c) => values[c] === undefined || values[c] === null);
      if (missing.length > 0) {
        throw new ApiException(
          'VALIDATION_FAILED',
          `The row ${table} ${id} is no longer in the master, and the version kept lacks ${missing.join(', ')}; choose the values field by field.`,
        );
      }
      const seq = this.nextSeq();
      this.insertRow(spec, id, values, {
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
    const seq = this.nextSeq();
    this.updateRow(
      spec,
      row,
      this.getMeta(table, id),
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
    const row = this.getRow(table, id);
    const now = sqlTime();
    if (values === null) {
      if (!row || row.deleted === 1) return null;
      const seq = this.nextSeq();
      this.markDeleted(row, table, id, now, who.username, now, seq);
      return seq;
    }
    if (!row) {
      const seq = this.nextSeq();
      this.insertRow(spec, id, values, { updated_at: now, updated_by: who.username, synced_at: now, server_seq: seq, deleted: 0 });
      return seq;
    }
    const columns = Object.keys(values).filter((c) => !sameValue(values[c], row[c]));
    if (columns.length === 0 && row.deleted === 0) return null;
    const seq = this.nextSeq();
    this.updateRow(spec, row, this.getMeta(table, id), columns, values, now, who.username, now, seq, 0);
    return seq;
  }

  /**
   * An admin takes a refused change after all (its refused columns `override`n, or fixed values in
   * it): applied as the workstation's change by its user, with the same conflict rules as any push.
   * Refused again for another reason: a RuleError, nothing applied.
   */
  applyRefused(
    change: PushChange & { time?: string },
    clientId: string,
    user: string,
    override: readonly string[],
  ): { result: PushResult; lastSeq: number } {
    const now = new Date();
    const time = change.time ?? sqlTime(now);
    const { time: _time, ...plain } = change;
    const p = this.prepareOne(plain, 'change', time, override);
    const req = { clientId, batchId: `admin-${randomUUID()}` } as PushRequest;
    const who = { username: user } as Principal;
    const out = this.sequenced(() => {
      try {
        return { result: this.applyChange(p, req, who, now, sqlTime(now)), lastSeq: this.pendingSeq! };
      } catch (err) {
        const rule = err instanceof RuleError ? err : sqliteRefusal(err, 'change');
        throw rule ?? err;
      }
    });
    if (out.result.outcome !== 'unchanged' && out.result.outcome !== 'conflict_lost')
      this.events.changesAvailable(this.store.generation, out.lastSeq);
    if (out.result.conflictId !== undefined) {
      this.domainEvents.publish('conflict.recorded', {
        id: out.result.conflictId,
        table: out.result.table,
        rowId: out.result.id,
        user,
        clientId,
      });
    }
    return out;
  }

  /** The master's row now, as a pull would carry it (null when it has none). */
  currentRow(table: string, id: string): { row: PulledChange['values'] | null; version: number; deleted: boolean } {
    const row = TABLE_SPECS.has(table) ? this.getRow(table, id) : undefined;
    if (!row) return { row: null, version: 0, deleted: true };
    return { row: wireRow(row), version: row.server_seq as number, deleted: row.deleted === 1 };
  }

  /** After a batch of {@link applyServerVersion} calls: pokes the workstations once. */
  announce(seq: number): void {
    this.events.changesAvailable(this.store.generation, seq);
  }

  /** A write transaction in which `applyResolution` may be called. */
  transaction<T>(fn: () => T): T {
    return this.sequenced(fn);
  }

  validateValues(table: string, values: Record<string, unknown>, where: string): Record<string, StoredValue> {
    const spec = tableSpec(table, where);
    return Object.fromEntries(Object.entries(values).map(([c, v]) => [c, toStored(spec, c, v as never, where)]));
  }
}

/** A stored row as JSON carries it to a workstation (a BLOB or a huge integer of legacy data as its tagged form). */
function wireRow(row: StoredRow): PulledChange['values'] {
  for (const v of Object.values(row)) {
    if (typeof v === 'bigint' || Buffer.isBuffer(v)) return JSON.parse(rowJson(row)) as PulledChange['values'];
  }
  return { ...row } as PulledChange['values'];
}

function tableInfo(def: SyncedTableDef) {
  return {
    name: def.name,
    label: def.label,
    columns: tableColumns(def).map((c) => ({
      name: c.name,
      type: c.type,
      nullable: c.nullable,
      ...(c.maxLength !== undefined ? { maxLength: c.maxLength } : {}),
      ...(c.values ? { values: [...c.values] } : {}),
      ...(c.serverOwned ? { serverOwned: true } : {}),
    })),
    ddl: MASTER_TABLES_V1[def.name],
    indexes: MASTER_INDEXES_V1.filter((sql) => new RegExp(` ON ${def.name}\\(`).test(sql)),
  };
}
