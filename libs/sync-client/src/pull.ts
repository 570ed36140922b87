import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { SYNC_LIMITS, SnapshotMetaAnswer } from '@cacpq/sync-protocol';
import type { LocalStore } from './local-store';
import { quoteIdent as q } from './local-schema';
import { checkAnswer, type Remote } from './remote';
import type { SyncEvents, SyncSummary } from './types';

/** The download: the master's changes page by page, or the whole master as a snapshot. */
export class Puller {
  constructor(
    private readonly store: LocalStore,
    private readonly remote: Remote,
    private readonly events: SyncEvents,
    /** The workstation file (the snapshot is written beside it before it is read in). */
    private readonly file: string,
  ) {}

  /**
   * Downloads changes page by page up to the bound the server fixed on the first page. The next
   * page is asked for while this one is written; the cursor moves in the same transaction as the
   * rows it covers, so an interrupted pull resumes exactly where it stopped.
   */
  async pullChanges(syncId: string, summary: SyncSummary): Promise<void> {
    const fetchPage = (cursor: number, until: number | undefined) => {
      const page = this.remote.pull({
        generation: this.store.getState('generation')!,
        clientId: this.store.getState('client_id')!,
        cursor: String(cursor),
        limit: String(SYNC_LIMITS.maxPullPage),
        syncId,
        ...(until !== undefined ? { until: String(until) } : {}),
      });
      page.catch(() => undefined); // awaited in order below
      return page;
    };
    let next = fetchPage(Number(this.store.getState('cursor') ?? 0), undefined);
    for (;;) {
      const page = await next;
      if (page.hasMore) next = fetchPage(page.cursor, page.until);
      this.store.applying(() => {
        // Asked once per page: with nothing pending and no tombstones, rows are written straight.
        const quick = this.store.quickApplyFlags();
        for (const change of page.changes) {
          // A table this app does not sync yet (the master is newer and this file was not brought up to date): skipped.
          const table = this.store.findTable(change.table);
          if (table) this.store.applyRow(table, change.values, change.seq, change.deleted, 0, quick);
        }
        this.store.setState('cursor', String(page.cursor));
      });
      summary.pulled += page.changes.length;
      this.events.emit('progress', { phase: 'pull', done: summary.pulled });
      if (!page.hasMore) return;
    }
  }

  /** Replaces the local copy with a server snapshot, keeping rows that have local changes (pending or held back). */
  async loadSnapshot(): Promise<number> {
    this.events.emit('progress', { phase: 'snapshot', done: 0 });
    // Its own sync id: a snapshot fetched again after a cut answer is logged as one sync.
    const { data, headers } = await this.remote.snapshot({ clientId: this.store.getState('client_id')!, syncId: randomUUID() });
    const tmp = `${this.file}.snapshot-${process.pid}`;
    fs.writeFileSync(tmp, data);
    let rows = 0;
    this.store.stmt('ATTACH DATABASE ? AS snap').run(tmp);
    try {
      this.store.applying(() => {
        for (const table of this.store.tables) {
          // The master's columns as the snapshot has them: a column only this file has (a newer app's,
          // or one the master does not sync) is not in it, and keeps its values on the rows that stay.
          const inSnapshot = new Set(
            (this.store.db.prepare(`SELECT name FROM snap.pragma_table_info(?)`).all(table.name) as { name: string }[]).map((r) => r.name),
          );
          if (inSnapshot.size === 0) continue;
          const names = table.columns.map((c) => c.name).filter((c) => inSnapshot.has(c));
          const cols = names.map(q).join(', ');
          const t = `'${table.name.replace(/'/g, "''")}'`;
          const pendingRows = `(SELECT row_id FROM _sync_outbox WHERE table_name = ${t} UNION SELECT row_id FROM _sync_held WHERE table_name = ${t})`;
          this.store.db.exec(
            `DELETE FROM ${q(table.name)} WHERE id NOT IN ${pendingRows} AND id NOT IN (SELECT id FROM snap.${q(table.name)})`,
          );
          const assign = names.filter((c) => c !== 'id').map((c) => `${q(c)} = excluded.${q(c)}`);
          rows += this.store.db
            .prepare(
              `INSERT INTO ${q(table.name)} (${cols}) SELECT ${cols} FROM snap.${q(table.name)} WHERE id NOT IN ${pendingRows} ON CONFLICT(id) DO ${assign.length > 0 ? `UPDATE SET ${assign.join(', ')}` : 'NOTHING'}`,
            )
            .run().changes;
        }
        this.store.db.exec('DELETE FROM _sync_tombstones');
        const info = Object.fromEntries(
          (this.store.stmt('SELECT key, value FROM snap.snapshot_info').all() as { key: string; value: string }[]).map((r) => [
            r.key,
            r.value,
          ]),
        );
        const meta = checkAnswer(
          SnapshotMetaAnswer,
          { generation: info.generation ?? headers.get('x-generation'), cursor: info.last_seq ?? headers.get('x-snapshot-seq') },
          'GET /api/v1/sync/snapshot',
        );
        this.store.setState('generation', meta.generation);
        this.store.setState('cursor', meta.cursor);
      });
    } finally {
      this.store.db.exec('DETACH DATABASE snap');
      fs.rmSync(tmp, { force: true });
    }
    this.events.emit('progress', { phase: 'snapshot', done: rows, total: rows });
    return rows;
  }
}
