import { Inject, Injectable, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { MasterStore, SqliteJobsRepository, sqlTime, type JobOutcome, type JobsRepository } from '@cacpq/db';
import type { JobStatus, JobType, JobView, JobsQuery } from '@cacpq/sync-protocol';
import type { Logger } from 'pino';
import { ApiException } from '../common/api-exception';
import { AppConfig } from '../config/app-config';
import { LOGGER } from '../common/tokens';
import { DomainEvents } from '../events/domain-events';

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
  private readonly repo: JobsRepository;

  constructor(
    store: MasterStore,
    private readonly events: DomainEvents,
    private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.repo = new SqliteJobsRepository(() => store.hubDb);
  }

  /** Jobs that were queued or running when the server last stopped did not finish: say so. */
  onModuleInit(): void {
    const interrupted = this.repo.interruptUnfinished(
      sqlTime(),
      'The server stopped before this job finished; nothing it had not completed was kept.',
    );
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
    const id = this.repo.insert(type, params, who, sqlTime());
    this.queue.push({ id, handler });
    const job = this.get(id);
    this.events.publish('job.updated', job);
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
  private readonly unsaved = new Map<number, JobOutcome>();
  private retryTimer: NodeJS.Timeout | null = null;

  private tryWrite(id: number, write: () => void): boolean {
    try {
      write();
      return true;
    } catch (err) {
      this.logger.error({ err, job: id }, 'could not write the job row to hub.db');
      return false;
    }
  }

  private saveFinal(id: number, f: JobOutcome): void {
    const ok = this.tryWrite(id, () => this.repo.finish(id, f));
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
    const startedAt = sqlTime();
    this.tryWrite(id, () => this.repo.markRunning(id, startedAt));
    this.events.publish('job.updated', this.get(id));
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
          if (rowWritable) rowWritable = this.tryWrite(id, () => this.repo.saveProgress(id, p, phase ?? null));
        }
        if (phaseChanged || now - lastEmit >= 200) {
          lastEmit = now;
          this.events.publish('job.updated', { ...this.get(id), progress: p, ...(lastPhase ? { phase: lastPhase } : {}) });
        }
      },
      note: (details) => {
        notes = { ...notes, ...details };
        if (rowWritable) rowWritable = this.tryWrite(id, () => this.repo.saveResult(id, notes));
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
      finishedAt: sqlTime(new Date(finished)),
      durationMs: finished - started,
      progress: status === 'succeeded' ? 1 : lastProgress,
      phase: status === 'succeeded' ? 'done' : (lastPhase ?? null),
      // As stored (JSON), so get() shows an outcome not written yet exactly as it will read back.
      result: JSON.parse(JSON.stringify(notes)) as Record<string, unknown>,
      error,
    });
    const job = this.get(id);
    this.logger.info({ job: id, type: job.type, status, durationMs: job.durationMs, error }, 'job finished');
    this.events.publish('job.updated', job);
  }

  get(id: number): JobView {
    const job = this.repo.get(id);
    if (!job) throw new ApiException('NOT_FOUND', `There is no job ${id}.`);
    return { ...job, ...this.unsaved.get(id) };
  }

  list(q: JobsQuery, types?: readonly JobType[]): JobView[] {
    return this.repo.list(q, types).map((j) => ({ ...j, ...this.unsaved.get(j.id) }));
  }

  /** The last finished run of each job type (for schedules and health). */
  lastRuns(): Map<string, JobView> {
    return new Map(
      this.repo.lastRuns().map((j) => [`${j.type}${j.type === 'backup' ? `:${(j.params as { kind?: string }).kind}` : ''}`, j]),
    );
  }
}
