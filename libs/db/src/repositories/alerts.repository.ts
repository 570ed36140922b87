import type Database from 'better-sqlite3';
import type { AlertRule, AlertSeverity, AlertView, AlertsQuery } from '@cacpq/sync-protocol';
import { prepared } from '../statements';

/** What an evaluation writes for one firing subject. */
export interface AlertFinding {
  rule: AlertRule;
  subject: string;
  severity: AlertSeverity;
  message: string;
  details: Record<string, unknown>;
}

/** hub.db's `alerts`: at most one open alert per rule and subject (the service decides which). */
export interface AlertsRepository {
  /** Runs `work` in one transaction of the alerts' file (an evaluation's opens, updates and resolves). */
  transaction<T>(work: () => T): T;
  /** Every alert not resolved yet. */
  open(): AlertView[];
  countOpen(): number;
  /** Opens an alert; returns its id. */
  insert(finding: AlertFinding, at: string): number;
  /** An open alert still firing: its severity, message and details as judged at `at`. */
  update(id: number, finding: Omit<AlertFinding, 'rule' | 'subject'>, at: string): void;
  resolve(id: number, resolution: string, at: string): void;
  markNotified(id: number, at: string): void;
  /** Acknowledges an alert not acknowledged yet; false when it already was (or is not there). */
  acknowledge(id: number, by: string, at: string): boolean;
  get(id: number): AlertView | null;
  /** Newest first, filtered and paged by id. */
  list(q: AlertsQuery): AlertView[];
}

interface AlertRow {
  id: number;
  rule: AlertRule;
  subject: string;
  severity: AlertSeverity;
  opened_at: string;
  resolved_at: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  message: string;
  resolution: string | null;
  details: string;
  last_evaluated_at: string;
  notified_at: string | null;
}

export class SqliteAlertsRepository implements AlertsRepository {
  constructor(private readonly db: () => Database.Database) {}

  transaction<T>(work: () => T): T {
    return this.db().transaction(work)();
  }

  open(): AlertView[] {
    return (prepared(this.db(), 'SELECT * FROM alerts WHERE resolved_at IS NULL').all() as AlertRow[]).map(alertView);
  }

  countOpen(): number {
    return (prepared(this.db(), 'SELECT COUNT(*) AS n FROM alerts WHERE resolved_at IS NULL').get() as { n: number }).n;
  }

  insert(f: AlertFinding, at: string): number {
    const info = prepared(
      this.db(),
      `INSERT INTO alerts (rule, subject, severity, opened_at, message, details, last_evaluated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(f.rule, f.subject, f.severity, at, f.message, JSON.stringify(f.details), at);
    return Number(info.lastInsertRowid);
  }

  update(id: number, f: Omit<AlertFinding, 'rule' | 'subject'>, at: string): void {
    prepared(this.db(), `UPDATE alerts SET severity = ?, message = ?, details = ?, last_evaluated_at = ? WHERE id = ?`).run(
      f.severity,
      f.message,
      JSON.stringify(f.details),
      at,
      id,
    );
  }

  resolve(id: number, resolution: string, at: string): void {
    prepared(this.db(), `UPDATE alerts SET resolved_at = ?, resolution = ?, last_evaluated_at = ? WHERE id = ?`).run(
      at,
      resolution,
      at,
      id,
    );
  }

  markNotified(id: number, at: string): void {
    prepared(this.db(), 'UPDATE alerts SET notified_at = ? WHERE id = ?').run(at, id);
  }

  acknowledge(id: number, by: string, at: string): boolean {
    return (
      prepared(this.db(), 'UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ? WHERE id = ? AND acknowledged_at IS NULL').run(
        at,
        by,
        id,
      ).changes > 0
    );
  }

  get(id: number): AlertView | null {
    const row = prepared(this.db(), 'SELECT * FROM alerts WHERE id = ?').get(id) as AlertRow | undefined;
    return row ? alertView(row) : null;
  }

  list(q: AlertsQuery): AlertView[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.status === 'open') where.push('resolved_at IS NULL');
    if (q.status === 'resolved') where.push('resolved_at IS NOT NULL');
    if (q.rule) {
      where.push('rule = ?');
      args.push(q.rule);
    }
    if (q.before !== undefined) {
      where.push('id < ?');
      args.push(q.before);
    }
    const rows = prepared(
      this.db(),
      `SELECT * FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
    ).all(...args, q.limit) as AlertRow[];
    return rows.map(alertView);
  }
}

function alertView(r: AlertRow): AlertView {
  return {
    id: r.id,
    rule: r.rule,
    subject: r.subject,
    severity: r.severity,
    status: r.resolved_at ? 'resolved' : 'open',
    openedAt: r.opened_at,
    resolvedAt: r.resolved_at,
    acknowledgedAt: r.acknowledged_at,
    acknowledgedBy: r.acknowledged_by,
    message: r.message,
    resolution: r.resolution,
    details: JSON.parse(r.details) as Record<string, unknown>,
    lastEvaluatedAt: r.last_evaluated_at,
    notifiedAt: r.notified_at,
  };
}
