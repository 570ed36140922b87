import { MasterStore } from '@cacpq/db';
import type { PushRequest, PushResult } from '@cacpq/sync-protocol';
import { Injectable } from '@nestjs/common';
import type { Principal } from '../common/request-context';
import { judgeGiveBack, type GivenRelation } from './give-back';
import type { PreparedChange } from './prepare-change';
import { sameValue, type StoredRow } from './row-values';
import { RowWriter, rowResult } from './row-writer';

/** Give-backs after a restore: the versions a workstation holds that the restored master lost. */
@Injectable()
export class GiveBackService {
  constructor(
    private readonly store: MasterStore,
    private readonly writer: RowWriter,
  ) {}

  /**
   * A version the restored master lost, given back by a workstation that synced it before the
   * restore (see {@link judgeGiveBack}): what the master lacks goes back; what someone changed since
   * the restore stays, with the lost value recorded as a conflict; older copies are skipped.
   */
  giveBack(p: PreparedChange, row: StoredRow | undefined, req: PushRequest, who: Principal, now: Date, synced: string): PushResult {
    const { change, spec } = p;
    const table = spec.name;
    const lost = change.baseVersion;
    const { seq: restoredSeq, floor } = this.writer.restorePoint;
    // The last change the giving workstation's history shares with the master's: the last restore's
    // point, or an earlier one when the workstation has been away through several restores.
    const shared = req.giveBackFrom !== undefined ? Math.min(this.writer.sharedHistory(req.giveBackFrom), restoredSeq) : restoredSeq;
    /** The row as the shared history left it: what a lost version is compared with. */
    const restoredRow = (): StoredRow | undefined => {
      if (row && (row.server_seq as number) <= shared) return row;
      // The base kept at the first change since the last restore is the row at that restore's point only.
      if (shared !== restoredSeq) return undefined;
      return this.writer.rows.restoreBase(table, change.id) as StoredRow | undefined;
    };

    if (!row) {
      if (change.op === 'delete') return { table, id: change.id, outcome: 'unchanged', version: 0, deleted: true, row: null };
      const gone = this.writer.rows.goneSeq(table, change.id);
      if (gone !== undefined && gone > floor) {
        // Deleted on a workstation since the restore, while the master did not have it yet: the delete stands.
        const conflictId = this.writer.recordConflict(p, req, who, now, {
          kind: 'update-vs-delete',
          columns: Object.keys(p.values),
          winner: 'server',
          serverRow: null,
          clientValues: p.values,
        });
        return { table, id: change.id, outcome: 'conflict_lost', version: 0, deleted: true, row: null, conflictId };
      }
      const seq = this.writer.insertNew(p, who, synced);
      this.writer.writeMeta(table, change.id, {
        base_seq: seq,
        base_time: p.time,
        field_seqs: {},
        field_times: {},
        field_given: Object.fromEntries(Object.keys(p.values).map((c) => [c, lost])),
      });
      return { table, id: change.id, outcome: 'applied', version: seq, deleted: false };
    }

    const meta = this.writer.getMeta(table, change.id);
    const colSeq = (c: string) => meta?.field_seqs[c] ?? meta?.base_seq ?? (row.server_seq as number);
    const rowSeq = row.server_seq as number;
    const restored = restoredRow();
    /** Someone other than a give-back wrote the row since the histories parted. */
    const editedSince = spec.dataColumns.some((c) => colSeq(c.name) > shared && meta?.field_given[c.name] === undefined);

    if (change.op === 'delete') {
      if (row.deleted === 1) return rowResult(table, row, 'unchanged');
      if (editedSince) {
        const conflictId = this.writer.recordConflict(p, req, who, now, {
          kind: 'delete-vs-update',
          columns: [],
          winner: 'server',
          serverRow: row,
          clientValues: null,
        });
        return { ...rowResult(table, row, 'conflict_lost'), conflictId };
      }
      const seq = this.writer.nextSeq();
      this.writer.markDeleted(row, table, change.id, p.time, who.username, synced, seq);
      return { table, id: change.id, outcome: 'applied', version: seq, deleted: true };
    }

    const lostDiffers = Object.keys(p.values).some((c) => restored === undefined || !sameValue(p.values[c], restored[c]));
    if (row.deleted === 1) {
      if (rowSeq <= shared && restored?.deleted === 1) {
        // Deleted in the restored master, alive in the lost history (an undelete): it comes back as it was.
        const seq = this.writer.nextSeq();
        this.writer.updateRow(spec, row, meta, Object.keys(p.values), p.values, p.time, who.username, synced, seq, 0, lost);
        return rowResult(table, this.writer.getRow(table, change.id)!, 'applied');
      }
      if (!lostDiffers) return rowResult(table, row, 'unchanged');
      const conflictId = this.writer.recordConflict(p, req, who, now, {
        kind: 'update-vs-delete',
        columns: Object.keys(p.values),
        winner: 'server',
        serverRow: row,
        clientValues: p.values,
      });
      return { ...rowResult(table, row, 'conflict_lost'), conflictId };
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
      conflictId = this.writer.recordConflict(p, req, who, now, {
        kind: 'update',
        columns: [...clientWon, ...serverWon],
        winner: serverWon.length > 0 ? 'server' : 'client',
        serverRow: row,
        clientValues: p.values,
      });
    }
    let current = row;
    if (apply.length > 0) {
      const seq = this.writer.nextSeq();
      this.writer.updateRow(spec, row, meta, apply, p.values, p.time, who.username, synced, seq, 0, lost);
      current = this.writer.getRow(table, change.id)!;
    }
    const outcome =
      conflictId !== undefined ? (serverWon.length > 0 ? 'conflict_lost' : 'conflict_won') : apply.length > 0 ? 'merged' : 'unchanged';
    return { ...rowResult(table, current, outcome), ...(conflictId !== undefined ? { conflictId } : {}) };
  }
}
