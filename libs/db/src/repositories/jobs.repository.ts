import type Database from 'better-sqlite3';
import type { JobStatus, JobType, JobView, JobsQuery } from '@cacpq/sync-protocol';
import { prepared } from '../statements';

/** What a finished job writes to its row. */
export type JobOutcome = Pick<JobView, 'status' | 'finishedAt' | 'durationMs' | 'progress' | 'phase' | 'result' | 'error'>;

/** The last finished run of one type, as health and alerts judge it. */
export interface FinishedJob {
  id: number;
  finishedAt: string;
  status: JobStatus;
  error: string | null;
}

/** hub.db's `jobs`: one row per run of a backup, restore or maintenance job. */
export interface JobsRepository {
  /** Queues a job; returns its id. */
  insert(type: JobType, params: Record<string, unknown>, who: { trigger: JobView['trigger']; requestedBy: string }, at: string): number;
  /** Every queued or running job marked interrupted (a stop cut them off); returns them. */
  interruptUnfinished(at: string, error: string): { id: number; type: JobType }[];
  /** Jobs of a type still queued or running, or interrupted with `error`: what a stop cut off. */
  cutOff(type: JobType, error: string): { id: number; result: Record<string, unknown> | null }[];
  /** Marks a job interrupted, keeping its finish time if it has one. */
  markInterrupted(id: number, at: string, error: string): void;
  markRunning(id: number, at: string): void;
  /** Progress, and the phase when given. */
  saveProgress(id: number, progress: number, phase: string | null): void;
  saveResult(id: number, result: Record<string, unknown>): void;
  finish(id: number, outcome: JobOutcome): void;
  get(id: number): JobView | null;
  /** Newest first, filtered (a type, else any of `types`; a status) and paged by id. */
  list(q: JobsQuery, types?: readonly JobType[]): JobView[];
  /** The last finished run of each type and params. */
  lastRuns(): JobView[];
  /** The last run of a type that succeeded or failed, or null. */
  lastFinished(type: JobType): FinishedJob | null;
}

interface JobRow {
  id: number;
  type: JobType;
  params: string;
  trigger: JobView['trigger'];
  requested_by: string;
  status: JobStatus;
  queued_at: string;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  progress: number;
  phase: string | null;
  result: string | null;
  error: string | null;
}

export class SqliteJobsRepository implements JobsRepository {
  constructor(private readonly db: () => Database.Database) {}

  insert(type: JobType, params: Record<string, unknown>, who: { trigger: JobView['trigger']; requestedBy: string }, at: string): number {
    const info = prepared(
      this.db(),
      `INSERT INTO jobs (type, params, trigger, requested_by, status, queued_at) VALUES (?, ?, ?, ?, 'queued', ?)`,
    ).run(type, JSON.stringify(params), who.trigger, who.requestedBy, at);
    return Number(info.lastInsertRowid);
  }

  interruptUnfinished(at: string, error: string): { id: number; type: JobType }[] {
    return prepared(
      this.db(),
      `UPDATE jobs SET status = 'interrupted', finished_at = ?, error = ? WHERE status IN ('queued', 'running') RETURNING id, type`,
    ).all(at, error) as { id: number; type: JobType }[];
  }

  cutOff(type: JobType, error: string): { id: number; result: Record<string, unknown> | null }[] {
    const rows = prepared(
      this.db(),
      `SELECT id, result FROM jobs WHERE type = ? AND (status IN ('queued', 'running') OR (status = 'interrupted' AND error = ?))`,
    ).all(type, error) as { id: number; result: string | null }[];
    return rows.map((r) => ({ id: r.id, result: r.result ? (JSON.parse(r.result) as Record<string, unknown>) : null }));
  }

  markInterrupted(id: number, at: string, error: string): void {
    prepared(this.db(), `UPDATE jobs SET status = 'interrupted', finished_at = coalesce(finished_at, ?), error = ? WHERE id = ?`).run(
      at,
      error,
      id,
    );
  }

  markRunning(id: number, at: string): void {
    prepared(this.db(), `UPDATE jobs SET status = 'running', started_at = ?, phase = 'starting' WHERE id = ?`).run(at, id);
  }

  saveProgress(id: number, progress: number, phase: string | null): void {
    prepared(this.db(), 'UPDATE jobs SET progress = ?, phase = coalesce(?, phase) WHERE id = ?').run(progress, phase, id);
  }

  saveResult(id: number, result: Record<string, unknown>): void {
    prepared(this.db(), 'UPDATE jobs SET result = ? WHERE id = ?').run(JSON.stringify(result), id);
  }

  finish(id: number, o: JobOutcome): void {
    prepared(
      this.db(),
      'UPDATE jobs SET status = ?, finished_at = ?, duration_ms = ?, progress = ?, phase = ?, result = ?, error = ? WHERE id = ?',
    ).run(o.status, o.finishedAt, o.durationMs, o.progress, o.phase, o.result === null ? null : JSON.stringify(o.result), o.error, id);
  }

  get(id: number): JobView | null {
    const row = prepared(this.db(), 'SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row ? jobView(row) : null;
  }

  list(q: JobsQuery, types?: readonly JobType[]): JobView[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.type) {
      where.push('type = ?');
      args.push(q.type);
    } else if (types) {
      where.push(`type IN (${types.map(() => '?').join(', ')})`);
      args.push(...types);
    }
    if (q.status) {
      where.push('status = ?');
      args.push(q.status);
    }
    if (q.before) {
      where.push('id < ?');
      args.push(q.before);
    }
    const rows = prepared(
      this.db(),
      `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
    ).all(...args, q.limit) as JobRow[];
    return rows.map(jobView);
  }

  lastRuns(): JobView[] {
    const rows = prepared(
      this.db(),
      `SELECT j.* FROM jobs j JOIN (SELECT type, params, MAX(id) AS id FROM jobs WHERE finished_at IS NOT NULL GROUP BY type, params) l ON l.id = j.id`,
    ).all() as JobRow[];
    return rows.map(jobView);
  }

  lastFinished(type: JobType): FinishedJob | null {
    const job = prepared(
      this.db(),
      `SELECT id, finished_at, status, error FROM jobs WHERE type = ? AND status IN ('succeeded', 'failed') ORDER BY id DESC LIMIT 1`,
    ).get(type) as { id: number; finished_at: string; status: JobStatus; error: string | null } | undefined;
    return job ? { id: job.id, finishedAt: job.finished_at, status: job.status, error: job.error } : null;
  }
}

function jobView(r: JobRow): JobView {
  return {
    id: r.id,
    type: r.type,
    params: JSON.parse(r.params) as Record<string, unknown>,
    trigger: r.trigger,
    requestedBy: r.requested_by,
    status: r.status,
    queuedAt: r.queued_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    durationMs: r.duration_ms,
    progress: r.progress,
    phase: r.phase,
    result: r.result ? (JSON.parse(r.result) as Record<string, unknown>) : null,
    error: r.error,
  };
}
