import { randomUUID } from 'node:crypto';
import { PROTOCOL_VERSION, isPushRefusedDetails, type PushChange, type PushRequest, type ReinitializeDetails } from '@cacpq/sync-protocol';
import { SyncError } from './errors';
import type { LocalStore } from './local-store';
import { quoteIdent as q } from './local-schema';
import type { Puller } from './pull';
import type { Pusher } from './push';
import type { Remote } from './remote';
import type { OutboxEntry, SyncEvents, SyncSummary } from './types';
import { toIso } from './wire';

/**
 * Starting over under a new generation (the master was restored) or after being away too long:
 * what the restored master lacks is given back, local edits go up, then a fresh snapshot.
 */
export class Reinitializer {
  constructor(
    private readonly store: LocalStore,
    private readonly remote: Remote,
    private readonly pusher: Pusher,
    private readonly puller: Puller,
    private readonly events: SyncEvents,
    private readonly now: () => Date,
  ) {}

  async reinitDetails(): Promise<ReinitializeDetails> {
    // Ask the server why: a pull with our generation answers REINITIALIZE with the details.
    try {
      await this.remote.pull({
        generation: this.store.getState('generation') ?? '-',
        clientId: this.store.getState('client_id')!,
        cursor: '0',
        limit: '1',
      });
    } catch (err) {
      if (err instanceof SyncError && err.code === 'REINITIALIZE') return err.details as ReinitializeDetails;
      throw err;
    }
    throw new SyncError('PROTOCOL', 'The server changed generation but did not say how to re-initialise.');
  }

  /**
   * The master was restored (new generation) or this workstation was away too long. After a restore
   * it gives back what the restored master lacks: every row it synced after the backup, as it last
   * synced it (its own unsynced edits left out: they go up after, as ordinary changes), judged by the
   * server column by column against what the restore left, never by time alone. Then its own edits,
   * then a fresh snapshot.
   */
  async reinitialize(details: ReinitializeDetails, syncId: string, summary: SyncSummary): Promise<void> {
    this.events.emit('status', 'reinitializing');
    summary.reinitialized = true;
    this.store.stmt('DELETE FROM _sync_pending').run();
    const restoredSeq = details.reason === 'generation' ? details.restoredSeq : Number.MAX_SAFE_INTEGER;
    const changes: PushChange[] = [];
    for (const table of this.store.tables) {
      const cols = this.store.dataColumnNames(table);
      const rows = this.store
        .stmt(`SELECT id FROM ${q(table.name)} WHERE server_seq > ?`)
        .pluck()
        .all(restoredSeq) as string[];
      if (rows.length === 0) continue;
      const entries = [
        ...(this.store.stmt('SELECT * FROM _sync_outbox WHERE table_name = ?').all(table.name) as OutboxEntry[]),
        ...(this.store.stmt('SELECT * FROM _sync_held WHERE table_name = ?').all(table.name) as OutboxEntry[]),
      ];
      const created = new Set(entries.filter((e) => e.op === 'insert').map((e) => e.row_id));
      const bases = this.store.bases(entries.filter((e) => e.op === 'update'));
      const meta = this.store.stmt(`SELECT server_seq, updated_at FROM ${q(table.name)} WHERE id = ?`);
      for (const id of rows) {
        if (created.has(id)) continue;
        const row = this.store.readRow(table, id);
        if (!row) continue;
        // As this workstation last synced it: a column edited here since goes back as it was before that edit.
        const lastSynced = { ...row, ...(bases.get(`${table.name}\u0000${id}`) ?? {}) };
        const m = meta.get(id) as { server_seq: number; updated_at: string };
        changes.push({
          table: table.name,
          op: 'upsert',
          id,
          baseVersion: m.server_seq,
          updatedAt: toIso(m.updated_at ?? new Date().toISOString()),
          values: Object.fromEntries(cols.map((c) => [c, lastSynced[c] ?? null])),
          changed: cols,
          restore: true,
        });
      }
    }
    const gone = this.store.stmt('SELECT table_name, row_id, seq, deleted_at FROM _sync_tombstones WHERE seq > ?').all(restoredSeq) as {
      table_name: string;
      row_id: string;
      seq: number;
      deleted_at: string | null;
    }[];
    for (const t of gone)
      changes.push({
        table: t.table_name,
        op: 'delete',
        id: t.row_id,
        baseVersion: t.seq,
        updatedAt: toIso(t.deleted_at ?? new Date().toISOString()),
        restore: true,
      });
    // The file keeps the old generation until the new snapshot is in: a crash anywhere in between
    // means the next sync re-initialises again rather than pulling with a cursor of another generation.
    const from = this.store.getState('generation');
    this.pusher.generationOverride = details.generation;
    await this.giveBack(changes, details.generation, from, syncId, summary);
    // Local edits not yet pushed go up as ordinary changes, based on what the master now holds.
    // After a restore, versions above restoredSeq were lost; field decisions rest on the base values.
    // (Away too long, the versions still hold: an edit of a row deleted and purged since stays an
    // edit of that row, which the server keeps as a conflict, never a new row.)
    if (details.reason === 'generation') {
      this.store.applying(() => {
        this.store.stmt('UPDATE _sync_outbox SET base_version = min(base_version, ?)').run(details.restoredSeq);
        this.store.stmt('UPDATE _sync_held SET base_version = min(base_version, ?)').run(details.restoredSeq);
      });
    }
    await this.pusher.pushOutbox(syncId, summary, false);
    try {
      summary.pulled += await this.puller.loadSnapshot();
    } finally {
      this.pusher.generationOverride = null;
    }
  }

  /** Sends give-backs in batches the server takes (split when too large); one the server cannot take is left out (it recorded it). */
  private async giveBack(
    changes: PushChange[],
    generation: string,
    from: string | null,
    syncId: string,
    summary: SyncSummary,
  ): Promise<void> {
    let limit = this.pusher.batchLimit;
    let done = 0;
    for (let i = 0; i < changes.length;) {
      let slice = changes.slice(i, i + limit);
      const body: PushRequest = {
        protocolVersion: PROTOCOL_VERSION,
        clientId: this.store.getState('client_id')!,
        batchId: randomUUID(),
        generation,
        clientTime: this.now().toISOString(),
        syncId,
        ...(from && this.store.serverHas('give-back-lineage') ? { giveBackFrom: from } : {}),
        changes: slice,
      };
      const text = JSON.stringify(body);
      if (Buffer.byteLength(text) > this.store.maxBodyBytes && slice.length > 1) {
        limit = Math.max(1, Math.floor(slice.length / 2));
        continue;
      }
      try {
        const answer = await this.remote.push(text);
        summary.conflicts += answer.conflicts;
      } catch (err) {
        if (!(err instanceof SyncError) || (err.status !== 400 && err.status !== 413)) throw err;
        if (isPushRefusedDetails(err.details) && err.details.refused.length > 0) {
          // The master cannot take these (the server recorded each for the admins): the rest goes again.
          const refused = new Set(err.details.refused.map((r) => r.index));
          slice = slice.filter((_, k) => !refused.has(k));
          changes.splice(i, limit, ...slice);
          continue;
        }
        if (slice.length > 1) {
          limit = Math.max(1, Math.floor(slice.length / 2));
          continue;
        }
        // A single give-back too large to send: kept here (its row stays in the file), reported.
        await this.pusher.report(slice[0].table, slice[0].id, slice[0].op, err.message);
      }
      i += slice.length;
      done += slice.length;
      summary.pushed += slice.length;
      this.events.emit('progress', { phase: 'reinitialize', done, total: changes.length });
    }
  }
}
