import { randomUUID } from 'node:crypto';
import {
  PROTOCOL_VERSION,
  SYNC_LIMITS,
  isPushRefusedDetails,
  type PushChange,
  type PushRequest,
  type PushResponse,
  type RefusedChange,
} from '@cacpq/sync-protocol';
import { SyncError } from './errors';
import type { LocalStore } from './local-store';
import { quoteIdent as q } from './local-schema';
import type { Remote } from './remote';
import type { HeldChange, OutboxEntry, PendingBatch, SyncEvents, SyncSummary } from './types';

/** Held rows asked about per `GET /sync/refusals` (the server takes up to 1,000 ids). */
const REFUSALS_PER_QUERY = 500;
/** The longest reason a workstation reports for a change it held back (the server's limit). */
const REFUSAL_MESSAGE_MAX = 500;

/**
 * The upload: the outbox in batches, pipelined, each kept in the file before it is sent; what the
 * server refuses held back, what is too large split; the server's answers written back. Also what
 * became of the changes held back (an admin's decision).
 */
export class Pusher {
  /** During a re-initialisation: the generation pushes are made under, before the file takes it. */
  generationOverride: string | null = null;
  /** Outbox entries per push batch: halved when a batch is too large for the server, grown back slowly. */
  batchLimit: number = SYNC_LIMITS.sdkPushBatch;

  constructor(
    private readonly store: LocalStore,
    private readonly remote: Remote,
    private readonly events: SyncEvents,
    private readonly now: () => Date,
  ) {}

  /** Holds back changes the server refused (see {@link LocalStore.hold}) and tells the app. */
  private hold(items: Omit<HeldChange, 'heldAt'>[]): HeldChange[] {
    const held = this.store.hold(items);
    if (held.length > 0) this.events.emit('quarantined', held);
    return held;
  }

  /**
   * The next batch: the oldest outbox entries after `afterSeq`, in order. A row's later edits past
   * the cut go in a later batch, based on the version the server gives this one (the values sent
   * are always the row as it is now). The batch stops before any row of the batch still in flight,
   * so two batches on the wire never touch the same row.
   */
  private nextBatch(limit: number, afterSeq = 0, inFlight: ReadonlySet<string> = new Set()): PendingBatch | null {
    const all = this.store.stmt('SELECT * FROM _sync_outbox WHERE seq > ? ORDER BY seq LIMIT ?').all(afterSeq, limit) as OutboxEntry[];
    const blockedAt = all.findIndex((e) => inFlight.has(`${e.table_name}\u0000${e.row_id}`));
    const entries = blockedAt < 0 ? all : all.slice(0, blockedAt);
    if (entries.length === 0) return null;
    const groups = new Map<string, OutboxEntry[]>();
    for (const e of entries) {
      const key = `${e.table_name}\u0000${e.row_id}`;
      const g = groups.get(key);
      if (g) g.push(e);
      else groups.set(key, [e]);
    }
    const bases = this.store.bases(entries.filter((e) => e.op === 'update'));
    const changes: PushChange[] = [];
    const rows: PendingBatch['rows'] = [];
    for (const [key, group] of groups) {
      const first = group[0];
      const last = group[group.length - 1];
      const table = this.store.table(first.table_name);
      rows.push({ table: table.name, id: first.row_id, maxSeq: last.seq });
      const updatedAt = group.reduce((m, e) => (e.changed_at > m ? e.changed_at : m), first.changed_at);
      if (last.op === 'delete') {
        // Created and deleted before it ever reached the server: nothing to send.
        if (first.op === 'insert' && first.base_version === 0) continue;
        changes.push({ table: table.name, op: 'delete', id: first.row_id, baseVersion: first.base_version, updatedAt });
        continue;
      }
      const row = this.store.readRow(table, first.row_id);
      if (!row) continue;
      const cols = this.store.dataColumnNames(table);
      const everything = group.some((e) => e.op === 'insert' || e.op === 'delete');
      const changed = everything ? cols : [...new Set(group.flatMap((e) => e.changed.split(',').filter(Boolean)))];
      // What each changed column held before this workstation's first edit of it: the server
      // compares it with the master's value, so another's edit in between is always a conflict.
      const base = everything ? undefined : bases.get(key);
      changes.push({
        table: table.name,
        op: 'upsert',
        id: first.row_id,
        baseVersion: first.base_version,
        updatedAt,
        values: row,
        changed,
        ...(base && Object.keys(base).length > 0 ? { base } : {}),
      });
    }
    return {
      from: afterSeq,
      to: entries[entries.length - 1].seq,
      entries: entries.length,
      rows,
      body: {
        protocolVersion: PROTOCOL_VERSION,
        clientId: this.store.getState('client_id')!,
        batchId: randomUUID(),
        generation: this.generationOverride ?? this.store.getState('generation')!,
        clientTime: this.now().toISOString(),
        changes,
      },
    };
  }

