import { MasterStore, sqlTime } from '@cacpq/db';
import type { PushChange, PushRequest, PushResponse, PushResult, RefusedChange } from '@cacpq/sync-protocol';
import { Injectable } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { ApiException } from '../common/api-exception';
import type { Principal } from '../common/request-context';
import { AppConfig } from '../config/app-config';
import { DomainEvents } from '../events/domain-events';
import { GiveBackService } from './give-back.service';
import { merge } from './merge';
import { prepareChange, prepareChanges, sqliteRefusal, type PreparedChange, type Refusal } from './prepare-change';
import type { ParsedPush } from './push-validation';
import { SchemaService } from '../schema/schema.service';
import { RefusalLog, type RefusalRecord } from './refusal-log';
import { describeValue, parseClientTime, RuleError, type StoredValue } from './row-values';
import { appliedResult, RowWriter, rowResult } from './row-writer';
import { SyncEvents } from './sync-events';
import { SyncLogService } from './sync-log.service';
import { SyncService } from './sync.service';
import { WorkstationClocks } from './workstation-clocks';

/** Thrown inside the write transaction to roll back a batch with refused changes. */
class RefusedBatch extends Error {
  constructor(readonly refusals: Refusal[]) {
    super('refused changes');
  }
}

/**
 * Push: a batch applied all or nothing, idempotent (a replay answers as the first time),
 * field-level last-write-wins by {@link merge} with both versions of every conflict kept, and
 * give-backs after a restore handed to {@link GiveBackService}.
 *
 * A change refused for what it is never blocks the others: the batch is answered 4xx with every
 * refused change listed (`details.refused`), nothing applied, and each refusal recorded for the
 * admins; the workstation holds those back and sends the rest again at once. An admin may later
 * take a refused change after all ({@link applyRefused}), under the same rules.
 */
@Injectable()
export class PushService {
  constructor(
    private readonly store: MasterStore,
    private readonly config: AppConfig,
    private readonly log: SyncLogService,
    private readonly events: SyncEvents,
    private readonly refusals: RefusalLog,
    private readonly domainEvents: DomainEvents,
    private readonly clocks: WorkstationClocks,
    private readonly writer: RowWriter,
    private readonly giveBacks: GiveBackService,
    private readonly sync: SyncService,
    private readonly schema: SchemaService,
  ) {}

