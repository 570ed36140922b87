import { Injectable, Optional } from '@nestjs/common';
import { OpsEvents } from '../operations/ops-events';
import { MasterStore, sqlTime, tableColumns, type SyncedTableDef } from '@cacpq/db';
import { MASTER_INDEXES_V1, MASTER_TABLES_V1 } from '@cacpq/db';
import {
  PROTOCOL_VERSION,
  SYNC_LIMITS,
  type PullQuery,
  type PullResponse,
  type PulledChange,
  type PushChange,
  type PushRequest,
  type PushResponse,
  type PushResult,
  type ReinitializeDetails,
  type SyncInfoResponse,
} from '@cacpq/sync-protocol';
import type Database from 'better-sqlite3';
import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApiException } from '../common/api-exception';
import type { Principal } from '../common/request-context';
import { AppConfig } from '../config/app-config';
import { SettingsService } from '../settings/settings.service';
import { TABLE_SPECS, parseClientTime, tableSpec, toStored, type StoredRow, type StoredValue, type TableSpec } from './row-values';
import { SyncEvents } from './sync-events';
import { SyncLogService } from './sync-log.service';
import { WorkstationClocks } from '../alerts/workstation-clocks';

interface RowMeta {
  base_seq: number;
  base_time: string;
  field_seqs: Record<string, number>;
  field_times: Record<string, string>;
}

interface PreparedChange {
  change: PushChange;
  spec: TableSpec;
  where: string;
  values: Record<string, StoredValue>;
  changed: string[];
  /** Each changed column's value before the workstation's edit, when it sent them. */
  base: Record<string, StoredValue> | null;
  time: string;
}

interface ConflictRecord {
  kind: 'update' | 'delete-vs-update' | 'update-vs-delete';
  columns: string[];
  winner: 'server' | 'client';
  serverRow: StoredRow;
  clientValues: Record<string, StoredValue> | null;
}

/**
 * The sync engine: push (all or nothing, idempotent, field-level last-write-wins with both
 * versions of every conflict kept) and pull (pages after a cursor up to a bound fixed at the
 * start). Runs on the raw better-sqlite3 handle of the master with cached statements: one
 * connection, synchronous transactions, so no two pushes interleave.
 */
@Injectable()
export class SyncService {
  private readonly stmts = new Map<string, Database.Statement>();
  private handle: Database.Database | null = null;

  constructor(
    private readonly store: MasterStore,
    private readonly config: AppConfig,
    private readonly settings: SettingsService,
    private readonly log: SyncLogService,
    private readonly events: SyncEvents,
    @Optional() private readonly ops?: OpsEvents,
    @Optional() private readonly clocks?: WorkstationClocks,
  ) {}

  /** The live server.db handle; a restore or VACUUM reopens the file, and statements are prepared again. */
  private get db(): Database.Database {
    const db = this.store.serverDb;
    if (db !== this.handle) {
      this.handle = db;
      this.stmts.clear();
      this.inserts.clear();
    }
    return db;
  }