  /**
   * Asks the server what became of the held rows: where an admin took, fixed or discarded the
   * change, the held entries go and the master's row is written here (columns edited since are kept).
   */
  async settleHeld(): Promise<void> {
    const held = this.store.stmt('SELECT table_name, row_id, refusal_id FROM _sync_quarantine WHERE refusal_id IS NOT NULL').all() as {
      table_name: string;
      row_id: string;
      refusal_id: number;
    }[];
    for (let i = 0; i < held.length; i += REFUSALS_PER_QUERY) {
      const chunk = held.slice(i, i + REFUSALS_PER_QUERY);
      const outcomes = await this.remote.refusalOutcomes({
        clientId: this.store.getState('client_id')!,
        ids: chunk.map((h) => h.refusal_id).join(','),
      });
      const decided = outcomes.filter((o) => o.status !== 'open');
      if (decided.length === 0) continue;
      this.store.applying(() => {
        for (const o of decided) {
          const h = chunk.find((x) => x.refusal_id === o.id);
          if (!h) continue;
          this.store.release(h.table_name, h.row_id, false);
          if (o.status === 'fixed' || !this.store.tables.some((t) => t.name === h.table_name)) continue;
          const table = this.store.table(h.table_name);
          if (o.row) this.store.applyRow(table, o.row, o.version ?? 0, o.deleted ?? false);
          else this.store.applyRow(table, { id: h.row_id }, 0, true);
        }
      });
    }
  }

