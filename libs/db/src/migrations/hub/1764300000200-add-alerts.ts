import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Alerts: one row per alert, opened and resolved with timestamps, at most one open per (rule,
 * subject); and the last clock skew measured per workstation (for the clock alert). Both in
 * hub.db so that no restore rewrites them.
 */
export class AddAlerts1764300000200 implements MigrationInterface {
  name = 'AddAlerts1764300000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "alerts" (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      rule TEXT NOT NULL,
      subject TEXT NOT NULL DEFAULT '',
      severity TEXT NOT NULL CHECK (severity IN ('warning', 'critical')),
      opened_at TEXT NOT NULL,
      resolved_at TEXT,
      acknowledged_at TEXT,
      acknowledged_by TEXT,
      message TEXT NOT NULL,
      resolution TEXT,
      details TEXT NOT NULL DEFAULT '{}',
      last_evaluated_at TEXT NOT NULL,
      notified_at TEXT)`);
    await q.query(`CREATE UNIQUE INDEX idx_alerts_open ON alerts(rule, subject) WHERE resolved_at IS NULL`);
    await q.query(`CREATE TABLE "workstation_clocks" (
      client_id TEXT PRIMARY KEY,
      user TEXT,
      skew_ms INTEGER NOT NULL,
      measured_at TEXT NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "workstation_clocks"`);
    await q.query(`DROP TABLE "alerts"`);
  }
}