  /**
   * A push; the answer comes back as the JSON text that is also kept for replays (serialised once).
   * `receivedAt` is when the request arrived (before its body was read): the workstation's clock is
   * measured against it.
   */
  push(parsed: ParsedPush, who: Principal, rawBody?: Buffer, receivedAt: number = Date.now()): { response: PushResponse; json: string } {
    const req = parsed.request;
    const syncId = req.syncId;
    const started = Date.now();
    this.schema.inForce();
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
    // A change ahead of the master's schema (a newer app) waits on its workstation for a migration, not
    // for an admin's decision on the change: noted for the alert that names it, not listed as refused.
    const ahead = records.map((r) => r.code === 'SCHEMA_AHEAD');
    for (const [i, r] of records.entries()) if (ahead[i]) this.schema.noteAhead(req.clientId, who.username, r.table, r.column);
    const recorded = this.refusals.record(
      who.username,
      req.clientId,
      records.filter((_, i) => !ahead[i]),
    );
    let next = 0;
    const ids = records.map((_, i) => (ahead[i] ? null : recorded[next++]));
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
      throw this.sync.reinitialize(
        'generation',
        `This workstation holds generation ${req.generation} but the master is now generation ${generation} (it was restored); re-initialise: push what the master lacks, then pull everything.`,
        req.generation,
      );
    }
    // The bytes as sent: a retry of the same batch sends the same bytes.
    const hash = createHash('sha256')
      .update(rawBody ?? JSON.stringify(req))
      .digest('hex');
    const previous = this.writer.rows.findBatch(req.clientId, req.batchId);
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
    if (req.cursor !== undefined && req.cursor < Number(this.writer.state('purged_seq'))) {
      throw this.sync.reinitialize(
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
    const { prepared, refused } = prepareChanges(parsed, now, corrected ? skewMs : 0);
    if (refused.length > 0) throw new RefusedBatch(refused);

    const synced = sqlTime(now);
    return this.writer.sequenced((): { response: PushResponse; json: string } => {
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
        lastSeq: this.writer.currentSeq,
        conflicts,
        clockSkewMs: skewMs,
        clockCorrected: corrected,
        schemaVersion: this.schema.version,
        // Last: a replay's answer is the kept text with this one flag turned.
        replayed: false,
      };
      const json = JSON.stringify(response);
      this.writer.rows.saveBatch({
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
    const row = this.writer.getRow(table, change.id);
    if (change.restore === true) return this.giveBacks.giveBack(p, row, req, who, now, synced);

    if (!row) {
      if (change.op === 'delete') {
        // After a restore, a row a workstation deletes may be one the restore lost: remembered, so
        // that another workstation's give-back of it does not bring it back.
        if (this.writer.restorePoint.seq > 0) {
          this.writer.rows.markGone(table, change.id, this.writer.nextSeq(), p.time, who.username);
        }
        return { table, id: change.id, outcome: 'unchanged', version: 0, deleted: true, row: null };
      }
      if (change.baseVersion > 0) {
        // The workstation had this row from the master, which no longer has it: deleted elsewhere and
        // purged since. Never a silent undelete: the edit is kept as a conflict's losing version.
        const conflictId = this.writer.recordConflict(p, req, who, now, {
          kind: 'update-vs-delete',
          columns: p.changed,
          winner: 'server',
          serverRow: null,
          clientValues: p.values,
        });
        return { table, id: change.id, outcome: 'conflict_lost', version: 0, deleted: true, row: null, conflictId };
      }
      this.assertInsertable(p);
      const seq = this.writer.insertNew(p, who, synced);
      // Only a restore's aftermath leaves ids in sync_gone: a row made anew under one takes it out.
      if (this.writer.restorePoint.seq > 0) this.writer.rows.forgetGone(table, change.id);
      return appliedResult(p, seq);
    }

    const meta = this.writer.getMeta(table, change.id);
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
        return rowResult(table, row, 'unchanged');
      case 'delete': {
        const seq = this.writer.nextSeq();
        this.writer.markDeleted(row, table, change.id, p.time, who.username, synced, seq);
        return { table, id: change.id, outcome: 'applied', version: seq, deleted: true };
      }
      case 'apply': {
        if (decision.recreate) this.assertInsertable(p);
        const seq = this.writer.nextSeq();
        this.writer.updateRow(spec, row, meta, decision.columns, p.values, p.time, who.username, synced, seq, 0);
        return appliedResult(p, seq);
      }
      case 'edit-of-deleted': {
        // A stale edit of a deleted row: kept as a conflict, never a silent undelete.
        const conflictId = this.writer.recordConflict(p, req, who, now, {
          kind: 'update-vs-delete',
          columns: p.changed,
          winner: 'server',
          serverRow: row,
          clientValues: p.values,
        });
        return { ...rowResult(table, row, 'conflict_lost'), conflictId };
      }
      case 'delete-vs-update': {
        const conflictId = this.writer.recordConflict(p, req, who, now, {
          kind: 'delete-vs-update',
          columns: [],
          winner: decision.clientWins ? 'client' : 'server',
          serverRow: row,
          clientValues: null,
        });
        if (!decision.clientWins) return { ...rowResult(table, row, 'conflict_lost'), conflictId };
        const seq = this.writer.nextSeq();
        this.writer.markDeleted(row, table, change.id, p.time, who.username, synced, seq);
        return { ...rowResult(table, this.writer.getRow(table, change.id)!, 'conflict_won'), conflictId };
      }
    }
    const { apply, clientWon, serverWon } = decision;
    let conflictId: number | undefined;
    const overlapped = [...clientWon, ...serverWon];
    if (overlapped.length > 0) {
      conflictId = this.writer.recordConflict(p, req, who, now, {
        kind: 'update',
        columns: overlapped,
        winner: serverWon.length === 0 ? 'client' : 'server',
        serverRow: row,
        clientValues: p.values,
      });
    }
    let current = row;
    if (apply.length > 0) {
      const seq = this.writer.nextSeq();
      this.writer.updateRow(spec, row, meta, apply, p.values, p.time, who.username, synced, seq, 0);
      current = this.writer.getRow(table, change.id)!;
    }
    const outcome =
      conflictId !== undefined ? (serverWon.length === 0 ? 'conflict_won' : 'conflict_lost') : apply.length > 0 ? 'merged' : 'unchanged';
    return { ...rowResult(table, current, outcome), ...(conflictId !== undefined ? { conflictId } : {}) };
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
    const p = prepareChange(plain, 'change', time, override);
    const req = { clientId, batchId: `admin-${randomUUID()}` } as PushRequest;
    const who = { username: user } as Principal;
    const out = this.writer.sequenced(() => {
      try {
        return { result: this.applyChange(p, req, who, now, sqlTime(now)), lastSeq: this.writer.currentSeq };
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
}