  /**
   * Uploads the outbox. Batches whose answers never came (a crash, a cut connection) are resent
   * first, byte for byte, so the server replays them. Then the next batch is built and sent while
   * the previous one is still on the wire; answers are applied in order. A change the server refuses
   * for what it is is held back and the rest goes again at once; a batch too large for the server
   * is split, never held back.
   */
  async pushOutbox(syncId: string, summary: SyncSummary, withCursor: boolean): Promise<void> {
    this.store.releaseEdited();
    const account = (batch: PendingBatch, answer: PushResponse | null) => {
      this.applyPushAnswer(batch, answer);
      summary.pushed += batch.body.changes.length;
      summary.conflicts += answer?.conflicts ?? 0;
      summary.clockCorrected ||= answer?.clockCorrected ?? false;
      this.events.emit('progress', { phase: 'push', done: summary.pushed });
    };
    const send = (batch: PendingBatch, bodyText: string) =>
      batch.body.changes.length > 0 ? this.remote.push(bodyText) : Promise.resolve(null);
    /** Answers a batch's fate; false when it was refused (its refused rows held back, its pending record gone). */
    const settle = async (batch: PendingBatch, answer: Promise<PushResponse | null>): Promise<boolean> => {
      try {
        account(batch, await answer);
        return true;
      } catch (err) {
        if (!(await this.refused(batch, err, summary))) throw err;
        return false;
      }
    };

    const unanswered = this.store.stmt('SELECT batch_id, rows, body FROM _sync_pending ORDER BY seq').all() as {
      batch_id: string;
      rows: string;
      body: string;
    }[];
    for (const p of unanswered) {
      const kept = JSON.parse(p.rows) as PendingBatch['rows'] | Omit<PendingBatch, 'body'>;
      // Files of version 1 kept only the rows: their batch covered every entry up to its highest sequence.
      const batch: PendingBatch = Array.isArray(kept)
        ? {
            rows: kept,
            from: 0,
            to: Math.max(0, ...kept.map((r) => r.maxSeq)),
            entries: kept.length,
            body: JSON.parse(p.body) as PushRequest,
          }
        : { ...kept, body: JSON.parse(p.body) as PushRequest };
      await settle(batch, send(batch, p.body));
    }

    let inFlight: { batch: PendingBatch; answer: Promise<PushResponse | null> } | null = null;
    for (;;) {
      const rowsInFlight = new Set(inFlight ? inFlight.batch.rows.map((r) => `${r.table}\u0000${r.id}`) : []);
      const next = this.nextBatch(this.batchLimit, inFlight ? inFlight.batch.to : 0, rowsInFlight);
      if (!next) {
        if (!inFlight) return;
        // Nothing more can go until the batch on the wire is answered.
        await settle(inFlight.batch, inFlight.answer);
        inFlight = null;
        continue;
      }
      next.body.syncId = syncId;
      if (withCursor && this.store.serverHas('push-cursor')) next.body.cursor = Number(this.store.getState('cursor') ?? 0);
      const bodyText = JSON.stringify(next.body);
      if (Buffer.byteLength(bodyText) > this.store.maxBodyBytes) {
        if (next.entries > 1) {
          // Larger than the server takes: fewer entries per batch from here on.
          this.batchLimit = Math.max(1, Math.floor(next.entries / 2));
          continue;
        }
        // One change alone is larger than the server takes: held back, and reported so admins see it.
        await this.holdTooLarge(next, summary);
        continue;
      }
      // Kept in the file before sending: a retry after a lost answer resends the same bytes.
      this.store
        .stmt('INSERT INTO _sync_pending (batch_id, rows, body) VALUES (?, ?, ?)')
        .run(next.body.batchId, JSON.stringify({ from: next.from, to: next.to, entries: next.entries, rows: next.rows }), bodyText);
      const answer = send(next, bodyText);
      answer.catch(() => undefined); // awaited below, in order; this only keeps an early failure from going unhandled
      if (inFlight && !(await settle(inFlight.batch, inFlight.answer))) {
        // The batch before was refused in part: once this one is answered, its other rows go again.
        await settle(next, answer);
        inFlight = null;
        continue;
      }
      inFlight = { batch: next, answer };
      if (this.batchLimit < SYNC_LIMITS.sdkPushBatch && Buffer.byteLength(bodyText) < this.store.maxBodyBytes / 4)
        this.batchLimit = Math.min(SYNC_LIMITS.sdkPushBatch, this.batchLimit * 2);
    }
  }

