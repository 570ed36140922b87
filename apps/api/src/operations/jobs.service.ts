import { Inject, Injectable, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { MasterStore, sqlTime } from '@cacpq/db';
import type { JobStatus, JobType, JobView, JobsQuery } from '@cacpq/sync-protocol';
import type { Logger } from 'pino';
import { ApiException } from '../common/api-exception';
import { AppConfig } from '../config/app-config';
import { LOGGER } from '../common/tokens';
import { OpsEvents } from './ops-events';

/** Thrown by a job that declines to run (not enough disk, say): recorded as `refused` with its sentence. */
export class JobRefusal extends Error {}

export interface JobContext {
  id: number;
  /** Reports progress (0..1) and optionally the current phase; cheap to call often. */
  progress(fraction: number, phase?: string): void;
  /** Records details in the job's result as it goes (kept even if the job fails later). */
  note(details: Record<string, unknown>): void;
}

export type JobHandler = (ctx: JobContext) => Promise<Record<string, unknown>>;

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

/**
 * One job at a time: backups, restores and maintenance wait their turn in a queue. Every run is
 * a row in hub.db (queued, start, end, result, details); progress goes out as events, and to the
 * row at most twice a second.
 */
@Injectable()
export class JobsService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly queue: { id: number; handler: JobHandler }[] = [];
  private running: number | null = null;
  private idle: Promise<void> = Promise.resolve();
  private releaseIdle: (() => void) | null = null;

  constructor(
    private readonly store: MasterStore,
    private readonly events: OpsEvents,
    private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Jobs that were queued or running when the server last stopped did not finish: say so. */
  onModuleInit(): void {
    const interrupted = this.store.hubDb
      .prepare(
        `UPDATE jobs SET status = 'interrupted', finished_at = ?, error = ? WHERE status IN ('queued', 'running') RETURNING id, type`,
      )
      .all(sqlTime(), 'The server stopped before this job finished; nothing it had not completed was kept.') as {
      id: number;
      type: string;
    }[];
    for (const j of interrupted) this.logger.warn({ job: j.id, type: j.type }, 'job interrupted by a server stop');
  }

  /** On shutdown queued jobs are dropped (recorded as interrupted at the next start); a running one may finish. */
  async beforeApplicationShutdown(): Promise<void> {
    this.queue.length = 0;
    if (this.running !== null) {
      this.logger.info({ job: this.running }, 'waiting for the running job before shutting down');
      await Promise.race([
        this.waitFor(this.running),
        new Promise((resolve) => setTimeout(resolve, this.config.shutdownTimeoutMs).unref()),
      ]);
    }
    // Outcomes a full disk kept out of hub.db: a last try (otherwise the next start calls them interrupted).
    for (const [id, row] of [...this.unsaved]) this.saveFinal(id, row);
  }

  get runningJob(): number | null {
    return this.running;
  }

  enqueue(
    type: JobType,
    params: Record<string, unknown>,
    who: { trigger: JobView['trigger']; requestedBy: string },
    handler: JobHandler,
  ): JobView {
    const info = this.store.hubDb
      .prepare(`INSERT INTO jobs (type, params, trigger, requested_by, status, queued_at) VALUES (?, ?, ?, ?, 'queued', ?)`)
      .run(type, JSON.stringify(params), who.trigger, who.requestedBy, sqlTime());
    const id = Number(info.lastInsertRowid);
    this.queue.push({ id, handler });
    const job = this.get(id);
    this.events.jobUpdated(job);
    if (!this.releaseIdle) this.idle = new Promise((resolve) => (this.releaseIdle = resolve));
    setImmediate(() => this.pump());
    return job;
  }

  /** Resolves when no job is queued or running (tests, shutdown). */
  whenIdle(): Promise<void> {
    return this.idle;
  }

  /** Resolves with the job once it has finished, whatever the outcome. */
  async waitFor(id: number): Promise<JobView> {
    for (;;) {
      const job = this.get(id);
      if (job.status !== 'queued' && job.status !== 'running') return job;
      await new Promise<void>((resolve) => {
        const onUpdate = (j: JobView) => {
          if (j.id === id && j.status !== 'queued' && j.status !== 'running') {
            this.events.off('job.updated', onUpdate);
            resolve();
          }
        };
        this.events.on('job.updated', onUpdate);
        // The job may have finished between the read above and the listener.
        const again = this.get(id);
        if (again.status !== 'queued' && again.status !== 'running') {
          this.events.off('job.updated', onUpdate);
          resolve();
        }
      });
    }
  }

  private pump(): void {
    if (this.running !== null) return;
    const next = this.queue.shift();
    if (!next) {
      this.releaseIdle?.();
      this.releaseIdle = null;
      return;
    }
    this.running = next.id;
    void this.run(next.id, next.handler)
      .catch((err: unknown) => this.logger.error({ err, job: next.id }, 'the job runner failed'))
      .finally(() => {
        this.running = null;
        this.pump();
      });
  }

  /**
   * A job's row is bookkeeping in hub.db: on a full disk writing it fails, and the job must still run
   * to its end with the process up. Progress and notes are then skipped (the events still go out);
   * the outcome is kept here, shown by get() and list(), and written as soon as hub.db takes it.
   */
  private readonly unsaved = new Map<number, FinalRow>();
  private retryTimer: NodeJS.Timeout | null = null;

  private tryWrite(id: number, sql: string, ...args: unknown[]): boolean {
    try {
      this.store.hubDb.prepare(sql).run(...args);
      return true;
    } catch (err) {
      this.logger.error({ err, job: id }, 'could not write the job row to hub.db');
      return false;
    }
  }

  private saveFinal(id: number, f: FinalRow): void {
    const ok = this.tryWrite(
      id,
      'UPDATE jobs SET status = ?, finished_at = ?, duration_ms = ?, progress = ?, phase = ?, result = ?, error = ? WHERE id = ?',
      f.status,
      f.finished_at,
      f.duration_ms,
      f.progress,
      f.phase,
      f.result,
      f.error,
      id,
    );
    if (ok) {
      this.unsaved.delete(id);
    } else {
      this.unsaved.set(id, f);
      this.retryTimer ??= setInterval(() => {
        for (const [jobId, row] of [...this.unsaved]) this.saveFinal(jobId, row);
        if (this.unsaved.size === 0 && this.retryTimer) {
          clearInterval(this.retryTimer);
          this.retryTimer = null;
        }
      }, 5000).unref();
    }
  }

  private async run(id: number, handler: JobHandler): Promise<void> {
    const started = Date.now();
    this.tryWrite(id, `UPDATE jobs SET status = 'running', started_at = ?, phase = 'starting' WHERE id = ?`, sqlTime(), id);
    this.events.jobUpdated(this.get(id));
    let lastProgress = 0;
    let rowWritable = true;
    let notes: Record<string, unknown> = {};
    let lastWrite = 0;
    let lastEmit = 0;
    let lastPhase: string | undefined;
    const ctx: JobContext = {
      id,
      progress: (fraction, phase) => {
        const now = Date.now();
        const p = Math.max(0, Math.min(1, fraction));
        const phaseChanged = phase !== undefined && phase !== lastPhase;
        if (phase !== undefined) lastPhase = phase;
        lastProgress = p;
        if (phaseChanged || now - lastWrite >= 500) {
          lastWrite = now;
          // Called from timers too (a worker's progress): a failed write must never throw out of here.
          if (rowWritable)
            rowWritable = this.tryWrite(id, 'UPDATE jobs SET progress = ?, phase = coalesce(?, phase) WHERE id = ?', p, phase ?? null, id);
        }
        if (phaseChanged || now - lastEmit >= 200) {
          lastEmit = now;
          this.events.jobUpdated({ ...this.get(id), progress: p, ...(lastPhase ? { phase: lastPhase } : {}) });
        }
      },
      note: (details) => {
        notes = { ...notes, ...details };
        if (rowWritable) rowWritable = this.tryWrite(id, 'UPDATE jobs SET result = ? WHERE id = ?', JSON.stringify(notes), id);
      },
    };
    let status: JobStatus = 'succeeded';
    let error: string | null = null;
    try {
      // Awaited first: `notes` holds what the handler recorded with ctx.note() while it ran.
      const returned = await handler(ctx);
      notes = { ...notes, ...returned };
    } catch (err) {
      status = err instanceof JobRefusal ? 'refused' : 'failed';
      error = (err as Error).message || String(err);
      if (status === 'failed') this.logger.error({ err, job: id }, 'job failed');
    }
    const finished = Date.now();
    this.saveFinal(id, {
      status,
      finished_at: sqlTime(new Date(finished)),
      duration_ms: finished - started,
      progress: status === 'succeeded' ? 1 : lastProgress,
      phase: status === 'succeeded' ? 'done' : (lastPhase ?? null),
      result: JSON.stringify(notes),
      error,
    });
    const job = this.get(id);
    this.logger.info({ job: id, type: job.type, status, durationMs: job.durationMs, error }, 'job finished');
    this.events.jobUpdated(job);
  }

  get(id: number): JobView {
    const row = this.store.hubDb.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    if (!row) throw new ApiException('NOT_FOUND', `There is no job ${id}.`);
    return view({ ...row, ...this.unsaved.get(id) });
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
    const rows = this.store.hubDb
      .prepare(`SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`)
      .all(...args, q.limit) as JobRow[];
    return rows.map((r) => view({ ...r, ...this.unsaved.get(r.id) }));
  }

  /** The last finished run of each job type (for schedules and health). */
  lastRuns(): Map<string, JobView> {
    const rows = this.store.hubDb
      .prepare(
        `SELECT j.* FROM jobs j JOIN (SELECT type, params, MAX(id) AS id FROM jobs WHERE finished_at IS NOT NULL GROUP BY type, params) l ON l.id = j.id`,
      )
      .all() as JobRow[];
    return new Map(
      rows.map((r) => [`${r.type}${r.type === 'backup' ? `:${(JSON.parse(r.params) as { kind?: string }).kind}` : ''}`, view(r)]),
    );
  }
}

/** What a finished job writes to its row. */
type FinalRow = Pick<JobRow, 'status' | 'finished_at' | 'duration_ms' | 'progress' | 'phase' | 'result' | 'error'>;

function view(r: JobRow): JobView {
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
