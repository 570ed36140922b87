import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query, Req } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AlertSettingsPatch, AlertsQuery, type AlertEvaluation, type AlertSettingsView, type AlertView } from '@cacpq/sync-protocol';
import { z } from 'zod';
import { AuditService } from '../audit/audit.service';
import { Roles } from '../common/decorators';
import type { AppRequest } from '../common/request-context';
import { ZodPipe, openApiSchema } from '../common/zod';
import { AlertSettingsService } from './alert-settings.service';
import { AlertsService } from './alerts.service';

const AlertId = new ZodPipe(
  z.coerce.number().int('must be an alert id (a whole number)').min(1, 'must be an alert id (a whole number)'),
  'path',
);

@ApiTags('alerts')
@Controller('api/v1/alerts')
export class AlertsController {
  constructor(
    private readonly alerts: AlertsService,
    private readonly settings: AlertSettingsService,
    private readonly audit: AuditService,
  ) {}

  @Get()
  @Roles('admin', 'manager')
  @ApiOperation({ summary: 'Alerts, newest first: open, resolved or all (default), by rule, paged with before=<id>.' })
  list(@Query(new ZodPipe(AlertsQuery, 'query')) q: AlertsQuery): AlertView[] {
    return this.alerts.list(q);
  }

  @Get('settings')
  @Roles('admin')
  @ApiOperation({ summary: 'Alert thresholds, business hours, webhook and SMTP settings (the SMTP password is never returned).' })
  getSettings(): AlertSettingsView {
    return this.settings.view();
  }

  @Patch('settings')
  @Roles('admin')
  @ApiOperation({ summary: 'Change alert settings; every value is checked, and nothing is saved when one is refused.' })
  @ApiBody({ schema: openApiSchema(AlertSettingsPatch) })
  async patchSettings(@Req() req: AppRequest, @Body(new ZodPipe(AlertSettingsPatch)) body: AlertSettingsPatch): Promise<AlertSettingsView> {
    const view = this.settings.update(body, req.principal!.username);
    const details: Record<string, unknown> = { ...body };
    if ('alerts.smtp.password' in details) details['alerts.smtp.password'] = '(changed)';
    await this.audit.record(req, { action: 'alerts.settings.change', details });
    return view;
  }

  @Post('evaluate')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({ summary: 'Evaluate every rule now (as the five-minute schedule does): what opened and resolved, and how many are open.' })
  async evaluate(@Req() req: AppRequest): Promise<AlertEvaluation> {
    const result = await this.alerts.evaluate();
    await this.audit.record(req, {
      action: 'alerts.evaluate',
      details: { opened: result.opened.map((a) => a.id), resolved: result.resolved.map((a) => a.id), open: result.open },
    });
    return result;
  }

  @Post(':id/acknowledge')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({ summary: 'Acknowledge an alert (open or resolved); 409 when it already was.' })
  async acknowledge(@Req() req: AppRequest, @Param('id', AlertId) id: number): Promise<AlertView> {
    try {
      const alert = this.alerts.acknowledge(id, req.principal!.username);
      await this.audit.record(req, {
        action: 'alert.acknowledge',
        target: `${alert.rule}${alert.subject ? ` ${alert.subject}` : ''}`,
        details: { alertId: id },
      });
      return alert;
    } catch (err) {
      await this.audit.record(req, {
        action: 'alert.acknowledge',
        target: String(id),
        outcome: 'denied',
        details: { alertId: id, reason: err instanceof Error ? err.message : String(err) },
      });
      throw err;
    }
  }
}