  private stmt(sql: string): Database.Statement {
    const db = this.db;
    let s = this.stmts.get(sql);
    if (!s) {
      s = db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  private state(key: string): string {
    return (this.stmt('SELECT value FROM sync_state WHERE key = ?').get(key) as { value: string } | undefined)?.value ?? '0';
  }

  private setState(key: string, value: string): void {
    this.stmt('INSERT INTO sync_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
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
      tables: [...TABLE_SPECS.values()].map(({ def }) => tableInfo(def)),
    };
  }

  reinitialize(reason: ReinitializeDetails['reason'], message: string): ApiException {
    const details: ReinitializeDetails = {
      reason,
      generation: this.store.generation,
      lastSeq: this.lastSeq,
      restoredSeq: Number(this.state('restored_seq')),
    };
    return new ApiException('REINITIALIZE', message, details);
  }

  /** A push; the answer comes back as the JSON text that is also kept for replays (serialised once). */
  push(req: PushRequest, who: Principal, rawBody?: Buffer): { response: PushResponse; json: string } {
    const syncId = req.syncId;
    const started = Date.now();
    try {
      // The sync_log row is written inside the push's own transaction: one commit, one fsync.
      const answer = this.pushInner(req, who, rawBody, (r) =>
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
      if (!response.replayed) this.clocks?.record(req.clientId, who.username, response.clockSkewMs);
      if (!response.replayed && response.results.some((r) => r.outcome !== 'unchanged' && r.outcome !== 'conflict_lost')) {
        this.events.changesAvailable(this.store.generation, response.lastSeq);
      }
      if (!response.replayed) {
        for (const r of response.results) {
          if (r.conflictId !== undefined) {
            this.ops?.conflictRecorded({ id: r.conflictId, table: r.table, rowId: r.id, user: who.username, clientId: req.clientId });
          }
        }
      }
      return answer;
    } catch (err) {
      this.log.recordError({ user: who.username, clientId: req.clientId, syncId, startedAt: started, error: err });
      throw err;
    }
  }

  private pushInner(
    req: PushRequest,
    who: Principal,
    rawBody: Buffer | undefined,
    beforeCommit: (r: PushResponse) => void,
  ): { response: PushResponse; json: string } {
    const generation = this.store.generation;
    if (req.generation !== generation) {
      throw this.reinitialize(
        'generation',
        `This workstation holds generation ${req.generation} but the master is now generation ${generation} (it was restored); re-initialise: push what the master lacks, then pull everything.`,
      );
    }
    // The bytes as sent: a retry of the same batch sends the same bytes.
    const hash = createHash('sha256')
      .update(rawBody ?? JSON.stringify(req))
      .digest('hex');
    const previous = this.stmt('SELECT request_hash, response, user FROM sync_batches WHERE client_id = ? AND batch_id = ?').get(
      req.clientId,
      req.batchId,
    ) as { request_hash: string; response: string; user: string } | undefined;
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

    const now = new Date();
    const clientNow = parseClientTime(req.clientTime);
    if (!clientNow) throw new ApiException('VALIDATION_FAILED', 'Invalid request body: clientTime must be a date-time.');
    const skewMs = clientNow.getTime() - now.getTime();
    const corrected = skewMs > this.config.clockSkewToleranceMs;
    const prepared = this.prepare(req, now, corrected ? skewMs : 0);

    const synced = sqlTime(now);
    return this.sequenced((): { response: PushResponse; json: string } => {
      let conflicts = 0;
      const results: PushResult[] = [];
      for (const p of prepared) {
        const result = this.applyChange(p, req, who, now, synced);
        if (result.conflictId !== undefined) conflicts++;
        results.push(result);
      }
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
      this.stmt('INSERT INTO sync_batches (client_id, batch_id, request_hash, response, user, created_at) VALUES (?, ?, ?, ?, ?, ?)').run(
        req.clientId,
        req.batchId,
        hash,
        json,
        who.username,
        sqlTime(now),
      );
      beforeCommit(response);
      return { response, json };
    });
  }

  /** Validates the whole batch before anything is written. */
  private prepare(req: PushRequest, now: Date, skewMs: number): PreparedChange[] {
    const seen = new Set<string>();
    // Workstation times repeat within a batch (one transaction, one millisecond): parsed once each.
    const times = new Map<string, string>();
    return req.changes.map((change, i) => {
      const where = `changes[${i}]`;
      const spec = tableSpec(change.table, where);
      const key = `${change.table}\u0000${change.id}`;
      if (seen.has(key))
        throw new ApiException(
          'DUPLICATE_ROW',
          `${where}: ${change.table} ${change.id} appears twice in this batch; send one change per row.`,
        );
      seen.add(key);
      let time = times.get(change.updatedAt);
      if (time === undefined) {
        const t = parseClientTime(change.updatedAt);
        if (!t) throw new ApiException('VALIDATION_FAILED', `${where}: updatedAt must be a date-time such as 2026-11-24T09:30:00Z.`);
        // A clock that runs ahead is corrected by the skew measured on this request, then
        // clamped to the server's now: a future time can never beat a later real edit.
        time = sqlTime(new Date(Math.min(t.getTime() - skewMs, now.getTime())));
        times.set(change.updatedAt, time);
      }
      const values: Record<string, StoredValue> = {};
      if (change.op === 'upsert') {
        if (!change.values) throw new ApiException('VALIDATION_FAILED', `${where}: an upsert needs values.`);
        for (const [column, value] of Object.entries(change.values)) values[column] = toStored(spec, column, value, where);
      } else if (change.values && Object.keys(change.values).length > 0) {
        throw new ApiException('VALIDATION_FAILED', `${where}: a delete carries no values.`);
      }
      const changed = change.op === 'upsert' ? (change.changed ?? Object.keys(values)) : [];
      for (const c of changed) {
        if (!Object.hasOwn(values, c))
          throw new ApiException('VALIDATION_FAILED', `${where}: changed names "${c}", which is not in values.`);
      }
      let base: Record<string, StoredValue> | null = null;
      if (change.base) {
        base = {};
        for (const [column, value] of Object.entries(change.base)) base[column] = toStored(spec, column, value, `${where}.base`);
      }
      return { change, spec, where, values, changed, base, time };
    });
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
    return this.stmt(`SELECT * FROM "${table}" WHERE id = ?`).get(id) as StoredRow | undefined;
  }

  private getMeta(table: string, id: string): RowMeta | null {
    const m = this.stmt('SELECT base_seq, base_time, field_seqs, field_times FROM sync_row_meta WHERE table_name = ? AND row_id = ?').get(
      table,
      id,
    ) as { base_seq: number; base_time: string; field_seqs: string; field_times: string } | undefined;
    if (!m) return null;
    return { base_seq: m.base_seq, base_time: m.base_time, field_seqs: JSON.parse(m.field_seqs), field_times: JSON.parse(m.field_times) };
  }

  private applyChange(p: PreparedChange, req: PushRequest, who: Principal, now: Date, synced: string): PushResult {
    const { change, spec } = p;
    const table = spec.name;
    const row = this.getRow(table, change.id);

    if (!row) {
      if (change.op === 'delete') return { table, id: change.id, outcome: 'unchanged', version: 0, deleted: true, row: null };
      const missing = spec.required.filter((c) => p.values[c] === undefined || p.values[c] === null);
      if (missing.length > 0) {
        throw new ApiException('VALIDATION_FAILED', `${p.where}: a new ${table} row needs ${missing.join(', ')}.`);
      }
      const seq = this.nextSeq();
      this.insertRow(spec, change.id, p.values, {
        updated_at: p.time,
        updated_by: who.username,
        synced_at: synced,
        server_seq: seq,
        deleted: 0,
      });
      return { table, id: change.id, outcome: 'applied', version: seq, deleted: false };
    }

    const meta = this.getMeta(table, change.id);
    const colSeq = (c: string) => meta?.field_seqs[c] ?? meta?.base_seq ?? (row.server_seq as number);
    const colTime = (c: string) => meta?.field_times[c] ?? meta?.base_time ?? (row.updated_at as string);
    const rowSeq = row.server_seq as number;
    const deleted = row.deleted === 1;
    const concurrent = change.restore === true || change.baseVersion < rowSeq;

    if (!concurrent) {
      if (change.op === 'delete') {
        if (deleted) return this.result(table, row, 'unchanged');
        const seq = this.nextSeq();
        this.markDeleted(table, change.id, p.time, who.username, synced, seq);
        return { table, id: change.id, outcome: 'applied', version: seq, deleted: true };
      }
      // Not concurrent: the workstation saw the latest version (a re-creation after a delete included),
      // and, when it says what each column held before its edit, the master still holds just that.
      const moved =
        !deleted && p.base !== null && p.changed.some((c) => p.base![c] !== undefined && p.base![c] !== row[c] && p.values[c] !== row[c]);
      if (!moved) {
        const seq = this.nextSeq();
        const columns = deleted ? Object.keys(p.values) : p.changed;
        this.updateRow(spec, row, meta, columns, p.values, p.time, who.username, synced, seq, 0);
        return { table, id: change.id, outcome: 'applied', version: seq, deleted: false };
      }
    }

    // The master moved on since the version the workstation saw.
    if (deleted && concurrent) {
      if (change.op === 'delete') return this.result(table, row, 'unchanged');
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
    if (change.op === 'delete') {
      const clientWins = p.time > (row.updated_at as string);
      const conflictId = this.recordConflict(p, req, who, now, {
        kind: 'delete-vs-update',
        columns: [],
        winner: clientWins ? 'client' : 'server',
        serverRow: row,
        clientValues: null,
      });
      if (!clientWins) return { ...this.result(table, row, 'conflict_lost'), conflictId };
      const seq = this.nextSeq();
      this.markDeleted(table, change.id, p.time, who.username, synced, seq);
      return { ...this.result(table, this.getRow(table, change.id)!, 'conflict_won'), conflictId };
    }

    // Field by field: a column only the workstation changed is taken; a column both changed
    // goes to the later edit; a column only the master changed stays.
    const apply: string[] = [];
    const clientWon: string[] = [];
    const serverWon: string[] = [];
    for (const c of p.changed) {
      const same = p.values[c] === row[c];
      if (same) continue;
      // Someone else changed this column since the workstation's edit was based: by its value when
      // the workstation sent the value it started from, else by the column's version.
      const base = p.base?.[c];
      const serverChanged = change.restore === true || (base !== undefined ? base !== row[c] : colSeq(c) > change.baseVersion);
      if (!serverChanged) {
        apply.push(c);
      } else if (p.time > colTime(c)) {
        apply.push(c);
        clientWon.push(c);
      } else {
        serverWon.push(c);
      }
    }
    let conflictId: number | undefined;
    const overlapped = [...clientWon, ...serverWon];
    // A restore push is the workstation giving back versions the master lost in a restore: newer
    // columns are taken, older ones dropped as stale copies. Never a conflict: its own unpushed
    // edits go up separately, as ordinary changes.
    if (overlapped.length > 0 && change.restore !== true) {
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

  private result(table: string, row: StoredRow, outcome: PushResult['outcome']): PushResult {
    return { table, id: row.id as string, outcome, version: row.server_seq as number, deleted: row.deleted === 1, row: { ...row } };
  }

  private readonly inserts = new Map<string, Database.Statement>();

  private insertRow(spec: TableSpec, id: string, values: Record<string, StoredValue>, sync: Record<string, StoredValue>): void {
    const db = this.db;
    const dataCols = Object.keys(values);
    const key = `${spec.name}\u0000${dataCols.join(',')}`;
    let st = this.inserts.get(key);
    if (!st) {
      const cols = ['id', ...dataCols, ...Object.keys(sync)];
      st = db.prepare(`INSERT INTO "${spec.name}" (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
      this.inserts.set(key, st);
    }
    st.run(id, ...Object.values(values), ...Object.values(sync));
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
  ): void {
    const rowTime = row.updated_at as string;
    const sets = [
      ...columns.map((c) => `"${c}" = ?`),
      'updated_at = ?',
      'updated_by = ?',
      'synced_at = ?',
      'server_seq = ?',
      'deleted = ?',
    ];
    this.stmt(`UPDATE "${spec.name}" SET ${sets.join(', ')} WHERE id = ?`).run(
      ...columns.map((c) => values[c]),
      time > rowTime ? time : rowTime,
      user,
      synced,
      seq,
      deleted,
      row.id,
    );
    const next: RowMeta = meta ?? { base_seq: row.server_seq as number, base_time: rowTime, field_seqs: {}, field_times: {} };
    for (const c of columns) {
      next.field_seqs[c] = seq;
      next.field_times[c] = time;
    }
    this.stmt(
      `INSERT INTO sync_row_meta (table_name, row_id, base_seq, base_time, field_seqs, field_times) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(table_name, row_id) DO UPDATE SET field_seqs = excluded.field_seqs, field_times = excluded.field_times`,
    ).run(spec.name, row.id, next.base_seq, next.base_time, JSON.stringify(next.field_seqs), JSON.stringify(next.field_times));
  }

  private markDeleted(table: string, id: string, time: string, user: string, synced: string, seq: number): void {
    this.stmt(
      `UPDATE "${table}" SET deleted = 1, updated_at = max(updated_at, ?), updated_by = ?, synced_at = ?, server_seq = ? WHERE id = ?`,
    ).run(time, user, synced, seq, id);
  }

  private recordConflict(p: PreparedChange, req: PushRequest, who: Principal, now: Date, c: ConflictRecord): number {
    const info = this.stmt(
      `INSERT INTO sync_conflicts (table_name, row_id, detected_at, kind, columns, winner, server_version, client_version,
         server_updated_by, server_updated_at, client_user, client_id, client_updated_at, batch_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      p.spec.name,
      p.change.id,
      sqlTime(now),
      c.kind,
      JSON.stringify(c.columns),
      c.winner,
      JSON.stringify(c.serverRow),
      c.clientValues ? JSON.stringify({ ...c.serverRow, ...c.clientValues, updated_at: p.time, updated_by: who.username }) : null,
      c.serverRow.updated_by,
      c.serverRow.updated_at,
      who.username,
      req.clientId,
      p.time,
      req.batchId,
    );
    return Number(info.lastInsertRowid);
  }

  pull(q: PullQuery, who: Principal): PullResponse {
    const started = Date.now();
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
      throw this.reinitialize(
        'generation',
        `This cursor belongs to generation ${q.generation} but the master is now generation ${generation} (it was restored); re-initialise: push what the master lacks, then pull everything.`,
      );
    }
    const last = this.lastSeq;
    const until = q.until ?? last;
    if (until > last) throw new ApiException('VALIDATION_FAILED', `Invalid query: until (${until}) is beyond the newest change (${last}).`);
    if (q.cursor > until) throw new ApiException('VALIDATION_FAILED', `Invalid query: cursor (${q.cursor}) is after until (${until}).`);
    const purged = Number(this.state('purged_seq'));
    if (q.cursor < purged) {
      throw this.reinitialize(
        'cursor-expired',
        `This workstation has not synced since before deletions older than ${this.config.tombstoneRetentionDays} days were purged; re-initialise: push what you hold, then pull everything.`,
      );
    }
    const run = this.db.transaction(() => {
      const rows: PulledChange[] = [];
      let full = false;
      for (const spec of TABLE_SPECS.values()) {
        // The protocol's columns only: an adopted legacy table may hold extra columns of the old app.
        const cols = tableColumns(spec.def)
          .map((c) => `"${c.name}"`)
          .join(', ');
        const found = this.stmt(
          `SELECT ${cols} FROM "${spec.name}" WHERE server_seq > ? AND server_seq <= ? ORDER BY server_seq LIMIT ?`,
        ).all(q.cursor, until, q.limit) as StoredRow[];
        if (found.length === q.limit) full = true;
        for (const r of found) {
          rows.push({
            table: spec.name,
            id: r.id as string,
            seq: r.server_seq as number,
            deleted: r.deleted === 1,
            values: r,
          });
        }
      }
      rows.sort((a, b) => a.seq - b.seq);
      const page = rows.slice(0, q.limit);
      const hasMore = rows.length > q.limit || full;
      const cursor = hasMore ? (page.length > 0 ? page[page.length - 1].seq : q.cursor) : until;
      return { generation, changes: page, cursor, until, hasMore };
    });
    return run.deferred();
  }

  /**
   * A consistent copy of every synced table (live rows only) as an SQLite file, for a new
   * workstation's first sync: one file instead of row-by-row pages. Written through ATTACH on the
   * owning connection inside one read transaction, so it matches `lastSeq` exactly.
   */
  snapshot(dir: string): { file: string; lastSeq: number; generation: string; rows: number } {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `snapshot-${randomUUID()}.db`);
    this.db.prepare('ATTACH DATABASE ? AS snap').run(file);
    try {
      return this.db.transaction(() => {
        let rows = 0;
        for (const spec of TABLE_SPECS.values()) {
          this.db.exec(MASTER_TABLES_V1[spec.name].replace(`CREATE TABLE "${spec.name}"`, `CREATE TABLE snap."${spec.name}"`));
          // By name: an adopted legacy table may hold extra columns of the old app, kept in the master only.
          const cols = tableColumns(spec.def)
            .map((c) => `"${c.name}"`)
            .join(', ');
          rows += this.db
            .prepare(`INSERT INTO snap."${spec.name}" (${cols}) SELECT ${cols} FROM main."${spec.name}" WHERE deleted = 0`)
            .run().changes;
        }
        const lastSeq = this.lastSeq;
        const generation = this.store.generation;
        this.db.exec('CREATE TABLE snap.snapshot_info (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
        this.db
          .prepare('INSERT INTO snap.snapshot_info (key, value) VALUES (?, ?), (?, ?)')
          .run('last_seq', String(lastSeq), 'generation', generation);
        return { file, lastSeq, generation, rows };
      })();
    } catch (err) {
      fs.rmSync(file, { force: true });
      throw err;
    } finally {
      this.db.exec('DETACH DATABASE snap');
    }
  }

  /** Deletes tombstones and push replay records older than the retention period; a cursor from before them must re-initialise. */
  purgeTombstones(now: Date = new Date()): number {
    const cutoff = sqlTime(new Date(now.getTime() - this.config.tombstoneRetentionDays * 86400_000));
    const run = this.db.transaction(() => {
      let removed = 0;
      let maxSeq = Number(this.state('purged_seq'));
      for (const spec of TABLE_SPECS.values()) {
        const top = this.stmt(`SELECT MAX(server_seq) AS m, COUNT(*) AS n FROM "${spec.name}" WHERE deleted = 1 AND synced_at < ?`).get(
          cutoff,
        ) as {
          m: number | null;
          n: number;
        };
        if (!top.n) continue;
        this.stmt(
          `DELETE FROM sync_row_meta WHERE table_name = ? AND row_id IN (SELECT id FROM "${spec.name}" WHERE deleted = 1 AND synced_at < ?)`,
        ).run(spec.name, cutoff);
        this.stmt(`DELETE FROM "${spec.name}" WHERE deleted = 1 AND synced_at < ?`).run(cutoff);
        removed += top.n;
        maxSeq = Math.max(maxSeq, top.m ?? 0);
      }
      this.setState('purged_seq', String(maxSeq));
      // The first answers kept for replays go with them, so the table does not grow forever: a batch
      // resent after that long is judged afresh (its values are there already; where the row moved on
      // since, its older edit loses as a recorded conflict).
      this.stmt('DELETE FROM sync_batches WHERE created_at < ?').run(cutoff);
      return removed;
    });
    return run.immediate();
  }

  /** Applies an admin's decision on a row as an ordinary change, so it syncs to everyone. */
  applyResolution(table: string, id: string, values: Record<string, StoredValue>, undelete: boolean, who: Principal): number | null {
    const spec = tableSpec(table, 'resolution');
    const row = this.getRow(table, id);
    if (!row) throw new ApiException('NOT_FOUND', `The row ${table} ${id} no longer exists in the master.`);
    const columns = Object.keys(values).filter((c) => values[c] !== row[c]);
    if (columns.length === 0 && !(undelete && row.deleted === 1)) return null;
    const now = new Date();
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
      this.markDeleted(table, id, now, who.username, now, seq);
      return seq;
    }
    if (!row) {
      const seq = this.nextSeq();
      this.insertRow(spec, id, values, { updated_at: now, updated_by: who.username, synced_at: now, server_seq: seq, deleted: 0 });
      return seq;
    }
    const columns = Object.keys(values).filter((c) => values[c] !== row[c]);
    if (columns.length === 0 && row.deleted === 0) return null;
    const seq = this.nextSeq();
    this.updateRow(spec, row, this.getMeta(table, id), columns, values, now, who.username, now, seq, 0);
    return seq;
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
