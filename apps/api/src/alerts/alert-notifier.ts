import { Inject, Injectable } from '@nestjs/common';
import type { AlertSettings, AlertView, AlertWebhookBody } from '@cacpq/sync-protocol';
import { createTransport } from 'nodemailer';
import type { Logger } from 'pino';
import { LOGGER } from '../common/tokens';

export const WEBHOOK_TIMEOUT_MS = 5000;

/**
 * Tells people when an alert opens or resolves: a JSON POST to `alerts.webhook.url` and an
 * e-mail through the SMTP server of `alerts.smtp.*`, each when configured. A channel that fails
 * is logged and never fails the evaluation. Answers whether any channel delivered.
 */
@Injectable()
export class AlertNotifier {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  async notify(event: AlertWebhookBody['event'], alert: AlertView, s: AlertSettings): Promise<boolean> {
    const results = await Promise.all([this.webhook(event, alert, s), this.email(event, alert, s)]);
    return results.some((r) => r === true);
  }

  private async webhook(event: AlertWebhookBody['event'], alert: AlertView, s: AlertSettings): Promise<boolean | null> {
    const url = s['alerts.webhook.url'];
    if (!url) return null;
    try {
      const body: AlertWebhookBody = { event, alert };
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'User-Agent': 'cacpq-sync-server alerts' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) {
        this.logger.warn({ status: res.status, alertId: alert.id, event }, 'alert webhook answered with an error status');
        return false;
      }
      return true;
    } catch (err) {
      this.logger.warn({ err, alertId: alert.id, event }, 'alert webhook could not be delivered');
      return false;
    }
  }

  private async email(event: AlertWebhookBody['event'], alert: AlertView, s: AlertSettings): Promise<boolean | null> {
    const host = s['alerts.smtp.host'];
    const to = s['alerts.smtp.to'];
    if (!host || !to) return null;
    const transport = createTransport({
      host,
      port: s['alerts.smtp.port'],
      secure: s['alerts.smtp.secure'],
      auth: s['alerts.smtp.user'] ? { user: s['alerts.smtp.user'], pass: s['alerts.smtp.password'] } : undefined,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
    });
    try {
      const verb = event === 'alert.opened' ? 'Opened' : 'Resolved';
      const lines = [
        `${verb}: ${alert.message}`,
        ...(alert.resolution ? [`Resolution: ${alert.resolution}`] : []),
        '',
        `Rule: ${alert.rule}${alert.subject ? ` (${alert.subject})` : ''}`,
        `Severity: ${alert.severity}`,
        `Opened at: ${alert.openedAt} UTC`,
        ...(alert.resolvedAt ? [`Resolved at: ${alert.resolvedAt} UTC`] : []),
        `Alert id: ${alert.id}`,
      ];
      await transport.sendMail({
        from: s['alerts.smtp.from'] || `cacpq-sync-server@${host}`,
        to,
        subject: `[CACPQ ${alert.severity}] ${verb}: ${alert.rule}${alert.subject ? ` ${alert.subject}` : ''}`,
        text: lines.join('\n'),
      });
      return true;
    } catch (err) {
      this.logger.warn({ err, alertId: alert.id, event }, 'alert e-mail could not be sent');
      return false;
    } finally {
      transport.close();
    }
  }
}