  /**
   * A batch the server answered 4xx for what it holds: the refused changes it lists are held back;
   * without such a list (a 413, or an older server), a batch of several rows is split and a single
   * row is held back with the server's reason. Returns false when the error is not of that kind.
   */
  private async refused(batch: PendingBatch, err: unknown, summary: SyncSummary): Promise<boolean> {
    if (!(err instanceof SyncError) || err.status === null) return false;
    const listed = isPushRefusedDetails(err.details) && err.details.refused.length > 0;
    const refusable = err.status === 400 || err.status === 413 || err.status === 422 || (err.status === 409 && listed);
    if (!refusable) return false;
    this.store.stmt('DELETE FROM _sync_pending WHERE batch_id = ?').run(batch.body.batchId);
    if (isPushRefusedDetails(err.details) && err.details.refused.length > 0) {
      const items = err.details.refused
        .map((r: RefusedChange) => {
          const c = batch.body.changes[r.index];
          if (!c) return null;
          return { table: c.table, id: c.id, op: c.op, column: r.column, code: r.code, message: r.message, refusalId: r.refusalId };
        })
        .filter((x): x is NonNullable<typeof x> => x !== null);
      summary.newlyHeld += this.hold(items).length;
      return true;
    }
    if (batch.entries > 1) {
      this.batchLimit = Math.max(1, Math.floor(batch.entries / 2));
      return true;
    }
    const c = batch.body.changes[0];
    if (!c) return false;
    const items = [
      { table: c.table, id: c.id, op: c.op, column: null, code: err.code, message: err.message, refusalId: null as number | null },
    ];
    if (err.status === 413) items[0].refusalId = await this.report(c.table, c.id, c.op, err.message);
    summary.newlyHeld += this.hold(items).length;
    return true;
  }

  private async holdTooLarge(batch: PendingBatch, summary: SyncSummary): Promise<void> {
    const c = batch.body.changes[0];
    const bytes = Buffer.byteLength(JSON.stringify(c));
    const message = `The row is ${bytes} bytes as JSON, more than the ${this.store.getState('max_body_bytes')} bytes the server accepts in one request; make it smaller (its longest texts) to sync it.`;
    const refusalId = await this.report(c.table, c.id, c.op, message);
    summary.newlyHeld += this.hold([
      { table: c.table, id: c.id, op: c.op, column: null, code: 'PAYLOAD_TOO_LARGE', message, refusalId },
    ]).length;
  }

  /** Tells the server about a change held back that it never saw (too large to send), for its Refused changes page. */
  async report(table: string, id: string, op: 'upsert' | 'delete', message: string): Promise<number | null> {
    try {
      const r = await this.remote.reportRefusals({
        clientId: this.store.getState('client_id'),
        refused: [{ table, id, op, code: 'PAYLOAD_TOO_LARGE', message: message.slice(0, REFUSAL_MESSAGE_MAX) }],
      });
      return r.ids[0] ?? null;
    } catch {
      return null;
    }
  }

  private applyPushAnswer(batch: PendingBatch, answer: PushResponse | null): void {
    const maxSeqOf = new Map(batch.rows.map((r) => [`${r.table}\u0000${r.id}`, r.maxSeq]));
    const rebase = this.store.stmt('UPDATE _sync_outbox SET base_version = ? WHERE table_name = ? AND row_id = ? AND seq > ?');
    this.store.applying(() => {
      for (const r of answer?.results ?? []) {
        const maxSeq = maxSeqOf.get(`${r.table}\u0000${r.id}`) ?? 0;
        let taken = true;
        if (r.row || r.deleted) taken = this.store.applyRow(this.store.table(r.table), r.row ?? { id: r.id }, r.version, r.deleted, maxSeq);
        else this.store.stmt(`UPDATE ${q(r.table)} SET server_seq = ? WHERE id = ?`).run(r.version, r.id);
        if (r.stored && !r.row) this.store.writeStored(r.table, r.id, r.stored, maxSeq);
        // Edits made while this batch was in flight now build on the version the server gave it, but
        // only where this workstation took that version: a row it deleted meanwhile never saw what
        // others changed in it, and its delete must meet those changes as a conflict.
        if (taken) rebase.run(r.version, r.table, r.id, maxSeq);
      }
      // The batch holds every entry in its range, so one range delete clears it.
      this.store.stmt('DELETE FROM _sync_outbox_base WHERE seq > ? AND seq <= ?').run(batch.from, batch.to);
      this.store.stmt('DELETE FROM _sync_outbox WHERE seq > ? AND seq <= ?').run(batch.from, batch.to);
      this.store.stmt('DELETE FROM _sync_pending WHERE batch_id = ?').run(batch.body.batchId);
    });
  }
}
