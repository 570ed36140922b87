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
    if (this.running === null) return;
    this.logger.info({ job: this.running }, 'waiting for the running job before shutting down');
    await Promise.race([this.waitFor(this.running), new Promise((resolve) => setTimeout(resolve, this.config.shutdownTimeoutMs).unref())]);
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
    void this.run(next.id, next.handler).finally(() => {
      this.running = null;
      this.pump();
    });
  }

  private async run(id: number, handler: JobHandler): Promise<void> {
    const started = Date.now();
    const hub = this.store.hubDb;
    hub.prepare(`UPDATE jobs SET status = 'running', started_at = ?, phase = 'starting' WHERE id = ?`).run(sqlTime(), id);
    this.events.jobUpdated(this.get(id));
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
        if (phaseChanged || now - lastWrite >= 500) {
          lastWrite = now;
          hub.prepare('UPDATE jobs SET progress = ?, phase = coalesce(?, phase) WHERE id = ?').run(p, phase ?? null, id);
        }
        if (phaseChanged || now - lastEmit >= 200) {
          lastEmit = now;
          this.events.jobUpdated({ ...this.get(id), progress: p, ...(lastPhase ? { phase: lastPhase } : {}) });
        }
      },
      note: (details) => {
        notes = { ...notes, ...details };
        hub.prepare('UPDATE jobs SET result = ? WHERE id = ?').run(JSON.stringify(notes), id);
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
    hub
      .prepare(`UPDATE jobs SET status = ?, finished_at = ?, duration_ms = ?, progress = ?, phase = ?, result = ?, error = ? WHERE id = ?`)
      .run(
        status,
        sqlTime(new Date(finished)),
        finished - started,
        status === 'succeeded' ? 1 : this.get(id).progress,
        status === 'succeeded' ? 'done' : (lastPhase ?? null),
        JSON.stringify(notes),
        error,
        id,
      );
    const job = this.get(id);
    this.logger.info({ job: id, type: job.type, status, durationMs: job.durationMs, error }, 'job finished');
    this.events.jobUpdated(job);
  }

  get(id: number): JobView {
    const row = this.store.hubDb.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    if (!row) throw new ApiException('NOT_FOUND', `There is no job ${id}.`);
    return view(row);
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
    return rows.map(view);
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
